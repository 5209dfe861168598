import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fake Runtime API itself: it must enforce what the real one does, or the end-to-end tests prove nothing. */
class FakeRuntimeApiTest {
    static final String BASE = "/2018-06-01/runtime/";
    FakeRuntimeApi api;

    @BeforeEach
    void start() {
        api = FakeRuntimeApi.start();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    record Reply(int status, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String n) {
            return headers.get(n);
        }
    }

    /** One request on its own connection; returns null when the server closed the connection without answering. */
    Reply http(String method, String path, String extraHeaders, byte[] body) throws IOException {
        try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), api.port())) {
            OutputStream out = s.getOutputStream();
            String head = method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + extraHeaders
                    + (body == null ? "" : "Content-Length: " + body.length + "\r\n") + "Connection: close\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) out.write(body);
            out.flush();
            return read(s.getInputStream());
        }
    }

    Reply raw(byte[] request, boolean halfClose) throws IOException {
        try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), api.port())) {
            s.getOutputStream().write(request);
            if (halfClose) s.shutdownOutput();
            return read(s.getInputStream());
        }
    }

    static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    static Reply read(InputStream in) throws IOException {
        String status;
        try {
            status = line(in);
        } catch (java.net.SocketException e) {
            return null;   // reset
        }
        if (status == null) return null;
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int c = h.indexOf(':');
            headers.put(h.substring(0, c), h.substring(c + 1).strip());
        }
        byte[] body;
        if ("chunked".equalsIgnoreCase(headers.get("Transfer-Encoding"))) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int n = Integer.parseInt(line(in), 16); n > 0; n = Integer.parseInt(line(in), 16)) {
                b.write(in.readNBytes(n));
                line(in);
            }
            line(in);
            body = b.toByteArray();
        } else {
            body = in.readNBytes(Integer.parseInt(headers.getOrDefault("Content-Length", "0")));
        }
        return new Reply(Integer.parseInt(status.split(" ")[1]), headers, body);
    }

    Reply next() throws IOException {
        return http("GET", BASE + "invocation/next", "", null);
    }

    Reply respond(String id, byte[] body) throws IOException {
        return http("POST", BASE + "invocation/" + id + "/response", "", body);
    }

    @Test
    void nextDeliversTheEventWithItsHeaders() throws IOException {
        byte[] body = {0, 1, 2, (byte) 255, '\r', '\n'};
        FakeRuntimeApi.Invocation inv = api.enqueue(body, Map.of("Lambda-Runtime-Trace-Id", "Root=1-x;Sampled=1",
                "Lambda-Runtime-Invoked-Function-Arn", "arn:x"));
        long before = System.currentTimeMillis();
        Reply r = next();
        assertEquals(200, r.status());
        assertArrayEquals(body, r.body());
        assertEquals(inv.requestId, r.header("Lambda-Runtime-Aws-Request-Id"));
        assertEquals("Root=1-x;Sampled=1", r.header("Lambda-Runtime-Trace-Id"));
        assertEquals("arn:x", r.header("Lambda-Runtime-Invoked-Function-Arn"));
        assertEquals("application/json", r.header("Content-Type"));
        long deadline = Long.parseLong(r.header("Lambda-Runtime-Deadline-Ms"));
        assertTrue(deadline >= before + 299_000 && deadline <= System.currentTimeMillis() + 300_000, "deadline now+300 s");
        for (String absent : List.of("Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity", "Lambda-Runtime-Aws-Tenant-Id")) {
            assertNull(r.header(absent), absent + " only when given");
        }
        assertTrue(inv.isDelivered());
    }

    @Test
    void nextLongPollsUntilAnEventIsQueued() throws Exception {
        CompletableFuture<Reply> poll = CompletableFuture.supplyAsync(() -> {
            try {
                return next();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        api.awaitPolling();
        assertFalse(poll.isDone(), "/next answered before any event was queued");
        FakeRuntimeApi.Invocation inv = api.enqueue("late");
        Reply r = poll.get(RuntimeProcess.SAFETY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertEquals(inv.requestId, r.header("Lambda-Runtime-Aws-Request-Id"));
        assertEquals("late", r.text());
    }

    @Test
    void responseIsAcceptedOnceAndRecorded() throws IOException {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        next();
        Reply ok = respond(inv.requestId, "result".getBytes());
        assertEquals(202, ok.status());
        assertEquals("{\"status\":\"OK\"}", ok.text());
        FakeRuntimeApi.Answer a = inv.await();
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind());
        assertEquals("result", a.bodyText());
        assertEquals(List.of(), api.violations());

        Reply again = respond(inv.requestId, "twice".getBytes());
        assertEquals(403, again.status());
        assertTrue(again.text().contains("InvalidStateTransition"), again.text());
        Reply error = http("POST", BASE + "invocation/" + inv.requestId + "/error", "", "{}".getBytes());
        assertEquals(403, error.status(), "one answer per invocation, /error included");
        assertEquals(2, api.violations().size());
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, inv.answer().kind(), "the first answer stands");

        FakeRuntimeApi.Record post = api.awaitRecord(r -> r.method().equals("POST") && r.status() == 202, "the accepted POST");
        assertEquals("POST", post.method());
        assertEquals(BASE + "invocation/" + inv.requestId + "/response", post.path());
        assertEquals("6", post.header("content-length"), "headers are looked up case-insensitively");
        assertEquals(202, post.status());
        assertTrue(post.tStartUs() <= post.tEndUs());
        long nowUs = System.currentTimeMillis() * 1000;
        assertTrue(post.tStartUs() > nowUs - 600_000_000L && post.tEndUs() <= nowUs + 1_000_000, "epoch microseconds");
        assertEquals(inv.requestId, post.requestId());
    }

    @Test
    void aHeldAnswerIsNotReadUntilReleasedThenAcceptedWhole() throws Exception {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        next();
        FakeRuntimeApi.AnswerHold hold = api.holdNextAnswer();
        byte[] body = new byte[5 * 1024 * 1024]; // more than the socket buffers hold unread, less than the limit
        java.util.Arrays.fill(body, (byte) 'h');
        try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), api.port())) {
            s.getOutputStream().write(("POST " + BASE + "invocation/" + inv.requestId + "/response HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    s.getOutputStream().write(body);
                    s.getOutputStream().flush();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            FakeRuntimeApi.Record head = hold.awaitHeld(30_000);
            assertEquals(Integer.toString(body.length), head.header("Content-Length"));
            assertNull(inv.answer(), "nothing is answered while the body is held");
            assertTrue(api.records().stream().noneMatch(r -> r.method().equals("POST")), "nor recorded");
            hold.release();
            writer.get(30, TimeUnit.SECONDS);
            Reply r = read(s.getInputStream());
            assertEquals(202, r.status());
        }
        FakeRuntimeApi.Answer a = inv.await(30_000);
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind());
        assertArrayEquals(body, a.body());
        assertEquals(List.of(), api.violations());
    }

    @Test
    void wrongRequestIdIs400() throws IOException {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        Reply early = respond(inv.requestId, new byte[0]);
        assertEquals(400, early.status(), "not delivered yet, so not the current invocation");
        next();
        Reply r = respond("not-" + inv.requestId, new byte[0]);
        assertEquals(400, r.status());
        assertEquals("InvalidRequestID", ((Map<?, ?>) FakeRuntimeApi.Json.parse(r.body())).get("errorType"));
        assertNull(inv.answer(), "a wrong id does not answer the invocation");
        assertEquals(2, api.violations().size());
    }

    @Test
    void nextWhileAnAnswerIsOwedIs403() throws IOException {
        api.enqueue("{}");
        api.enqueue("{}");
        assertEquals(200, next().status());
        Reply r = next();
        assertEquals(403, r.status());
        assertTrue(r.text().contains("InvalidStateTransition"));
        assertEquals(1, api.violations().size());
    }

    @Test
    void initErrorOnlyDuringInit() throws IOException {
        Reply first = http("POST", BASE + "init/error", "Lambda-Runtime-Function-Error-Type: Runtime.X\r\n", "{\"a\":1}".getBytes());
        assertEquals(202, first.status());
        FakeRuntimeApi.Record r = api.awaitInitError();
        assertEquals("Runtime.X", r.header("Lambda-Runtime-Function-Error-Type"));
        assertEquals("{\"a\":1}", r.bodyText());
        assertEquals(403, http("POST", BASE + "init/error", "", new byte[0]).status(), "only once");
        assertEquals(403, next().status(), "no /next after an init error");

        try (FakeRuntimeApi other = FakeRuntimeApi.start()) {
            FakeRuntimeApi saved = api;
            api = other;
            other.enqueue("{}");
            next();
            assertEquals(403, http("POST", BASE + "init/error", "", new byte[0]).status(), "/init/error after the first /next");
            api = saved;
        }
    }

    @Test
    void bufferedResponseLimit() throws IOException {
        FakeRuntimeApi.Invocation exact = api.enqueue("{}");
        next();
        assertEquals(202, respond(exact.requestId, new byte[FakeRuntimeApi.MAX_BUFFERED_RESPONSE]).status());
        FakeRuntimeApi.Invocation over = api.enqueue("{}");
        next();
        Reply r = respond(over.requestId, new byte[FakeRuntimeApi.MAX_BUFFERED_RESPONSE + 1]);
        assertEquals(413, r.status());
        assertTrue(r.text().contains("RequestEntityTooLarge"));
        assertEquals(FakeRuntimeApi.Kind.TOO_LARGE, over.await().kind());
        assertEquals("Function.ResponseSizeTooLarge", over.await().errorType());
        assertEquals(403, http("POST", BASE + "invocation/" + over.requestId + "/error", "", "{}".getBytes()).status(),
                "after a 413 the invocation is over: no /error");
        assertEquals(1, api.violations().size(), "only the late /error: " + api.violations());
    }

    @Test
    void responseModeHeader() throws IOException {
        FakeRuntimeApi.Invocation bad = api.enqueue("{}");
        next();
        Reply r = http("POST", BASE + "invocation/" + bad.requestId + "/response",
                "Lambda-Runtime-Function-Response-Mode: buffered\r\n", "x".getBytes());
        assertEquals(400, r.status());
        assertEquals(FakeRuntimeApi.Kind.REJECTED, bad.await().kind());
        assertEquals("Runtime.InvalidResponseModeHeader", bad.await().errorType());

        FakeRuntimeApi.Invocation streamed = api.enqueue("{}");
        next();
        String req = "POST " + BASE + "invocation/" + streamed.requestId + "/response HTTP/1.1\r\nHost: x\r\n"
                + "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
                + "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\nConnection: close\r\n\r\n"
                + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n"
                + "Lambda-Runtime-Function-Error-Body: e30=\r\n\r\n";
        Reply ok = raw(req.getBytes(StandardCharsets.ISO_8859_1), false);
        assertEquals(202, ok.status());
        FakeRuntimeApi.Answer a = streamed.await();
        assertEquals("hello, world", a.bodyText());
        assertTrue(a.record().chunked());
        assertEquals("Runtime.StreamError", a.trailers().get("lambda-runtime-function-error-type").get(0));
        assertEquals("e30=", a.record().trailer("Lambda-Runtime-Function-Error-Body"));
    }

    @Test
    void truncatedChunkedBodyIs400() throws IOException {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        next();
        String req = "POST " + BASE + "invocation/" + inv.requestId + "/response HTTP/1.1\r\nHost: x\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel";
        Reply r = raw(req.getBytes(StandardCharsets.ISO_8859_1), true);
        assertEquals(400, r.status());
        assertTrue(r.text().contains("Runtime.TruncatedResponse"), r.text());
        assertEquals(FakeRuntimeApi.Kind.REJECTED, inv.await().kind());
        assertTrue(api.awaitRecord(rec -> rec.method().equals("POST"), "the POST").truncated());
    }

    @Test
    void scriptedFaultsOnNext() throws IOException {
        api.failNextPoll(500);
        api.dropNextPoll();
        api.resetNextPoll();
        FakeRuntimeApi.Invocation noId = api.enqueue(FakeRuntimeApi.Event.of("{}").withoutRequestId());
        FakeRuntimeApi.Invocation chunked = api.enqueue(FakeRuntimeApi.Event.of("chunked body, several chunks").chunked());
        Reply r500 = next();
        assertEquals(500, r500.status());
        assertNull(next(), "dropped without an answer");
        assertNull(next(), "reset without an answer");
        Reply r = next();
        assertEquals(200, r.status());
        assertNull(r.header("Lambda-Runtime-Aws-Request-Id"));
        assertTrue(noId.isDelivered());
        assertEquals(403, next().status(), "the id-less invocation is still owed");

        try (FakeRuntimeApi other = FakeRuntimeApi.start()) {
            FakeRuntimeApi saved = api;
            api = other;
            FakeRuntimeApi.Invocation c = other.enqueue(FakeRuntimeApi.Event.of("chunked body, several chunks").chunked());
            Reply rc = next();
            assertEquals("chunked", rc.header("Transfer-Encoding"));
            assertEquals("chunked body, several chunks", rc.text());
            assertEquals(c.requestId, rc.header("Lambda-Runtime-Aws-Request-Id"));
            api = saved;
        }
        assertFalse(chunked.isDelivered());
    }

    @Test
    void scriptedFaultsOnAnswers() throws IOException {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        next();
        api.failNextAnswer(413);
        assertEquals(413, respond(inv.requestId, "small".getBytes()).status());
        assertEquals(FakeRuntimeApi.Kind.FAULTED, inv.await().kind());
        assertEquals(413, inv.await().status());
        FakeRuntimeApi.Invocation second = api.enqueue("{}");
        next();
        api.dropNextAnswer();
        assertNull(respond(second.requestId, "x".getBytes()));
        assertEquals(FakeRuntimeApi.Kind.FAULTED, second.await().kind());
        assertEquals(List.of(), api.violations());
    }

    @Test
    void keepAliveConnectionsServeSeveralRequests() throws IOException {
        FakeRuntimeApi.Invocation inv = api.enqueue("{}");
        try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), api.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + BASE + "invocation/next HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            Reply r = read(s.getInputStream());
            assertEquals(inv.requestId, r.header("Lambda-Runtime-Aws-Request-Id"));
            out.write(("POST " + BASE + "invocation/" + inv.requestId
                    + "/response HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\nok").getBytes(StandardCharsets.ISO_8859_1));
            assertEquals(202, read(s.getInputStream()).status());
        }
        assertEquals("ok", inv.await().bodyText());
    }

    @Test
    void cliServesNEventsThenAnswers500AndReports() throws Exception {
        Path dir = Files.createTempDirectory("jsr-fake-cli.");
        try {
            Path fifo = dir.resolve("port");
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
            Path record = dir.resolve("record.jsonl");
            ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
            PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
            CompletableFuture<Integer> cli = CompletableFuture.supplyAsync(() -> {
                try {
                    return FakeRuntimeApi.runCli(0, fifo, "{\"n\":1}".getBytes(), 2,
                            Map.of("Lambda-Runtime-Trace-Id", "Root=1-a;Sampled=0"), record, 60, err);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            int port = Integer.parseInt(Files.readString(fifo).strip());   // blocks until the CLI listens
            {
                String[] ids = new String[2];
                for (int i = 0; i < 2; i++) {
                    Reply r = viaPort(port, "GET", BASE + "invocation/next", null);
                    assertEquals(200, r.status());
                    assertEquals("{\"n\":1}", r.text());
                    assertEquals("Root=1-a;Sampled=0", r.header("Lambda-Runtime-Trace-Id"));
                    ids[i] = r.header("Lambda-Runtime-Aws-Request-Id");
                    assertEquals(202, viaPort(port, "POST", BASE + "invocation/" + ids[i] + "/response", "ok".getBytes()).status());
                }
                assertFalse(ids[0].equals(ids[1]), "a fresh request id per event");
                assertEquals(500, viaPort(port, "GET", BASE + "invocation/next", null).status());
            }
            assertEquals(0, cli.get(RuntimeProcess.SAFETY_TIMEOUT_MS, TimeUnit.MILLISECONDS), errBytes.toString());
            List<String> lines = Files.readAllLines(record);
            assertEquals(5, lines.size(), String.join("\n", lines));
            // Lines are in completion order, which need not be the order the requests were made in.
            List<Map<?, ?>> recs = new java.util.ArrayList<>();
            for (String l : lines) recs.add((Map<?, ?>) FakeRuntimeApi.Json.parse(l));
            for (Map<?, ?> r : recs) {
                assertTrue(((Number) r.get("t_start_us")).longValue() <= ((Number) r.get("t_end_us")).longValue(), r::toString);
            }
            List<Map<?, ?>> gets = recs.stream().filter(r -> r.get("method").equals("GET")).toList();
            assertEquals(List.of(200, 200, 500), gets.stream().map(r -> ((Number) r.get("status")).intValue()).sorted().toList());
            List<Map<?, ?>> posts = recs.stream().filter(r -> r.get("method").equals("POST")).toList();
            assertEquals(3, gets.size());
            assertEquals(2, posts.size());
            for (Map<?, ?> post : posts) {
                assertEquals(2, ((Number) post.get("body_length")).intValue());
                assertEquals(202, ((Number) post.get("status")).intValue());
                assertTrue(post.get("path").toString().contains(post.get("request_id").toString()));
            }
        } finally {
            RuntimeProcess.deleteTree(dir);
        }
    }

    @Test
    void cliFailsWhenAnInvocationFailed() throws Exception {
        Path dir = Files.createTempDirectory("jsr-fake-cli.");
        try {
            Path fifo = dir.resolve("port");
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
            ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
            PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
            CompletableFuture<Integer> cli = CompletableFuture.supplyAsync(() -> {
                try {
                    return FakeRuntimeApi.runCli(0, fifo, "{}".getBytes(), 1, Map.of(), null, 60, err);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            int port = Integer.parseInt(Files.readString(fifo).strip());
            String id = viaPort(port, "GET", BASE + "invocation/next", null).header("Lambda-Runtime-Aws-Request-Id");
            assertEquals(202, viaPort(port, "POST", BASE + "invocation/" + id + "/error", "{}".getBytes()).status());
            assertEquals(500, viaPort(port, "GET", BASE + "invocation/next", null).status());
            assertEquals(1, cli.get(RuntimeProcess.SAFETY_TIMEOUT_MS, TimeUnit.MILLISECONDS));
            assertTrue(errBytes.toString().contains(id), "says which invocation failed: " + errBytes);
        } finally {
            RuntimeProcess.deleteTree(dir);
        }
    }

    static Reply viaPort(int port, String method, String path, byte[] body) throws IOException {
        try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
            String head = method + " " + path + " HTTP/1.1\r\nHost: x\r\n"
                    + (body == null ? "" : "Content-Length: " + body.length + "\r\n") + "Connection: close\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) s.getOutputStream().write(body);
            return read(s.getInputStream());
        }
    }
}
