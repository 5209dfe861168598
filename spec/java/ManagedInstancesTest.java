import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * End to end, Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=3) against a fake API that allows 3 GET /next and
 * 3 outstanding invocations at once, as LMI does. One runtime serves the tests that need one (a JEP 330 start costs
 * about a second of CPU); it is started again only after a test left it dead or broke the protocol. Parallelism is
 * proved with barriers, never with time: N handlers that each wait until N are running can only all succeed when N
 * invocations run at once (spec/fixtures/lmi.sh).
 */
class ManagedInstancesTest {
    static final int N = 3;
    static final String TIMEDOUT = "Sandbox.Timedout";

    static FakeRuntimeApi api;
    static RuntimeProcess runtime;
    static Path taskRoot;
    static final List<Path> scratch = new ArrayList<>();

    /** The shared runtime: started when missing, dead, or after a protocol violation. */
    static void ensureRuntime() {
        if (RuntimeProcess.reusable(runtime, api)) return;
        stopRuntime();
        taskRoot = RuntimeProcess.taskRoot("lmi.sh");
        api = FakeRuntimeApi.startManagedInstances(N);
        Map<String, String> env = RuntimeProcess.lambdaEnv(api, "lmi.handler", taskRoot);
        env.put("AWS_LAMBDA_MAX_CONCURRENCY", Integer.toString(N));
        runtime = RuntimeProcess.start(env, taskRoot).abortWaitsOnExit(api);
        api.awaitPolling(N); // every worker has loaded lmi.sh and waits for work
    }

    @AfterEach
    void checkProtocolAndCleanUp() {
        RuntimeProcess.checkShared(runtime, api, scratch);
    }

    @AfterAll
    static void stopRuntime() {
        RuntimeProcess.stopShared(runtime, api, taskRoot);
        runtime = null;
        api = null;
    }

    static Path dir() {
        return RuntimeProcess.scratchDir(scratch, "jsr-lmi.");
    }

    static FakeRuntimeApi.Invocation enqueue(String line) {
        return api.enqueue(FakeRuntimeApi.Event.of(line));
    }

