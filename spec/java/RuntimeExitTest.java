import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** End to end: Runtime API answers after which the runtime must exit non-zero (notes, section 1.4). */
class RuntimeExitTest {
    FakeRuntimeApi api;
    RuntimeProcess runtime;
    Path root;

    @BeforeEach
    void start() {
        root = RuntimeProcess.taskRoot("probe.sh");
        api = FakeRuntimeApi.start();
        runtime = RuntimeProcess.start(api, "probe.handler", root);
    }

    @AfterEach
    void stop() {
        runtime.close();
        api.close();
        RuntimeProcess.deleteTree(root);
    }

    FakeRuntimeApi.Answer served(FakeRuntimeApi.Invocation inv) {
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        return a;
    }

    void exitsLogging(String what, String... fragments) {
        assertNotEquals(0, runtime.awaitExit(), "the runtime exits non-zero on " + what);
        for (String f : fragments) {
            assertTrue(runtime.stderrLines().stream().anyMatch(l -> l.startsWith("java-shell-runtime: ") && l.contains(f)),
                    "logs '" + f + "':\n" + runtime.tail());
        }
    }

    @Test
    void status500OnNextExitsAndTheTemporaryDirectoryIsRemoved() {
        Path command = Path.of(served(api.enqueue("{}")).bodyText());
        Path dir = RuntimeProcess.privateDirectoryOf(command);
        assertTrue(dir != null, "the command file is in a directory of its own under /tmp: " + command);
        api.failNextPoll(500);
        try {
            exitsLogging("500 on /next", "500");
            assertFalse(Files.exists(dir), "the private directory " + dir + " is removed at exit");
            assertEquals(List.of(), api.violations());
        } finally {
            RuntimeProcess.deleteTree(dir);
        }
    }

    @Test
    void status403OnNextExits() {
        served(api.enqueue("{}"));
        api.failNextPoll(403);
        exitsLogging("403 on /next", "403");
    }

    @Test
    void nextWithoutRequestIdExitsWithoutRunningTheHandler() {
        api.enqueue(FakeRuntimeApi.Event.of("{}").withoutRequestId());
        exitsLogging("a /next without Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Aws-Request-Id");
        try (var files = Files.list(root)) {
            assertEquals(List.of(), files.filter(p -> p.getFileName().toString().startsWith("invoked-")).toList(),
                    "the handler ran for an event without a request id");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void status500OnResponseExits() {
        api.failNextAnswer(500);
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        assertEquals(FakeRuntimeApi.Kind.FAULTED, inv.await().kind());
        exitsLogging("500 on /response", "500");
        assertEquals(1, api.pollsStarted(), "no GET /next after a 500");
    }

    @Test
    void status500OnErrorExits() {
        api.failNextAnswer(500);
        FakeRuntimeApi.Invocation inv = api.enqueue("fail");
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.FAULTED, a.kind());
        assertTrue(a.record().path().endsWith("/error"), "the failure went to /error: " + a.record());
        exitsLogging("500 on /error", "500");
        assertEquals(1, api.pollsStarted(), "no GET /next after a 500");
    }

    @Test
    void nextDroppedEveryTimeGivesUpAfterAFewRetries() {
        for (int i = 0; i < 20; i++) api.dropNextPoll();
        exitsLogging("a /next connection that keeps dropping", "/next");
        int polls = api.pollsStarted();
        assertTrue(polls >= 2 && polls <= 10, "a few retries, not " + polls);
    }
}
