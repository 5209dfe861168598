/*
 * FakeRuntimeApi: a fake AWS Lambda Runtime API on loopback that enforces what the real one (rapid/RIE) does,
 * records every request, and lets a test script faults. JDK only, one source file, no package.
 * Contract: docs/runtime-api.md (its status codes, and the local Lambda's and AWS's emulator's checks).
 *
 * ---------------------------------------------------------------------------------------------------------------
 * CLI (through the JDK source launcher):
 *
 *   $JAVA_HOME/bin/java spec/support/FakeRuntimeApi.java --port-file FILE --event FILE --count N \
 *       [--header 'Name: value']... [--record FILE.jsonl] [--port P] [--timeout SECONDS]
 *
 *   --port-file FILE  written with the listening port (decimal + newline) once the server accepts connections.
 *                     A regular file is written atomically (temp file + rename); if FILE is a FIFO the port is
 *                     written into it, so a script can wait without sleeping:
 *                         mkfifo p; java FakeRuntimeApi.java --port-file p ... & read -r port < p
 *   --event FILE      the event body (bytes, served unchanged) for every invocation.
 *   --count N         serve the event N times (fresh request id each, deadline now+300 s at delivery); the
 *                     (N+1)th GET /next is answered 500 so the runtime exits; then this program exits.
 *   --header 'N: v'   extra /next response header on every event (repeatable), e.g.
 *                     'Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1'.
 *   --record FILE     one JSON line per request, in the order requests complete: {"method","path","status",
 *                     "t_start_us","t_end_us","body_length" (request body bytes),"response_length","request_id"};
 *                     times are wall-clock epoch microseconds at the first byte of the request and after the answer
 *                     was written (status -1: connection dropped without an answer).
 *   --port P          listen on P instead of an ephemeral port.
 *   --timeout S       safety limit (default 900): exit 3 if the run is not finished after S seconds.
 *   Exit status: 0 when every invocation got a response and no protocol violation happened; 1 when an
 *   invocation got /error, a 4xx answer, or a protocol violation happened, or the runtime posted /init/error
 *   (the reason is printed on stderr, prefixed "fake-runtime-api: "); 2 on bad usage; 3 on timeout.
 *
 * ---------------------------------------------------------------------------------------------------------------
 * In-process (JUnit) API, in short:
 *
 *   try (FakeRuntimeApi api = FakeRuntimeApi.start()) {          // 127.0.0.1, ephemeral port
 *       env.put("AWS_LAMBDA_RUNTIME_API", api.address());       // "127.0.0.1:PORT"
 *       Invocation inv = api.enqueue("{\"a\":1}".getBytes(), Map.of("Lambda-Runtime-Trace-Id", "Root=..."));
 *       Answer a = inv.await();                                  // blocks (safety timeout) until answered
 *       a.kind(); a.body(); a.errorType(); a.json();             // RESPONSE / ERROR / TOO_LARGE / ...
 *       api.records(); api.violations(); api.awaitInitError(); api.awaitPolling();
 *   }
 *
 *   /next script: enqueue(...) and the fault methods append to ONE queue served in order by successive
 *   GET /next requests: failNextPoll(status), dropNextPoll(), resetNextPoll(). Event options (Event builder):
 *   chunked body, no request id header, lower-case header names, extra/omitted headers (null value = omit a
 *   default: request id, Lambda-Runtime-Deadline-Ms = now+300 s, Content-Type = application/json).
 *   Answer faults (next POST to /response or /error): failNextAnswer(status), dropNextAnswer(); holdNextAnswer()
 *   stops reading that POST after its head until the test releases it (a slow reader, as a network can be).
 *   Invocation.await(ms): a shorter bound than the safety timeout, for tests whose failure is a runtime that hangs.
 *
 * Enforced like the real API: request id in the path must be the current invocation's (else 400
 * InvalidRequestID); one answer per invocation (else 403 InvalidStateTransition); GET /next while an answer
 * is owed or while another /next is pending -> 403; /init/error after the first /next (or twice) -> 403;
 * buffered /response body > 6291556 bytes -> 413 RequestEntityTooLarge (the invocation has failed with
 * Function.ResponseSizeTooLarge); Lambda-Runtime-Function-Response-Mode other than "streaming" -> 400
 * InvalidFunctionResponseMode (invocation failed: Runtime.InvalidResponseModeHeader); request bodies framed by
 * Content-Length or chunked (trailers recorded); a truncated body -> 400 (Runtime.TruncatedResponse).
 * Every enforcement answer is also listed in violations().
 *
 * Lambda Managed Instances mode: FakeRuntimeApi.startManagedInstances(n) behaves as LMI does with
 * AWS_LAMBDA_MAX_CONCURRENCY=n: up to n GET /next may wait at once and up to n invocations may be outstanding
 * (delivered, not answered); a GET /next beyond that (pending polls + outstanding invocations >= n) -> 403
 * InvalidStateTransition. Script items are handed out in order to whichever GET /next takes them. An answer must
 * name a delivered invocation (else 400 InvalidRequestID) that has not been answered (else 403); each is answered
 * once. awaitPolling(k) waits until k GET /next are waiting. The default mode (start()) is unchanged.
 *
 * Streamed responses (POST /response with Lambda-Runtime-Function-Response-Mode: streaming): the body is watched
 * while it arrives: Invocation.awaitStreamedBytes(n) returns, before the request ends, once n body bytes have come
 * (StreamedBody: its request headers, the bytes so far, the first 64 KiB). When the request ends, its trailers
 * (Lambda-Runtime-Function-Error-Type, base64 Lambda-Runtime-Function-Error-Body) are in the Answer and the
 * StreamedBody; with Content-Type application/vnd.awslambda.http-integration-response the body must open with
 * the HTTP-integration prelude (a JSON object, then 8 NUL bytes, within the first 16 KiB), else a violation is
 * listed (the POST is still answered 202, as rapid does: it is the caller that cannot use the response); the
 * parsed prelude is StreamedBody.prelude(). Event.countResponseBytes(): that invocation's streamed body is not kept
 * beyond its first 64 KiB, only counted and hashed (StreamedBody.sha256()), for bodies up to 200 MiB.
 * Event.deadlineIn(ms): Lambda-Runtime-Deadline-Ms = delivery time + ms (may be negative: already passed).
 */

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

public final class FakeRuntimeApi implements AutoCloseable {

    /** Buffered response limit of the real API: 6 MiB + 100 bytes. */
    public static final int MAX_BUFFERED_RESPONSE = 6 * 1024 * 1024 + 100;
    /** Streaming response limit (200 MiB). */
    public static final long MAX_STREAMED_RESPONSE = 200L * 1024 * 1024;
    /** Bytes of one request body kept in a record; more is counted, not kept. */
    static final int KEEP_BODY_BYTES = 256 * 1024 * 1024;
    /** Safety timeout for every await: only there to fail a test instead of hanging it. */
    public static final long SAFETY_TIMEOUT_MS = Long.getLong("fake.safetyTimeoutMs", 180_000L);

    static final String PREFIX = "/2018-06-01/runtime/";
    public static final String HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";

    // ------------------------------------------------------------------------------------------ public types

    public enum Kind {
        /** 202 to POST /response. */
        RESPONSE,
        /** 202 to POST /error. */
        ERROR,
        /** 413: buffered response over the limit; the platform failed the invocation (Function.ResponseSizeTooLarge). */
        TOO_LARGE,
        /** 400: bad response mode header or truncated body; the platform failed the invocation. */
        REJECTED,
        /** Answered with a status scripted by failNextAnswer / dropNextAnswer. */
        FAULTED
    }