    static Map<String, String> identity(FakeRuntimeApi.Answer a) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "expected a response, got " + a + "\nstderr:\n" + runtime.tail());
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : a.bodyText().split("\n")) {
            int eq = l.indexOf('=');
            assertTrue(eq > 0, () -> "not an identity dump: " + a);
            m.put(l.substring(0, eq), l.substring(eq + 1));
        }
        return m;
    }

    static Map<String, Object> error(FakeRuntimeApi.Answer a, String type) {
        assertEquals(FakeRuntimeApi.Kind.ERROR, a.kind(), () -> "expected an error, got " + a + "\nstderr:\n" + runtime.tail());
        Map<String, Object> json = a.jsonObject();
        assertEquals(type, json.get("errorType"), json::toString);
        assertTrue(json.get("errorMessage") instanceof String s && !s.isBlank(), json::toString);
        assertTrue(json.get("stackTrace") instanceof List, json::toString);
        return json;
    }

    /** One round of N invocations that each wait until all N run at once; returns their identities by request id. */
    static Map<String, Map<String, String>> barrierRound(String tag) {
        Path d = dir();
        List<FakeRuntimeApi.Invocation> invs = new ArrayList<>();
        for (int k = 0; k < N; k++) invs.add(enqueue("barrier " + d + " " + N + " " + tag + "-" + k));
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (int k = 0; k < N; k++) {
            FakeRuntimeApi.Invocation inv = invs.get(k);
            Map<String, String> id = identity(inv.await());
            assertEquals(inv.requestId, id.get("id"), "the handler saw its own request id");
            assertEquals("barrier " + d + " " + N + " " + tag + "-" + k, id.get("line"), "the handler read its own event");
            assertEquals(inv.requestId, id.get("scratch"),
                    "a file with a fixed name in TMPDIR was not overwritten by a concurrent invocation");
            out.put(inv.requestId, id);
        }
        Set<String> shells = new HashSet<>();
        Set<String> tmpdirs = new HashSet<>();
        for (Map<String, String> id : out.values()) {
            shells.add(id.get("shell"));
            tmpdirs.add(id.get("tmpdir"));
        }
        assertEquals(N, shells.size(), "N invocations at once ran in N different shells: " + out);
        assertEquals(N, tmpdirs.size(), "each worker has its own TMPDIR: " + out);
        return out;
    }

    @Test
    void invocationsRunAtOnceEachWorkerWithItsOwnShellTmpdirAndGlobals() throws IOException {
        ensureRuntime();
        Map<String, Map<String, String>> first = barrierRound("first");
        Map<String, Map<String, String>> second = barrierRound("second");

        Map<String, Map<String, String>> firstByShell = new HashMap<>();
        for (Map<String, String> id : first.values()) firstByShell.put(id.get("shell"), id);
        for (Map<String, String> id : second.values()) {
            Map<String, String> before = firstByShell.get(id.get("shell"));
            assertTrue(before != null, "the same N shells serve the second round: " + first + " / " + second);
            assertEquals(Long.parseLong(before.get("count")) + 1, Long.parseLong(id.get("count")),
                    "a global counts the invocations of its own worker only (globals are per worker)");
            assertEquals(before.get("tmpdir"), id.get("tmpdir"), "a worker keeps its TMPDIR");
        }
        for (Map<String, String> id : first.values()) {
            Path tmp = Path.of(id.get("tmpdir"));
            assertTrue(tmp.isAbsolute() && Files.isDirectory(tmp), "TMPDIR is a directory: " + tmp);
            assertNotEquals(Path.of("/tmp"), tmp.normalize(), "TMPDIR is not the shared /tmp");
            Path priv = RuntimeProcess.privateDirectoryOf(tmp);
            assertTrue(priv != null && !priv.equals(tmp), "TMPDIR is inside the runtime's private directory in /tmp: " + tmp);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(priv)),
                    "the private directory holding each worker's TMPDIR is mode 700");
        }
    }

    @Test
    void aDeadlineStopsTheHandlerAndEverythingItStartedThenTheWorkerServesOn() throws IOException {
        ensureRuntime();
        // A deadline already passed: the handler (which would wait ~60 s) is stopped at once.
        Path blocked = dir();
        FakeRuntimeApi.Answer late = api.enqueue(FakeRuntimeApi.Event.of("block " + blocked).deadlineIn(-1000)).await();
        Map<String, Object> lateJson = error(late, TIMEDOUT);
        assertEquals(TIMEDOUT, late.header("Lambda-Runtime-Function-Error-Type"));
        assertTrue(((String) lateJson.get("errorMessage")).contains("deadline"), "says what happened: " + lateJson);

        // A deadline in the near future, a handler whose child and grandchild ignore SIGTERM. The handler must have
        // written its pid files before the deadline to be checked; on a machine too loaded for that, try a later one.
        boolean checked = false;
        for (long margin : new long[] {2_000, 8_000, 30_000}) {
            Path d = dir();
            FakeRuntimeApi.Answer a = api.enqueue(FakeRuntimeApi.Event.of("stubborn " + d).deadlineIn(margin)).await();
            error(a, TIMEDOUT);
            assertEquals(TIMEDOUT, a.header("Lambda-Runtime-Function-Error-Type"));
            if (!(Files.exists(d.resolve("shell.pid")) && Files.exists(d.resolve("child.pid")) && Files.exists(d.resolve("grandchild.pid")))) {
                continue; // not started before the deadline: retry with a later one
            }
            String sigIgn = Files.readString(d.resolve("child.sigign")).strip();
            long mask = Long.parseLong(sigIgn.substring(sigIgn.indexOf(':') + 1).strip(), 16);
            assertTrue((mask & (1L << 14)) != 0, "the premise: the child ignores SIGTERM (" + sigIgn + ")");
            // The answer came after the runtime saw the end of the handler's shell and of everything holding its
            // output: no process of that handler may still be running.
            assertDead(pid(d, "shell.pid"), "/bin/bash", "the handler's shell");
            assertDead(pid(d, "child.pid"), "sleep\u00003600", "the child that ignores SIGTERM");
            assertDead(pid(d, "grandchild.pid"), "sleep\u00003601", "the grandchild that ignores SIGTERM");
            checked = true;
            break;
        }
        assertTrue(checked, "the handler never got to write its pid files before a deadline 30 s away");

        // Every worker still serves (the timed-out ones in a fresh shell): N invocations at once succeed.
        barrierRound("after-deadlines");
    }

    static long pid(Path d, String file) throws IOException {
        return Long.parseLong(Files.readString(d.resolve(file)).strip());
    }

    /** The process is gone: no /proc entry, a zombie (dead, not yet reaped), or the pid now names another program. */
    static void assertDead(long pid, String cmdlinePrefix, String what) {
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            String stat = Files.readString(proc.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'Z' || state == 'X') return;
            String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8);
            if (cmdline.startsWith(cmdlinePrefix)) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // started by this test: do not leak it
                fail(what + " (pid " + pid + ") survived its invocation's deadline: " + cmdline.replace('\0', ' ') + " state " + state);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // gone
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aCrashedOrKilledHandlerEndsOnlyItsOwnInvocation() throws IOException {
        ensureRuntime();
        Path d = dir();
        FakeRuntimeApi.Invocation held = enqueue("hold " + d);
        held.awaitDelivered();
        // The held invocation occupies one worker until the test creates the go file: the crashes go to the others.
        Map<String, Object> exited = error(enqueue("exit 3").await(), "HandlerFailed");
        assertTrue(String.valueOf(exited.get("stackTrace")).contains("status 3"), "says the shell ended with status 3: " + exited);
        Map<String, Object> killed = error(enqueue("kill-shell").await(), "HandlerFailed");
        assertNull(held.answer(), "the held invocation is still running, untouched by the crashes");
        Files.createFile(d.resolve("go"));
        Map<String, String> heldId = identity(held.await());
        assertEquals(held.requestId, heldId.get("id"));

        // Every worker serves again; the two crashed shells were replaced by new ones, the held one was not.
        Set<String> shells = new HashSet<>();
        for (Map<String, String> id : barrierRound("after-crashes").values()) shells.add(id.get("shell"));
        assertTrue(shells.contains(heldId.get("shell")), "the held invocation's shell still serves: " + shells);
        for (Map<String, Object> e : List.of(exited, killed)) {
            String message = (String) e.get("errorMessage");
            String pid = message.replaceAll("\\D+", " ").strip().split(" ")[0];
            assertFalse(shells.contains(pid), "the crashed shell " + pid + " (" + message + ") no longer serves: " + shells);
        }
    }

    @Test
    void invalidMaxConcurrencyIsAnInitError() {
        for (String value : new String[] {"0", "two"}) {
            Path root = RuntimeProcess.taskRoot("lmi.sh");
            try (FakeRuntimeApi fake = FakeRuntimeApi.start()) {
                Map<String, String> env = RuntimeProcess.lambdaEnv(fake, "lmi.handler", root);
                env.put("AWS_LAMBDA_MAX_CONCURRENCY", value);
                try (RuntimeProcess rt = RuntimeProcess.start(env, root).abortWaitsOnExit(fake)) {
                    FakeRuntimeApi.Record r = fake.awaitInitError();
                    assertNotEquals(0, rt.awaitExit(), "the runtime exits non-zero after an init error");
                    assertEquals("Runtime.ConfigInvalid", r.header("Lambda-Runtime-Function-Error-Type"), "for '" + value + "'");
                    @SuppressWarnings("unchecked")
                    Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(r.body());
                    assertEquals("Runtime.ConfigInvalid", json.get("errorType"), json::toString);
                    assertTrue(String.valueOf(json.get("errorMessage")).contains("AWS_LAMBDA_MAX_CONCURRENCY"),
                            "names the variable: " + json);
                    assertEquals(0, fake.pollsStarted(), "no GET /next after an init error");
                    assertEquals(List.of(), fake.violations());
                }
            } finally {
                RuntimeProcess.deleteTree(root);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The fake itself in Managed Instances mode: it must enforce what LMI does, or the tests above prove nothing.

    @Test
    void theFakeAllowsNConcurrentPollsAndAnswersAndNoMore() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newCachedThreadPool();
        try (FakeRuntimeApi fake = FakeRuntimeApi.startManagedInstances(2)) {
            // Own threads: the common pool may have a single thread on a small machine.
            CompletableFuture<Reply> p1 = CompletableFuture.supplyAsync(() -> http(fake, "GET", "invocation/next", null), pool);
            CompletableFuture<Reply> p2 = CompletableFuture.supplyAsync(() -> http(fake, "GET", "invocation/next", null), pool);
            fake.awaitPolling(2);
            assertEquals(403, http(fake, "GET", "invocation/next", null).status(), "a third GET /next while two wait");
            FakeRuntimeApi.Invocation a = fake.enqueue("a");
            FakeRuntimeApi.Invocation b = fake.enqueue("b");
            Reply r1 = p1.get(30, TimeUnit.SECONDS);
            Reply r2 = p2.get(30, TimeUnit.SECONDS);
            assertEquals(200, r1.status());
            assertEquals(200, r2.status());
            assertEquals(Set.of(a.requestId, b.requestId), Set.of(r1.requestId(), r2.requestId()), "each poll got one invocation");
            assertEquals(403, http(fake, "GET", "invocation/next", null).status(), "GET /next while two invocations are outstanding");
            assertEquals(400, http(fake, "POST", "invocation/not-delivered/response", "x").status(), "unknown request id");
            assertEquals(202, http(fake, "POST", "invocation/" + b.requestId + "/response", "B").status(), "answers in any order");
            assertEquals(403, http(fake, "POST", "invocation/" + b.requestId + "/error", "{}").status(), "one answer each");
            CompletableFuture<Reply> p3 = CompletableFuture.supplyAsync(() -> http(fake, "GET", "invocation/next", null), pool);
            fake.awaitPolling(1);
            assertEquals(403, http(fake, "GET", "invocation/next", null).status(), "one outstanding + one waiting = 2");
            assertEquals(202, http(fake, "POST", "invocation/" + a.requestId + "/response", "A").status());
            assertEquals("B", b.await().bodyText());
            assertEquals("A", a.await().bodyText());
            fake.close();
            p3.get(30, TimeUnit.SECONDS);
            assertEquals(5, fake.violations().size(), "exactly the five refused requests: " + fake.violations());
        } finally {
            pool.shutdownNow();
        }
    }

    record Reply(int status, String requestId) {}

    /** One request on its own connection to the fake; status -1 when it closed without answering. */
    static Reply http(FakeRuntimeApi fake, String method, String path, String body) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fake.port())) {
            OutputStream out = s.getOutputStream();
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            out.write((method + " /2018-06-01/runtime/" + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + (body == null ? "" : "Content-Length: " + b.length + "\r\n") + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            String text = all.toString(StandardCharsets.ISO_8859_1);
            if (text.isEmpty()) return new Reply(-1, null);
            int status = Integer.parseInt(text.substring(9, 12));
            String id = null;
            for (String line : text.split("\r\n")) {
                if (line.isEmpty()) break;
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("lambda-runtime-aws-request-id:")) id = line.substring(line.indexOf(':') + 1).strip();
            }
            return new Reply(status, id);
        } catch (IOException e) {
            return new Reply(-1, null);
        }
    }
}
