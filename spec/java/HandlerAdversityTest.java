import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end: nothing a handler does may hang the runtime, lose an event or corrupt a response (issue 9). Every
 * event gets exactly one answer, under its own request id, with the bytes the handler printed, and the runtime keeps
 * serving. Each test states what Lambda requires of a runtime, not how one gets there.
 *
 * Each test has a runtime of its own (these handlers are meant to break it), whose temporary directory
 * (java.io.tmpdir and TMPDIR) is a fresh directory that the test owns and that plays the machine's /tmp. Every wait is
 * bounded (INIT_MS, ANSWER_MS): a runtime that hangs fails its test, not the suite. Processes a handler leaves behind,
 * in a session of their own or not, are found by an environment variable unique to the test and killed at its end.
 */
class HandlerAdversityTest {
    static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:jsr-test-function:";
    /** Init on a loaded two-core machine (a JEP 330 start included) ends well within this, or it hangs. */
    static final long INIT_MS = 60_000;
    /** One invocation of these handlers ends well within this, or the runtime hangs. */
    static final long ANSWER_MS = 30_000;

    // ------------------------------------------------------------------------------------------------------------
    // A runtime of one test

    /** A runtime, its fake API, task root, a state directory for the fixture and a private /tmp; close() kills all. */
    static final class Session implements AutoCloseable {
        final FakeRuntimeApi api;
        final Path root;
        final Path state;
        final Path tmp;
        RuntimeProcess runtime;

        private Session(FakeRuntimeApi api, Path root) {
            this.api = api;
            this.root = root;
            try {
                state = Files.createTempDirectory("jsr-state.");
                // The fixture cleans this directory; it only accepts a name of this form (never the real /tmp).
                tmp = Files.createTempDirectory(Path.of("/tmp"), "jsr-tmp.");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Starts the runtime with _HANDLER=handler in root (which the session then owns and deletes). */
        static Session start(FakeRuntimeApi api, String handler, Path root, Map<String, String> extraEnv) {
            Session s = new Session(api, root);
            try {
                Map<String, String> env = RuntimeProcess.lambdaEnv(api, handler, root);
                env.put("JSR_STATE", s.state.toString());
                env.put("JSR_TMP", s.tmp.toString());
                env.put("TMPDIR", s.tmp.toString());
                env.putAll(extraEnv);
                s.runtime = RuntimeProcess.start(env, root, List.of("-Djava.io.tmpdir=" + s.tmp)).abortWaitsOnExit(api);
                return s;
            } catch (RuntimeException | Error e) {
                s.close();
                throw e;
            }
        }

        static Session start(String handler, Path root) {
            return start(FakeRuntimeApi.start(), handler, root, Map.of());
        }

        /** The adversity fixture in function mode (adversity.handler) or file mode (adversity_file). */
        static Session fixture(String mode) {
            Path root = RuntimeProcess.taskRoot("adversity.sh");
            RuntimeProcess.copyFixture(root, "adversity_file", true);
            return start(mode.equals("function") ? "adversity.handler" : "adversity_file", root);
        }

        /**
         * Waits (bounded) for init to end; fails unless it ended with a GET /next. On failure the session is closed
         * here: it is the resource of a try-with-resources statement that never got it.
         */
        Session ready() {
            try {
                boolean polled;
                try {
                    polled = api.awaitInitEnd(INIT_MS);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "\nstderr:\n" + runtime.tail(), e);
                }
                assertTrue(polled, () -> "init failed: " + api.initErrors().get(0).bodyText() + "\nstderr:\n" + runtime.tail());
                return this;
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        FakeRuntimeApi.Invocation enqueue(String action, byte[] event) {
            return api.enqueue(FakeRuntimeApi.Event.of(event).header("Lambda-Runtime-Invoked-Function-Arn", ARN + action));
        }

        FakeRuntimeApi.Answer invoke(String action, byte[] event) {
            return enqueue(action, event).await(ANSWER_MS);
        }

        FakeRuntimeApi.Answer invoke(String action, String event) {
            return invoke(action, event.getBytes(StandardCharsets.UTF_8));
        }

        FakeRuntimeApi.Answer invoke(String action) {
            return invoke(action, "{}");
        }

        String ok(FakeRuntimeApi.Answer a) {
            assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(),
                    () -> "expected a response, got " + a + "\nstderr:\n" + runtime.tail());
            return a.bodyText();
        }

        Map<String, Object> error(FakeRuntimeApi.Answer a) {
            assertEquals(FakeRuntimeApi.Kind.ERROR, a.kind(),
                    () -> "expected an error, got " + a + "\nstderr:\n" + runtime.tail());
            Map<String, Object> json = a.jsonObject();
            assertTrue(json.get("errorMessage") instanceof String, json::toString);
            assertTrue(json.get("errorType") instanceof String, json::toString);
            assertTrue(json.get("stackTrace") instanceof List, json::toString);
            return json;
        }

        /** The runtime is alive and kept the protocol. */
        void assertHealthy() {
            assertEquals(List.of(), api.violations(), "the runtime broke the Runtime API protocol");
            assertTrue(runtime.isAlive(), () -> "the runtime exited; stderr:\n" + runtime.tail());
        }

        @Override
        public void close() {
            try {
                if (runtime != null) runtime.close();
            } finally {
                killLeftovers(state);
                api.close();
                RuntimeProcess.deleteTree(root);
                RuntimeProcess.deleteTree(state);
                RuntimeProcess.deleteTree(tmp);
            }
        }
    }

    /**
     * Kills every process whose environment names this test's state directory: what the handlers left behind,
     * including daemons in a session of their own that are no longer the runtime's descendants.
     */
    static void killLeftovers(Path state) {
        byte[] tag = ("JSR_STATE=" + state + "\0").getBytes(StandardCharsets.UTF_8);
        long self = ProcessHandle.current().pid();
        List<ProcessHandle> found = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(p -> {
            if (p.pid() == self) return;
            try {
                byte[] env = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "environ"));
                if (indexOf(env, tag) >= 0) found.add(p);
            } catch (IOException | SecurityException e) {
                // gone, or not ours
            }
        });
        for (ProcessHandle p : found) p.destroyForcibly();
        for (ProcessHandle p : found) {
            try {
                p.onExit().get(ANSWER_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                throw new AssertionError("a process the handler left (pid " + p.pid() + ") survived SIGKILL", e);
            }
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) if (hay[i + k] != needle[k]) continue outer;
            return i;
        }
        return -1;
    }

