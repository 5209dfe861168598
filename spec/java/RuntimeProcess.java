import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real runtime under test: `$JAVA_HOME/bin/java --source 21 bootstrap` started as a process with a controlled
 * environment, its stderr collected line by line (await without sleeping), its stdout collected as bytes.
 */
final class RuntimeProcess implements AutoCloseable {
    static final long SAFETY_TIMEOUT_MS = FakeRuntimeApi.SAFETY_TIMEOUT_MS;

    final Process process;
    final Path taskRoot;
    private final List<String> stderrLines = new ArrayList<>();
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final Thread stderrPump;
    private final Thread stdoutPump;
    private final OutputStream stderrLog;

    /** The repository root: -Drepo.root (set by spec/support/junit.sh), else the working directory. */
    static Path repoRoot() {
        return Path.of(System.getProperty("repo.root", ".")).toAbsolutePath().normalize();
    }

    static Path javaBin() {
        String home = System.getenv("JAVA_HOME");
        if (home == null || home.isEmpty()) home = System.getProperty("java.home");
        return Path.of(home, "bin", "java");
    }

    /** A fresh task root under /tmp holding copies of the named fixtures (mode rw-r--r--). */
    static Path taskRoot(String... fixtures) {
        try {
            Path dir = Files.createTempDirectory("jsr-task.");
            for (String f : fixtures) copyFixture(dir, f, false);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path copyFixture(Path taskRoot, String fixture, boolean executable) {
        try {
            Path target = taskRoot.resolve(fixture);
            Files.copy(repoRoot().resolve("spec/fixtures").resolve(fixture), target,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path taskRoot, String name, String content, boolean executable) {
        try {
            Path target = taskRoot.resolve(name);
            Files.writeString(target, content);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Environment Lambda gives a custom runtime, reduced to what matters here; null values remove a variable. */
    static Map<String, String> lambdaEnv(FakeRuntimeApi api, String handler, Path taskRoot) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("LANG", "C.UTF-8");
        env.put("TZ", "UTC");
        env.put("AWS_LAMBDA_RUNTIME_API", api == null ? null : api.address());
        env.put("_HANDLER", handler);
        env.put("LAMBDA_TASK_ROOT", taskRoot == null ? null : taskRoot.toString());
        env.put("AWS_LAMBDA_FUNCTION_NAME", "jsr-test-function");
        env.put("AWS_REGION", "us-east-1");
        return env;
    }

    static RuntimeProcess start(FakeRuntimeApi api, String handler, Path taskRoot) {
        return start(lambdaEnv(api, handler, taskRoot), taskRoot).abortWaitsOnExit(api);
    }

    /** When the runtime exits, waits on api that are still unsatisfied fail at once instead of timing out. */
    RuntimeProcess abortWaitsOnExit(FakeRuntimeApi api) {
        process.onExit().thenRun(() -> {
            try {
                stderrPump.join(SAFETY_TIMEOUT_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            api.abortWaits("the runtime exited with status " + process.exitValue() + "; its last stderr lines:\n" + tail());
        });
        return this;
    }

    /** Starts `java --source 21 bootstrap` with exactly env (null values dropped), cwd = repo root. */
    static RuntimeProcess start(Map<String, String> env, Path taskRoot) {
        return start(env, taskRoot, List.of());
    }

    /** The same, with options for the runtime's JVM before --source (e.g. -Xmx64m to bound its heap). */
    static RuntimeProcess start(Map<String, String> env, Path taskRoot, List<String> jvmOptions) {
        try {
            return new RuntimeProcess(env, taskRoot, jvmOptions);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private RuntimeProcess(Map<String, String> env, Path taskRoot, List<String> jvmOptions) throws IOException {
        this.taskRoot = taskRoot;
        // -Dbootstrap.file=... runs another copy (used to check that the tests catch a broken runtime).
        Path bootstrap = Path.of(System.getProperty("bootstrap.file", repoRoot().resolve("bootstrap").toString()));
        if (!Files.isRegularFile(bootstrap)) throw new AssertionError("no bootstrap file at " + bootstrap);
        List<String> command = new ArrayList<>();
        command.add(javaBin().toString());
        command.addAll(jvmOptions);
        command.addAll(List.of("--source", "21", bootstrap.toString()));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        env.forEach((k, v) -> {
            if (v != null) pb.environment().put(k, v);
        });
        pb.directory(repoRoot().toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path logDir = repoRoot().resolve("build/test-logs");
        Files.createDirectories(logDir);
        process = pb.start();
        stderrLog = Files.newOutputStream(logDir.resolve("runtime-" + process.pid() + ".stderr"));
        stderrPump = new Thread(() -> pumpLines(process.getErrorStream()), "runtime-stderr-" + process.pid());
        stdoutPump = new Thread(() -> pumpBytes(process.getInputStream()), "runtime-stdout-" + process.pid());
        stderrPump.setDaemon(true);
        stdoutPump.setDaemon(true);
        stderrPump.start();
        stdoutPump.start();
    }

    private void pumpLines(InputStream in) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                stderrLog.write(buf, 0, n);
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        line.write(buf, start, i - start);
                        addLine(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                        start = i + 1;
                    }
                }
                line.write(buf, start, n - start);
            }
        } catch (IOException e) {
            // process gone
        }
        if (line.size() > 0) addLine(line.toString(StandardCharsets.UTF_8));
        try {
            stderrLog.close();
        } catch (IOException ignored) {
            // best effort
        }
        synchronized (stderrLines) {
            stderrLines.notifyAll();
        }
    }

    private void addLine(String l) {
        synchronized (stderrLines) {
            stderrLines.add(l);
            stderrLines.notifyAll();
        }
    }

    private void pumpBytes(InputStream in) {
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (stdout) {
                    stdout.write(buf, 0, n);
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }

    /** Index to search stderr from: lines before it are ignored by awaitStderr(from, ...). */
    int stderrMark() {
        synchronized (stderrLines) {
            return stderrLines.size();
        }
    }

    List<String> stderrLines() {
        synchronized (stderrLines) {
            return List.copyOf(stderrLines);
        }
    }

    List<String> stderrLinesFrom(int mark) {
        synchronized (stderrLines) {
            return List.copyOf(stderrLines.subList(Math.min(mark, stderrLines.size()), stderrLines.size()));
        }
    }

    String stderrText() {
        return String.join("\n", stderrLines());
    }

    /** Blocks until a stderr line at or after mark matches (safety timeout fails the test). */
    String awaitStderr(int mark, Predicate<String> p, String what) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SAFETY_TIMEOUT_MS);
        synchronized (stderrLines) {
            int i = mark;
            while (true) {
                for (; i < stderrLines.size(); i++) if (p.test(stderrLines.get(i))) return stderrLines.get(i);
                if (!stderrPump.isAlive()) {
                    throw new AssertionError("runtime stderr ended without " + what + "; stderr:\n" + tail());
                }
                long left = end - System.nanoTime();
                if (left <= 0) throw new AssertionError("timed out waiting for " + what + "; stderr:\n" + tail());
                try {
                    TimeUnit.NANOSECONDS.timedWait(stderrLines, left);
                } catch (InterruptedException e) {
                    throw new AssertionError("interrupted");
                }
            }
        }
    }

    /** The last stderr lines, for failure messages. */
    String tail() {
        List<String> l = stderrLines();
        return String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
    }

    byte[] stdout() {
        synchronized (stdout) {
            return stdout.toByteArray();
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the runtime to exit (safety timeout fails the test) and for its output to be drained. */
    int awaitExit() {
        try {
            if (!process.waitFor(SAFETY_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the runtime did not exit; stderr:\n" + tail());
            }
            stderrPump.join(SAFETY_TIMEOUT_MS);
            stdoutPump.join(SAFETY_TIMEOUT_MS);
            return process.exitValue();
        } catch (InterruptedException e) {
            throw new AssertionError("interrupted");
        }
    }

    /** Kills the runtime and everything it started (handler shells, background processes). */
    @Override
    public void close() {
        List<ProcessHandle> all = new ArrayList<>();
        process.descendants().forEach(all::add);
        all.add(process.toHandle());
        for (ProcessHandle h : all) h.destroyForcibly();
        try {
            process.waitFor(SAFETY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The directory directly under /tmp that holds p (the runtime's one private directory), or null. */
    static Path privateDirectoryOf(Path p) {
        Path tmp = Path.of("/tmp");
        return p.startsWith(tmp) && p.getNameCount() > 2 ? tmp.resolve(p.getName(1)) : null;
    }

    // ---- A runtime shared by the tests of one class (JsonLoggingTest, ManagedInstancesTest, StreamingTest) ----

    /** It can serve the next test unless a failed test left it dead, broke the protocol, or left invocations unanswered. */
    static boolean reusable(RuntimeProcess runtime, FakeRuntimeApi api) {
        return runtime != null && runtime.isAlive() && api.violations().isEmpty()
                && api.invocations().stream().allMatch(i -> i.answer() != null);
    }

    /** After each test: the protocol was kept and the runtime is still alive; the test's scratch directories go. */
    static void checkShared(RuntimeProcess runtime, FakeRuntimeApi api, List<Path> scratch) {
        try {
            if (api != null) {
                assertEquals(List.of(), api.violations(), "the runtime broke the Runtime API protocol");
                assertTrue(runtime.isAlive(), () -> "the runtime exited; stderr:\n" + runtime.tail());
            }
        } finally {
            scratch.forEach(RuntimeProcess::deleteTree);
            scratch.clear();
        }
    }

    static void stopShared(RuntimeProcess runtime, FakeRuntimeApi api, Path taskRoot) {
        if (runtime != null) runtime.close();
        if (api != null) api.close();
        deleteTree(taskRoot);
    }

    /** A fresh directory under /tmp, deleted by checkShared after the test. */
    static Path scratchDir(List<Path> scratch, String prefix) {
        try {
            Path d = Files.createTempDirectory(prefix);
            scratch.add(d);
            return d;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
