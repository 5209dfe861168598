import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * End to end, response streaming (JAVA_SHELL_RUNTIME_RESPONSE_MODE=streaming), function mode with
 * spec/fixtures/stream.sh. One runtime, started with its heap bounded to 64 MiB, serves the streaming tests; it is
 * started again only after a test left it dead or broke the protocol. "Early" is proved with a barrier, never with
 * time: the handler writes its first bytes and then waits for a file that the test creates only after the fake API
 * has received those bytes, so a runtime that forwarded nothing before the handler's end could not pass.
 */
class StreamingTest {
    static final String MODE_VARIABLE = "JAVA_SHELL_RUNTIME_RESPONSE_MODE";
    static final String ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";
    static final String ERROR_BODY = "Lambda-Runtime-Function-Error-Body";
    static final List<String> HEAP_BOUND = List.of("-Xmx64m");

    static FakeRuntimeApi api;
    static RuntimeProcess runtime;
    static Path taskRoot;
    static final List<Path> scratch = new ArrayList<>();

    static void ensureRuntime() {
        if (RuntimeProcess.reusable(runtime, api)) return;
        stopRuntime();
        taskRoot = RuntimeProcess.taskRoot("stream.sh");
        api = FakeRuntimeApi.start();
        Map<String, String> env = RuntimeProcess.lambdaEnv(api, "stream.handler", taskRoot);
        env.put(MODE_VARIABLE, "streaming");
        runtime = RuntimeProcess.start(env, taskRoot, HEAP_BOUND).abortWaitsOnExit(api);
        api.awaitPolling();
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
        return RuntimeProcess.scratchDir(scratch, "jsr-stream.");
    }

    static FakeRuntimeApi.Invocation enqueue(String line) {
        return api.enqueue(FakeRuntimeApi.Event.of(line));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The request headers every streamed response must carry (docs/runtime-api.md, "Streaming a response"). */
    static void assertStreamingHeaders(FakeRuntimeApi.StreamedBody sb) {
        assertEquals("streaming", sb.header("Lambda-Runtime-Function-Response-Mode"), sb::toString);
        assertEquals("chunked", String.valueOf(sb.header("Transfer-Encoding")).toLowerCase(Locale.ROOT), sb::toString);
        String declared = String.valueOf(sb.header("Trailer")).toLowerCase(Locale.ROOT);
        assertTrue(declared.contains(ERROR_TYPE.toLowerCase(Locale.ROOT)) && declared.contains(ERROR_BODY.toLowerCase(Locale.ROOT)),
                "both error trailers are declared up front: Trailer: " + sb.header("Trailer"));
    }

    static FakeRuntimeApi.Answer streamedOk(FakeRuntimeApi.Invocation inv) {
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "expected a response, got " + a + "\nstderr:\n" + runtime.tail());
        assertTrue(a.record().chunked(), "a streamed response is chunked: " + a);
        assertStreamingHeaders(inv.streamedBody());
        assertNull(a.record().trailer(ERROR_TYPE), () -> "no error trailer on a successful stream: " + a.trailers());
        assertNull(a.record().trailer(ERROR_BODY), () -> "no error trailer on a successful stream: " + a.trailers());
        return a;
    }

    static boolean isHttpIntegration(String contentType) {
        return contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith(FakeRuntimeApi.HTTP_INTEGRATION_CONTENT_TYPE);
    }

    /** Waits for the first bytes at the fake while the handler waits for the go file; then lets it go on. */
    static FakeRuntimeApi.StreamedBody firstBytesThenGo(FakeRuntimeApi.Invocation inv, Path d, String first) throws IOException {
        FakeRuntimeApi.StreamedBody sb = inv.awaitStreamedBytes(bytes(first).length);
        // The handler cannot have finished: it waits for the go file, which does not exist yet.
        assertFalse(Files.exists(d.resolve("go")));
        assertFalse(sb.isEnded(), "the stream is still open while the handler waits");
        assertNull(inv.answer(), "not answered while the handler waits");
        assertEquals(first, new String(sb.head(), StandardCharsets.UTF_8), "the first bytes, before the handler finished");
        assertStreamingHeaders(sb);
        Files.createFile(d.resolve("go"));
        return sb;
    }

    @Test
    void firstBytesReachTheApiBeforeTheHandlerFinishes() throws IOException {
        ensureRuntime();
        Path d = dir();
        FakeRuntimeApi.Invocation inv = enqueue("first-then-wait " + d);
        FakeRuntimeApi.StreamedBody sb = firstBytesThenGo(inv, d, "first bytes\n");
        FakeRuntimeApi.Answer a = streamedOk(inv);
        assertEquals("first bytes\nrest of the stream\n", a.bodyText());
        assertTrue(sb.isEnded());
        assertFalse(isHttpIntegration(sb.header("Content-Type")), "plain text is not an HTTP-integration response");
    }