    static Path write(Path root, String name, String content) {
        return RuntimeProcess.write(root, name, content, false);
    }

    static void mkfifo(Path p) throws IOException, InterruptedException {
        Process mk = new ProcessBuilder("mkfifo", "-m", "600", p.toString()).inheritIO().start();
        assertEquals(0, mk.waitFor(), "mkfifo " + p);
    }

    /** Writes text into a FIFO once a reader opens it; fails after timeoutMs without one (and frees the writer). */
    static void writeFifo(Path fifo, String text, long timeoutMs) {
        CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
            try {
                Files.writeString(fifo, text);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            w.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            try (FileInputStream unblock = new FileInputStream(fifo.toFile())) {
                unblock.readAllBytes();
            } catch (IOException ignored) {
                // the writer is freed either way
            }
            fail("nothing opened " + fifo + " for reading within " + timeoutMs + " ms");
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 1. Descriptor 9 (and 3-9) belong to the script

    /** Lambda requires init to complete and events to be answered whatever descriptors file.sh uses: here fd 9 locked at top level. */
    @Test
    void fileShThatLocksDescriptor9AtTopLevelInitialisesAndServes() {
        Path root = RuntimeProcess.taskRoot();
        write(root, "locked.sh", """
                # The locking idiom of flock(1)'s manual: one instance at a time, for the life of the shell.
                exec 9>"$TMPDIR/lock"
                flock 9
                handler() { printf 'served under the lock'; }
                """);
        try (Session s = Session.start("locked.handler", root).ready()) {
            assertEquals("served under the lock", s.ok(s.api.enqueue("{}").await(ANSWER_MS)));
            assertEquals("served under the lock", s.ok(s.api.enqueue("{}").await(ANSWER_MS)));
            s.assertHealthy();
        }
    }

    /** Lambda requires the function's response even when the function takes descriptor 9 for a lock. */
    @Test
    void functionThatLocksDescriptor9IsAnswered() {
        try (Session s = Session.fixture("function").ready()) {
            assertEquals("locked", s.ok(s.invoke("flock")));
            assertEquals("locked", s.ok(s.invoke("flock")), "the second call takes the lock again");
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    /** Lambda requires the function's response when the function opens, uses and keeps descriptors 3 to 9. */
    @Test
    void functionThatUsesDescriptors3To9IsAnswered() {
        try (Session s = Session.fixture("function").ready()) {
            assertEquals("3456789", s.ok(s.invoke("fds")));
            assertEquals("3456789", s.ok(s.invoke("fds")), "again, with the descriptors still open from last time");
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 2. Function names that are also builtins

    /** A handler function named like a builtin, using none of the builtins it could shadow (a here-document). */
    static String builtinNamedHandler(String name) {
        return """
                %s() {
                    cat <<EOF
                id=$LAMBDA_RUNTIME_AWS_REQUEST_ID
                exported=$(env | grep '^LAMBDA_RUNTIME_AWS_REQUEST_ID=')
                cwd=$(pwd -P)
                event=$(cat)
                EOF
                    builtin cd / || return 1
                }
                """.formatted(name);
    }

    static Map<String, String> fields(String body) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : body.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    /** What an invocation of builtinNamedHandler must return: its own event, request id (exported), task root. */
    static void checkIdentity(Session s, FakeRuntimeApi.Invocation inv, String event) throws IOException {
        FakeRuntimeApi.Answer a = inv.await(ANSWER_MS);
        Map<String, String> f = fields(s.ok(a));
        assertEquals(inv.requestId, f.get("id"), () -> "LAMBDA_RUNTIME_AWS_REQUEST_ID is the invocation's: " + a);
        assertEquals("LAMBDA_RUNTIME_AWS_REQUEST_ID=" + inv.requestId, f.get("exported"), "and exported: " + a);
        assertEquals(s.root.toRealPath().toString(), f.get("cwd"), () -> "the working directory is the task root: " + a);
        assertEquals(event, f.get("event"), () -> "the handler read its event: " + a);
    }

    /**
     * Lambda runs the handler the function's configuration names. In bash a function may be named like any of these
     * builtins: _HANDLER=api.NAME calls it, with the invocation's variables, in the task root.
     */
    @ParameterizedTest
    @ValueSource(strings = {"export", "read", "cd", "printf", "unset", "echo", "test"})
    void aHandlerNamedLikeABuiltinIsCalled(String name) throws IOException {
        Path root = RuntimeProcess.taskRoot();
        write(root, "api.sh", builtinNamedHandler(name));
        try (Session s = Session.start("api." + name, root).ready()) {
            checkIdentity(s, s.api.enqueue("first event"), "first event");
            checkIdentity(s, s.api.enqueue("second event"), "second event");
            s.assertHealthy();
        }
    }

    /** Helper functions that share a name with builtins (and behave nothing like them) do not break the runtime. */
    @Test
    void helperFunctionsNamedLikeBuiltinsDoNotMatter() throws IOException {
        Path root = RuntimeProcess.taskRoot();
        StringBuilder file = new StringBuilder("# Helpers of a script, named like builtins; the handler uses none.\n");
        for (String name : new String[] {"cd", "read", "printf", "export", "unset", "echo", "test"}) {
            file.append(name).append("() { return 1; }\n");
        }
        file.append(builtinNamedHandler("handler"));
        write(root, "api.sh", file.toString());
        try (Session s = Session.start("api.handler", root).ready()) {
            checkIdentity(s, s.api.enqueue("first event"), "first event");
            checkIdentity(s, s.api.enqueue("second event"), "second event");
            s.assertHealthy();
        }
    }

    /** `command` is the one name a handler cannot have: init fails with Runtime.InvalidHandler, saying so. */
    @Test
    void aHandlerNamedCommandIsRefusedAtInit() {
        Path root = RuntimeProcess.taskRoot();
        write(root, "api.sh", builtinNamedHandler("command"));
        try (Session s = Session.start("api.command", root)) {
            assertFalse(s.api.awaitInitEnd(INIT_MS), "init must fail, not poll");
            FakeRuntimeApi.Record r = s.api.initErrors().get(0);
            assertEquals("Runtime.InvalidHandler", r.header("Lambda-Runtime-Function-Error-Type"), r::bodyText);
            @SuppressWarnings("unchecked")
            Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(r.body());
            assertEquals("Runtime.InvalidHandler", json.get("errorType"), json::toString);
            assertTrue(String.valueOf(json.get("errorMessage")).contains("command"), "names the reserved name: " + json);
            assertEquals(List.of(), s.api.violations());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 3. Daemons in a session of their own

    /**
     * A handler that leaves `setsid daemon &` (holding its stdout and stderr) and then fails, exits or succeeds gets
     * its answer (error, error, response), and the runtime then serves the next event.
     */
    @ParameterizedTest
    @CsvSource({
        "function, setsid-fail, DaemonError",
        "function, setsid-exit, DaemonExit",
        "function, setsid-ok, ",
        "file, setsid-fail, DaemonError",
        "file, setsid-exit, DaemonExit",
        "file, setsid-ok, ",
    })
    void aHandlerThatLeavesASetsidDaemonIsAnswered(String mode, String action, String errorType) throws IOException {
        try (Session s = Session.fixture(mode).ready()) {
            FakeRuntimeApi.Answer a = s.invoke(action);
            if (errorType == null) {
                assertEquals("daemon left running", s.ok(a));
            } else {
                Map<String, Object> e = s.error(a);
                assertEquals(errorType, e.get("errorType"), e::toString);
                assertTrue(String.valueOf(e.get("errorMessage")).startsWith("left a daemon behind and "), e::toString);
            }
            assertTrue(Files.readAllLines(s.state.resolve("daemons")).size() == 1, "the premise: one daemon started");
            assertEquals("ok", s.ok(s.invoke("ok")), "the next event is served");
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    /**
     * What a process left by an earlier invocation writes to stderr later belongs to no later invocation: here it
     * writes a `Type: message` line while the next invocation fails (the handler orders the two), and that
     * invocation's error is still its own.
     */
    @Test
    void aLeftoverDaemonsLaterStderrIsNotTheNextInvocationsError() throws IOException {
        try (Session s = Session.fixture("function").ready()) {
            assertEquals("talker left running", s.ok(s.invoke("setsid-talker")));
            Map<String, Object> e = s.error(s.invoke("fail-after-talk"));
            Path talked = s.state.resolve("talked.log");
            assertTrue(Files.exists(talked) && Files.readString(talked).contains("written"),
                    "the premise: the leftover process was still there to write its line during the next invocation");
            assertEquals("MyError", e.get("errorType"), e::toString);
            assertEquals("mine", e.get("errorMessage"), e::toString);
            assertFalse(trace(e).stream().anyMatch(l -> l.contains("Leftover")), "not in the stackTrace either: " + e);
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    /**
     * Managed Instances: a handler still running at its deadline gets /error Sandbox.Timedout on time, even when it
     * left a daemon in a session of its own holding its output; the worker then serves the next event.
     */
    @Test
    void aSetsidDaemonDoesNotDelayTheDeadlineErrorUnderManagedInstances() throws IOException {
        FakeRuntimeApi api = FakeRuntimeApi.startManagedInstances(1);
        Path root = RuntimeProcess.taskRoot("adversity.sh");
        try (Session s = Session.start(api, "adversity.handler", root, Map.of("AWS_LAMBDA_MAX_CONCURRENCY", "1")).ready()) {
            Path daemons = s.state.resolve("daemons");
            boolean checked = false;
            // The daemon must have started before the deadline for this to test anything; on a machine too loaded
            // for that, try a later deadline.
            for (long margin : new long[] {3_000, 10_000, 30_000}) {
                long before = Files.exists(daemons) ? Files.readAllLines(daemons).size() : 0;
                FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("{}")
                        .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "setsid-block").deadlineIn(margin));
                FakeRuntimeApi.Answer a = inv.await(margin + ANSWER_MS);
                Map<String, Object> e = s.error(a);
                assertEquals("Sandbox.Timedout", e.get("errorType"), e::toString);
                assertEquals("Sandbox.Timedout", a.header("Lambda-Runtime-Function-Error-Type"));
                long after = Files.exists(daemons) ? Files.readAllLines(daemons).size() : 0;
                if (after > before) {
                    checked = true;
                    break;
                }
            }
            assertTrue(checked, "the handler never started its daemon before a deadline 30 s away");
            assertEquals("ok", s.ok(s.invoke("ok")), "the worker serves the next event");
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 4. A shell killed between invocations

    /**
     * Something (a leftover watchdog, the OOM killer) kills the function's shell while it is idle: the next event is
     * innocent and gets its normal response, and so does the one after.
     */
    @Test
    void aShellKilledWhileIdleDoesNotFailTheNextEvent() throws Exception {
        try (Session s = Session.fixture("function").ready()) {
            long pid = Long.parseLong(s.ok(s.invoke("pid")));
            ProcessHandle shell = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
            assertTrue(shell.destroyForcibly(), "SIGKILL to the shell " + pid);
            shell.onExit().get(ANSWER_MS, TimeUnit.MILLISECONDS);
            assertEquals("ok", s.ok(s.invoke("ok")), "the event after the kill gets its response");
            String next = s.ok(s.invoke("pid"));
            assertNotEquals(Long.toString(pid), next, "served by another shell");
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 5. stdin and stdout behave like pipes

    /**
     * As in every other runtime, stdin and stdout are streams: reopening /dev/stdout writes after what is already
     * there, and /dev/stdin goes on where the handler stopped reading.
     */
    @ParameterizedTest
    @ValueSource(strings = {"function", "file"})
    void stdinAndStdoutBehaveLikePipes(String mode) {
        try (Session s = Session.fixture(mode).ready()) {
            FakeRuntimeApi.Answer reopen = s.invoke("stdout-reopen");
            FakeRuntimeApi.Answer read = s.invoke("stdin-read-then-cat", "line one\nline two\nline three\n");
            FakeRuntimeApi.Answer head = s.invoke("stdin-head-then-cat", "abcdefgh\nij");
            assertAll(
                    () -> assertEquals("abc", s.ok(reopen), "printf a; printf b >/dev/stdout; printf c >>/dev/stdout"),
                    () -> assertEquals("first=line one|rest=line two\nline three", s.ok(read),
                            "IFS= read -r first; rest=$(cat /dev/stdin)"),
                    () -> assertEquals("defgh\nij", s.ok(head), "head -c 3 >/dev/null; cat /dev/stdin"));
            s.assertHealthy();
        }
    }

    /**
     * The guarantees that must hold whatever the handler's stdin and stdout are, in file mode (FunctionModeTest
     * checks them in function mode): an unread 5 MB event, megabytes interleaved on stdout and stderr, every byte
     * value, an empty response.
     */
    @Test
    void fileModeKeepsTheNoDeadlockGuarantees() {
        try (Session s = Session.fixture("file").ready()) {
            byte[] big = new byte[5 * 1024 * 1024];
            Arrays.fill(big, (byte) 'e');
            assertEquals("ok", s.ok(s.invoke("ok", big)), "a 5 MB event the handler never reads");

            int mark = s.runtime.stderrMark();
            StringBuilder expected = new StringBuilder();
            String chunk = "o".repeat(65536);
            for (int i = 0; i < 48; i++) expected.append('<').append(i).append('>').append(chunk);
            assertEquals(expected.toString(), s.ok(s.invoke("interleave")), "3 MB of stdout between 3 MB of stderr");
            String line = "e".repeat(1000);
            s.runtime.awaitStderr(mark, line::equals, "the handler's stderr lines");

            byte[] all = new byte[256 * 4];
            for (int i = 0; i < all.length; i++) all[i] = (byte) (i * 7 + i / 256);
            FakeRuntimeApi.Answer binary = s.invoke("cat", all);
            s.ok(binary);
            assertArrayEquals(all, binary.body(), "every byte value round-trips");

            FakeRuntimeApi.Answer empty = s.invoke("empty");
            assertEquals("", s.ok(empty));
            assertEquals(0, empty.record().bodyLength());
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 6. A handler that empties /tmp

    /**
     * Warm functions that download files often end with `rm -rf /tmp/*`. The runtime's state must survive it: the
     * response is exactly what the handler printed, and the next events are answered. (Here the runtime's /tmp is a
     * directory of the test's: java.io.tmpdir and TMPDIR; the machine's /tmp is never touched.)
     */
    @ParameterizedTest
    @CsvSource({"function, clean-tmp-glob", "function, clean-tmp-find", "file, clean-tmp-glob"})
    void aHandlerThatEmptiesTmpGetsItsResponseAndTheRuntimeServesOn(String mode, String action) throws IOException {
        try (Session s = Session.fixture(mode).ready()) {
            Files.writeString(s.tmp.resolve("downloaded.zip"), "premise: the handler deletes this");
            assertEquals("printed before cleaning", s.ok(s.invoke(action)));
            assertFalse(Files.exists(s.tmp.resolve("downloaded.zip")), "the premise: the handler emptied the directory");
            assertEquals("ok", s.ok(s.invoke("ok")), "the next event is answered");
            assertEquals("printed before cleaning", s.ok(s.invoke(action)), "and a second cleaning is survived too");
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 7. Oversized /next headers

    /** An event the API handed out must be answered: a 90 KB client context reaches the handler whole. */
    @Test
    void aNinetyKilobyteClientContextReachesTheHandler() {
        try (Session s = Session.fixture("function").ready()) {
            String context = "{\"custom\":{\"blob\":\"" + "c".repeat(90 * 1024) + "\"}}";
            FakeRuntimeApi.Answer a = s.api.enqueue(FakeRuntimeApi.Event.of("{}")
                    .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "client-context")
                    .header("Lambda-Runtime-Client-Context", context)).await(ANSWER_MS);
            String body = s.ok(a);
            assertEquals(context.length(), body.length(), "the handler saw the whole value");
            assertEquals(context, body);
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    /**
     * A 2 MB header is over any sane limit, but the event was handed out: it gets an /error that names the problem,
     * never a second GET /next while it is unanswered, and the runtime serves the next event.
     */
    @Test
    void aTwoMegabyteHeaderGetsAnErrorAndTheRuntimeServesOn() {
        try (Session s = Session.fixture("function").ready()) {
            FakeRuntimeApi.Answer a = s.api.enqueue(FakeRuntimeApi.Event.of("{}")
                    .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "client-context")
                    .header("Lambda-Runtime-Client-Context", "x".repeat(2 * 1024 * 1024))).await(ANSWER_MS);
            assertEquals(List.of(), s.api.violations(), "no GET /next while the event is unanswered");
            Map<String, Object> e = s.error(a);
            assertTrue(Pattern.compile("(?i)header|size|large|long|limit").matcher(String.valueOf(e.get("errorMessage"))).find(),
                    "the message names the header size problem: " + e);
            assertEquals("ok", s.ok(s.invoke("ok")), "the next event is served");
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 8. A response that a leftover process empties while it is being posted

    /**
     * The response is what the handler printed when it returned. A process it left behind empties or rewrites its
     * stdout while the POST is under way (the API reads the body slowly, the test orders the steps): the posted
     * response is still what the handler printed, the POST completes, and the runtime goes on.
     */
    @ParameterizedTest
    @ValueSource(strings = {"empty", "truncate", "rewrite"})
    void aResponseEmptiedWhileBeingPostedIsPostedAsPrinted(String how) throws Exception {
        try (Session s = Session.fixture("function").ready()) {
            Path go = s.state.resolve("go");
            mkfifo(go);
            int size = 6_000_000; // more than the socket buffers hold while the API does not read
            FakeRuntimeApi.AnswerHold hold = s.api.holdNextAnswer();
            FakeRuntimeApi.Invocation inv = s.enqueue("truncate-later", (size + " " + how + "\n").getBytes(StandardCharsets.UTF_8));
            FakeRuntimeApi.Record post;
            try {
                post = hold.awaitHeld(ANSWER_MS);
                long truncator = Long.parseLong(Files.readString(s.state.resolve("truncator")).strip());
                writeFifo(go, "go\n", ANSWER_MS);
                var gone = ProcessHandle.of(truncator);
                if (gone.isPresent()) gone.get().onExit().get(ANSWER_MS, TimeUnit.MILLISECONDS);
            } finally {
                hold.release();
            }
            FakeRuntimeApi.Answer a;
            try {
                a = inv.await(ANSWER_MS);
            } catch (AssertionError e) {
                throw new AssertionError("the POST that began with " + post.headers() + " never completed: " + e.getMessage(), e);
            }
            assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> a + "\nstderr:\n" + s.runtime.tail());
            byte[] expected = new byte[size];
            Arrays.fill(expected, (byte) 'r');
            assertEquals(size, a.body().length, "the response has the length the handler printed");
            assertArrayEquals(expected, a.body());
            assertEquals("ok", s.ok(s.invoke("ok")), "the runtime goes on");
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 9. Error reports with context lines

    @SuppressWarnings("unchecked")
    static List<String> trace(Map<String, Object> e) {
        return (List<String>) e.get("stackTrace");
    }

    /** The context lines follow each other in the stackTrace, and at most one line (what happened) follows them. */
    static void assertContextAtTheEnd(Map<String, Object> e, String... context) {
        List<String> t = trace(e).stream().map(String::strip).toList();
        int at = -1;
        for (int i = 0; i + context.length <= t.size(); i++) {
            if (t.subList(i, i + context.length).equals(Arrays.stream(context).map(String::strip).toList())) at = i;
        }
        assertTrue(at >= 0, "the stackTrace holds the context lines in order: " + e);
        assertTrue(t.size() - (at + context.length) <= 1, "at most one line follows them: " + e);
    }

    /**
     * Like an exception: the LAST `Type: message` line of the handler's stderr gives errorType and errorMessage,
     * and the context lines after it become the stackTrace. Lines with leading whitespace are context, never a
     * Type line. Without any Type line, errorType is HandlerFailed and the message is the last line.
     */
    @Test
    void errorTypeComesFromTheLastTypeLineAndContextLinesBecomeTheStackTrace() {
        try (Session s = Session.fixture("function").ready()) {
            Map<String, Object> context = s.error(s.invoke("error-context"));
            Map<String, Object> lastType = s.error(s.invoke("error-last-type"));
            Map<String, Object> indented = s.error(s.invoke("error-indented-type"));
            Map<String, Object> none = s.error(s.invoke("error-only-indented"));
            assertAll(
                    () -> assertEquals("MyError", context.get("errorType"), context::toString),
                    () -> assertEquals("boom", context.get("errorMessage"), context::toString),
                    () -> assertContextAtTheEnd(context, "  at deploy.sh line 4", "  at main"),
                    () -> assertEquals("MyError", lastType.get("errorType"), "the last Type line counts: " + lastType),
                    () -> assertEquals("boom", lastType.get("errorMessage"), lastType::toString),
                    () -> assertContextAtTheEnd(lastType, "  at deploy.sh line 4", "  at main"),
                    () -> assertEquals("MyError", indented.get("errorType"), "an indented line is context: " + indented),
                    () -> assertEquals("boom", indented.get("errorMessage"), indented::toString),
                    () -> assertContextAtTheEnd(indented, "    Detail: the disk is full"),
                    () -> assertEquals("HandlerFailed", none.get("errorType"), "no unindented Type line: " + none),
                    () -> assertEquals("Error: indented, so context", String.valueOf(none.get("errorMessage")).strip(),
                            "the message is the last line: " + none));
            assertEquals("ok", s.ok(s.invoke("ok")));
            s.assertHealthy();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 10. Syntax errors in file.sh

    /** The init error of file.sh, which must fail to load (bounded wait); its JSON. */
    static Map<String, Object> loadError(String content) {
        Path root = RuntimeProcess.taskRoot();
        write(root, "app.sh", content);
        try (Session s = Session.start("app.handler", root)) {
            assertFalse(s.api.awaitInitEnd(INIT_MS), "init must fail, not poll");
            FakeRuntimeApi.Record r = s.api.initErrors().get(0);
            assertEquals("Runtime.HandlerLoadError", r.header("Lambda-Runtime-Function-Error-Type"), r::bodyText);
            @SuppressWarnings("unchecked")
            Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(r.body());
            assertEquals("Runtime.HandlerLoadError", json.get("errorType"), json::toString);
            assertEquals(List.of(), s.api.violations());
            return json;
        }
    }

    /**
     * A file.sh bash cannot parse: the init error quotes bash's own diagnostic, with its line number, and does not
     * suggest ending the file with `true` (that cannot help).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "handler() {\\n    printf ok\\n}\\n}\\n|line 4",
        "handler() { printf ok; }\\nif [ -n \"$HOME\" ]; then\\n    x=1\\n|line 4",
    })
    void aSyntaxErrorIsReportedAsBashsDiagnostic(String content, String line) {
        Map<String, Object> e = loadError(content.replace("\\n", "\n"));
        String message = String.valueOf(e.get("errorMessage"));
        assertTrue(message.contains("syntax error"), "bash's diagnostic: " + message);
        assertTrue(message.contains(line), "with its line number (" + line + "): " + message);
        assertFalse(message.contains("true"), "no hint to end the file with `true`: " + message);
    }

    /** A file.sh that loads but whose last top-level command fails still gets the hint to end it with `true`. */
    @Test
    void aFailingLastCommandStillGetsTheTrueHint() {
        Map<String, Object> e = loadError("handler() { printf ok; }\nfalse\n");
        assertTrue(String.valueOf(e.get("errorMessage")).contains("`true`"), "the hint: " + e);
    }
}
