import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end: the kinds of _HANDLER. File mode (executable with a shebang, or plain and run by /bin/sh, named
 * relatively or absolutely) and function mode in the shell a `#!/usr/bin/env sh` shebang names.
 */
class HandlerKindsTest {

    static Map<String, String> fields(FakeRuntimeApi.Answer a) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : a.bodyText().split("\n")) {
            int eq = line.indexOf('=');
            m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    static String realPath(String p) throws IOException {
        return Path.of(p).toRealPath().toString();
    }

    /** Two invocations of a file-mode handler: each a new process of the right interpreter, no state carried. */
    static void checkFileMode(String handler, Path taskRoot, String expectedInterpreter) throws IOException {
        try (FakeRuntimeApi api = FakeRuntimeApi.start();
             RuntimeProcess runtime = RuntimeProcess.start(api, handler, taskRoot)) {
            FakeRuntimeApi.Invocation first = api.enqueue("first event");
            FakeRuntimeApi.Invocation second = api.enqueue("second event");
            FakeRuntimeApi.Invocation failing = api.enqueue("fail");
            FakeRuntimeApi.Invocation after = api.enqueue("after the failure");
            Map<String, String> f1 = fields(first.await());
            Map<String, String> f2 = fields(second.await());
            assertEquals(expectedInterpreter, f1.get("shell"), "interpreter");
            assertEquals(first.requestId, f1.get("request"));
            assertEquals(second.requestId, f2.get("request"));
            assertEquals("first event", f1.get("event"));
            assertEquals("second event", f2.get("event"));
            assertEquals(taskRoot.toRealPath().toString(), f1.get("cwd"), "working directory = task root");
            assertEquals("unset", f2.get("state"), "file mode carries no shell state between invocations");
            assertNotEquals(f1.get("pid"), f2.get("pid"), "a new process per invocation");
            FakeRuntimeApi.Answer fail = failing.await();
            assertEquals(FakeRuntimeApi.Kind.ERROR, fail.kind(), fail::toString);
            assertEquals("FileError", fail.jsonObject().get("errorType"));
            assertEquals("failed in file mode", fail.jsonObject().get("errorMessage"));
            assertEquals("after the failure", fields(after.await()).get("event"));
            assertEquals(List.of(), api.violations());
            assertTrue(runtime.isAlive(), runtime::tail);
        }
    }

    @Test
    void executableFileRunsWithItsShebang() throws IOException {
        Path root = RuntimeProcess.taskRoot();
        try {
            RuntimeProcess.copyFixture(root, "file_exec", true);
            checkFileMode("file_exec", root, realPath("/bin/bash"));
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void plainFileRunsWithBinSh() throws IOException {
        Path root = RuntimeProcess.taskRoot();
        try {
            Path file = RuntimeProcess.copyFixture(root, "file_plain", false);
            // Absolute path form of _HANDLER (the task root's name has a dot in it, too).
            checkFileMode(file.toString(), root, realPath("/bin/sh"));
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void functionModeUsesTheShellOfTheShebang() throws IOException {
        Path root = RuntimeProcess.taskRoot("posix_fn.sh");
        try (FakeRuntimeApi api = FakeRuntimeApi.start();
             RuntimeProcess runtime = RuntimeProcess.start(api, "posix_fn.handler", root)) {
            String trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0";
            FakeRuntimeApi.Invocation first = api.enqueue("one".getBytes(StandardCharsets.UTF_8),
                    Map.of("Lambda-Runtime-Trace-Id", trace));
            FakeRuntimeApi.Invocation second = api.enqueue("two");
            Map<String, String> f1 = fields(first.await());
            Map<String, String> f2 = fields(second.await());
            assertEquals(realPath("/bin/sh"), f1.get("shell"), "loaded by the shebang's shell");
            assertEquals("1", f1.get("calls"));
            assertEquals("2", f2.get("calls"), "state persists in function mode");
            assertEquals(first.requestId, f1.get("request"));
            assertEquals(trace, f1.get("trace"));
            assertEquals("unset", f2.get("trace"), "_X_AMZN_TRACE_ID unset when the header is absent");
            assertEquals("two", f2.get("event"));
            assertEquals(List.of(), api.violations());
            assertTrue(runtime.isAlive(), runtime::tail);
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    /**
     * dash reads a sourced file on after the last command it ran (to find its end), so it may still be reading the
     * previous command file when the runtime writes the next one: that must be a new file, or dash would run the
     * tail of the new text. The fixture holds its first command file open; what it holds must never change.
     */
    @Test
    void aCommandFileIsNeverRewrittenUnderTheShell() throws IOException {
        Path root = RuntimeProcess.taskRoot("held_command.sh");
        try (FakeRuntimeApi api = FakeRuntimeApi.start();
             RuntimeProcess runtime = RuntimeProcess.start(api, "held_command.handler", root)) {
            String first = api.enqueue("one").await().bodyText();
            String second = api.enqueue("two").await().bodyText();
            String third = api.enqueue("three").await().bodyText();
            assertTrue(first.matches("[0-9]+ [0-9]+\\n"), () -> "no checksum: " + first + "\nstderr:\n" + runtime.tail());
            assertEquals(first, second, "the command file the shell had open changed");
            assertEquals(first, third, "the command file the shell had open changed");
            assertEquals(List.of(), api.violations());
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }
}
