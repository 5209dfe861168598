import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * End to end, Lambda's advanced logging controls (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL) with
 * spec/fixtures/lmi.sh. One JSON-format runtime with two workers (Managed Instances use JSON only) serves most
 * tests; its TZ is not UTC, so a timestamp in local time would show. Lines are parsed with the fake's strict JSON
 * parser. A test knows that every line of its invocations has been read when a later barrier round, which needs
 * every worker, has logged: each worker writes its lines before it asks for more work.
 */
class JsonLoggingTest {
    static final Pattern TIMESTAMP = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");
    static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL");
    static final String RUNTIME_LOGGER = "java-shell-runtime";
    static final String TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    static final int WORKERS = 2;

    static FakeRuntimeApi api;
    static RuntimeProcess runtime;
    static Path taskRoot;
    static long startedMillis;
    static final List<Path> scratch = new ArrayList<>();

    static void ensureRuntime() {
        if (RuntimeProcess.reusable(runtime, api)) return;
        stopRuntime();
        taskRoot = RuntimeProcess.taskRoot("lmi.sh");
        api = FakeRuntimeApi.startManagedInstances(WORKERS);
        Map<String, String> env = RuntimeProcess.lambdaEnv(api, "lmi.handler", taskRoot);
        env.put("AWS_LAMBDA_MAX_CONCURRENCY", Integer.toString(WORKERS));
        env.put("AWS_LAMBDA_LOG_FORMAT", "JSON");
        env.put("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000");
        env.put("TZ", "Asia/Kolkata"); // UTC+05:30: a timestamp in local time cannot pass for UTC
        startedMillis = System.currentTimeMillis();
        runtime = RuntimeProcess.start(env, taskRoot).abortWaitsOnExit(api);
        api.awaitPolling(WORKERS);
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
        return RuntimeProcess.scratchDir(scratch, "jsr-log.");
    }

    static FakeRuntimeApi.Answer ok(FakeRuntimeApi.Answer a, RuntimeProcess rt) {
        assertEquals(FakeRuntimeApi.Kind.RESPONSE, a.kind(), () -> "expected a response, got " + a + "\nstderr:\n" + rt.tail());
        return a;
    }

