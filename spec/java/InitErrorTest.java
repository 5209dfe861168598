import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end: every init failure is posted to /runtime/init/error with its type, before any GET /next, and the
 * runtime then exits non-zero. A bad AWS_LAMBDA_RUNTIME_API cannot be reported: the runtime logs and exits.
 */
class InitErrorTest {

    /** Runs the runtime until it exits; returns the init error's JSON after checking the common contract. */
    static Map<String, Object> initError(String handler, Path taskRoot, String expectedType) {
        try (FakeRuntimeApi api = FakeRuntimeApi.start();
             RuntimeProcess runtime = RuntimeProcess.start(api, handler, taskRoot)) {
            FakeRuntimeApi.Record r = api.awaitInitError();
            int status = runtime.awaitExit();
            assertNotEquals(0, status, "the runtime exits non-zero after an init error");
            assertEquals(expectedType, r.header("Lambda-Runtime-Function-Error-Type"), "error type header");
            assertEquals("application/vnd.aws.lambda.error+json", r.header("Content-Type"));
            @SuppressWarnings("unchecked")
            Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(r.body());
            assertEquals(expectedType, json.get("errorType"), json::toString);
            assertTrue(json.get("errorMessage") instanceof String m && !m.isBlank(), "a message: " + json);
            assertTrue(json.get("stackTrace") == null || json.get("stackTrace") instanceof List, "stackTrace is a list");
            assertEquals(0, api.pollsStarted(), "no GET /next after an init error");
            assertEquals(1, api.initErrors().size(), "exactly one init error");
            assertEquals(List.of(), api.violations());
            assertTrue(runtime.stderrLines().stream().anyMatch(l -> l.startsWith("java-shell-runtime: ")
                    && l.contains(expectedType)), "the failure is logged with its type:\n" + runtime.tail());
            return json;
        }
    }

    static String message(Map<String, Object> json) {
        return (String) json.get("errorMessage");
    }

    static void withRoot(String file, String content, java.util.function.Consumer<Path> test) {
        Path root = RuntimeProcess.taskRoot();
        try {
            if (file != null) RuntimeProcess.write(root, file, content, false);
            test.accept(root);
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void handlerUnset() {
        withRoot(null, null, root -> {
            Map<String, Object> e = initError(null, root, "Runtime.InvalidHandler");
            assertTrue(message(e).contains("_HANDLER"), message(e));
        });
    }

    @Test
    void handlerMalformed() {
        withRoot("app.sh", "handler() { :; }\n", root -> {
            Map<String, Object> e = initError("app.", root, "Runtime.InvalidHandler");
            assertTrue(message(e).contains("app."), "names the bad value: " + message(e));
        });
    }

    @Test
    void handlerFileMissing() {
        withRoot(null, null, root -> {
            Map<String, Object> e = initError("missing.handler", root, "Runtime.HandlerNotFound");
            assertTrue(message(e).contains("missing.sh"), "names the file: " + message(e));
        });
    }

    @Test
    void handlerFileIsADirectory() {
        withRoot(null, null, root -> {
            try {
                Files.createDirectory(root.resolve("dir.sh"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            Map<String, Object> e = initError("dir.handler", root, "Runtime.HandlerNotFound");
            assertTrue(message(e).contains("dir.sh"), "names the file: " + message(e));
        });
    }

    @Test
    void functionNotDefined() {
        withRoot("app.sh", "other() { :; }\nnot_a_function=1\n", root -> {
            Map<String, Object> e = initError("app.handler", root, "Runtime.HandlerNotFound");
            assertTrue(message(e).contains("handler"), "names the function: " + message(e));
        });
        withRoot("app.sh", "not_a_function=1\n", root -> {
            Map<String, Object> e = initError("app.not_a_function", root, "Runtime.HandlerNotFound");
            assertTrue(message(e).contains("not_a_function"), "a variable is not a function: " + message(e));
        });
    }

    @Test
    void fileFailsToLoad() {
        withRoot("app.sh", "handler() { :; }\necho 'LoadProblem: config missing' >&2\nfalse\n", root -> {
            Map<String, Object> e = initError("app.handler", root, "Runtime.HandlerLoadError");
            assertTrue(message(e).contains("app.sh"), "names the file: " + message(e));
        });
    }

    @Test
    void fileExitsWhileLoading() {
        withRoot("app.sh", "handler() { :; }\necho 'leaving during load' >&2\nexit 3\n", root -> {
            Map<String, Object> e = initError("app.handler", root, "Runtime.HandlerLoadError");
            assertTrue(message(e).contains("app.sh"), "names the file: " + message(e));
        });
    }

    @Test
    void fileHasASyntaxError() {
        withRoot("app.sh", "handler() { :; }\nif then fi (\n", root -> initError("app.handler", root, "Runtime.HandlerLoadError"));
    }

    @Test
    void topLevelStdoutRedirectionDoesNotHangInit() {
        // A plausible first line of a handler file: silence the set-up's output. Loading it must end, either
        // with a working handler or with an init error, and never hang (Lambda would kill init after 10 s).
        withRoot("app.sh", "exec >/dev/null\nhandler() { printf 'still answers'; }\n", root -> {
            try (FakeRuntimeApi api = FakeRuntimeApi.start();
                 RuntimeProcess runtime = RuntimeProcess.start(api, "app.handler", root)) {
                if (api.awaitInitEnd(60_000)) {
                    FakeRuntimeApi.Answer a = api.enqueue("{}").await();
                    assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
                    assertEquals("still answers", a.bodyText());
                } else {
                    assertEquals("Runtime.HandlerLoadError", api.initErrors().get(0).header("Lambda-Runtime-Function-Error-Type"));
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------ AWS_LAMBDA_RUNTIME_API

    static RuntimeProcess runWithApi(String value, Path root) {
        Map<String, String> env = RuntimeProcess.lambdaEnv(null, "probe.handler", root);
        env.put("AWS_LAMBDA_RUNTIME_API", value);
        return RuntimeProcess.start(env, root);
    }

    @Test
    void runtimeApiUnsetOrMalformed() {
        Path root = RuntimeProcess.taskRoot("probe.sh");
        try {
            for (String bad : new String[] {null, "127.0.0.1", "127.0.0.1:http"}) {
                try (RuntimeProcess runtime = runWithApi(bad, root)) {
                    assertNotEquals(0, runtime.awaitExit(), "exits non-zero with AWS_LAMBDA_RUNTIME_API=" + bad);
                    assertTrue(runtime.stderrLines().stream().anyMatch(l -> l.startsWith("java-shell-runtime: ")
                            && l.contains("AWS_LAMBDA_RUNTIME_API")), "logs what is wrong:\n" + runtime.tail());
                }
            }
            assertTrue(Files.notExists(root.resolve("invoked-without-request-id")));
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void runtimeApiNotListening() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();   // closed again: connections to it are refused
        }
        Path root = RuntimeProcess.taskRoot("probe.sh");
        try (RuntimeProcess runtime = runWithApi("127.0.0.1:" + port, root)) {
            assertNotEquals(0, runtime.awaitExit(), "exits non-zero when nothing listens");
            assertTrue(runtime.stderrLines().stream().anyMatch(l -> l.startsWith("java-shell-runtime: ")),
                    "logs why:\n" + runtime.tail());
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }
}
