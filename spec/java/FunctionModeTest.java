import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End to end, function mode (_HANDLER=dispatch.handler): one runtime process serves every test here (a JEP 330
 * start costs about a second of CPU); it is started again, with a fresh fake API, only when a test left it dead or
 * broke the protocol. The fixture picks its behaviour from the invoked ARN's qualifier (see spec/fixtures/dispatch.sh).
 */
class FunctionModeTest {
    static final String ARN = "arn:aws:lambda:us-east-1:123456789012:function:jsr-test-function:";
    static final String TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    static final Pattern ERROR_TYPE_HEADER = Pattern.compile("(Runtime|Function)\\.[A-Z][a-zA-Z]+");

    static FakeRuntimeApi api;
    static RuntimeProcess runtime;
    static Path taskRoot;
    static Path state;
    /** Number of loads of dispatch.sh recorded when the first GET /next arrived. */
    static long loadsAtFirstPoll;
    static int violationsBefore;

    @BeforeEach
    void ensureRuntime() throws IOException {
        if (runtime != null && runtime.isAlive() && api.violations().isEmpty()) {
            return;
        }
        stop();
        taskRoot = RuntimeProcess.taskRoot("dispatch.sh");
        state = Files.createTempDirectory("jsr-state.");
        api = FakeRuntimeApi.start();
        Map<String, String> env = RuntimeProcess.lambdaEnv(api, "dispatch.handler", taskRoot);
        env.put("JSR_STATE", state.toString());
        env.put("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000");
        runtime = RuntimeProcess.start(env, taskRoot).abortWaitsOnExit(api);
        api.awaitPolling();
        loadsAtFirstPoll = loads();
    }

    @AfterEach
    void checkProtocol() {
        assertEquals(List.of(), api.violations(), "the runtime broke the Runtime API protocol");
        assertTrue(runtime.isAlive(), () -> "the runtime exited; stderr:\n" + runtime.tail());
    }

    @AfterAll
    static void stop() {
        if (runtime != null) runtime.close();
        if (api != null) api.close();
        RuntimeProcess.deleteTree(taskRoot);
        RuntimeProcess.deleteTree(state);
        runtime = null;
        api = null;
    }

    static long loads() throws IOException {
        Path f = state.resolve("loads");
        return Files.exists(f) ? Files.readAllLines(f).size() : 0;
    }

    static FakeRuntimeApi.Answer invoke(String action, byte[] body) {
        return api.enqueue(FakeRuntimeApi.Event.of(body).header("Lambda-Runtime-Invoked-Function-Arn", ARN + action)).await();
    }

    static FakeRuntimeApi.Answer invoke(String action) {
        return invoke(action, "{}".getBytes(StandardCharsets.UTF_8));
    }