    /**
     * Runs a barrier round that needs all n workers and waits until its lines are read: every line the runtime
     * wrote before, for earlier invocations, is then in rt's stderr. Returns the lines from mark on.
     */
    static List<String> settle(FakeRuntimeApi fake, RuntimeProcess rt, int n, int mark) {
        Path d = dir();
        List<FakeRuntimeApi.Invocation> invs = new ArrayList<>();
        for (int k = 0; k < n; k++) invs.add(fake.enqueue("barrier " + d + " " + n + " settle"));
        for (FakeRuntimeApi.Invocation inv : invs) {
            ok(inv.await(), rt);
            rt.awaitStderr(mark, l -> l.contains("after the barrier: " + inv.requestId), "the settling round's line");
        }
        return rt.stderrLinesFrom(mark);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(String line) {
        Object o;
        try {
            o = FakeRuntimeApi.Json.parse(line);
        } catch (IllegalArgumentException e) {
            throw new AssertionError("a log line that is not JSON: " + line + " (" + e.getMessage() + ")");
        }
        assertTrue(o instanceof Map, "a log line that is not a JSON object: " + line);
        return (Map<String, Object>) o;
    }

    /** Every line is one JSON object; returns them. */
    static List<Map<String, Object>> objects(List<String> lines) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String l : lines) out.add(object(l));
        return out;
    }

    /** A line the runtime made (its own, or a wrapped handler line): timestamp RFC 3339 UTC with ms, level, message. */
    static void assertWellFormed(Map<String, Object> o) {
        Object ts = o.get("timestamp");
        assertTrue(ts instanceof String s && TIMESTAMP.matcher(s).matches(), "timestamp in RFC 3339, milliseconds, UTC (Z): " + o);
        long millis = Instant.parse((String) ts).toEpochMilli();
        assertTrue(millis >= startedMillis - 1 && millis <= System.currentTimeMillis(),
                "the timestamp is the time of logging, in UTC: " + o);
        assertTrue(LEVELS.contains(o.get("level")), "a level: " + o);
        assertTrue(o.get("message") instanceof String, "a message: " + o);
        assertTrue(!o.containsKey("requestId") || o.get("requestId") instanceof String, "requestId is a string: " + o);
    }

    static boolean isRuntimeLine(Map<String, Object> o) {
        return RUNTIME_LOGGER.equals(o.get("logger"));
    }

    static Map<String, Object> find(List<Map<String, Object>> objects, Predicate<Map<String, Object>> p, String what) {
        for (Map<String, Object> o : objects) if (p.test(o)) return o;
        throw new AssertionError("no log line " + what + " among:\n" + objects);
    }

    static Predicate<Map<String, Object>> message(String exact) {
        return o -> exact.equals(o.get("message"));
    }

    @Test
    void runtimeLinesAreJsonObjectsWithTheirRequestId() {
        ensureRuntime();
        int mark = runtime.stderrMark();
        FakeRuntimeApi.Invocation failed = api.enqueue("fail-typed");
        assertEquals(FakeRuntimeApi.Kind.ERROR, failed.await().kind());
        FakeRuntimeApi.Invocation crashed = api.enqueue("exit 4");
        assertEquals(FakeRuntimeApi.Kind.ERROR, crashed.await().kind());
        List<Map<String, Object>> lines = objects(settle(api, runtime, WORKERS, mark));
        List<Map<String, Object>> own = lines.stream().filter(JsonLoggingTest::isRuntimeLine).toList();
        own.forEach(JsonLoggingTest::assertWellFormed);

        Map<String, Object> warn = find(own, o -> String.valueOf(o.get("message")).contains("ValidationError: name is missing"),
                "about the failed invocation");
        assertEquals("WARN", warn.get("level"), warn::toString);
        assertEquals(failed.requestId, warn.get("requestId"), "the runtime's line names the invocation: " + warn);
        Map<String, Object> crash = find(own, o -> crashed.requestId.equals(o.get("requestId")), "about the crashed invocation");
        assertEquals("WARN", crash.get("level"), crash::toString);
        Map<String, Object> reload = find(own, o -> String.valueOf(o.get("message")).contains("again"), "about loading lmi.sh again");
        assertEquals("INFO", reload.get("level"), reload::toString);

        // The handler's own stderr lines around it are objects too, with the invocation's request id.
        Map<String, Object> handlerLine = find(lines, message("ValidationError: name is missing"), "from the failing handler");
        assertWellFormed(handlerLine);
        assertEquals(failed.requestId, handlerLine.get("requestId"));
        assertEquals("INFO", handlerLine.get("level"), "handler lines are INFO unless they carry a level");
    }

    @Test
    void handlerLinesOfConcurrentInvocationsCarryTheirOwnRequestId() {
        ensureRuntime();
        int mark = runtime.stderrMark();
        Path d = dir();
        List<FakeRuntimeApi.Invocation> invs = new ArrayList<>();
        for (int k = 0; k < WORKERS; k++) invs.add(api.enqueue("logs " + d + " " + WORKERS));
        for (FakeRuntimeApi.Invocation inv : invs) ok(inv.await(), runtime);
        List<Map<String, Object>> lines = objects(settle(api, runtime, WORKERS, mark));

        for (FakeRuntimeApi.Invocation inv : invs) {
            String id = inv.requestId;
            for (String text : List.of("plain before " + id, "plain after " + id,
                    "tab\there, quote \" and backslash \\ for " + id, "last line without a newline " + id)) {
                Map<String, Object> o = find(lines, message(text), "wrapping «" + text + "»");
                assertWellFormed(o);
                assertEquals("INFO", o.get("level"), o::toString);
                assertEquals(id, o.get("requestId"), () -> "attributed to its own invocation: " + o);
            }
            Map<String, Object> json = find(lines, message("json " + id), "passed through from the handler's JSON line");
            assertEquals(Map.of("level", "WARN", "message", "json " + id, "requestId", id), json,
                    "a JSON object line passes through with requestId added");
            Map<String, Object> own = find(lines, message("own id " + id), "with the handler's own requestId");
            assertEquals(Map.of("level", "INFO", "message", "own id " + id, "requestId", "custom-" + id), own,
                    "a JSON object line that has a requestId keeps it");
        }
        // Nothing that mentions one invocation is attributed to the other.
        for (Map<String, Object> o : lines) {
            String text = String.valueOf(o.get("message"));
            for (FakeRuntimeApi.Invocation inv : invs) {
                if (text.contains(inv.requestId) && !text.startsWith("own id")) {
                    assertEquals(inv.requestId, o.get("requestId"), "attributed to the invocation it belongs to: " + o);
                }
            }
        }
    }

    @Test
    void linesThatOnlyLookLikeJsonObjectsAreWrappedAndForeignRequestIdsDoNotCount() {
        ensureRuntime();
        int mark = runtime.stderrMark();
        FakeRuntimeApi.Invocation inv = api.enqueue("odd-lines");
        ok(inv.await(), runtime);
        String id = inv.requestId;
        List<String> raw = settle(api, runtime, WORKERS, mark);
        List<Map<String, Object>> lines = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String l : raw) {
            try {
                lines.add(object(l));
            } catch (AssertionError e) {
                problems.add(e.getMessage());
            }
        }
        for (String text : List.of("{not json " + id + "}", "{\"a\":\"" + id + "\"} {\"b\":2}")) {
            if (lines.stream().noneMatch(o -> text.equals(o.get("message")) && id.equals(o.get("requestId")))) {
                problems.add("not wrapped as a message with its requestId: " + text);
            }
        }
        Map<String, Object> nested = lines.stream().filter(message("nested " + id)).findFirst().orElse(null);
        if (nested == null || !id.equals(nested.get("requestId")) || !Map.of("requestId", "inner").equals(nested.get("context"))) {
            problems.add("a requestId inside a nested object is not the line's: " + nested);
        }
        Map<String, Object> value = lines.stream().filter(o -> id.equals(o.get("n"))).findFirst().orElse(null);
        if (value == null || !id.equals(value.get("requestId"))) {
            problems.add("the word requestId as a value is not a requestId key: " + value);
        }
        Map<String, Object> indented = lines.stream().filter(message("indented " + id)).findFirst().orElse(null);
        if (indented == null || !id.equals(indented.get("requestId"))) {
            problems.add("an indented JSON object gets its requestId: " + indented);
        }
        if (lines.stream().noneMatch(o -> o.equals(Map.of("requestId", id)))) {
            problems.add("the empty object {} gets its requestId");
        }
        assertEquals(List.of(), problems, () -> "lines:\n" + String.join("\n", raw));
    }

    @Test
    void theXraySegmentLineIsAJsonObjectToo() {
        ensureRuntime();
        int mark = runtime.stderrMark();
        FakeRuntimeApi.Invocation inv = api.enqueue(FakeRuntimeApi.Event.of("say traced").header("Lambda-Runtime-Trace-Id", TRACE));
        ok(inv.await(), runtime);
        List<String> lines = settle(api, runtime, WORKERS, mark);
        String segment = lines.stream().filter(l -> l.contains("X-Ray segment")).findFirst()
                .orElseThrow(() -> new AssertionError("no X-Ray segment line for a sampled trace:\n" + lines));
        Map<String, Object> o = object(segment);
        assertWellFormed(o);
        assertEquals(inv.requestId, o.get("requestId"), o::toString);
        objects(lines);
    }

    @Test
    void aRuntimeErrorAboutAnInvocationCarriesItsRequestId() {
        ensureRuntime();
        int mark = runtime.stderrMark();
        api.failNextAnswer(400);
        FakeRuntimeApi.Invocation inv = api.enqueue("say refused");
        assertEquals(FakeRuntimeApi.Kind.FAULTED, inv.await().kind());
        List<Map<String, Object>> lines = objects(settle(api, runtime, WORKERS, mark));
        Map<String, Object> error = find(lines, o -> isRuntimeLine(o) && String.valueOf(o.get("message")).contains("400"),
                "about the refused answer");
        assertWellFormed(error);
        assertEquals("ERROR", error.get("level"), error::toString);
        assertEquals(inv.requestId, error.get("requestId"), "the line about an invocation's answer names it: " + error);
    }

    /** A runtime of its own (single loop): its lines, and the invocations run on it. */
    record Run(List<String> lines, String failedId, String refusedId, String logsId) {}

    static Run runAlone(String format, String level) {
        Path root = RuntimeProcess.taskRoot("lmi.sh");
        try (FakeRuntimeApi fake = FakeRuntimeApi.start()) {
            Map<String, String> env = RuntimeProcess.lambdaEnv(fake, "lmi.handler", root);
            if (format != null) env.put("AWS_LAMBDA_LOG_FORMAT", format);
            env.put("AWS_LAMBDA_LOG_LEVEL", level);
            try (RuntimeProcess rt = RuntimeProcess.start(env, root).abortWaitsOnExit(fake)) {
                Path d = dir();
                FakeRuntimeApi.Invocation logs = fake.enqueue("logs " + d + " 1");
                ok(logs.await(), rt);
                FakeRuntimeApi.Invocation failed = fake.enqueue("fail-typed");
                assertEquals(FakeRuntimeApi.Kind.ERROR, failed.await().kind());
                assertEquals(FakeRuntimeApi.Kind.ERROR, fake.enqueue("exit 4").await().kind());
                fake.failNextAnswer(400);
                FakeRuntimeApi.Invocation refused = fake.enqueue("say refused");
                assertEquals(FakeRuntimeApi.Kind.FAULTED, refused.await().kind());
                List<String> lines = settle(fake, rt, 1, 0);
                assertEquals(List.of(), fake.violations());
                return new Run(lines, failed.requestId, refused.requestId, logs.requestId);
            }
        } finally {
            RuntimeProcess.deleteTree(root);
        }
    }

    @Test
    void logLevelErrorFiltersTheRuntimesWarnAndInfoLinesInJson() {
        Run run = runAlone("JSON", "ERROR");
        List<Map<String, Object>> lines = objects(run.lines());
        for (Map<String, Object> o : lines) {
            if (isRuntimeLine(o)) {
                assertWellFormed(o);
                assertTrue(o.get("level").equals("ERROR") || o.get("level").equals("FATAL"),
                        "at AWS_LAMBDA_LOG_LEVEL=ERROR no runtime line below ERROR: " + o);
            }
        }
        find(lines, o -> isRuntimeLine(o) && String.valueOf(o.get("message")).contains("400"), "at ERROR about the refused answer");
        // The handler's lines are not the runtime's to filter (Lambda filters JSON lines by their level).
        Map<String, Object> handler = find(lines, message("ValidationError: name is missing"), "from the failing handler");
        assertEquals(run.failedId(), handler.get("requestId"));
        find(lines, message("plain before " + run.logsId()), "a plain handler line");
    }

    @Test
    void textFormatIsUnchangedAndFilteredToo() {
        Run run = runAlone(null, "ERROR");
        List<String> lines = run.lines();
        String id = run.logsId();
        for (String verbatim : List.of("plain before " + id, "{\"level\":\"WARN\",\"message\":\"json " + id + "\"}",
                "tab\there, quote \" and backslash \\ for " + id, "last line without a newline " + id,
                "ValidationError: name is missing")) {
            assertTrue(lines.contains(verbatim), "handler line copied unchanged: «" + verbatim + "» in:\n" + String.join("\n", lines));
        }
        for (String l : lines) {
            assertFalse(l.startsWith("{\"timestamp\""), "no JSON wrapping in Text format: " + l);
            if (l.startsWith(RUNTIME_LOGGER + ": ")) {
                assertFalse(l.contains(run.failedId()) && l.contains("failed"), "the WARN line is filtered at ERROR: " + l);
                assertFalse(l.contains("again"), "the INFO line is filtered at ERROR: " + l);
            }
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(RUNTIME_LOGGER + ": ") && l.contains("400")),
                "the ERROR line is kept, with its prefix:\n" + String.join("\n", lines));
    }
}
