import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Unit tests of Bootstrap's package-private helpers: the JSON escaper, HTTP response parsing, and friends. */
class BootstrapUnitTest {

    // ------------------------------------------------------------------------------------------ JSON escaper

    /** Parses with the strict parser after a strict UTF-8 round trip of the escaper's output. */
    static String roundTrip(String s) {
        String json = Bootstrap.jsonString(s);
        byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8));
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new AssertionError("escaper output is not valid UTF-8 for " + FakeRuntimeApi.Json.quote(s));
        }
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            assertFalse(c < 0x20, "raw control character in " + FakeRuntimeApi.Json.quote(json));
        }
        return (String) FakeRuntimeApi.Json.parse(utf8);
    }

    @Test
    void everyControlCharacterIsEscaped() {
        for (char c = 0; c < 0x20; c++) {
            String s = "a" + c + "b";
            assertEquals(s, roundTrip(s), "U+" + Integer.toHexString(c));
        }
        assertEquals("\u007f", roundTrip("\u007f"));
        assertEquals("\\\u2028\u2029", roundTrip("\\\u2028\u2029"));
        assertEquals("\n\r\t\b\f\u0000\u001f", roundTrip("\n\r\t\b\f\u0000\u001f"));
    }

    @Test
    void quotesBackslashesAndOrdinaryText() {
        assertEquals("\"\"", Bootstrap.jsonString(""));
        assertEquals("\"say \\\"hi\\\" \\\\ / done\"", Bootstrap.jsonString("say \"hi\" \\ / done"));
        String unicode = "ünïcödé € 😀 日本";
        assertEquals("\"" + unicode + "\"", Bootstrap.jsonString(unicode), "non-ASCII passes through as UTF-8");
        assertEquals(unicode, roundTrip(unicode));
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        assertEquals("x\uFFFDy", roundTrip("x\uD800y"));
        assertEquals("x\uFFFDy", roundTrip("x\uDC00y"));
        assertEquals("\uFFFD", roundTrip("\uD83D"));
        assertEquals("\uFFFD\uFFFD", roundTrip("\uDE00\uD83D"), "reversed pair is two lone surrogates");
        assertEquals("\uD83D\uDE00", roundTrip("\uD83D\uDE00"));
    }

    @Test
    void invalidUtf8DecodedFromStderrGivesValidJson() {
        byte[] stderr = {'b', 'a', 'd', ' ', (byte) 0x80, (byte) 0xff, (byte) 0xc3, '(', (byte) 0xed, (byte) 0xa0, (byte) 0x80, 1, 27};
        String decoded = new String(stderr, StandardCharsets.UTF_8);
        assertEquals(decoded, roundTrip(decoded));
    }

    @Test
    void randomStringsRoundTrip() {
        Random r = new Random(20250601);
        for (int n = 0; n < 2000; n++) {
            StringBuilder b = new StringBuilder();
            int len = r.nextInt(40);
            for (int i = 0; i < len; i++) {
                int kind = r.nextInt(4);
                b.append(switch (kind) {
                    case 0 -> (char) r.nextInt(0x80);
                    case 1 -> (char) r.nextInt(0x10000);
                    case 2 -> (char) (0xD800 + r.nextInt(0x800));
                    default -> "\"\\/\u2028\u0000".charAt(r.nextInt(5));
                });
            }
            String s = b.toString();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                boolean paired = Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                        : Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
                expected.append(Character.isSurrogate(c) && !paired ? '\uFFFD' : c);
            }
            assertEquals(expected.toString(), roundTrip(s), () -> "for " + FakeRuntimeApi.Json.quote(s));
        }
    }

    @Test
    void errorReportJsonShape() {
        Bootstrap.ErrorReport report = new Bootstrap.ErrorReport("MyError", "bo\"om\n", List.of("line 1", "\u0001", ""));
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) FakeRuntimeApi.Json.parse(report.json());
        assertEquals("MyError", json.get("errorType"));
        assertEquals("bo\"om\n", json.get("errorMessage"));
        assertEquals(List.of("line 1", "\u0001", ""), json.get("stackTrace"));
        @SuppressWarnings("unchecked")
        Map<String, Object> empty = (Map<String, Object>) FakeRuntimeApi.Json.parse(
                new Bootstrap.ErrorReport("T", "", List.of()).json());
        assertEquals(List.of(), empty.get("stackTrace"));
    }

    @Test
    void errorTypeHeaderIsCategoryReason() {
        assertEquals("Function.MyError", new Bootstrap.ErrorReport("MyError", "", List.of()).headerType());
        assertEquals("Runtime.InvalidHandler", new Bootstrap.ErrorReport("Runtime.InvalidHandler", "", List.of()).headerType());
        assertEquals("Function.HandlerFailed", new Bootstrap.ErrorReport("HandlerFailed", "", List.of()).headerType());
        for (String odd : new String[] {"my_error", "lower", "A.b.c", "Err0r", "x"}) {
            String h = new Bootstrap.ErrorReport(odd, "", List.of()).headerType();
            assertTrue(h.matches("(Runtime|Function)\\.[A-Z][a-zA-Z]+"), odd + " -> " + h);
        }
    }

    // ------------------------------------------------------------------------------------------ error rule

    static Bootstrap.Handler handler() {
        return new Bootstrap.Handler(Path.of("/var/task"), Path.of("/var/task/app.sh"), "handler");
    }

    static Bootstrap.ErrorReport failure(int status, boolean exited, String... stderr) {
        List<byte[]> lines = new ArrayList<>();
        for (String s : stderr) lines.add(s.getBytes(StandardCharsets.UTF_8));
        return new Bootstrap.HandlerResult(true, exited, status, false, lines).errorReport(handler());
    }

    @Test
    void typeAndMessageFromTheLastNonBlankStderrLine() {
        Bootstrap.ErrorReport r = failure(1, false, "context", "MyError: boom", "", "   ");
        assertEquals("MyError", r.type());
        assertEquals("boom", r.message());
        assertFalse(r.stackTrace().contains("context"), "lines before the Type line are not its stack trace");
        Bootstrap.ErrorReport plain = failure(1, false, "context", "last words");
        assertTrue(plain.stackTrace().contains("context"), "without a Type line the stack trace is the last lines");
        assertEquals("Pkg.Sub_Type2", failure(1, false, "Pkg.Sub_Type2: msg: with colons").type());
        assertEquals("msg: with colons", failure(1, false, "Pkg.Sub_Type2: msg: with colons").message());
    }

    @Test
    void linesThatAreNotTypeColonMessage() {
        for (String line : new String[] {"1Bad: x", "has space: x", "NoSpace:x", "/path/app.sh: line 3: x: unbound variable",
                ": empty type", "Ünï: x"}) {
            Bootstrap.ErrorReport r = failure(2, false, line);
            assertEquals("HandlerFailed", r.type(), line);
            assertEquals(line, r.message(), line);
        }
        Bootstrap.ErrorReport silent = failure(7, false);
        assertEquals("HandlerFailed", silent.type());
        assertTrue(silent.message().contains("7"), "describes the status: " + silent.message());
        Bootstrap.ErrorReport exited = failure(4, true);
        assertTrue(exited.message().contains("4"), exited.message());
    }

    @Test
    void errorTypeNames() {
        assertTrue(Bootstrap.HandlerResult.isErrorTypeName("A"));
        assertTrue(Bootstrap.HandlerResult.isErrorTypeName("a.b_c9"));
        assertFalse(Bootstrap.HandlerResult.isErrorTypeName("9a"));
        assertFalse(Bootstrap.HandlerResult.isErrorTypeName("a-b"));
        assertFalse(Bootstrap.HandlerResult.isErrorTypeName("a b"));
        assertFalse(Bootstrap.HandlerResult.isErrorTypeName("_a"));
    }

    // ------------------------------------------------------------------------------------------ HTTP parsing

    static InputStream in(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    static InputStream in(byte[]... parts) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return new ByteArrayInputStream(b.toByteArray());
    }

    @Test
    void contentLengthBodyAndCaseInsensitiveHeaders() throws IOException {
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\nLAMBDA-RUNTIME-AWS-REQUEST-ID:  abc-1 \r\n"
                + "content-length: 5\r\nLambda-Runtime-Trace-Id: Root=1;x=a: b\r\n\r\nhelloEXTRA"));
        assertEquals(200, r.status());
        assertEquals("abc-1", r.headers().get("lambda-runtime-aws-request-id"), "name case folded, value OWS stripped");
        assertEquals("Root=1;x=a: b", r.headers().get("lambda-runtime-trace-id"), "': ' inside a value is kept");
        assertArrayEquals("hello".getBytes(), r.body(), "reads exactly Content-Length bytes");
    }

    @Test
    void chunkedBodyWithExtensionsAndTrailers() throws IOException {
        InputStream s = in("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                + "5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
                + "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nOK");
        Bootstrap.HttpReply r = Bootstrap.readReply(s);
        assertEquals("hello 0123456789", new String(r.body(), StandardCharsets.ISO_8859_1));
        Bootstrap.HttpReply next = Bootstrap.readReply(s);
        assertEquals(202, next.status(), "the chunked body and its trailers were consumed exactly");
        assertEquals("OK", new String(next.body(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void chunkedBinaryBody() throws IOException {
        byte[] all = new byte[256];
        for (int i = 0; i < 256; i++) all[i] = (byte) i;
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n100\r\n"
                .getBytes(StandardCharsets.ISO_8859_1), all, "\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
        assertArrayEquals(all, r.body());
    }

    @Test
    void chunkedWinsOverContentLength() throws IOException {
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n0\r\n\r\n"));
        assertEquals("abc", new String(r.body(), StandardCharsets.ISO_8859_1));
    }

    @Test
    void bareLineFeedsNoReasonPhraseAndReadToClose() throws IOException {
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 403\nContent-Type: application/json\n\n{\"e\":1}"));
        assertEquals(403, r.status());
        assertEquals("{\"e\":1}", new String(r.body(), StandardCharsets.ISO_8859_1), "no framing: body runs to close");
        assertEquals("application/json", r.headers().get("content-type"));
    }

    @Test
    void headerBytesPassThroughUnchanged() throws IOException {
        byte[] value = "ünï €".getBytes(StandardCharsets.UTF_8);
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Tenant-Id: ".getBytes(StandardCharsets.ISO_8859_1),
                value, "\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
        assertArrayEquals(value, r.headers().get("lambda-runtime-aws-tenant-id").getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(0, r.body().length);
    }

    @Test
    void malformedOrTruncatedResponsesAreErrors() {
        String[] bad = {
            "",
            "garbage\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
            "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        };
        for (String b : bad) {
            assertThrows(IOException.class, () -> Bootstrap.readReply(in(b)), () -> "accepted: " + FakeRuntimeApi.Json.quote(b));
        }
    }

    @Test
    void readLineHandlesCrLfLfAndEndOfStream() throws IOException {
        InputStream s = in("one\r\ntwo\nthree\r\r\n\nlast");
        assertEquals("one", Bootstrap.readLine(s, 100));
        assertEquals("two", Bootstrap.readLine(s, 100));
        assertEquals("three\r", Bootstrap.readLine(s, 100), "only the CR right before LF ends a line");
        assertEquals("", Bootstrap.readLine(s, 100));
        assertThrows(IOException.class, () -> Bootstrap.readLine(s, 100), "a line cut by the end of the stream");
        InputStream longLine = in("x".repeat(70_000) + "\r\nnext\n");
        assertEquals(101, Bootstrap.readLine(longLine, 100).length(), "a long line is read to its end but kept only to limit + 1");
        assertEquals("next", Bootstrap.readLine(longLine, 100), "and the next line starts after it");
    }

    @Test
    void oversizedHeadersAreNamedNotFatal() throws IOException {
        String big = "c".repeat(Bootstrap.MAX_HEADER_LINE + 10);
        Bootstrap.HttpReply r = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\nLambda-Runtime-Client-Context: " + big
                + "\r\nLambda-Runtime-Aws-Request-Id: id-1\r\nContent-Length: 2\r\n\r\n{}"));
        assertEquals("id-1", r.headers().get("lambda-runtime-aws-request-id"), "headers after the oversized one are read");
        assertArrayEquals("{}".getBytes(), r.body(), "and so is the body");
        assertTrue(r.problem() != null && r.problem().contains("lambda-runtime-client-context"), "the problem names the header: " + r.problem());
        assertNull(r.headers().get("lambda-runtime-client-context"), "the oversized value is not passed on");
        String ninetyK = "n".repeat(90 * 1024);
        Bootstrap.HttpReply ok = Bootstrap.readReply(in("HTTP/1.1 200 OK\r\nLambda-Runtime-Client-Context: " + ninetyK + "\r\nContent-Length: 0\r\n\r\n"));
        assertNull(ok.problem());
        assertEquals(ninetyK, ok.headers().get("lambda-runtime-client-context"));
    }

    // ------------------------------------------------------------------------------------------ other helpers

    @Test
    void requestIdsArePercentEncodedInPaths() {
        assertEquals("8476a536-e9f4-11e8-9739-2dfe598c3fcd", Bootstrap.pathSegment("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        assertEquals("a%2Fb%20c%3F%25%0D%0A", Bootstrap.pathSegment("a/b c?%\r\n"));
        // Header text holds the wire bytes as Latin-1 characters: the UTF-8 bytes of "ü" arrive as "\u00c3\u00bc".
        assertEquals("%C3%BC", Bootstrap.pathSegment("\u00c3\u00bc"));
        assertEquals("%FF", Bootstrap.pathSegment("\u00ff"));
    }

    @Test
    void shellQuoteSurvivesARealShell() throws Exception {
        String[] words = {"", "plain", "it's", "'", "''", "$(echo x) `x` $HOME \\ \" * ?", "a\nb", "-n", "ü €"};
        for (String w : words) {
            Process p = new ProcessBuilder("/bin/sh", "-c", "printf %s " + Bootstrap.shellQuote(w)).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor());
            assertEquals(w, out, "quoted: " + Bootstrap.shellQuote(w));
        }
    }

    @Test
    void runtimeApiAddress() {
        Bootstrap.RuntimeApi.fromAddress("127.0.0.1:9001");
        Bootstrap.RuntimeApi.fromAddress("localhost:1");
        Bootstrap.RuntimeApi.fromAddress("[::1]:9001");
        for (String bad : new String[] {null, "", "127.0.0.1", "127.0.0.1:", ":9001", "127.0.0.1:0", "127.0.0.1:65536",
                "127.0.0.1:http", "127.0.0.1:-1"}) {
            assertThrows(Bootstrap.FatalError.class, () -> Bootstrap.RuntimeApi.fromAddress(bad), "accepted " + bad);
        }
    }

    @Test
    void handlerSetting() throws IOException {
        Path root = Files.createTempDirectory("jsr-unit.");
        try {
            Files.writeString(root.resolve("app.sh"), "handler() { :; }\n");
            Files.writeString(root.resolve("run.sh"), "echo\n");
            Files.writeString(root.resolve("plain"), "echo\n");
            Bootstrap.Handler fn = Bootstrap.Handler.fromEnvironment("app.handler", root.toString());
            assertEquals(root.resolve("app.sh"), fn.file());
            assertEquals("handler", fn.function());
            assertTrue(fn.functionMode());
            Bootstrap.Handler file = Bootstrap.Handler.fromEnvironment("plain", root.toString());
            assertFalse(file.functionMode());
            assertEquals(root.resolve("plain"), file.file());
            assertFalse(Bootstrap.Handler.fromEnvironment("run.sh", root.toString()).functionMode(),
                    "an existing file name with a dot is a file handler");
            assertEquals(root, Bootstrap.Handler.fromEnvironment("app.handler", root.toString()).taskRoot());
            Bootstrap.InitError defaultRoot = assertThrows(Bootstrap.InitError.class,
                    () -> Bootstrap.Handler.fromEnvironment("jsr-surely-missing.handler", null));
            assertTrue(defaultRoot.getMessage().contains("/var/task/jsr-surely-missing.sh"),
                    "LAMBDA_TASK_ROOT defaults to /var/task: " + defaultRoot.getMessage());
            for (String bad : new String[] {null, "", "  ", "app.", ".handler", "app.1x", "app.a b", "app.$(x)"}) {
                Bootstrap.InitError e = assertThrows(Bootstrap.InitError.class,
                        () -> Bootstrap.Handler.fromEnvironment(bad, root.toString()), "accepted " + bad);
                assertEquals("Runtime.InvalidHandler", e.type, bad);
            }
            Bootstrap.InitError missing = assertThrows(Bootstrap.InitError.class,
                    () -> Bootstrap.Handler.fromEnvironment("nope.handler", root.toString()));
            assertEquals("Runtime.HandlerNotFound", missing.type);
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void shellReports() {
        assertEquals(Bootstrap.Report.STARTED, Bootstrap.LogLines.parseReport(" started").kind());
        assertEquals(Bootstrap.Report.END, Bootstrap.LogLines.parseReport(" end 0").kind());
        assertEquals(127, Bootstrap.LogLines.parseReport(" end 127").status());
        assertEquals(Bootstrap.Report.EXIT, Bootstrap.LogLines.parseReport(" exit 143").kind());
        assertEquals(143, Bootstrap.LogLines.parseReport(" exit 143").status());
        for (String bad : new String[] {" end ", " end 1x", "end 1", " started ", " exit", "", " ended 1"}) {
            assertNull(Bootstrap.LogLines.parseReport(bad), bad);
        }
    }
}