    static String ok(FakeRuntimeApi.Answer a) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "expected a response, got " + a + "\nstderr:\n" + runtime.tail());
        return a.bodyText();
    }

    static Map<String, Object> error(FakeRuntimeApi.Answer a) {
        assertEquals(FakeRuntimeApi.Kind.ERROR, a.kind(), () -> "expected an error, got " + a);
        String header = a.header("Lambda-Runtime-Function-Error-Type");
        assertTrue(header != null && ERROR_TYPE_HEADER.matcher(header).matches(),
                "Lambda-Runtime-Function-Error-Type in Category.Reason form: " + header);
        assertEquals("application/vnd.aws.lambda.error+json", a.header("Content-Type"));
        Map<String, Object> json = a.jsonObject();
        assertTrue(json.get("errorMessage") instanceof String, "errorMessage is a string: " + json);
        assertTrue(json.get("errorType") instanceof String, "errorType is a string: " + json);
        assertTrue(json.get("stackTrace") instanceof List, "stackTrace is a list: " + json);
        for (Object o : (List<?>) json.get("stackTrace")) assertTrue(o instanceof String, "stackTrace entries are strings");
        return json;
    }

    /** Parses the dump of the `env` action: per variable set/unset + value, then the exported environment. */
    record Dump(Map<String, String> shell, Map<String, String> exported) {}

    static Dump dump(FakeRuntimeApi.Answer a) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "expected a response, got " + a);
        String text = new String(a.body(), StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("\0EXPORTED\0"), () -> "not a variable dump (wrong action ran?): " + a);
        String[] parts = text.split("\0", -1);
        Map<String, String> shell = new LinkedHashMap<>();
        int i = 0;
        while (!parts[i].equals("EXPORTED")) {
            shell.put(parts[i], parts[i + 1].equals("set") ? parts[i + 2] : null);
            i += 3;
        }
        Map<String, String> exported = new HashMap<>();
        for (i++; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq > 0) exported.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        return new Dump(shell, exported);
    }

    /** Header values as the handler gets them: the bytes of the value, read as ISO-8859-1 like the dump. */
    static String wire(String value) {
        return new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    static final String[][] VARIABLES = {
        {"Lambda-Runtime-Aws-Request-Id", "LAMBDA_RUNTIME_AWS_REQUEST_ID"},
        {"Lambda-Runtime-Deadline-Ms", "LAMBDA_RUNTIME_DEADLINE_MS"},
        {"Lambda-Runtime-Invoked-Function-Arn", "LAMBDA_RUNTIME_INVOKED_FUNCTION_ARN"},
        {"Lambda-Runtime-Trace-Id", "LAMBDA_RUNTIME_TRACE_ID"},
        {"Lambda-Runtime-Client-Context", "LAMBDA_RUNTIME_CLIENT_CONTEXT"},
        {"Lambda-Runtime-Cognito-Identity", "LAMBDA_RUNTIME_COGNITO_IDENTITY"},
        {"Lambda-Runtime-Aws-Tenant-Id", "LAMBDA_RUNTIME_AWS_TENANT_ID"},
        {"Lambda-Runtime-Trace-Id", "_X_AMZN_TRACE_ID"},
    };

    // ------------------------------------------------------------------------------------------ loading and state

    @Test
    void loadsTheFileOnceDuringInitIntoBash() throws IOException {
        assertEquals(1, loadsAtFirstPoll, "dispatch.sh is loaded once, before the first GET /next");
        long before = loads();
        assertEquals(Path.of("/bin/bash").toRealPath().toString(), ok(invoke("shell")), "a file without a shebang runs in bash");
        for (int i = 0; i < 3; i++) ok(invoke("ok"));
        assertEquals(before, loads(), "top-level code ran again during invocations");
        assertEquals(Long.toString(before), ok(invoke("loads")));
    }

    @Test
    void variablesPersistBetweenInvocationsInTheSameShell() {
        String pid = ok(invoke("pid"));
        int first = Integer.parseInt(ok(invoke("count")));
        int second = Integer.parseInt(ok(invoke("count")));
        int third = Integer.parseInt(ok(invoke("count")));
        assertEquals(first + 1, second);
        assertEquals(second + 1, third);
        assertEquals(pid, ok(invoke("pid")), "the same shell serves warm invocations");
    }

    // ------------------------------------------------------------------------------------------ payloads

    @Test
    void everyByteValueRoundTrips() {
        byte[] all = new byte[256 * 4];
        for (int i = 0; i < all.length; i++) all[i] = (byte) (i * 7 + i / 256);
        FakeRuntimeApi.Answer a = invoke("cat", all);
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertArrayEquals(all, a.body());
        assertFalse(a.record().chunked(), "a buffered response is sent with Content-Length");
        assertEquals(Integer.toString(all.length), a.header("Content-Length"));
        byte[] lone = {0, '\n', '\r', (byte) 0xff, (byte) 0x80, '\\', '"'};
        assertArrayEquals(lone, invoke("cat", lone).body());
    }

    @Test
    void chunkedAndLowerCaseNextResponsesAreParsed() {
        byte[] body = new byte[20_000];
        for (int i = 0; i < body.length; i++) body[i] = (byte) i;
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of(body).chunked()
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "cat"));
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertArrayEquals(body, a.body());

        FakeRuntimeApi.Invocation lower = api.enqueue(FakeRuntimeApi.Event.of("{}").lowerCaseHeaderNames()
                .header("Lambda-Runtime-Trace-Id", "Root=1-lower;Sampled=0"));
        Dump d = dump(lower.await());
        assertEquals(lower.requestId, d.shell().get("LAMBDA_RUNTIME_AWS_REQUEST_ID"));
        assertEquals("Root=1-lower;Sampled=0", d.shell().get("_X_AMZN_TRACE_ID"));
    }

    @Test
    void emptyResponse() {
        FakeRuntimeApi.Answer a = invoke("empty");
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertEquals(0, a.body().length);
        assertEquals(0, a.record().bodyLength());
    }

    @Test
    void fiveMegabyteEventTheHandlerNeverReads() {
        byte[] big = new byte[5 * 1024 * 1024];
        java.util.Arrays.fill(big, (byte) 'e');
        assertEquals("ok", ok(invoke("ok", big)));
        assertEquals("ok", ok(invoke("ok")), "the next invocation is served");
    }

    @Test
    void megabytesInterleavedOnStdoutAndStderr() {
        int mark = runtime.stderrMark();
        FakeRuntimeApi.Answer a = invoke("interleave");
        StringBuilder expected = new StringBuilder();
        String chunk = "o".repeat(65536);
        for (int i = 0; i < 48; i++) expected.append('<').append(i).append('>').append(chunk);
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertEquals(expected.length(), a.body().length);
        assertEquals(expected.toString(), a.bodyText());
        String line = "e".repeat(1000);
        runtime.awaitStderr(mark, line::equals, "the handler's stderr lines");
        long count = runtime.stderrLinesFrom(mark).stream().filter(line::equals).count();
        assertEquals(48 * 64, count, "every stderr line reaches the log, once");
    }

    @Test
    void responseSizeLimit() {
        FakeRuntimeApi.Answer exact = invoke("big", Integer.toString(FakeRuntimeApi.MAX_BUFFERED_RESPONSE).getBytes());
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, exact.kind(), exact::toString);
        assertEquals(FakeRuntimeApi.MAX_BUFFERED_RESPONSE, exact.body().length);

        int mark = runtime.stderrMark();
        FakeRuntimeApi.Answer over = invoke("big", Integer.toString(FakeRuntimeApi.MAX_BUFFERED_RESPONSE + 1).getBytes());
        assertEquals(FakeRuntimeApi.Kind.TOO_LARGE, over.kind(), over::toString);
        assertEquals("ok", ok(invoke("ok")), "after a 413 the runtime keeps polling");
        assertTrue(runtime.stderrLinesFrom(mark).stream().anyMatch(l -> l.startsWith("java-shell-runtime: ") && l.contains("413")
                        || l.startsWith("java-shell-runtime: ") && l.contains("ResponseSizeTooLarge")),
                "the 413 is logged:\n" + runtime.tail());
    }

    // ------------------------------------------------------------------------------------------ per-invocation variables

    @Test
    void contextVariablesArePresentThenAbsent() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Lambda-Runtime-Deadline-Ms", "1790000000123");
        headers.put("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f:env");
        headers.put("Lambda-Runtime-Trace-Id", TRACE.replace("Sampled=1", "Sampled=0"));
        headers.put("Lambda-Runtime-Client-Context", "{\"client\":{\"installation_id\":\"abc\"},\"custom\":{\"k\":\"v\"}}");
        headers.put("Lambda-Runtime-Cognito-Identity", "{\"cognitoIdentityId\":\"id\",\"cognitoIdentityPoolId\":\"pool\"}");
        headers.put("Lambda-Runtime-Aws-Tenant-Id", "tenant-42");
        FakeRuntimeApi.Invocation first = api.enqueue(FakeRuntimeApi.Event.of("{}").headers(headers));
        Dump d = dump(first.await());
        for (String[] v : VARIABLES) {
            String expected = v[0].equals("Lambda-Runtime-Aws-Request-Id") ? first.requestId : headers.get(v[0]);
            assertEquals(expected, d.shell().get(v[1]), v[1] + " in the shell");
            assertEquals(expected, d.exported().get(v[1]), v[1] + " exported to children");
        }

        // Second invocation: only the request id and the deadline; everything else must be unset.
        Map<String, String> none = new LinkedHashMap<>();
        FakeRuntimeApi.Invocation second = api.enqueue(FakeRuntimeApi.Event.of("{}").headers(none));
        Dump e = dump(second.await());
        assertEquals(second.requestId, e.shell().get("LAMBDA_RUNTIME_AWS_REQUEST_ID"));
        assertEquals(second.sentHeaders().get("Lambda-Runtime-Deadline-Ms"), e.shell().get("LAMBDA_RUNTIME_DEADLINE_MS"));
        for (String[] v : VARIABLES) {
            if (v[0].equals("Lambda-Runtime-Aws-Request-Id") || v[0].equals("Lambda-Runtime-Deadline-Ms")) continue;
            assertTrue(e.shell().containsKey(v[1]));
            assertNull(e.shell().get(v[1]), v[1] + " must be unset when its header is absent");
            assertFalse(e.exported().containsKey(v[1]), v[1] + " must not be exported when its header is absent");
        }
    }

    @Test
    void hostileHeaderValuesReachTheHandlerLiterally() throws IOException {
        Path canary = taskRoot.resolve("pwned");
        String c = canary.toString();
        String[] values = {
            "$(touch " + c + ") `touch " + c + "` ${HOME} $HOME $((1+1)) \"double\" 'single' ; | & > < && ||",
            "Root=1-abc;Parent=x: y : z;Sampled=1 * ? [a-z] /* ~ ~root {a,b} !! !$",
            "back\\slash\\\\ \\n \\t \\0 \\x41 %s %n %d %% \\",
            "inner   spaces\tand\ttabs   here",
            "-n",
            "-e \\c",
            "'; touch " + c + "; echo '",
            "\"; touch " + c + "; echo \"",
            "ünïcödé € 😀 日本",
            "=",
            "a=b c=d",
        };
        String[] names = {
            "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context",
            "Lambda-Runtime-Cognito-Identity", "Lambda-Runtime-Aws-Tenant-Id",
        };
        for (int round = 0; round < values.length; round++) {
            Map<String, String> headers = new LinkedHashMap<>();
            for (int k = 0; k < names.length; k++) headers.put(names[k], values[(round + k) % values.length]);
            FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("{}").headers(headers));
            Dump d = dump(inv.await());
            for (String[] v : VARIABLES) {
                if (!headers.containsKey(v[0])) continue;
                assertEquals(wire(headers.get(v[0])), d.shell().get(v[1]), v[1] + " in the shell");
                assertEquals(wire(headers.get(v[0])), d.exported().get(v[1]), v[1] + " exported");
            }
        }
        assertFalse(Files.exists(canary), "a header value was executed by a shell");
    }

    @Test
    void headerValuePaddingIsNotPartOfTheValue() {
        // RFC 9110 5.5: leading and trailing whitespace around a field value is not part of it.
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("{}")
                .header("Lambda-Runtime-Aws-Tenant-Id", "  padded value  "));
        assertEquals("padded value", dump(inv.await()).shell().get("LAMBDA_RUNTIME_AWS_TENANT_ID"));
    }

    // ------------------------------------------------------------------------------------------ errors

    @Test
    void typedErrorFromTheLastStderrLine() {
        Map<String, Object> e = error(invoke("fail-myerror"));
        assertEquals("MyError", e.get("errorType"));
        assertEquals("boom", e.get("errorMessage"));
        List<?> trace = (List<?>) e.get("stackTrace");
        // As for an exception: the stack trace is what follows the Type line (nothing here), then what happened.
        assertFalse(trace.contains("some context first"), "lines before the Type line are only in the log: " + trace);
        assertTrue(((String) trace.get(trace.size() - 1)).contains("returned status 1"), "ends with what happened: " + trace);
        assertEquals("ok", ok(invoke("ok")), "the next invocation is served");
    }

    @Test
    void untypedErrors() {
        Map<String, Object> plain = error(invoke("fail-plain"));
        assertEquals("HandlerFailed", plain.get("errorType"));
        assertEquals("something broke", plain.get("errorMessage"), "the last non-blank stderr line");
        Map<String, Object> silent = error(invoke("fail-silent"));
        assertEquals("HandlerFailed", silent.get("errorType"));
        assertTrue(((String) silent.get("errorMessage")).contains("7"), "describes the exit status: " + silent);
        ((List<?>) silent.get("stackTrace")).forEach(l -> assertFalse(((String) l).contains("something broke"),
                "stderr of an earlier invocation leaked into this one's error: " + silent));
    }

    @Test
    void controlCharactersAndInvalidUtf8InStderrGiveValidJson() {
        FakeRuntimeApi.Answer a = invoke("fail-ctl");
        Map<String, Object> e = error(a);   // strict UTF-8 + strict JSON parse
        assertEquals("Weird", e.get("errorType"));
        assertEquals("bell\u0007 backslash\\ \"quote\" \u20ac", e.get("errorMessage"));
        List<?> trace = (List<?>) e.get("stackTrace");
        assertTrue(trace.contains(" ctl: \u0001\u0002\u001b[31mred\u007f tab\there"), "control characters kept: " + trace);
        assertTrue(trace.stream().anyMatch(l -> ((String) l).startsWith("bytes ") && ((String) l).endsWith("( end")),
                "the line with invalid UTF-8 is kept (bytes replaced): " + trace);
    }

    @Test
    void errorReportsAreBounded() {
        FakeRuntimeApi.Answer a = invoke("fail-long");
        Map<String, Object> e = error(a);
        assertEquals("Final", e.get("errorType"));
        assertEquals("last line", e.get("errorMessage"));
        assertTrue(a.body().length < 256 * 1024, "error body bounded, was " + a.body().length + " bytes");
        List<?> trace = (List<?>) e.get("stackTrace");
        assertEquals("  at frame 0", trace.get(0), "the lines after the Type line are the stackTrace: " + trace);
        assertEquals("  at frame 9", trace.get(9), "the lines after the Type line are the stackTrace: " + trace);
        assertFalse(trace.contains("noise line 4999"), "lines before the Type line are not in the stackTrace");
    }

    @Test
    void handlerExitFailsTheInvocationAndTheFileIsLoadedAgain() throws IOException {
        String pid = ok(invoke("pid"));
        long before = loads();
        Map<String, Object> e = error(invoke("exit"));
        assertEquals("Leaving", e.get("errorType"));
        assertEquals("the handler called exit", e.get("errorMessage"));
        assertEquals("ok", ok(invoke("ok")), "the next invocation is served");
        assertEquals(before + 1, loads(), "dispatch.sh is loaded again after the shell exited");
        assertNotEquals(pid, ok(invoke("pid")), "a new shell");
        assertEquals("1", ok(invoke("count")), "state starts afresh in the new shell");
    }

    @Test
    void handlerKillingItsShellFailsOnlyThatInvocation() {
        String pid = ok(invoke("pid"));
        FakeRuntimeApi.Answer a = invoke("kill-self");
        error(a);
        assertEquals("ok", ok(invoke("ok")), "the next invocation is served");
        assertNotEquals(pid, ok(invoke("pid")), "by a new shell");
    }

    static void answeredUnderItsOwnId(String id) {
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("{}").header("Lambda-Runtime-Aws-Request-Id", id));
        assertEquals(id, inv.requestId);
        Dump d = dump(inv.await());   // the fake accepts the answer only under this exact id (percent-decoded)
        assertEquals(wire(id), d.shell().get("LAMBDA_RUNTIME_AWS_REQUEST_ID"));
    }

    @Test
    void hostileRequestIdsAreAnsweredUnderTheirOwnId() {
        for (String id : new String[] {"id with spaces", "a/../../b", "q?x=1#frag", "per%cent+plus", "semi;colon&amp", "~._-"}) {
            answeredUnderItsOwnId(id);
        }
    }

    @Test
    void nonAsciiRequestIdIsAnsweredUnderTheSameBytes() {
        // Real ids are UUIDs; but whatever bytes the header carries must come back, percent-encoded, in the path.
        answeredUnderItsOwnId("ünï€");
    }

    @Test
    void unsetVariableUnderSetU() {
        Map<String, Object> e = error(invoke("unset"));
        assertEquals("HandlerFailed", e.get("errorType"));
        assertTrue(((String) e.get("errorMessage")).contains("JSR_NOT_DEFINED_ANYWHERE"), "names the variable: " + e);
        assertEquals("ok", ok(invoke("ok")));
    }

    @Test
    void setEStopsTheHandler() {
        FakeRuntimeApi.Answer a = invoke("errexit");
        error(a);
        assertFalse(new String(a.body(), StandardCharsets.UTF_8).contains("not reached"));
        assertEquals("ok", ok(invoke("ok")));
        assertEquals("ok", ok(invoke("ok")));
    }

    // ------------------------------------------------------------------------------------------ the handler cannot break the runtime

    @Test
    void cdDoesNotCarryOver() throws IOException {
        assertEquals("/tmp", ok(invoke("cd")));
        assertEquals(taskRoot.toRealPath().toString(), ok(invoke("pwd")), "each invocation starts in the task root");
    }

    @Test
    void trapsDoNotChangeTheRuntime() {
        try {
            assertEquals("traps set", ok(invoke("traps")));
            assertEquals("ok", ok(invoke("ok")));
            assertEquals("MyError", error(invoke("fail-myerror")).get("errorType"));
            assertEquals("ok", ok(invoke("ok")));
        } finally {
            invoke("exit");   // leave a fresh shell for the next test
        }
    }

    @Test
    void readingMoreStdinGetsEndOfFile() {
        assertEquals("read all", ok(invoke("stdin-more", "event bytes\n".getBytes())));
        assertEquals("ok", ok(invoke("ok")));
    }

    @Test
    void backgroundProcessesDoNotHangTheInvocation() {
        assertTrue(ok(invoke("background")).startsWith("left "));
        assertEquals("ok", ok(invoke("ok")));
        assertEquals("ok", ok(invoke("ok")));
    }

    @Test
    void handlerVariablesNamedLikeTheRuntimesDoNotMatter() {
        try {
            assertEquals("clobbered 1", ok(invoke("clobber")));
            FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("{}")
                    .header("Lambda-Runtime-Cognito-Identity", "{\"cognitoIdentityId\":\"x\"}"));
            Dump d = dump(inv.await());
            assertEquals(inv.requestId, d.shell().get("LAMBDA_RUNTIME_AWS_REQUEST_ID"));
            assertEquals(inv.requestId, d.exported().get("LAMBDA_RUNTIME_AWS_REQUEST_ID"));
            assertEquals("{\"cognitoIdentityId\":\"x\"}", d.shell().get("LAMBDA_RUNTIME_COGNITO_IDENTITY"));
            assertNull(d.shell().get("LAMBDA_RUNTIME_TRACE_ID"), "unset although the handler exported it");
            assertNull(d.shell().get("_X_AMZN_TRACE_ID"));
            assertFalse(d.exported().containsKey("LAMBDA_RUNTIME_TRACE_ID"));
            assertEquals("MyError", error(invoke("fail-myerror")).get("errorType"));
        } finally {
            invoke("exit");   // leave a fresh shell (PATH, IFS...) for the next test
        }
        assertEquals("ok", ok(invoke("ok")));
    }

    // ------------------------------------------------------------------------------------------ runtime output, temp files, X-Ray

    @Test
    void runtimeOutputNeverReachesAResponse() {
        error(invoke("fail-plain"));            // makes the runtime log
        error(invoke("exit"));                  // makes it log and reload (top-level prints to stdout again)
        List<FakeRuntimeApi.Answer> answers = List.of(invoke("ok"), invoke("empty"), invoke("cat", new byte[0]));
        assertEquals(List.of("ok", "", ""), answers.stream().map(FunctionModeTest::ok).toList(),
                "responses hold exactly what the handler printed");
        assertEquals(0, runtime.stdout().length, "the runtime writes its logs to stderr, not stdout: "
                + new String(runtime.stdout(), StandardCharsets.UTF_8));
    }

    @Test
    void temporaryFilesLiveInOnePrivateDirectory() throws IOException {
        String[] paths = ok(invoke("tmpfiles")).split("\n");
        // The event and the response are never files: stdin and stdout are two different pipes.
        assertTrue(paths[0].startsWith("pipe:[") && paths[1].startsWith("pipe:["), "stdin and stdout are pipes: " + List.of(paths));
        assertNotEquals(paths[0], paths[1]);
        Path command = Path.of(paths[2]);
        Path dir = RuntimeProcess.privateDirectoryOf(command);
        assertTrue(dir != null, "the command file is under a directory of its own in /tmp: " + command);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)), dir.toString());
    }

    @Test
    void xraySegmentLinePerSampledInvocation() {
        int mark = runtime.stderrMark();
        String unsampledRoot = "1-5759e988-00000000000000000000000a";
        api.enqueue(FakeRuntimeApi.Event.of("{}").header("Lambda-Runtime-Invoked-Function-Arn", ARN + "ok")
                .header("Lambda-Runtime-Trace-Id", "Root=" + unsampledRoot + ";Sampled=0")).await();
        api.enqueue(FakeRuntimeApi.Event.of("{}").header("Lambda-Runtime-Invoked-Function-Arn", ARN + "ok")).await();
        FakeRuntimeApi.Answer a = api.enqueue(FakeRuntimeApi.Event.of("{}")
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "ok").header("Lambda-Runtime-Trace-Id", TRACE)).await();
        assertEquals("ok", ok(a));
        String line = runtime.awaitStderr(mark, l -> l.startsWith("X-Ray segment: "), "an X-Ray segment line");
        @SuppressWarnings("unchecked")
        Map<String, Object> seg = (Map<String, Object>) FakeRuntimeApi.Json.parse(line.substring("X-Ray segment: ".length()));
        assertEquals("1-5759e988-bd862e3fe1be46a994272793", seg.get("trace_id"));
        assertEquals("53995c3f42cd8ad8", seg.get("parent_id"));
        assertTrue(Pattern.matches("[0-9a-f]{16}", (String) seg.get("id")), "16 hex digit id: " + seg);
        assertEquals("jsr-test-function", seg.get("name"));
        double start = ((java.math.BigDecimal) seg.get("start_time")).doubleValue();
        double end = ((java.math.BigDecimal) seg.get("end_time")).doubleValue();
        assertTrue(start <= end && start > 1.6e9, "start/end in epoch seconds: " + seg);
        assertNull(seg.get("fault"));
        List<String> segments = new ArrayList<>();
        for (String l : runtime.stderrLinesFrom(mark)) if (l.startsWith("X-Ray segment: ")) segments.add(l);
        assertEquals(1, segments.size(), "no segment for unsampled or untraced invocations: " + segments);

        int mark2 = runtime.stderrMark();
        FakeRuntimeApi.Answer failed = api.enqueue(FakeRuntimeApi.Event.of("{}")
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "fail-plain").header("Lambda-Runtime-Trace-Id", TRACE)).await();
        error(failed);
        String faultLine = runtime.awaitStderr(mark2, l -> l.startsWith("X-Ray segment: "), "an X-Ray segment line for a failure");
        @SuppressWarnings("unchecked")
        Map<String, Object> fault = (Map<String, Object>) FakeRuntimeApi.Json.parse(faultLine.substring("X-Ray segment: ".length()));
        assertEquals(Boolean.TRUE, fault.get("fault"));
        assertNotEquals(seg.get("id"), fault.get("id"), "a new segment id per invocation");
    }

    // ------------------------------------------------------------------------------------------ Runtime API status handling

    @Test
    void droppedAndResetNextIsRetriedAndTheEventIsNeitherLostNorMisattributed() {
        api.dropNextPoll();
        api.resetNextPoll();
        byte[] body = "the event after two broken polls".getBytes();
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of(body)
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "cat"));
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertArrayEquals(body, a.body());
        assertTrue(a.record().path().contains(inv.requestId), "answered under its own request id");
        FakeRuntimeApi.Invocation next = api.enqueue(FakeRuntimeApi.Event.of("second".getBytes())
                .header("Lambda-Runtime-Invoked-Function-Arn", ARN + "cat"));
        assertEquals("second", ok(next.await()));
    }

    @Test
    void rejectedAnswersAreLoggedAndPollingContinues() {
        int mark = runtime.stderrMark();
        api.failNextAnswer(400);
        assertEquals(FakeRuntimeApi.Kind.FAULTED, invoke("ok").kind());
        api.failNextAnswer(403);
        assertEquals(FakeRuntimeApi.Kind.FAULTED, invoke("fail-plain").kind());
        assertEquals("ok", ok(invoke("ok")), "the runtime keeps polling after 400 and 403");
        List<String> logged = runtime.stderrLinesFrom(mark);
        assertTrue(logged.stream().anyMatch(l -> l.startsWith("java-shell-runtime: ") && l.contains("400")), "400 logged");
        assertTrue(logged.stream().anyMatch(l -> l.startsWith("java-shell-runtime: ") && l.contains("403")), "403 logged");
    }
}