    @Test
    void jsonLinesAreForwardedAtOnceNotHeldBackAsAPossiblePrelude() throws IOException {
        ensureRuntime();
        Path d = dir();
        FakeRuntimeApi.Invocation inv = enqueue("ndjson-then-wait " + d);
        firstBytesThenGo(inv, d, "{\"n\":1}\n");
        FakeRuntimeApi.Answer a = streamedOk(inv);
        assertEquals("{\"n\":1}\n{\"n\":2}\n", a.bodyText());
        assertFalse(isHttpIntegration(a.header("Content-Type")), "JSON lines are not a prelude");
    }

    /** The error JSON carried base64 in the Error-Body trailer, checked against the Error-Type trailer. */
    static Map<String, Object> trailerError(FakeRuntimeApi.Answer a, String type, String headerType) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "a failure after the first byte ends the stream (202), got " + a);
        assertEquals(headerType, a.record().trailer(ERROR_TYPE), () -> "trailers: " + a.trailers());
        String body = a.record().trailer(ERROR_BODY);
        assertTrue(body != null, () -> "an error body trailer: " + a.trailers());
        byte[] decoded = Base64.getDecoder().decode(body); // strict: throws on anything but base64
        Object json = FakeRuntimeApi.Json.parse(decoded);
        assertTrue(json instanceof Map, "the trailer decodes to a JSON object: " + new String(decoded, StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) json;
        assertEquals(type, m.get("errorType"), m::toString);
        assertTrue(m.get("stackTrace") instanceof List, m::toString);
        long errors = api.records().stream().filter(r -> r.path().endsWith("/" + a.record().requestId() + "/error")).count();
        assertEquals(0, errors, "no /error once the response has started");
        return m;
    }

    @Test
    void aFailureAfterTheFirstByteIsReportedInTrailers() throws IOException {
        ensureRuntime();
        Path d = dir();
        FakeRuntimeApi.Invocation inv = enqueue("fail-after " + d);
        firstBytesThenGo(inv, d, "partial output");
        FakeRuntimeApi.Answer a = inv.await();
        Map<String, Object> e = trailerError(a, "StreamBroke", "Function.StreamBroke");
        assertEquals("went wrong midway", e.get("errorMessage"));
        assertTrue(((List<?>) e.get("stackTrace")).contains("  at stream.sh: the context after the Type line"), "the stack trace: " + e);
        assertEquals("partial output", a.bodyText(), "the bytes written before the failure are kept");
    }

    @Test
    void untypedFailuresAndExitsAfterTheFirstByteFollowTheErrorRule() {
        ensureRuntime();
        FakeRuntimeApi.Answer untyped = enqueue("fail-after-untyped").await();
        Map<String, Object> e = trailerError(untyped, "HandlerFailed", "Function.HandlerFailed");
        assertEquals("the disk is full", e.get("errorMessage"));
        assertEquals("partial output", untyped.bodyText());

        FakeRuntimeApi.Answer exited = enqueue("fail-after-exit").await();
        Map<String, Object> x = trailerError(exited, "HandlerFailed", "Function.HandlerFailed");
        assertTrue(String.valueOf(x.get("errorMessage")).contains("status 5"), "says the shell ended with status 5: " + x);
        // The shell was loaded again and streams the next response.
        assertEquals("just text, no prelude", streamedOk(enqueue("plain")).bodyText());
    }

    @Test
    void aFailureBeforeAnyByteUsesTheErrorEndpoint() {
        ensureRuntime();
        FakeRuntimeApi.Invocation inv = enqueue("fail-before");
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.ERROR, a.kind(), () -> "expected /error, got " + a);
        assertEquals("Function.EarlyError", a.header(ERROR_TYPE));
        Map<String, Object> json = a.jsonObject();
        assertEquals("EarlyError", json.get("errorType"));
        assertEquals("nothing written yet", json.get("errorMessage"));
        assertNull(inv.streamedBody(), "no streamed POST was started");
    }

    @Test
    void emptyOutputPostsAnEmptyResponse() {
        ensureRuntime();
        FakeRuntimeApi.Answer a = enqueue("empty").await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), a::toString);
        assertEquals(0, a.record().bodyLength(), "an empty response");
        assertNull(a.record().trailer(ERROR_TYPE));
    }

    @Test
    void thePreludeGetsTheHttpIntegrationContentType() {
        ensureRuntime();
        FakeRuntimeApi.Invocation inv = enqueue("prelude");
        FakeRuntimeApi.Answer a = streamedOk(inv);
        FakeRuntimeApi.StreamedBody sb = inv.streamedBody();
        assertEquals(FakeRuntimeApi.HTTP_INTEGRATION_CONTENT_TYPE, a.header("Content-Type"));
        assertNull(sb.preludeProblem());
        Map<String, Object> prelude = sb.prelude();
        assertEquals(201, ((Number) prelude.get("statusCode")).intValue(), prelude::toString);
        assertEquals(Map.of("content-type", "text/plain", "x-brace", "}{\"x"), prelude.get("headers"));
        assertEquals(List.of("a=b"), prelude.get("cookies"));
        byte[] body = a.body();
        assertEquals("hello from a function URL",
                new String(Arrays.copyOfRange(body, sb.payloadOffset(), body.length), StandardCharsets.UTF_8));

        FakeRuntimeApi.Invocation split = enqueue("prelude-split");
        FakeRuntimeApi.Answer s = streamedOk(split);
        assertEquals(FakeRuntimeApi.HTTP_INTEGRATION_CONTENT_TYPE, s.header("Content-Type"), "a prelude written in pieces");
        assertEquals(202, ((Number) split.streamedBody().prelude().get("statusCode")).intValue());
        byte[] sbody = s.body();
        assertEquals("payload after a prelude written in pieces",
                new String(Arrays.copyOfRange(sbody, split.streamedBody().payloadOffset(), sbody.length), StandardCharsets.UTF_8));
    }

    @Test
    void outputWithoutAPreludeHasNoHttpIntegrationContentType() {
        ensureRuntime();
        FakeRuntimeApi.Answer plain = streamedOk(enqueue("plain"));
        assertEquals("just text, no prelude", plain.bodyText());
        assertFalse(isHttpIntegration(plain.header("Content-Type")), "Content-Type: " + plain.header("Content-Type"));
        FakeRuntimeApi.Answer json = streamedOk(enqueue("json"));
        assertEquals("{\"message\":\"a JSON body is not a prelude\"}", json.bodyText(), "a JSON body arrives whole");
        assertFalse(isHttpIntegration(json.header("Content-Type")), "Content-Type: " + json.header("Content-Type"));
    }

    @Test
    void fiftyMegabytesStreamThroughABoundedHeap() throws Exception {
        ensureRuntime();
        List<String> jvm = runtime.process.info().arguments().map(List::of).orElse(List.of());
        assertTrue(jvm.containsAll(HEAP_BOUND), "the premise: the runtime's heap is bounded: " + jvm);
        int lines = 7_000_000; // `seq 1 7000000`: 54,888,896 bytes, more than the 64 MiB heap could hold twice
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        long length = 0;
        StringBuilder buf = new StringBuilder(1 << 16);
        for (int i = 1; i <= lines; i++) {
            buf.append(i).append('\n');
            if (buf.length() > 60_000 || i == lines) {
                byte[] b = buf.toString().getBytes(StandardCharsets.US_ASCII);
                expected.update(b);
                length += b.length;
                buf.setLength(0);
            }
        }
        assertTrue(length > 50L * 1024 * 1024, "the premise: more than 50 MiB");
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("seq " + lines).countResponseBytes());
        FakeRuntimeApi.Answer a = streamedOk(inv);
        FakeRuntimeApi.StreamedBody sb = inv.streamedBody();
        assertEquals(length, sb.bytes(), "every byte arrived");
        assertEquals(HexFormat.of().formatHex(expected.digest()), sb.sha256(), "the bytes arrived unchanged and in order");
        assertTrue(sb.reads() > 1, "in more than one piece");
        assertEquals(length, a.record().bodyLength());
    }

    @Test
    void anInvalidResponseModeIsAnInitError() {
        Path root = RuntimeProcess.taskRoot("stream.sh");
        try (FakeRuntimeApi fake = FakeRuntimeApi.start()) {
            Map<String, String> env = RuntimeProcess.lambdaEnv(fake, "stream.handler", root);
            env.put(MODE_VARIABLE, "Streaming");
            try (RuntimeProcess rt = RuntimeProcess.start(env, root).abortWaitsOnExit(fake)) {
                FakeRuntimeApi.Record r = fake.awaitInitError();
                assertNotEquals(0, rt.awaitExit(), "the runtime exits non-zero after an init error");
                assertEquals("Runtime.ConfigInvalid", r.header(ERROR_TYPE));
                @SuppressWarnings("unchecked")
                Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(r.body());
                assertEquals("Runtime.ConfigInvalid", json.get("errorType"), json::toString);
                assertTrue(String.valueOf(json.get("errorMessage")).contains(MODE_VARIABLE), "names the variable: " + json);
                assertEquals(0, fake.pollsStarted(), "no GET /next after an init error");
                assertEquals(List.of(), fake.violations());
            }
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void withoutTheSwitchResponsesAreBuffered() {
        Path root = RuntimeProcess.taskRoot("stream.sh");
        try (FakeRuntimeApi fake = FakeRuntimeApi.start();
             RuntimeProcess rt = RuntimeProcess.start(fake, "stream.handler", root)) {
            for (String action : List.of("plain", "prelude")) {
                FakeRuntimeApi.Invocation inv = fake.enqueue(action);
                FakeRuntimeApi.Answer a = inv.await();
                assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> a + "\nstderr:\n" + rt.tail());
                assertFalse(a.record().chunked(), "buffered: not chunked");
                assertEquals(Long.toString(a.body().length), a.header("Content-Length"), "buffered: Content-Length");
                assertNull(a.header("Lambda-Runtime-Function-Response-Mode"), "buffered: no streaming header");
                assertFalse(isHttpIntegration(a.header("Content-Type")), "buffered output is not marked as a prelude");
                assertNull(inv.streamedBody());
            }
            assertEquals(List.of(), fake.violations());
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The fake itself: it must show the first bytes before a stream ends, keep trailers, count and hash, and check
    // the prelude, or the tests above prove nothing.

    @Test
    void theFakeShowsAStreamWhileItArrivesAndChecksThePrelude() throws Exception {
        try (FakeRuntimeApi fake = FakeRuntimeApi.start()) {
            FakeRuntimeApi.Invocation inv = fake.enqueue(FakeRuntimeApi.Event.of("{}").countResponseBytes());
            assertEquals(200, get(fake, "invocation/next"));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fake.port())) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /2018-06-01/runtime/invocation/" + inv.requestId + "/response HTTP/1.1\r\nHost: x\r\n"
                        + "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
                        + "Trailer: " + ERROR_TYPE + ", " + ERROR_BODY + "\r\nConnection: close\r\n\r\n5\r\nhello\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                FakeRuntimeApi.StreamedBody sb = inv.awaitStreamedBytes(5);
                assertEquals("hello", new String(sb.head(), StandardCharsets.US_ASCII));
                assertFalse(sb.isEnded());
                assertNull(inv.answer());
                byte[] big = new byte[200_000];
                Arrays.fill(big, (byte) 'x');
                out.write((Integer.toHexString(big.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(big);
                out.write(("\r\n0\r\n" + ERROR_TYPE + ": Function.Late\r\n" + ERROR_BODY + ": e30=\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                InputStream in = s.getInputStream();
                assertTrue(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 202"));
            }
            FakeRuntimeApi.Answer a = inv.await();
            FakeRuntimeApi.StreamedBody sb = inv.streamedBody();
            assertEquals(5 + 200_000, sb.bytes());
            assertEquals(5 + 200_000, a.record().bodyLength());
            assertEquals(FakeRuntimeApi.StreamedBody.HEAD_BYTES, a.body().length, "counted, not kept beyond the head");
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update("hello".getBytes(StandardCharsets.US_ASCII));
            byte[] big = new byte[200_000];
            Arrays.fill(big, (byte) 'x');
            assertEquals(HexFormat.of().formatHex(md.digest(big)), sb.sha256());
            assertEquals("Function.Late", sb.trailer(ERROR_TYPE));
            assertEquals("e30=", a.record().trailer(ERROR_BODY));
            assertEquals(List.of(), fake.violations());

            // Content-Type says HTTP integration, the body has no prelude: listed as a violation.
            FakeRuntimeApi.Invocation bad = fake.enqueue("{}");
            assertEquals(200, get(fake, "invocation/next"));
            assertEquals(202, streamedPost(fake, bad.requestId, "{\"statusCode\":200}\0\0\0body"));
            assertTrue(bad.streamedBody().preludeProblem() != null);
            assertEquals(1, fake.violations().size(), fake.violations()::toString);
            FakeRuntimeApi.Invocation good = fake.enqueue("{}");
            assertEquals(200, get(fake, "invocation/next"));
            assertEquals(202, streamedPost(fake, good.requestId, "{\"statusCode\":200}\0\0\0\0\0\0\0\0body"));
            assertEquals(200, ((Number) good.streamedBody().prelude().get("statusCode")).intValue());
            assertEquals(1, fake.violations().size(), "a valid prelude passes: " + fake.violations());
        }
    }

    static int get(FakeRuntimeApi fake, String path) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fake.port())) {
            s.getOutputStream().write(("GET /2018-06-01/runtime/" + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            return Integer.parseInt(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).substring(9, 12));
        }
    }

    static int streamedPost(FakeRuntimeApi fake, String id, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fake.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /2018-06-01/runtime/invocation/" + id + "/response HTTP/1.1\r\nHost: x\r\n"
                    + "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\nContent-Type: "
                    + FakeRuntimeApi.HTTP_INTEGRATION_CONTENT_TYPE + "\r\nConnection: close\r\n\r\n"
                    + Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return Integer.parseInt(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).substring(9, 12));
        }
    }
}