    /** One recorded HTTP request and what the fake answered (status -1: connection dropped, no answer). */
    public record Record(String method, String target, String path, Map<String, List<String>> headers,
                         byte[] body, long bodyLength, boolean chunked, boolean truncated,
                         Map<String, List<String>> trailers, long tStartUs, long tEndUs, int status,
                         long responseLength, String requestId) {
        /** First value of a header (case-insensitive), or null. */
        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** First value of a trailer (case-insensitive), or null. */
        public String trailer(String name) {
            List<String> v = trailers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public boolean isNext() {
            return "GET".equals(method) && (PREFIX + "invocation/next").equals(path);
        }

        @Override
        public String toString() {
            return method + " " + target + " -> " + status + " (body " + bodyLength + " B"
                    + (chunked ? ", chunked" : "") + (truncated ? ", TRUNCATED" : "") + ")";
        }
    }

    /** How an invocation was answered. errorType: the error-type header for ERROR, the platform's type otherwise. */
    public record Answer(Kind kind, int status, byte[] body, Map<String, List<String>> headers,
                         Map<String, List<String>> trailers, String errorType, Record record) {
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** The body parsed as strict JSON (strict UTF-8); throws IllegalArgumentException when it is not. */
        public Object json() {
            return Json.parse(body);
        }

        /** The body as a JSON object. */
        @SuppressWarnings("unchecked")
        public Map<String, Object> jsonObject() {
            Object o = json();
            if (!(o instanceof Map)) throw new IllegalArgumentException("not a JSON object: " + bodyText());
            return (Map<String, Object>) o;
        }

        @Override
        public String toString() {
            return kind + " " + status + (errorType == null ? "" : " type=" + errorType) + " body(" + body.length + ")="
                    + printable(body, 300);
        }
    }

    /** What the next GET /next delivers. Header value null = omit that header (also a default). */
    public static final class Event {
        final byte[] body;
        final List<String[]> headers = new ArrayList<>();
        boolean chunked;
        boolean omitRequestId;
        boolean lowerCaseNames;
        boolean countOnly;
        Long deadlineOffsetMs;

        private Event(byte[] body) {
            this.body = body.clone();
        }

        public static Event of(byte[] body) {
            return new Event(body);
        }

        public static Event of(String body) {
            return new Event(body.getBytes(StandardCharsets.UTF_8));
        }

        /** Adds a /next response header; value null omits it (and suppresses the default for that name). */
        public Event header(String name, String value) {
            headers.add(new String[] {name, value});
            return this;
        }

        public Event headers(Map<String, String> map) {
            map.forEach(this::header);
            return this;
        }

        /** Send the event with Transfer-Encoding: chunked (several chunks of varying size). */
        public Event chunked() {
            chunked = true;
            return this;
        }

        /** Fault: deliver without Lambda-Runtime-Aws-Request-Id (the runtime must treat it as fatal). */
        public Event withoutRequestId() {
            omitRequestId = true;
            return this;
        }

        /** Write all header names in lower case (HTTP header names are case-insensitive). */
        public Event lowerCaseHeaderNames() {
            lowerCaseNames = true;
            return this;
        }

        /**
         * A streamed response to this invocation is counted and hashed (SHA-256), not kept beyond its first 64 KiB:
         * Answer.body() then holds only that start; StreamedBody.bytes() and sha256() describe the whole body.
         */
        public Event countResponseBytes() {
            countOnly = true;
            return this;
        }

        /** Lambda-Runtime-Deadline-Ms = the time of delivery + offsetMs (negative: a deadline already passed). */
        public Event deadlineIn(long offsetMs) {
            deadlineOffsetMs = offsetMs;
            return this;
        }

        boolean has(String name) {
            for (String[] h : headers) if (h[0].equalsIgnoreCase(name)) return true;
            return false;
        }

        String get(String name) {
            for (String[] h : headers) if (h[0].equalsIgnoreCase(name)) return h[1];
            return null;
        }
    }

    /** One queued event: delivered by a /next, answered by a /response or /error. */
    public final class Invocation {
        public final String requestId;
        final Event event;
        private Answer answer;
        private boolean delivered;
        private Map<String, String> sentHeaders = Map.of();
        private StreamedBody stream;

        Invocation(String requestId, Event event) {
            this.requestId = requestId;
            this.event = event;
        }

        /** Blocks until this invocation is answered (or fails the test after the safety timeout). */
        public Answer await() {
            return await(SAFETY_TIMEOUT_MS);
        }

        /** The same with a shorter bound, for a test whose failure mode is a runtime that never answers. */
        public Answer await(long timeoutMs) {
            synchronized (lock) {
                waitFor(() -> answer != null, "an answer for invocation " + requestId, timeoutMs);
                return answer;
            }
        }

        /** Blocks until a /next has delivered this invocation. */
        public void awaitDelivered() {
            synchronized (lock) {
                waitFor(() -> delivered, "delivery of invocation " + requestId);
            }
        }

        public boolean isDelivered() {
            synchronized (lock) {
                return delivered;
            }
        }

        /** The answer so far, or null. */
        public Answer answer() {
            synchronized (lock) {
                return answer;
            }
        }

        /** The /next response headers actually sent for this invocation (empty before delivery). */
        public Map<String, String> sentHeaders() {
            synchronized (lock) {
                return sentHeaders;
            }
        }

        public byte[] body() {
            return event.body.clone();
        }

        /**
         * Blocks until a streamed POST /response for this invocation has delivered at least n body bytes (or has
         * ended with fewer), and returns it: a test sees the first bytes while the handler is still running.
         */
        public StreamedBody awaitStreamedBytes(long n) {
            synchronized (lock) {
                waitFor(() -> stream != null && (stream.bytes >= n || stream.ended),
                        n + " streamed response bytes for invocation " + requestId);
                return stream;
            }
        }

        /** The streamed POST /response for this invocation (in progress or ended), or null when none began. */
        public StreamedBody streamedBody() {
            synchronized (lock) {
                return stream;
            }
        }
    }

    /** A streamed POST /response, observed while its body arrives. Methods return snapshots. */
    public final class StreamedBody {
        /** Body bytes kept for head() (and the prelude check) whatever the invocation's keep option. */
        static final int HEAD_BYTES = 64 * 1024;
        /** API Gateway needs the prelude and its 8 NUL bytes within the first 16 KB. */
        static final int PRELUDE_WINDOW = 16 * 1024;
        public final String requestId;
        private final Map<String, List<String>> headers;
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final java.security.MessageDigest digest;
        private long bytes;
        private long chunks;
        private boolean ended;
        private Map<String, List<String>> trailers = Map.of();
        private String sha256;
        private Map<String, Object> prelude;
        private int payloadOffset = -1;
        private String preludeProblem;

        StreamedBody(String requestId, Map<String, List<String>> headers, boolean hash) {
            this.requestId = requestId;
            this.headers = headers;
            java.security.MessageDigest d = null;
            if (hash) {
                try {
                    d = java.security.MessageDigest.getInstance("SHA-256");
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
            this.digest = d;
        }

        /** Called by the connection's thread for each piece of body read. */
        void add(byte[] buf, int n) {
            if (digest != null) digest.update(buf, 0, n);
            synchronized (lock) {
                int room = HEAD_BYTES - head.size();
                if (room > 0) head.write(buf, 0, Math.min(room, n));
                bytes += n;
                chunks++;
                lock.notifyAll();
            }
        }

        /** Called when the request has been read in full (or broke off). */
        void end(Req req) {
            synchronized (lock) {
                trailers = Collections.unmodifiableMap(req.trailers);
                if (digest != null) sha256 = java.util.HexFormat.of().formatHex(digest.digest());
                if (isHttpIntegration() && !req.truncated) {
                    checkPrelude();
                    if (preludeProblem != null) {
                        violations.add(req.method + " " + req.target + ": Content-Type " + HTTP_INTEGRATION_CONTENT_TYPE
                                + " but no valid HTTP-integration prelude: " + preludeProblem);
                    }
                }
                ended = true;
                lock.notifyAll();
            }
        }

        private boolean isHttpIntegration() {
            String ct = header("Content-Type");
            if (ct == null) return false;
            int semi = ct.indexOf(';');
            return (semi < 0 ? ct : ct.substring(0, semi)).strip().equalsIgnoreCase(HTTP_INTEGRATION_CONTENT_TYPE);
        }

        /** Must hold lock. The prelude: a JSON object, then exactly 8 NUL bytes, within the first 16 KiB. */
        private void checkPrelude() {
            byte[] b = head.toByteArray();
            int nul = -1;
            for (int k = 0; k < Math.min(b.length, PRELUDE_WINDOW); k++) {
                if (b[k] == 0) {
                    nul = k;
                    break;
                }
            }
            if (nul < 0) {
                preludeProblem = "no NUL delimiter within the first " + PRELUDE_WINDOW + " bytes";
                return;
            }
            if (nul + 8 > b.length) {
                preludeProblem = "the body ends inside the 8 NUL bytes after the prelude";
                return;
            }
            for (int k = nul; k < nul + 8; k++) {
                if (b[k] != 0) {
                    preludeProblem = "fewer than 8 NUL bytes after the prelude";
                    return;
                }
            }
            Object json;
            try {
                json = Json.parse(java.util.Arrays.copyOf(b, nul));
            } catch (IllegalArgumentException e) {
                preludeProblem = "the prelude is not JSON: " + e.getMessage();
                return;
            }
            if (!(json instanceof Map)) {
                preludeProblem = "the prelude is not a JSON object";
                return;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) json;
            Object status = m.get("statusCode");
            if (status != null && !(status instanceof BigDecimal d && d.stripTrailingZeros().scale() <= 0)) {
                preludeProblem = "statusCode is not an integer: " + status;
                return;
            }
            prelude = Collections.unmodifiableMap(m);
            payloadOffset = nul + 8;
        }

        /** First value of a request header (case-insensitive), or null. */
        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        public Map<String, List<String>> headers() {
            return headers;
        }

        /** First value of a trailer (case-insensitive), or null (also while the body is still arriving). */
        public String trailer(String name) {
            synchronized (lock) {
                List<String> v = trailers.get(name);
                return v == null || v.isEmpty() ? null : v.get(0);
            }
        }

        public Map<String, List<String>> trailers() {
            synchronized (lock) {
                return trailers;
            }
        }

        /** Body bytes received so far. */
        public long bytes() {
            synchronized (lock) {
                return bytes;
            }
        }

        /** Reads of body data so far (at least the number of chunks that carried data). */
        public long reads() {
            synchronized (lock) {
                return chunks;
            }
        }

        /** The first body bytes received so far (at most 64 KiB). */
        public byte[] head() {
            synchronized (lock) {
                return head.toByteArray();
            }
        }

        public boolean isEnded() {
            synchronized (lock) {
                return ended;
            }
        }

        /** Blocks until the request has been read to its end. */
        public StreamedBody awaitEnd() {
            synchronized (lock) {
                waitFor(() -> ended, "the end of the streamed response of " + requestId);
                return this;
            }
        }

        /** Blocks until at least n body bytes have arrived (or the body ended with fewer). */
        public StreamedBody awaitBytes(long n) {
            synchronized (lock) {
                waitFor(() -> bytes >= n || ended, n + " streamed response bytes for " + requestId);
                return this;
            }
        }

        /** Lower-case hex SHA-256 of the whole body, for an Event.countResponseBytes() invocation once ended; else null. */
        public String sha256() {
            synchronized (lock) {
                return sha256;
            }
        }

        /** The parsed HTTP-integration prelude, when the content type announced one and it was valid; else null. */
        public Map<String, Object> prelude() {
            synchronized (lock) {
                return prelude;
            }
        }

        /** Offset of the payload after the prelude and its 8 NUL bytes, or -1. */
        public int payloadOffset() {
            synchronized (lock) {
                return payloadOffset;
            }
        }

        /** Why the announced prelude is not valid, or null (also when no prelude was announced). */
        public String preludeProblem() {
            synchronized (lock) {
                return preludeProblem;
            }
        }

        @Override
        public String toString() {
            synchronized (lock) {
                return "streamed response of " + requestId + ": " + bytes + " B" + (ended ? ", ended" : ", in progress")
                        + ", trailers " + trailers + ", head=" + printable(head.toByteArray(), 200);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ state

    private final Object lock = new Object();
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Deque<Object> pollScript = new ArrayDeque<>();       // Invocation or PollFault
    private final Deque<AnswerFault> answerFaults = new ArrayDeque<>();
    private final Deque<AnswerHold> answerHolds = new ArrayDeque<>();
    private final List<Record> records = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private final List<Invocation> invocations = new ArrayList<>();
    private final List<Record> initErrors = new ArrayList<>();
    private final List<Consumer<Record>> listeners = new ArrayList<>();
    private boolean initDone;          // a GET /next has arrived
    private int pollsPending;          // GET /next requests currently waiting
    private int pollsStarted;
    private Invocation current;        // last delivered invocation
    private boolean owed;              // current is delivered and not answered
    private volatile boolean closed;
    private int inFlight;              // requests begun and not yet recorded
    /** Managed Instances mode: up to maxConcurrency polls + outstanding invocations at once; 0 = the default mode. */
    private final int maxConcurrency;
    private final Map<String, Invocation> delivered = new LinkedHashMap<>();    // by request id (both modes)

    private sealed interface PollFault permits Status, Drop {}

    private record Status(int code, String body) implements PollFault {}

    private record Drop(boolean reset) implements PollFault {}

    private record AnswerFault(int status, boolean drop) {}

    private FakeRuntimeApi(int port, int maxConcurrency) throws IOException {
        this.maxConcurrency = maxConcurrency;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        acceptor = new Thread(this::acceptLoop, "fake-runtime-api-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Starts a fake on 127.0.0.1 with an ephemeral port. */
    public static FakeRuntimeApi start() {
        return start(0);
    }

    public static FakeRuntimeApi start(int port) {
        try {
            return new FakeRuntimeApi(port, 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a fake that behaves as Lambda Managed Instances with AWS_LAMBDA_MAX_CONCURRENCY=maxConcurrency:
     * that many GET /next may wait at once, and that many invocations may be outstanding.
     */
    public static FakeRuntimeApi startManagedInstances(int maxConcurrency) {
        if (maxConcurrency < 1) throw new IllegalArgumentException("maxConcurrency must be at least 1");
        try {
            return new FakeRuntimeApi(0, maxConcurrency);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The concurrency of a Managed Instances fake, or 0 for the default (one invocation at a time) mode. */
    public int maxConcurrency() {
        return maxConcurrency;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** host:port, the value for AWS_LAMBDA_RUNTIME_API. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    // ------------------------------------------------------------------------------------------ scripting

    public Invocation enqueue(byte[] body) {
        return enqueue(Event.of(body));
    }

    public Invocation enqueue(String body) {
        return enqueue(Event.of(body));
    }

    /** Queues an event with extra /next headers (null value = omit that header). */
    public Invocation enqueue(byte[] body, Map<String, String> headers) {
        return enqueue(Event.of(body).headers(headers));
    }

    public Invocation enqueue(Event event) {
        String id = event.get("Lambda-Runtime-Aws-Request-Id");
        if (id == null) id = UUID.randomUUID().toString();
        Invocation inv = new Invocation(id, event);
        synchronized (lock) {
            pollScript.addLast(inv);
            invocations.add(inv);
            lock.notifyAll();
        }
        return inv;
    }

    /** The next GET /next in the script is answered with this status and a JSON error body. */
    public void failNextPoll(int status) {
        String type = switch (status) {
            case 500 -> "ServiceException";
            case 403 -> "InvalidStateTransition";
            default -> "Fault" + status;
        };
        failNextPoll(status, "{\"errorMessage\":\"scripted fault " + status + "\",\"errorType\":\"" + type + "\"}");
    }

    public void failNextPoll(int status, String jsonBody) {
        script(new Status(status, jsonBody));
    }

    /** The next GET /next in the script has its connection closed without an answer (FIN). */
    public void dropNextPoll() {
        script(new Drop(false));
    }

    /** The next GET /next in the script has its connection reset (RST) without an answer. */
    public void resetNextPoll() {
        script(new Drop(true));
    }

    private void script(PollFault f) {
        synchronized (lock) {
            pollScript.addLast(f);
            lock.notifyAll();
        }
    }

    /** The next POST to /response or /error (body read in full) is answered with this status; it ends the invocation. */
    public void failNextAnswer(int status) {
        synchronized (lock) {
            answerFaults.addLast(new AnswerFault(status, false));
        }
    }

    /** The next POST to /response or /error (body read in full) has its connection closed without an answer. */
    public void dropNextAnswer() {
        synchronized (lock) {
            answerFaults.addLast(new AnswerFault(0, true));
        }
    }

    /**
     * The next POST to /response or /error is held after its head has been read: its body is not read (the
     * runtime's writes stall once the socket buffers are full, as with a slow network) until the test calls
     * AnswerHold.release(). The request then goes on as usual. A hold is released by close() too.
     */
    public AnswerHold holdNextAnswer() {
        AnswerHold h = new AnswerHold();
        synchronized (lock) {
            answerHolds.addLast(h);
        }
        return h;
    }

    /** A POST held before its body is read: see holdNextAnswer(). */
    public final class AnswerHold {
        private Record head;
        private boolean released;

        /** Blocks (at most timeoutMs) until the held POST has arrived; returns a record of its head (no body yet). */
        public Record awaitHeld(long timeoutMs) {
            synchronized (lock) {
                waitFor(() -> head != null, "a POST to /response or /error to hold", timeoutMs);
                return head;
            }
        }

        /** Lets the held request's body be read (also before it arrived: then it is not held at all). */
        public void release() {
            synchronized (lock) {
                released = true;
                lock.notifyAll();
            }
        }

        /** On the connection's thread: waits until released (bounded by the safety timeout, or the fake's close). */
        void hold(Req req) {
            synchronized (lock) {
                head = new Record(req.method, req.target, req.path, Collections.unmodifiableMap(req.headers), new byte[0],
                        0, false, false, Map.of(), req.tStart, nowUs(), 0, 0, null);
                lock.notifyAll();
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SAFETY_TIMEOUT_MS);
                while (!released && !closed) {
                    long left = end - System.nanoTime();
                    if (left <= 0) return;
                    try {
                        TimeUnit.NANOSECONDS.timedWait(lock, left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    /** The first armed hold, when req is a POST of an answer; must not hold lock. */
    private AnswerHold takeHold(Req req) {
        if (!"POST".equals(req.method) || !req.path.startsWith(PREFIX + "invocation/")
                || !(req.path.endsWith("/response") || req.path.endsWith("/error"))) {
            return null;
        }
        synchronized (lock) {
            return answerHolds.pollFirst();
        }
    }

    // ------------------------------------------------------------------------------------------ observing

    /** Snapshot of all completed requests, in completion order. */
    public List<Record> records() {
        synchronized (lock) {
            return List.copyOf(records);
        }
    }

    /** Every answer the fake gave because the runtime broke the protocol. */
    public List<String> violations() {
        synchronized (lock) {
            return List.copyOf(violations);
        }
    }

    public List<Invocation> invocations() {
        synchronized (lock) {
            return List.copyOf(invocations);
        }
    }

    /** Number of GET /next requests received so far (including one waiting now). */
    public int pollsStarted() {
        synchronized (lock) {
            return pollsStarted;
        }
    }

    /** Calls listener for every request completed from now on (on the connection's thread). */
    public void onRecord(Consumer<Record> listener) {
        synchronized (lock) {
            listeners.add(listener);
        }
    }

    /** Blocks until a completed request matches (existing ones count). */
    public Record awaitRecord(Predicate<Record> p, String what) {
        synchronized (lock) {
            Record[] found = new Record[1];
            waitFor(() -> {
                for (Record r : records) if (p.test(r)) { found[0] = r; return true; }
                return false;
            }, what);
            return found[0];
        }
    }

    /** Blocks until no request is between its first byte and its record (a pending GET /next counts). */
    public void awaitIdle() {
        synchronized (lock) {
            waitFor(() -> inFlight == 0, "requests in flight to be recorded");
        }
    }

    /** Like awaitIdle, but gives up after timeoutMs; returns whether the fake is idle. */
    boolean awaitIdle(long timeoutMs) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (lock) {
            while (inFlight > 0 && !closed) {
                long left = end - System.nanoTime();
                if (left <= 0) return false;
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /** Blocks until the runtime posted /runtime/init/error; returns that record. */
    public Record awaitInitError() {
        synchronized (lock) {
            waitFor(() -> !initErrors.isEmpty(), "a POST /runtime/init/error");
            return initErrors.get(0);
        }
    }

    public List<Record> initErrors() {
        synchronized (lock) {
            return List.copyOf(initErrors);
        }
    }

    /** Blocks until a GET /next is waiting with nothing left in the script: the runtime is idle. */
    public void awaitPolling() {
        awaitPolling(1);
    }

    /** Blocks until at least n GET /next are waiting at once with nothing left in the script (Managed Instances). */
    public void awaitPolling(int n) {
        synchronized (lock) {
            waitFor(() -> pollsPending >= n && pollScript.isEmpty(), n + " GET /next waiting at once");
        }
    }

    /** Number of GET /next waiting now. */
    public int pollsPending() {
        synchronized (lock) {
            return pollsPending;
        }
    }

    /** Invocations delivered and not yet answered. */
    public List<Invocation> outstanding() {
        synchronized (lock) {
            List<Invocation> l = new ArrayList<>();
            for (Invocation inv : delivered.values()) if (inv.answer == null) l.add(inv);
            return l;
        }
    }

    /**
     * Blocks until init has ended one way or the other: a GET /next arrived or an init error was posted. Returns
     * true for a GET /next. safetyTimeoutMs only turns a hang into a test failure.
     */
    public boolean awaitInitEnd(long safetyTimeoutMs) {
        synchronized (lock) {
            waitFor(() -> pollsStarted > 0 || !initErrors.isEmpty(), "the end of init (a GET /next or /init/error)",
                    safetyTimeoutMs);
            return pollsStarted > 0;
        }
    }

    /** Blocks until at least n GET /next requests have arrived. */
    public void awaitPolls(int n) {
        synchronized (lock) {
            waitFor(() -> pollsStarted >= n, n + " GET /next requests");
        }
    }

    private interface Cond {
        boolean ok();
    }

    private String abortReason;

    /**
     * Makes every wait that is not yet satisfied (now or later) fail at once with this reason: a test calls it
     * when the runtime process has exited, so that nothing can answer any more.
     */
    public void abortWaits(String reason) {
        synchronized (lock) {
            abortReason = reason;
            lock.notifyAll();
        }
    }

    /** Must hold lock. */
    private void waitFor(Cond c, String what) {
        waitFor(c, what, SAFETY_TIMEOUT_MS);
    }

    /** Must hold lock. */
    private void waitFor(Cond c, String what, long safetyTimeoutMs) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(safetyTimeoutMs);
        while (!c.ok()) {
            if (abortReason != null) {
                throw new AssertionError("fake runtime API: stopped waiting for " + what + ": " + abortReason
                        + "; requests so far: " + records + "; violations: " + violations);
            }
            long left = end - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("fake runtime API: timed out after " + safetyTimeoutMs
                        + " ms waiting for " + what + "; requests so far: " + records + "; violations: " + violations);
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    // ------------------------------------------------------------------------------------------ server

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            sockets.add(s);
            Thread t = new Thread(() -> serve(s), "fake-runtime-api-conn-" + s.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    static long nowUs() {
        return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
    }

    /** A parsed request. */
    private static final class Req {
        String method;
        String target;
        String path;
        String version;
        final Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        final Map<String, List<String>> trailers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        long bodyLength;
        boolean chunked;
        boolean truncated;
        String malformed;
        long tStart;
        /** Set for a streamed POST /response to a delivered invocation: watched while its body arrives. */
        StreamedBody stream;
        /** Body bytes kept in the record; more is counted (and hashed by the stream when asked), not kept. */
        long keepLimit = KEEP_BODY_BYTES;

        String header(String n) {
            List<String> v = headers.get(n);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }

    /** What to send back. */
    private static final class Resp {
        int status;
        final List<String[]> headers = new ArrayList<>();
        byte[] body = new byte[0];
        boolean chunked;
        boolean drop;
        boolean reset;
        boolean close;
        String requestId;

        static Resp json(int status, String json) {
            Resp r = new Resp();
            r.status = status;
            r.headers.add(new String[] {"Content-Type", "application/json"});
            r.body = json.getBytes(StandardCharsets.UTF_8);
            return r;
        }

        static Resp error(int status, String type, String message) {
            return json(status, "{\"errorMessage\":" + Json.quote(message) + ",\"errorType\":" + Json.quote(type) + "}");
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (!closed) {
                int first = in.read();
                if (first < 0) return;
                Req req = new Req();
                req.tStart = nowUs();
                synchronized (lock) {
                    inFlight++;
                }
                try {
                    readHead(first, in, req);
                    if (req.malformed == null) {
                        AnswerHold hold = takeHold(req);
                        if (hold != null) hold.hold(req);
                        watchStream(req);
                        readBody(in, out, req);
                        if (req.stream != null) req.stream.end(req);
                    }
                    Resp resp = req.malformed != null
                            ? violation(Resp.error(400, "InvalidRequest", req.malformed), req, req.malformed)
                            : dispatch(req);
                    if (req.truncated || req.malformed != null) resp.close = true;
                    if ("close".equalsIgnoreCase(req.header("Connection"))) resp.close = true;
                    long respLen = resp.drop ? 0 : resp.body.length;
                    if (resp.drop) {
                        if (resp.reset) s.setSoLinger(true, 0);
                    } else {
                        try {
                            write(out, resp);
                        } catch (IOException e) {
                            resp.close = true;
                        }
                    }
                    finish(req, resp.drop ? -1 : resp.status, respLen, resp.requestId);
                    if (resp.drop || resp.close) return;
                } finally {
                    synchronized (lock) {
                        inFlight--;
                        lock.notifyAll();
                    }
                }
            }
        } catch (IOException e) {
            // connection gone
        } finally {
            sockets.remove(s);
        }
    }

    private void finish(Req req, int status, long respLen, String requestId) {
        Record r = new Record(req.method == null ? "" : req.method, req.target == null ? "" : req.target,
                req.path == null ? "" : req.path, Collections.unmodifiableMap(req.headers), req.body.toByteArray(),
                req.bodyLength, req.chunked, req.truncated, Collections.unmodifiableMap(req.trailers), req.tStart,
                nowUs(), status, respLen, requestId);
        List<Consumer<Record>> ls;
        synchronized (lock) {
            records.add(r);
            ls = List.copyOf(listeners);
            lock.notifyAll();
        }
        for (Consumer<Record> l : ls) l.accept(r);
    }

    // ---- reading

    private static String readLine(int first, InputStream in, int max) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c = first;
        while (true) {
            if (c < 0) throw new EOFException("connection closed inside the request head");
            if (c == '\n') break;
            b.write(c);
            if (b.size() > max) throw new IOException("line too long");
            c = in.read();
        }
        byte[] a = b.toByteArray();
        int n = a.length;
        if (n > 0 && a[n - 1] == '\r') n--;
        return new String(a, 0, n, StandardCharsets.ISO_8859_1);
    }

    private static void readHead(int first, InputStream in, Req req) throws IOException {
        String line = readLine(first, in, 65536);
        String[] parts = line.split(" ", -1);
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
            req.malformed = "malformed request line: " + line;
            req.method = parts.length > 0 ? parts[0] : "";
            req.target = parts.length > 1 ? parts[1] : "";
            req.path = req.target;
            return;
        }
        req.method = parts[0];
        req.target = parts[1];
        int q = req.target.indexOf('?');
        req.path = q < 0 ? req.target : req.target.substring(0, q);
        req.version = parts[2];
        readFields(in, req.headers, req);
    }

    private static void readFields(InputStream in, Map<String, List<String>> into, Req req) throws IOException {
        int count = 0;
        while (true) {
            String h = readLine(in.read(), in, 65536);
            if (h.isEmpty()) return;
            if (++count > 200) throw new IOException("too many header fields");
            if (h.charAt(0) == ' ' || h.charAt(0) == '\t') {
                req.malformed = "obsolete header line folding: " + h;
                continue;
            }
            int colon = h.indexOf(':');
            if (colon <= 0) {
                req.malformed = "malformed header field: " + h;
                continue;
            }
            String name = h.substring(0, colon);
            if (!name.chars().allMatch(FakeRuntimeApi::isTchar)) {
                req.malformed = "malformed header name: " + name;
                continue;
            }
            into.computeIfAbsent(name, k -> new ArrayList<>()).add(h.substring(colon + 1).strip());
        }
    }

    static boolean isTchar(int c) {
        return c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
    }

    private static void readBody(InputStream in, OutputStream out, Req req) throws IOException {
        if ("100-continue".equalsIgnoreCase(req.header("Expect"))) {
            out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
        String te = req.header("Transfer-Encoding");
        if (te != null) {
            if (!"chunked".equalsIgnoreCase(te.strip())) {
                req.malformed = "unsupported Transfer-Encoding: " + te;
                return;
            }
            req.chunked = true;
            readChunked(in, req);
            return;
        }
        List<String> cls = req.headers.get("Content-Length");
        if (cls == null) return;
        long len;
        try {
            len = Long.parseLong(cls.get(0).strip());
            for (String v : cls) if (Long.parseLong(v.strip()) != len) throw new NumberFormatException();
            if (len < 0) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            req.malformed = "bad Content-Length: " + cls;
            return;
        }
        copy(in, req, len);
    }

    private static void copy(InputStream in, Req req, long len) throws IOException {
        byte[] buf = new byte[65536];
        long left = len;
        while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                req.truncated = true;
                return;
            }
            keep(req, buf, n);
            left -= n;
        }
    }

    private static void keep(Req req, byte[] buf, int n) {
        long room = req.keepLimit - req.body.size();
        if (room > 0) req.body.write(buf, 0, (int) Math.min(room, n));
        req.bodyLength += n;
        if (req.stream != null) req.stream.add(buf, n);
    }

    /**
     * Before the body of a streamed POST /response is read: attaches a StreamedBody to its invocation (when the id
     * names one that is delivered and not answered), so that tests can watch the body arrive.
     */
    private void watchStream(Req req) {
        if (!"POST".equals(req.method) || !"streaming".equals(req.header("Lambda-Runtime-Function-Response-Mode"))) return;
        String prefix = PREFIX + "invocation/";
        if (!req.path.startsWith(prefix) || !req.path.endsWith("/response")) return;
        String id = java.net.URLDecoder.decode(req.path.substring(prefix.length(), req.path.length() - "/response".length()),
                StandardCharsets.UTF_8);
        synchronized (lock) {
            Invocation inv = delivered.get(id);
            if (inv == null || inv.answer != null || inv.stream != null) return;
            inv.stream = new StreamedBody(id, Collections.unmodifiableMap(req.headers), inv.event.countOnly);
            if (inv.event.countOnly) req.keepLimit = StreamedBody.HEAD_BYTES;
            req.stream = inv.stream;
            lock.notifyAll();
        }
    }

    private static void readChunked(InputStream in, Req req) throws IOException {
        while (true) {
            int c = in.read();
            if (c < 0) {
                req.truncated = true;
                return;
            }
            String line;
            try {
                line = readLine(c, in, 8192);
            } catch (EOFException e) {
                req.truncated = true;
                return;
            }
            int semi = line.indexOf(';');
            String hex = (semi < 0 ? line : line.substring(0, semi)).strip();
            long size;
            try {
                size = Long.parseLong(hex, 16);
                if (size < 0 || hex.isEmpty()) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                req.malformed = "bad chunk size line: " + line;
                return;
            }
            if (size == 0) {
                try {
                    readFields(in, req.trailers, req);
                } catch (EOFException e) {
                    req.truncated = true;
                }
                return;
            }
            copy(in, req, size);
            if (req.truncated) return;
            int cr = in.read();
            int lf = cr == '\r' ? in.read() : cr;
            if (cr < 0 || lf < 0) {
                req.truncated = true;
                return;
            }
            if (lf != '\n') {
                req.malformed = "chunk data not followed by CRLF";
                return;
            }
        }
    }

    // ---- writing

    private static void write(OutputStream out, Resp r) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("HTTP/1.1 ").append(r.status).append(' ').append(reason(r.status)).append("\r\n");
        h.append("Date: ").append(java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME
                .format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC))).append("\r\n");
        for (String[] kv : r.headers) h.append(kv[0]).append(": ").append(kv[1]).append("\r\n");
        if (r.chunked) h.append("Transfer-Encoding: chunked\r\n");
        else h.append("Content-Length: ").append(r.body.length).append("\r\n");
        if (r.close) h.append("Connection: close\r\n");
        h.append("\r\n");
        // header values may carry any octet a test puts there: ISO-8859-1 maps chars 0-255 to single bytes;
        // values are encoded as UTF-8 bytes first by the caller (see utf8AsLatin1).
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (r.chunked) {
            int off = 0;
            int[] sizes = {1, 7, 100, 4096};
            int i = 0;
            while (off < r.body.length) {
                int n = Math.min(i < sizes.length ? sizes[i++] : 65536, r.body.length - off);
                out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(r.body, off, n);
                out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                off += n;
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        } else {
            out.write(r.body);
        }
        out.flush();
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 202 -> "Accepted";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 413 -> "Request Entity Too Large";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
    }

    /** At most max bytes of b as text, non-printable bytes as \\xNN. */
    public static String printable(byte[] b, int max) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < Math.min(b.length, max); k++) {
            int c = b[k] & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\') sb.append((char) c);
            else sb.append(String.format("\\x%02x", c));
        }
        return b.length > max ? sb + "..." : sb.toString();
    }

    /** A Java string whose chars are the UTF-8 bytes of s (so ISO-8859-1 encoding writes UTF-8 on the wire). */
    static String utf8AsLatin1(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    // ---- dispatch

    private Resp violation(Resp r, Req req, String why) {
        synchronized (lock) {
            violations.add(req.method + " " + req.target + " -> " + r.status + ": " + why);
        }
        return r;
    }

    private Resp dispatch(Req req) {
        String p = req.path;
        if (p.equals(PREFIX + "invocation/next")) {
            if (!req.method.equals("GET")) return violation(Resp.error(405, "MethodNotAllowed", "use GET"), req, "method");
            return next(req);
        }
        if (p.equals(PREFIX + "init/error")) {
            if (!req.method.equals("POST")) return violation(Resp.error(405, "MethodNotAllowed", "use POST"), req, "method");
            return initError(req);
        }
        if (p.startsWith(PREFIX + "invocation/")) {
            String rest = p.substring((PREFIX + "invocation/").length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                String id = java.net.URLDecoder.decode(rest.substring(0, slash), StandardCharsets.UTF_8);
                String what = rest.substring(slash + 1);
                if (what.equals("response") || what.equals("error")) {
                    if (!req.method.equals("POST")) {
                        return violation(Resp.error(405, "MethodNotAllowed", "use POST"), req, "method");
                    }
                    return answer(req, id, what.equals("error"));
                }
            }
        }
        return violation(Resp.error(404, "NotFound", "no such endpoint: " + req.method + " " + p), req, "unknown endpoint");
    }

    private Resp next(Req req) {
        Object action;
        synchronized (lock) {
            pollsStarted++;
            initDone = true;
            if (!initErrors.isEmpty()) {
                return violation(Resp.error(403, "InvalidStateTransition", "GET /next after /init/error"), req,
                        "GET /next after the runtime posted /init/error");
            }
            if (maxConcurrency > 0) {
                int busy = pollsPending + outstandingCount();
                if (busy >= maxConcurrency) {
                    return violation(Resp.error(403, "InvalidStateTransition", "Invalid state transition: /next while "
                            + pollsPending + " GET /next wait and " + outstandingCount() + " invocations await their answer"
                            + " (AWS_LAMBDA_MAX_CONCURRENCY=" + maxConcurrency + ")"), req,
                            "GET /next beyond the concurrency of " + maxConcurrency + " (" + pollsPending + " waiting, "
                                    + outstandingCount() + " outstanding)");
                }
            } else if (owed) {
                return violation(Resp.error(403, "InvalidStateTransition",
                        "Invalid state transition: /next while invocation " + current.requestId + " awaits its answer"),
                        req, "GET /next while an answer is owed for " + current.requestId);
            } else if (pollsPending > 0) {
                return violation(Resp.error(403, "InvalidStateTransition", "another GET /next is pending"), req,
                        "concurrent GET /next");
            }
            pollsPending++;
            lock.notifyAll();
            try {
                while (pollScript.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                if (pollScript.isEmpty()) {
                    Resp r = new Resp();
                    r.drop = true;
                    return r;
                }
                action = pollScript.pollFirst();
            } finally {
                pollsPending--;
            }
            if (action instanceof Invocation inv) {
                current = inv;
                owed = maxConcurrency == 0;
                inv.delivered = true;
                delivered.put(inv.requestId, inv);
                Resp r = new Resp();
                r.status = 200;
                r.requestId = inv.requestId;
                Event e = inv.event;
                Map<String, String> sent = new LinkedHashMap<>();
                if (!e.omitRequestId) sent.put("Lambda-Runtime-Aws-Request-Id", inv.requestId);
                if (!e.has("Lambda-Runtime-Deadline-Ms")) {
                    long offset = e.deadlineOffsetMs == null ? 300_000 : e.deadlineOffsetMs;
                    sent.put("Lambda-Runtime-Deadline-Ms", Long.toString(System.currentTimeMillis() + offset));
                }
                if (!e.has("Content-Type")) sent.put("Content-Type", "application/json");
                for (String[] h : e.headers) {
                    if (h[0].equalsIgnoreCase("Lambda-Runtime-Aws-Request-Id")) continue;
                    if (h[1] != null) sent.put(h[0], h[1]);
                }
                for (Map.Entry<String, String> h : sent.entrySet()) {
                    String name = e.lowerCaseNames ? h.getKey().toLowerCase(Locale.ROOT) : h.getKey();
                    r.headers.add(new String[] {name, utf8AsLatin1(h.getValue())});
                }
                inv.sentHeaders = Collections.unmodifiableMap(sent);
                r.body = e.body;
                r.chunked = e.chunked;
                lock.notifyAll();
                return r;
            }
        }
        if (action instanceof Status st) return Resp.json(st.code, st.body);
        Drop d = (Drop) action;
        Resp r = new Resp();
        r.drop = true;
        r.reset = d.reset;
        return r;
    }

    /** Must hold lock. */
    private int outstandingCount() {
        int n = 0;
        for (Invocation inv : delivered.values()) if (inv.answer == null) n++;
        return n;
    }

    private Resp initError(Req req) {
        synchronized (lock) {
            if (initDone) {
                return violation(Resp.error(403, "InvalidStateTransition", "/init/error after init completed"), req,
                        "/init/error after the first GET /next");
            }
            if (!initErrors.isEmpty()) {
                return violation(Resp.error(403, "InvalidStateTransition", "/init/error posted twice"), req,
                        "second /init/error");
            }
            if (req.truncated) {
                return violation(Resp.error(400, "Runtime.TruncatedResponse", "HTTP request detected as truncated"),
                        req, "truncated /init/error body");
            }
            // Recorded before the answer is written: the runtime may exit as soon as it reads the 202.
            initErrors.add(new Record(req.method, req.target, req.path, Collections.unmodifiableMap(req.headers),
                    req.body.toByteArray(), req.bodyLength, req.chunked, req.truncated,
                    Collections.unmodifiableMap(req.trailers), req.tStart, nowUs(), 202, 15, null));
            lock.notifyAll();
        }
        return Resp.json(202, "{\"status\":\"OK\"}");
    }


    private Resp answer(Req req, String id, boolean isError) {
        synchronized (lock) {
            if (maxConcurrency > 0) return answerConcurrent(req, id, isError);
            AnswerFault fault = answerFaults.pollFirst();
            boolean isCurrent = current != null && current.requestId.equals(id);
            if (fault != null) {
                if (isCurrent && owed) {
                    int st = fault.drop ? -1 : fault.status;
                    settle(current, Kind.FAULTED, st, req, "Scripted" + (fault.drop ? "Drop" : st));
                }
                Resp r;
                if (fault.drop) {
                    r = new Resp();
                    r.drop = true;
                } else {
                    r = Resp.error(fault.status, "ScriptedFault", "scripted fault " + fault.status);
                }
                r.requestId = id;
                return r;
            }
            if (!isCurrent) {
                Resp r = violation(Resp.error(400, "InvalidRequestID", "Invalid request ID: " + id), req,
                        "request id " + id + " is not the current invocation's ("
                                + (current == null ? "none delivered" : current.requestId) + ")");
                r.requestId = id;
                return r;
            }
            if (!owed) {
                Resp r = violation(Resp.error(403, "InvalidStateTransition",
                        "Invalid state transition: invocation " + id + " was already answered"), req,
                        "second answer for " + id);
                r.requestId = id;
                return r;
            }
            return accept(current, req, id, isError);
        }
    }

    /**
     * Managed Instances: any delivered invocation that is not answered yet may be answered, in any order, once.
     * Must hold lock.
     */
    private Resp answerConcurrent(Req req, String id, boolean isError) {
        AnswerFault fault = answerFaults.pollFirst();
        Invocation inv = delivered.get(id);
        if (fault != null) {
            if (inv != null && inv.answer == null) {
                int st = fault.drop ? -1 : fault.status;
                settle(inv, Kind.FAULTED, st, req, "Scripted" + (fault.drop ? "Drop" : st));
            }
            Resp r;
            if (fault.drop) {
                r = new Resp();
                r.drop = true;
            } else {
                r = Resp.error(fault.status, "ScriptedFault", "scripted fault " + fault.status);
            }
            r.requestId = id;
            return r;
        }
        if (inv == null) {
            Resp r = violation(Resp.error(400, "InvalidRequestID", "Invalid request ID: " + id), req,
                    "request id " + id + " is not a delivered invocation's (outstanding: "
                            + outstanding().stream().map(i -> i.requestId).toList() + ")");
            r.requestId = id;
            return r;
        }
        if (inv.answer != null) {
            Resp r = violation(Resp.error(403, "InvalidStateTransition",
                    "Invalid state transition: invocation " + id + " was already answered"), req, "second answer for " + id);
            r.requestId = id;
            return r;
        }
        return accept(inv, req, id, isError);
    }

    /** Must hold lock: the checks an answer to a delivered, unanswered invocation passes through. */
    private Resp accept(Invocation inv, Req req, String id, boolean isError) {
        Resp r;
        if (req.truncated) {
            settle(inv, Kind.REJECTED, 400, req, "Runtime.TruncatedResponse");
            r = violation(Resp.error(400, "Runtime.TruncatedResponse", "HTTP request detected as truncated"), req,
                    "truncated body for " + id);
        } else if (!isError && req.header("Lambda-Runtime-Function-Response-Mode") != null
                && !"streaming".equals(req.header("Lambda-Runtime-Function-Response-Mode"))) {
            settle(inv, Kind.REJECTED, 400, req, "Runtime.InvalidResponseModeHeader");
            r = violation(Resp.error(400, "InvalidFunctionResponseMode",
                    "Invalid response mode: " + req.header("Lambda-Runtime-Function-Response-Mode")), req,
                    "bad Lambda-Runtime-Function-Response-Mode");
        } else if (!isError && req.bodyLength > ("streaming".equals(req.header("Lambda-Runtime-Function-Response-Mode"))
                ? MAX_STREAMED_RESPONSE : MAX_BUFFERED_RESPONSE)) {
            settle(inv, Kind.TOO_LARGE, 413, req, "Function.ResponseSizeTooLarge");
            r = Resp.error(413, "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("
                    + MAX_BUFFERED_RESPONSE + " bytes).");
        } else if (isError) {
            settle(inv, Kind.ERROR, 202, req, req.header("Lambda-Runtime-Function-Error-Type"));
            r = Resp.json(202, "{\"status\":\"OK\"}");
        } else {
            settle(inv, Kind.RESPONSE, 202, req, null);
            r = Resp.json(202, "{\"status\":\"OK\"}");
        }
        r.requestId = id;
        return r;
    }

    /** Must hold lock: ends the invocation with this answer. */
    private void settle(Invocation inv, Kind kind, int status, Req req, String errorType) {
        Record rec = new Record(req.method, req.target, req.path, Collections.unmodifiableMap(req.headers),
                req.body.toByteArray(), req.bodyLength, req.chunked, req.truncated,
                Collections.unmodifiableMap(req.trailers), req.tStart, nowUs(), status, 0, inv.requestId);
        inv.answer = new Answer(kind, status, rec.body(), rec.headers(), rec.trailers(), errorType, rec);
        if (inv == current) owed = false;
        lock.notifyAll();
    }

    // ------------------------------------------------------------------------------------------ JSON

    /** Strict JSON (RFC 8259) parser and string quoting, for checking what the runtime posts. */
    public static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        /** Decodes bytes as strict UTF-8 and parses one JSON value: Map, List, String, BigDecimal, Boolean or null. */
        public static Object parse(byte[] utf8) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8)).toString();
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("not valid UTF-8: " + e);
            }
            return parse(text);
        }

        public static Object parse(String text) {
            Json p = new Json(text);
            p.ws();
            Object v = p.value();
            p.ws();
            if (p.i != text.length()) throw p.err("trailing characters");
            return v;
        }

        private IllegalArgumentException err(String why) {
            String near = s.substring(Math.max(0, i - 20), Math.min(s.length(), i + 20));
            return new IllegalArgumentException("invalid JSON at offset " + i + ": " + why + " near «" + near + "»");
        }

        private void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
        }

        private Object value() {
            if (i >= s.length()) throw err("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': return lit("true", Boolean.TRUE);
                case 'f': return lit("false", Boolean.FALSE);
                case 'n': return lit("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw err("unexpected character");
            }
        }

        private Object lit(String w, Object v) {
            if (!s.startsWith(w, i)) throw err("bad literal");
            i += w.length();
            return v;
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; return m; }
            while (true) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw err("expected a string key");
                String k = string();
                ws();
                if (i >= s.length() || s.charAt(i) != ':') throw err("expected ':'");
                i++;
                ws();
                m.put(k, value());
                ws();
                if (i >= s.length()) throw err("unterminated object");
                char c = s.charAt(i++);
                if (c == '}') return m;
                if (c != ',') throw err("expected ',' or '}'");
            }
        }

        private List<Object> array() {
            List<Object> l = new ArrayList<>();
            i++;
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; return l; }
            while (true) {
                ws();
                l.add(value());
                ws();
                if (i >= s.length()) throw err("unterminated array");
                char c = s.charAt(i++);
                if (c == ']') return l;
                if (c != ',') throw err("expected ',' or ']'");
            }
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++;
            while (true) {
                if (i >= s.length()) throw err("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw err("raw control character U+" + String.format("%04X", (int) c) + " in string");
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) throw err("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw err("short \\u escape");
                        String hex = s.substring(i, i + 4);
                        if (!hex.chars().allMatch(h -> Character.digit(h, 16) >= 0)) throw err("bad \\u escape");
                        b.append((char) Integer.parseInt(hex, 16));
                        i += 4;
                    }
                    default -> throw err("bad escape \\" + e);
                }
            }
        }

        private BigDecimal number() {
            int start = i;
            if (s.charAt(i) == '-') i++;
            if (i < s.length() && s.charAt(i) == '0') i++;
            else if (i < s.length() && s.charAt(i) >= '1' && s.charAt(i) <= '9') digits();
            else throw err("bad number");
            if (i < s.length() && s.charAt(i) == '.') { i++; if (!digits()) throw err("bad fraction"); }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                if (!digits()) throw err("bad exponent");
            }
            return new BigDecimal(s.substring(start, i));
        }

        private boolean digits() {
            int st = i;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
            return i > st;
        }

        /** A JSON string literal for s. */
        public static String quote(String s) {
            StringBuilder b = new StringBuilder(s.length() + 2).append('"');
            for (int k = 0; k < s.length(); k++) {
                char c = s.charAt(k);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    default -> {
                        if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF && !validSurrogate(s, k))) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }

        private static boolean validSurrogate(String s, int k) {
            char c = s.charAt(k);
            if (Character.isHighSurrogate(c)) return k + 1 < s.length() && Character.isLowSurrogate(s.charAt(k + 1));
            return k > 0 && Character.isHighSurrogate(s.charAt(k - 1));
        }
    }

    // ------------------------------------------------------------------------------------------ CLI

    public static void main(String[] args) throws Exception {
        PrintStream err = System.err;
        Path portFile = null;
        Path eventFile = null;
        Path recordFile = null;
        int count = -1;
        int port = 0;
        long timeoutS = 900;
        Map<String, String> headers = new LinkedHashMap<>();
        try {
            for (int k = 0; k < args.length; k++) {
                String a = args[k];
                String v = k + 1 < args.length ? args[k + 1] : null;
                if (v == null) throw new IllegalArgumentException(a + " needs a value");
                k++;
                switch (a) {
                    case "--port-file" -> portFile = Path.of(v);
                    case "--event" -> eventFile = Path.of(v);
                    case "--record" -> recordFile = Path.of(v);
                    case "--count" -> count = Integer.parseInt(v);
                    case "--port" -> port = Integer.parseInt(v);
                    case "--timeout" -> timeoutS = Long.parseLong(v);
                    case "--header" -> {
                        int c = v.indexOf(':');
                        if (c <= 0) throw new IllegalArgumentException("--header wants 'Name: value', got " + v);
                        headers.put(v.substring(0, c).strip(), v.substring(c + 1).strip());
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (portFile == null || eventFile == null || count < 0) {
                throw new IllegalArgumentException("--port-file, --event and --count are required");
            }
        } catch (IllegalArgumentException e) {
            err.println("fake-runtime-api: " + e.getMessage());
            err.println("usage: java FakeRuntimeApi.java --port-file FILE --event FILE --count N"
                    + " [--header 'Name: value']... [--record FILE.jsonl] [--port P] [--timeout SECONDS]");
            System.exit(2);
            return;
        }
        byte[] event = Files.readAllBytes(eventFile);
        System.exit(runCli(port, portFile, event, count, headers, recordFile, timeoutS, err));
    }

    static int runCli(int port, Path portFile, byte[] event, int count, Map<String, String> headers,
                      Path recordFile, long timeoutS, PrintStream err) throws IOException {
        try (FakeRuntimeApi api = FakeRuntimeApi.start(port)) {
            OutputStream rec = recordFile == null ? null
                    : Files.newOutputStream(recordFile, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE);
            Object done = new Object();
            boolean[] finished = {false};
            api.onRecord(r -> {
                if (rec != null) {
                    String line = "{\"method\":" + Json.quote(r.method()) + ",\"path\":" + Json.quote(r.path())
                            + ",\"status\":" + r.status() + ",\"t_start_us\":" + r.tStartUs() + ",\"t_end_us\":"
                            + r.tEndUs() + ",\"body_length\":" + r.bodyLength() + ",\"response_length\":"
                            + r.responseLength() + ",\"request_id\":"
                            + (r.requestId() == null ? "null" : Json.quote(r.requestId())) + "}\n";
                    synchronized (rec) {
                        try {
                            rec.write(line.getBytes(StandardCharsets.UTF_8));
                            rec.flush();
                        } catch (IOException e) {
                            err.println("fake-runtime-api: cannot write the record: " + e);
                        }
                    }
                }
                boolean end = r.path().equals(PREFIX + "init/error") || (r.isNext() && r.status() != 200);
                if (end) {
                    synchronized (done) {
                        finished[0] = true;
                        done.notifyAll();
                    }
                }
            });
            for (int k = 0; k < count; k++) api.enqueue(Event.of(event).headers(headers));
            api.failNextPoll(500, "{\"errorMessage\":\"fake runtime API: all " + count
                    + " events served\",\"errorType\":\"ServiceException\"}");
            writePort(portFile, api.port());
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
            synchronized (done) {
                while (!finished[0]) {
                    long left = end - System.nanoTime();
                    if (left <= 0) break;
                    try {
                        TimeUnit.NANOSECONDS.timedWait(done, left);
                    } catch (InterruptedException e) {
                        break;
                    }
                }
            }
            // The request that ended the run is recorded; let the ones still being written reach the record too
            // (bounded: a runtime that keeps polling after the 500 must not keep this program alive).
            if (finished[0] && !api.awaitIdle(10_000)) {
                err.println("fake-runtime-api: requests still open after the run ended (a GET /next after the 500?)");
            }
            if (rec != null) {
                synchronized (rec) {
                    rec.close();
                }
            }
            List<String> problems = new ArrayList<>(api.violations());
            for (Record r : api.initErrors()) problems.add("runtime posted /init/error: " + r.bodyText());
            int answered = 0;
            for (Invocation inv : api.invocations()) {
                Answer a = inv.answer();
                if (a == null) continue;
                answered++;
                if (a.kind() != Kind.RESPONSE) problems.add("invocation " + inv.requestId + ": " + a);
            }
            if (!finished[0]) {
                err.println("fake-runtime-api: timed out after " + timeoutS + " s; " + answered + " of " + count
                        + " invocations answered");
                problems.forEach(p -> err.println("fake-runtime-api: " + p));
                return 3;
            }
            if (answered < count) problems.add("only " + answered + " of " + count + " invocations were answered");
            problems.forEach(p -> err.println("fake-runtime-api: " + p));
            return problems.isEmpty() ? 0 : 1;
        }
    }

    static void writePort(Path portFile, int port) throws IOException {
        byte[] text = (port + "\n").getBytes(StandardCharsets.US_ASCII);
        if (Files.exists(portFile) && !Files.isRegularFile(portFile)) {
            Files.write(portFile, text, StandardOpenOption.WRITE);       // a FIFO: the reader gets it at once
            return;
        }
        Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp" + ProcessHandle.current().pid());
        Files.write(tmp, text);
        Files.move(tmp, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
