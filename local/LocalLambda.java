/*
 * LocalLambda: AWS Lambda on your own machine, without Docker, for java-shell-runtime functions. JDK only.
 *
 * It plays both sides Lambda plays:
 * - towards the runtime, the Lambda Runtime API (docs: runtimes-api.html), as strict as the real service and AWS's
 *   Runtime Interface Emulator: the request id in the path must be the current invocation's (else 400
 *   InvalidRequestID), one response or error per invocation and /next only when nothing is owed (else 403
 *   InvalidStateTransition), a buffered response over 6,291,556 bytes gets 413 and fails the invocation with
 *   Function.ResponseSizeTooLarge, Content-Length or chunked bodies (with trailers for streamed errors), a
 *   truncated body fails the invocation with Runtime.TruncatedResponse;
 * - towards the user, the invoke endpoint of AWS's emulator (POST /2015-03-31/functions/function/invocations, with
 *   X-Amz-Client-Context in base64, X-Amzn-Trace-Id, X-Amz-Cognito-Identity, X-Amz-Tenant-Id), or a one-shot invoke,
 *   answered as Lambda's Invoke API answers where the emulator is looser: payloads must be JSON (400
 *   InvalidRequestContentException), an empty one becomes {}, X-Amz-Invocation-Type Event is 202 and runs later,
 *   DryRun is 204. docs/runtime-api.md states the contract on both sides.
 *
 * It starts the runtime itself, so it can time init, kill the runtime and every process it started when an
 * invocation times out or the runtime dies, and start a fresh one on the next invoke (a cold start). It prints
 * Lambda's START, END and REPORT lines; REPORT's Max Memory Used is measured (cgroup memory.stat when it can make
 * a cgroup, else the resident memory of the runtime's process tree), and --memory enforces the limit and the
 * matching CPU share (1,769 MB = one vCPU) through cgroups v1 or v2 when they are writable.
 *
 * Run it with scripts/invoke.sh (which adds the layer and the sandbox), or directly:
 *   java local/LocalLambda.java --help
 * docs/local-invoke.md explains what it does and where it differs from Lambda.
 */

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
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
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class LocalLambda {
    /** Buffered response limit: 6 MiB + 100 bytes, as rapid (Lambda's runtime API server) enforces it. */
    static final long MAX_RESPONSE_BYTES = 6L * 1024 * 1024 + 100;
    /** Synchronous invoke request limit. */
    static final long MAX_REQUEST_BYTES = 6L * 1024 * 1024;
    /** Asynchronous (Event) invoke request limit: 1 MB. */
    static final long MAX_ASYNC_REQUEST_BYTES = 1024L * 1024;
    /** The Date header's format (RFC 9110's IMF-fixdate): always a two-digit day. */
    static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
            .withZone(ZoneOffset.UTC);
    /** Bodies past the limit are still read (to report their size) up to this many bytes, then the connection is dropped. */
    static final long MAX_DRAIN_BYTES = 256L * 1024 * 1024;
    static final String ACCOUNT = "012345678912";
    static final String VERSION = "$LATEST";
    static final String API = "/2018-06-01";
    static final String ME = "local-lambda: ";
    static final Object LOG_LOCK = new Object();
    static final PrintStream ERR = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true);

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            ERR.println(ME + e.getMessage());
            ERR.println("run with --help for the options");
            System.exit(2);
            return;
        }
        if (o.help) {
            System.out.print(Options.USAGE);
            System.out.flush();
            return;
        }
        int rc;
        try {
            rc = run(o);
        } catch (Exception e) {
            note("failed: " + e);
            rc = 2;
        }
        System.exit(rc);
    }

    static int run(Options o) throws IOException {
        Cgroups cgroups = Cgroups.detect(o);
        Function fn = new Function(o, cgroups);
        ServerSocket apiSocket = new ServerSocket();
        apiSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), o.runtimeApiPort), 64);
        fn.apiAddress = "127.0.0.1:" + apiSocket.getLocalPort();
        Thread apiThread = Thread.ofPlatform().daemon().name("runtime-api").start(() -> Http.serve(apiSocket, new RuntimeApi(fn)));
        Runtime.getRuntime().addShutdownHook(new Thread(fn::shutdown, "shutdown"));
        note("Runtime API for the runtime at " + fn.apiAddress + "; " + fn.describe());
        if (!o.serve) {
            byte[] event;
            try {
                event = o.event.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(o.event));
            } catch (IOException e) {
                note("cannot read the event " + o.event + ": " + e.getMessage());
                return 2;
            }
            if (event.length > MAX_REQUEST_BYTES) {
                note("the event is " + event.length + " bytes; Lambda accepts at most " + MAX_REQUEST_BYTES + " for a synchronous invoke");
                return 2;
            }
            String invalid = jsonProblem(event);
            if (invalid != null) {
                // As Lambda's Invoke API (400 InvalidRequestContentException): the function is not invoked.
                note("the event " + o.event + " is not JSON, which Lambda refuses (InvalidRequestContentException): "
                        + invalid);
                return 2;
            }
            String clientContext = null;
            if (o.clientContext != null) {
                clientContext = decodeClientContext(o.clientContext);
                if (clientContext == null) {
                    note("--client-context must be base64 (as the X-Amz-Client-Context header)");
                    return 2;
                }
            }
            InvokeRequest r = new InvokeRequest(UUID.randomUUID().toString(), payload(event), o.traceId, clientContext,
                    o.cognitoIdentity, o.tenantId);
            Queued q = fn.submit(r);
            Result res = q.answer().join();
            try {
                q.done().get(); // END and REPORT come when the runtime asks for the next invocation
            } catch (InterruptedException | ExecutionException e) {
                note("the invocation did not end cleanly: " + e);
            }
            fn.shutdown();
            System.out.write(res.body());
            System.out.flush();
            return res.functionError() == null ? 0 : 1;
        }
        ServerSocket invokeSocket = new ServerSocket();
        invokeSocket.setReuseAddress(true);
        try {
            invokeSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), o.port), 64);
        } catch (IOException e) {
            note("cannot listen on 127.0.0.1:" + o.port + ": " + e.getMessage() + " (choose another with --port)");
            return 2;
        }
        String url = "http://127.0.0.1:" + invokeSocket.getLocalPort() + "/2015-03-31/functions/function/invocations";
        note("ready: POST events to " + url + " (Ctrl-C stops)");
        System.out.println(url);
        System.out.flush();
        Http.serve(invokeSocket, new InvokeEndpoint(fn));
        apiThread.interrupt();
        return 0;
    }

    // ------------------------------------------------------------------------------------------------ the function

    record InvokeRequest(String requestId, byte[] event, String traceId, String clientContext, String cognitoIdentity,
            String tenantId) {}

    /** What the caller gets: HTTP status, body, content type, and X-Amz-Function-Error (null on success). */
    record Result(int status, byte[] body, String contentType, String functionError) {}

    /** A queued invocation: the caller's answer, and the end of the invocation (END and REPORT printed). */
    record Queued(CompletableFuture<Result> answer, Future<?> done) {}

    enum Kind { SUCCESS, FUNCTION_ERROR, PLATFORM_ERROR, TIMEOUT, EXITED }

    /** How an invocation ended. platformErrorType is what REPORT shows as "Error Type" (null for the function's own errors). */
    record Outcome(Kind kind, byte[] body, String contentType, String platformErrorType) {
        static Outcome platform(String type, String message) {
            return new Outcome(Kind.PLATFORM_ERROR, errorJson(type, message), "application/json", type);
        }
    }

    static final class Invocation {
        final InvokeRequest request;
        final long deadlineMs;
        Outcome outcome;

        Invocation(InvokeRequest request, long deadlineMs) {
            this.request = request;
            this.deadlineMs = deadlineMs;
        }

        String id() {
            return request.requestId();
        }
    }

    /** The function: its configuration and its one execution environment (a runtime process tree), if any. */
    static final class Function {
        final Options o;
        final Cgroups cgroups;
        final ExecutorService queue = Executors.newSingleThreadExecutor(
                task -> Thread.ofPlatform().daemon().name("invocations").unstarted(task));
        volatile String apiAddress;
        volatile Env env;
        int seq;
        volatile boolean shutDown;

        Function(Options o, Cgroups cgroups) {
            this.o = o;
            this.cgroups = cgroups;
        }

        String describe() {
            String how = o.layer != null
                    ? "runs /opt/bootstrap from " + o.layer + " in " + o.sandbox
                    : "runs " + String.join(" ", o.command) + " directly, without a sandbox";
            return "function " + o.functionName + ", handler " + o.handler + ", " + how + ", timeout " + o.timeout
                    + " s, memory " + o.memory + " MB (" + cgroups.summary + ")";
        }

        /**
         * Queues an invocation behind the ones already queued: one at a time, in arrival order, like one Lambda
         * execution environment (so an asynchronous invoke accepted before a synchronous one also runs first).
         * The answer completes as soon as the runtime has answered; done completes when the invocation ends, at
         * the runtime's next /next (or its death or the timeout), which is when the next queued one may start.
         */
        Queued submit(InvokeRequest r) {
            CompletableFuture<Result> answer = new CompletableFuture<>();
            Future<?> done = queue.submit(() -> {
                try {
                    if (shutDown) {
                        answer.complete(new Result(503, errorJson("ServiceException", "the local Lambda is shutting down"),
                                "application/json", "Unhandled"));
                        return;
                    }
                    answer.complete(invokeQueued(r, answer::complete));
                } catch (RuntimeException | Error ex) {
                    answer.completeExceptionally(ex);
                    throw ex;
                }
            });
            return new Queued(answer, done);
        }

        /** REPLY gets the caller's answer as soon as it is known; the return value is the same answer. */
        private Result invokeQueued(InvokeRequest r, Consumer<Result> reply) {
            String id = r.requestId();
            long timeoutNanos = TimeUnit.SECONDS.toNanos(o.timeout);
            Double initMs = null;
            long t0 = 0; // the start of the invoke phase, once START is printed
            Env e = env;
            if (e != null && e.isDead()) {
                e.kill();
                env = null;
                e = null;
            }
            if (e == null) {
                e = start();
                if (e == null) {
                    return reportInitFailure(id, null, 0, Outcome.platform("Runtime.InvalidEntrypoint",
                            "RequestId: " + id + " Error: could not start the runtime (the message is above)"), 0);
                }
                InitStatus st = e.awaitInit(TimeUnit.SECONDS.toNanos(o.initTimeout));
                if (st == InitStatus.TIMEOUT) {
                    // Lambda gives init 10 s, then retries it once inside the invocation, under the function's
                    // timeout: the invoke phase (START, Duration, the timeout) starts before the retried init, whose
                    // time is then part of Duration; REPORT has no Init Duration (public reports call it a
                    // "suppressed init").
                    log(String.format(Locale.ROOT, "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: timeout",
                            millis(System.nanoTime() - e.spawnNanos)));
                    e.kill();
                    log("START RequestId: " + id + " Version: " + VERSION);
                    t0 = System.nanoTime();
                    e = start();
                    if (e == null) {
                        return reportInitFailure(id, null, 0, Outcome.platform("Runtime.InvalidEntrypoint",
                                "RequestId: " + id + " Error: could not start the runtime (the message is above)"), t0);
                    }
                    st = e.awaitInit(timeoutNanos - (System.nanoTime() - t0));
                    if (st == InitStatus.TIMEOUT) {
                        return timedOut(id, e, null, timeoutNanos);
                    }
                } else {
                    initMs = millis(e.readyNanos - e.spawnNanos);
                }
                if (st != InitStatus.READY) {
                    Outcome failure = st == InitStatus.ERROR ? e.initErrorOutcome() : exitOutcome(id, e);
                    double ms = millis((st == InitStatus.ERROR ? e.initErrorNanos : e.exitNanos) - e.spawnNanos);
                    if (st == InitStatus.ERROR) {
                        e.awaitExit(TimeUnit.SECONDS.toNanos(5)); // it should exit by itself after /init/error
                    }
                    e.kill();
                    env = null;
                    return reportInitFailure(id, e, ms, failure, t0);
                }
            }
            if (t0 == 0) {
                log("START RequestId: " + id + " Version: " + VERSION);
                t0 = System.nanoTime();
            }
            long deadline = t0 + timeoutNanos;
            Invocation inv = new Invocation(r, System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            e.offer(inv);
            Outcome oc = e.awaitOutcome(inv, deadline);
            if (oc.kind() == Kind.TIMEOUT) {
                return timedOut(id, e, initMs, timeoutNanos);
            }
            if (oc.kind() == Kind.EXITED) {
                double durationMs = millis(System.nanoTime() - t0);
                oc = exitOutcome(id, e);
                e.kill();
                env = null;
                log("END RequestId: " + id);
                log(report(id, durationMs, initMs, e.peakMb(), "Status: error\tError Type: " + oc.platformErrorType()));
                return new Result(200, oc.body(), "application/json", "Unhandled");
            }
            Result res = oc.kind() == Kind.SUCCESS ? new Result(200, oc.body(), oc.contentType(), null)
                    : new Result(200, oc.body(), "application/json", "Unhandled");
            // The caller has its answer now; the invocation goes on until the runtime asks for the next one
            // (Lambda's invoke phase): what the runtime does in between (reloading file.sh after an exit, say) is
            // part of this invocation's Duration and comes before its END line.
            e.drainLogs(); // the function's log lines written before its answer, printed before the caller has it
            reply.accept(res);
            switch (e.awaitNext(deadline)) {
                case TIMEOUT -> {
                    timedOut(id, e, initMs, timeoutNanos);
                    return res;
                }
                case EXITED -> {
                    double durationMs = millis((e.exitNanos != 0 ? e.exitNanos : System.nanoTime()) - t0); // 0: killed at shutdown
                    Outcome exit = exitOutcome(id, e);
                    e.kill();
                    env = null;
                    note("the runtime exited after answering " + id + ": " + jsonField(exit.body(), "errorMessage")
                            + "; the next invoke is a cold start");
                    log("END RequestId: " + id);
                    log(report(id, durationMs, initMs, e.peakMb(), "Status: error\tError Type: Runtime.ExitError"));
                    return res;
                }
                default -> {
                    double durationMs = millis(e.nextNanos - t0);
                    e.sample();
                    e.drainLogs();
                    log("END RequestId: " + id);
                    log(report(id, durationMs, initMs, e.peakMb(), oc.platformErrorType() == null ? null
                            : "Status: error\tError Type: " + oc.platformErrorType()));
                    return res;
                }
            }
        }

        private Result timedOut(String id, Env e, Double initMs, long budgetNanos) {
            e.sample();
            long peak = e.peakMb();
            e.kill(); // the runtime and every process it started; the next invoke starts a new one
            env = null;
            String message = String.format(Locale.ROOT, "Task timed out after %d.00 seconds", o.timeout);
            log(DateTimeFormatter.ISO_INSTANT.format(Instant.now()) + " " + id + " " + message);
            log("END RequestId: " + id);
            log(report(id, millis(budgetNanos), initMs, peak, "Status: timeout"));
            return new Result(200, errorJson("Sandbox.Timedout", "RequestId: " + id + " Error: " + message),
                    "application/json", "Unhandled");
        }

        /**
         * Init failed: Lambda answers every invoke with the init error until a new init succeeds (502, as the
         * emulator). INVOKE_START is 0 for a failure in the init phase, else when the invoke phase began (the init
         * retried inside an invocation after an init timeout: START is already printed).
         */
        private Result reportInitFailure(String id, Env e, double initMs, Outcome failure, long invokeStart) {
            String type = failure.platformErrorType();
            log(String.format(Locale.ROOT, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\tStatus: error\tError Type: %s",
                    initMs, invokeStart == 0 ? "init" : "invoke", type));
            if (invokeStart == 0) {
                log("START RequestId: " + id + " Version: " + VERSION);
            }
            log("END RequestId: " + id);
            double durationMs = invokeStart == 0 ? initMs : millis(System.nanoTime() - invokeStart);
            log(report(id, durationMs, null, e == null ? 0 : e.peakMb(), "Status: error\tError Type: " + type));
            return new Result(502, failure.body(), "application/json", "Unhandled");
        }

        private String report(String id, double durationMs, Double initMs, long maxMb, String status) {
            // Init is billed for custom runtimes, so Billed Duration includes it on a cold start.
            long billed = (long) Math.ceil(durationMs + (initMs == null ? 0 : initMs));
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                    "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
                    id, durationMs, billed, o.memory, maxMb));
            if (initMs != null) {
                b.append(String.format(Locale.ROOT, "Init Duration: %.2f ms\t", initMs));
            }
            if (status != null) {
                b.append(status).append('\t');
            }
            return b.toString();
        }

        private Outcome exitOutcome(String id, Env e) {
            int status = e.exitStatus;
            String why = status == 0 ? "Runtime exited without providing a reason"
                    : status > 128 && status < 160 ? "Runtime exited with error: signal: " + signalName(status - 128)
                    : "Runtime exited with error: exit status " + status;
            return Outcome.platform("Runtime.ExitError", "RequestId: " + id + " Error: " + why);
        }

        /** Starts a new execution environment: the runtime process (in the sandbox) and, when possible, its cgroup. */
        private Env start() {
            seq++;
            Env e = new Env(this, seq);
            env = e;
            try {
                e.spawn(command(e), o.layer == null ? Path.of(o.task).toFile() : null, environment());
                return e;
            } catch (IOException ex) {
                note("cannot start the runtime: " + ex.getMessage());
                e.kill();
                env = null;
                return null;
            }
        }

        private List<String> command(Env e) throws IOException {
            List<String> cmd = new ArrayList<>();
            Cgroup cg = cgroups.create(e.seq);
            e.cgroup = cg;
            if (cg != null) {
                // Join the cgroup before anything else runs, so every process of the runtime is in it.
                cmd.addAll(List.of("/bin/sh", "-c", "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ >\"$1\" || exit 125; "
                        + "shift; n=$((n-1)); done; exec \"$@\"", "join-cgroup", String.valueOf(cg.procsFiles().size())));
                cmd.addAll(cg.procsFiles());
            }
            if (o.layer != null) {
                cmd.addAll(List.of(o.sandbox, "--layer", o.layer, "--task", o.task));
                for (Map.Entry<String, String> kv : functionEnvironment(true).entrySet()) {
                    cmd.add("--env");
                    cmd.add(kv.getKey() + "=" + kv.getValue());
                }
                cmd.add("--");
                cmd.add("/opt/bootstrap");
            } else {
                cmd.addAll(o.command);
            }
            return cmd;
        }

        /** The process environment: in the sandbox the script builds it from --env; directly, we build it. */
        private Map<String, String> environment() {
            Map<String, String> env = new LinkedHashMap<>();
            if (o.layer != null) {
                env.putAll(System.getenv());
            } else {
                env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin"));
                env.putAll(functionEnvironment(false));
            }
            return env;
        }

        /** Lambda's environment for this function (docs/runtime-api.md), then the user's --env values. */
        Map<String, String> functionEnvironment(boolean sandboxed) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("AWS_LAMBDA_RUNTIME_API", apiAddress);
            m.put("_HANDLER", o.handler);
            if (!sandboxed) {
                m.put("LAMBDA_TASK_ROOT", Path.of(o.task).toAbsolutePath().normalize().toString());
                m.put("LAMBDA_RUNTIME_DIR", "/var/runtime");
                m.put("TZ", ":UTC");
                m.put("LANG", "en_US.UTF-8");
            }
            m.put("AWS_REGION", o.region);
            m.put("AWS_DEFAULT_REGION", o.region);
            m.put("AWS_LAMBDA_FUNCTION_NAME", o.functionName);
            m.put("AWS_LAMBDA_FUNCTION_VERSION", VERSION);
            m.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", String.valueOf(o.memory));
            m.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + o.functionName);
            m.put("AWS_LAMBDA_LOG_STREAM_NAME", DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC)
                    .format(Instant.now()) + "/[" + VERSION + "]" + HexFormat.of().formatHex(randomBytes(16)));
            m.put("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
            // The execution role's credentials: the caller's own, when set (the emulator passes them the same way).
            for (String k : List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")) {
                String v = System.getenv(k);
                if (v != null && !v.isEmpty()) {
                    m.put(k, v);
                }
            }
            m.putAll(o.env);
            return m;
        }

        void shutdown() {
            shutDown = true;
            Env e = env;
            if (e != null) {
                e.kill();
            }
            cgroups.removeBase();
        }
    }

    enum InitStatus { READY, ERROR, EXITED, TIMEOUT }

    /** How an invocation's invoke phase ended after the runtime answered. */
    enum Ending { NEXT, EXITED, TIMEOUT }

    enum State { STARTING, IDLE, INVOKING, RECEIVING, RESPONDED, INIT_FAILED }

    /** One execution environment: a runtime process tree and the Runtime API state machine it talks to. */
    static final class Env {
        final Function fn;
        final int seq;
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        Cgroup cgroup;
        Process proc;
        long spawnNanos;
        State state = State.STARTING;
        boolean dead;
        int exitStatus = -1;
        long exitNanos;
        long readyNanos;
        long nextNanos;
        long initErrorNanos;
        byte[] initErrorBody;
        String initErrorType;
        boolean nextWaiting;
        Invocation queued;
        Invocation current;
        volatile long peakBytes;
        LogPump pump;
        boolean killed;

        Env(Function fn, int seq) {
            this.fn = fn;
            this.seq = seq;
        }

        void spawn(List<String> cmd, File dir, Map<String, String> environment) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().clear();
            pb.environment().putAll(environment);
            if (dir != null) {
                pb.directory(dir);
            }
            pb.redirectErrorStream(true);
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            spawnNanos = System.nanoTime();
            proc = pb.start();
            pump = new LogPump(proc.getInputStream());
            pump.start();
            proc.onExit().thenRun(this::exited);
            Thread.ofPlatform().daemon().name("memory-" + seq).start(this::sampleWhileBusy);
        }

        private void exited() {
            lock.lock();
            try {
                dead = true;
                exitStatus = proc.exitValue();
                exitNanos = System.nanoTime();
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        boolean isDead() {
            lock.lock();
            try {
                return dead;
            } finally {
                lock.unlock();
            }
        }

        InitStatus awaitInit(long timeoutNanos) {
            long end = System.nanoTime() + timeoutNanos;
            lock.lock();
            try {
                while (true) {
                    if (state == State.INIT_FAILED) {
                        return InitStatus.ERROR;
                    }
                    if (state != State.STARTING) {
                        return InitStatus.READY;
                    }
                    if (dead) {
                        return InitStatus.EXITED;
                    }
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        return InitStatus.TIMEOUT;
                    }
                    changed.awaitNanos(left);
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return InitStatus.TIMEOUT;
            } finally {
                lock.unlock();
            }
        }

        void awaitExit(long timeoutNanos) {
            long end = System.nanoTime() + timeoutNanos;
            lock.lock();
            try {
                while (!dead) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        return;
                    }
                    changed.awaitNanos(left);
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
        }

        Outcome initErrorOutcome() {
            byte[] body = initErrorBody;
            String type = firstNonEmpty(jsonField(body, "errorType"), initErrorType, "Runtime.Unknown");
            if (body == null || body.length == 0) {
                body = errorJson(type, "the runtime reported an init error without a body");
            }
            return new Outcome(Kind.PLATFORM_ERROR, body, "application/json", type);
        }

        void offer(Invocation inv) {
            lock.lock();
            try {
                queued = inv;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        Outcome awaitOutcome(Invocation inv, long deadlineNanos) {
            lock.lock();
            try {
                while (true) {
                    if (inv.outcome != null) {
                        return inv.outcome;
                    }
                    if (dead) {
                        return new Outcome(Kind.EXITED, null, null, "Runtime.ExitError");
                    }
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        return new Outcome(Kind.TIMEOUT, null, null, null);
                    }
                    changed.awaitNanos(left);
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return new Outcome(Kind.TIMEOUT, null, null, null);
            } finally {
                lock.unlock();
            }
        }

        /** After the answer: waits until the runtime asks for the next invocation, dies, or runs out of time. */
        Ending awaitNext(long deadlineNanos) {
            lock.lock();
            try {
                while (true) {
                    if (dead) {
                        return Ending.EXITED;
                    }
                    if (state == State.IDLE && nextWaiting) {
                        return Ending.NEXT;
                    }
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        return Ending.TIMEOUT;
                    }
                    changed.awaitNanos(left);
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return Ending.TIMEOUT;
            } finally {
                lock.unlock();
            }
        }

        /** Settles the current invocation (caller holds the lock). */
        void complete(Invocation inv, Outcome oc) {
            if (inv.outcome == null) {
                inv.outcome = oc;
            }
            state = State.RESPONDED;
            changed.signalAll();
        }

        /** Kills the runtime and every process it started, and waits until they are gone. */
        void kill() {
            lock.lock();
            try {
                if (killed) {
                    return;
                }
                killed = true;
            } finally {
                lock.unlock();
            }
            if (proc != null) {
                if (cgroup != null) {
                    cgroup.killAll();
                } else {
                    killTree(proc.toHandle());
                }
                proc.destroyForcibly();
                try {
                    proc.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                if (cgroup != null) {
                    cgroup.killAll(); // anything that escaped the tree while we waited
                }
                pump.finish();
            }
            lock.lock();
            try {
                dead = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            if (cgroup != null) {
                cgroup.remove();
            }
        }

        /** Waits (briefly) until the runtime's log output written so far is printed, so END comes after it. */
        void drainLogs() {
            pump.drain();
        }

        long peakMb() {
            return (peakBytes + 1024 * 1024 - 1) / (1024 * 1024);
        }

        void sample() {
            long bytes = cgroup != null ? cgroup.memoryInUse() : treeRss(proc.toHandle());
            if (bytes > peakBytes) {
                peakBytes = bytes;
            }
        }

        /**
         * Samples memory every 10 ms while the runtime works (init, and invocations until the runtime's next /next);
         * Lambda freezes it in between.
         */
        private void sampleWhileBusy() {
            while (true) {
                lock.lock();
                try {
                    while (!dead && (state == State.IDLE || state == State.INIT_FAILED)) {
                        changed.await();
                    }
                    if (dead) {
                        return;
                    }
                } catch (InterruptedException ex) {
                    return;
                } finally {
                    lock.unlock();
                }
                sample();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
    }

    /** Copies the runtime's stdout and stderr (its logs and the function's) to our stderr, whole lines at a time. */
    static final class LogPump extends Thread {
        final InputStream in;
        final ByteArrayOutputStream partial = new ByteArrayOutputStream();
        volatile boolean waiting;
        volatile boolean done;

        LogPump(InputStream in) {
            super("logs");
            setDaemon(true);
            this.in = in;
        }

        @Override
        public void run() {
            byte[] buf = new byte[8192];
            try {
                while (true) {
                    waiting = true;
                    int n = in.read(buf);
                    waiting = false;
                    if (n < 0) {
                        break;
                    }
                    synchronized (LOG_LOCK) {
                        int start = 0;
                        for (int i = 0; i < n; i++) {
                            if (buf[i] == '\n') {
                                partial.write(buf, start, i + 1 - start);
                                byte[] line = partial.toByteArray();
                                ERR.write(line, 0, line.length);
                                partial.reset();
                                start = i + 1;
                            }
                        }
                        partial.write(buf, start, n - start);
                        ERR.flush();
                    }
                }
            } catch (IOException e) {
                // the process is gone
            } finally {
                flushPartial();
                done = true;
            }
        }

        void flushPartial() {
            synchronized (LOG_LOCK) {
                if (partial.size() > 0) {
                    ERR.write(partial.toByteArray(), 0, partial.size());
                    ERR.write('\n');
                    partial.reset();
                    ERR.flush();
                }
            }
        }

        /** Best effort: lets the pump catch up (at most 100 ms), then prints an unfinished last line. */
        void drain() {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            while (!done && !waiting && System.nanoTime() < end) {
                Thread.onSpinWait();
                Thread.yield();
            }
            flushPartial();
        }

        void finish() {
            try {
                join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            flushPartial();
        }
    }

    static void killTree(ProcessHandle root) {
        for (int round = 0; round < 50; round++) {
            List<ProcessHandle> all = new ArrayList<>();
            root.descendants().forEach(all::add);
            if (root.isAlive()) {
                all.add(root);
            }
            all.removeIf(p -> !p.isAlive());
            if (all.isEmpty()) {
                return;
            }
            for (ProcessHandle p : all) {
                p.destroyForcibly();
            }
            for (ProcessHandle p : all) {
                try {
                    p.onExit().get(100, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    // checked again next round
                }
            }
        }
    }

    /** Resident memory of a process tree, from /proc/PID/status (VmRSS). */
    static long treeRss(ProcessHandle root) {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(root);
        root.descendants().forEach(all::add);
        long total = 0;
        for (ProcessHandle p : all) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(p.pid()), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        total += 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | RuntimeException e) {
                // exited meanwhile
            }
        }
        return total;
    }

    // ------------------------------------------------------------------------------------------------ cgroups

    /** Where this program may create cgroups for its runtimes: cgroup v1 (memory and cpu hierarchies) or v2. */
    static final class Cgroups {
        final int version; // 0: none usable
        final Path memoryBase;
        final Path cpuBase;
        final boolean enforce;
        final int memoryMb;
        final String summary;
        final String prefix = "local-lambda-" + ProcessHandle.current().pid() + "-";

        private Cgroups(int version, Path memoryBase, Path cpuBase, boolean enforce, int memoryMb, String summary) {
            this.version = version;
            this.memoryBase = memoryBase;
            this.cpuBase = cpuBase;
            this.enforce = enforce;
            this.memoryMb = memoryMb;
            this.summary = summary;
        }

        static Cgroups detect(Options o) {
            String reason;
            Path mem = null;
            Path cpu = null;
            int version = 0;
            if (o.noCgroups) {
                reason = "cgroups disabled with --no-cgroups";
            } else try {
                List<String[]> mounts = new ArrayList<>();
                for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                    String[] halves = line.split(" - ", 2);
                    String[] f = halves[0].split(" ");
                    String[] g = halves.length > 1 ? halves[1].split(" ") : new String[0];
                    if (g.length >= 3 && (g[0].equals("cgroup") || g[0].equals("cgroup2"))) {
                        mounts.add(new String[] {g[0], unescape(f[3]), unescape(f[4]), g[2]});
                    }
                }
                Map<String, String> own = new HashMap<>(); // controller (or "" for v2) -> own path
                for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                    String[] f = line.split(":", 3);
                    if (f.length == 3) {
                        for (String c : f[1].split(",")) {
                            own.put(c, f[2]);
                        }
                    }
                }
                Path memV1 = v1Base(mounts, own, "memory");
                Path cpuV1 = v1Base(mounts, own, "cpu");
                if (memV1 != null) {
                    version = 1;
                    mem = memV1;
                    cpu = cpuV1;
                    reason = Files.isWritable(memV1) ? null : memV1 + " is not writable";
                } else {
                    Path v2 = null;
                    for (String[] m : mounts) {
                        if (m[0].equals("cgroup2") && own.containsKey("")) {
                            Path base = Path.of(m[2], relative(own.get(""), m[1]));
                            String controllers = readOr(base.resolve("cgroup.controllers"), "");
                            if (controllers.contains("memory")) {
                                v2 = base;
                            }
                        }
                    }
                    if (v2 == null) {
                        reason = "no cgroup v1 memory hierarchy and no cgroup v2 with the memory controller";
                    } else {
                        version = 2;
                        // cgroup v2 forbids processes in a cgroup whose children have controllers ("no internal
                        // processes"), so our own cgroup works only if its subtree already has them; else try the parent.
                        Path chosen = null;
                        for (Path b : new Path[] {v2, v2.getParent()}) {
                            if (b != null && Files.isWritable(b) && enableV2(b)) {
                                chosen = b;
                                break;
                            }
                        }
                        mem = chosen;
                        cpu = chosen;
                        reason = chosen == null ? "cannot enable the memory and cpu controllers under " + v2 : null;
                    }
                }
            } catch (IOException | RuntimeException e) {
                reason = "cannot read the cgroup setup: " + e.getMessage();
            }
            boolean usable = reason == null;
            String summary;
            if (!usable) {
                summary = (o.memorySet ? "NOT enforced" : "not enforced") + ": " + reason
                        + "; Max Memory Used is the resident memory of the runtime's processes";
                if (o.memorySet) {
                    note("--memory " + o.memory + ": memory and CPU are NOT enforced (" + reason + ")");
                }
                return new Cgroups(0, null, null, false, o.memory, summary);
            }
            if (o.memorySet) {
                summary = String.format(Locale.ROOT, "enforced with cgroup v%d: memory limit %d MB, CPU %.3f vCPU during invocations",
                        version, o.memory, o.memory / 1769.0) + (cpu == null ? " (no cpu hierarchy: CPU not limited)" : "");
            } else {
                summary = "not enforced (pass --memory MB to enforce); Max Memory Used measured with a cgroup v" + version;
            }
            Cgroups c = new Cgroups(version, mem, cpu, o.memorySet, o.memory, summary);
            c.sweepStale();
            return c;
        }

        /** Makes sure children of BASE get the memory controller (required) and the cpu controller (if there is one). */
        private static boolean enableV2(Path base) {
            Path control = base.resolve("cgroup.subtree_control");
            for (String c : new String[] {"memory", "cpu"}) {
                if (!List.of(readOr(control, "").trim().split("\\s+")).contains(c)
                        && readOr(base.resolve("cgroup.controllers"), "").contains(c)) {
                    try {
                        Files.writeString(control, "+" + c);
                    } catch (IOException e) {
                        // "no internal processes": not possible where processes live; the caller tries the parent
                    }
                }
            }
            return List.of(readOr(control, "").trim().split("\\s+")).contains("memory");
        }

        private static Path v1Base(List<String[]> mounts, Map<String, String> own, String controller) {
            for (String[] m : mounts) {
                if (m[0].equals("cgroup") && List.of(m[3].split(",")).contains(controller) && own.containsKey(controller)) {
                    Path p = Path.of(m[2], relative(own.get(controller), m[1]));
                    if (Files.isDirectory(p)) {
                        return p;
                    }
                }
            }
            return null;
        }

        private static String relative(String path, String mountRoot) {
            if (!mountRoot.equals("/") && path.startsWith(mountRoot)) {
                path = path.substring(mountRoot.length());
            }
            return path.startsWith("/") ? path.substring(1) : path;
        }

        private static String unescape(String s) {
            return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
        }

        /** A new cgroup for environment SEQ (null when cgroups are not usable). */
        Cgroup create(int seq) throws IOException {
            if (version == 0) {
                return null;
            }
            String name = prefix + seq;
            Path m = Files.createDirectories(memoryBase.resolve(name));
            Path c = null;
            if (version == 1 && cpuBase != null && Files.isWritable(cpuBase)) {
                c = Files.createDirectories(cpuBase.resolve(name));
            } else if (version == 2 && List.of(readOr(memoryBase.resolve("cgroup.subtree_control"), "").trim().split("\\s+")).contains("cpu")) {
                c = m;
            }
            Cgroup cg = new Cgroup(version, m, c);
            if (enforce) {
                cg.limit(memoryMb);
            }
            return cg;
        }

        /** Removes empty cgroups left by earlier runs of this program that were killed before they could clean up. */
        void sweepStale() {
            for (Path base : new Path[] {memoryBase, cpuBase}) {
                if (base == null) {
                    continue;
                }
                try (var s = Files.list(base)) {
                    for (Path p : s.toList()) {
                        Matcher mt = Pattern.compile("local-lambda-(\\d+)-\\d+").matcher(p.getFileName().toString());
                        if (mt.matches() && ProcessHandle.of(Long.parseLong(mt.group(1))).isEmpty()
                                && readOr(p.resolve("cgroup.procs"), "x").isBlank()) {
                            Files.deleteIfExists(p);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // best effort
                }
            }
        }

        void removeBase() {
            // The per-environment cgroups are removed as environments end; nothing else is ours.
        }
    }

    /** One environment's cgroup (a memory and a cpu directory in v1, one directory in v2). */
    static final class Cgroup {
        final int version;
        final Path memory;
        final Path cpu;
        Integer cpuQuotaUs;

        Cgroup(int version, Path memory, Path cpu) {
            this.version = version;
            this.memory = memory;
            this.cpu = cpu;
        }

        List<String> procsFiles() {
            List<String> l = new ArrayList<>();
            l.add(memory.resolve("cgroup.procs").toString());
            if (cpu != null && !cpu.equals(memory)) {
                l.add(cpu.resolve("cgroup.procs").toString());
            }
            return l;
        }

        void limit(int mb) throws IOException {
            long bytes = mb * 1024L * 1024L;
            if (version == 1) {
                Files.writeString(memory.resolve("memory.limit_in_bytes"), String.valueOf(bytes));
                Path memsw = memory.resolve("memory.memsw.limit_in_bytes"); // no swap: Lambda has none
                if (Files.exists(memsw)) {
                    Files.writeString(memsw, String.valueOf(bytes));
                }
            } else {
                Files.writeString(memory.resolve("memory.max"), String.valueOf(bytes));
                Path swap = memory.resolve("memory.swap.max");
                if (Files.exists(swap)) {
                    Files.writeString(swap, "0");
                }
            }
            // CPU in proportion to memory: 1,769 MB is one vCPU (applied once init is done: Lambda is reported to
            // give init more CPU than invocations, and a JVM start at 7% of a core would not fit the init limit).
            cpuQuotaUs = (int) Math.max(1000, Math.round(100_000.0 * mb / 1769.0));
        }

        /** Applies the CPU share (called when init completes). */
        void throttleCpu() {
            if (cpu == null || cpuQuotaUs == null) {
                return;
            }
            try {
                if (version == 1) {
                    Files.writeString(cpu.resolve("cpu.cfs_period_us"), "100000");
                    Files.writeString(cpu.resolve("cpu.cfs_quota_us"), String.valueOf(cpuQuotaUs));
                } else {
                    Files.writeString(cpu.resolve("cpu.max"), cpuQuotaUs + " 100000");
                }
            } catch (IOException e) {
                note("cannot set the CPU share: " + e.getMessage());
            }
        }

        /** Anonymous plus file-mapped memory of every process in the cgroup (page cache is not counted). */
        long memoryInUse() {
            String stat = readOr(memory.resolve("memory.stat"), "");
            long total = 0;
            for (String line : stat.split("\n")) {
                String[] f = line.split(" ");
                if (f.length == 2 && (version == 1 ? f[0].equals("total_rss") || f[0].equals("total_mapped_file")
                        : f[0].equals("anon") || f[0].equals("file_mapped"))) {
                    total += Long.parseLong(f[1].trim());
                }
            }
            return total;
        }

        List<Long> pids() {
            List<Long> l = new ArrayList<>();
            for (String s : readOr(memory.resolve("cgroup.procs"), "").split("\n")) {
                if (!s.isBlank()) {
                    l.add(Long.parseLong(s.trim()));
                }
            }
            return l;
        }

        void killAll() {
            Path kill = memory.resolve("cgroup.kill"); // cgroup v2 on Linux 5.14+: the kernel kills them all at once
            if (version == 2 && Files.exists(kill)) {
                try {
                    Files.writeString(kill, "1");
                } catch (IOException e) {
                    // the loop below does it one by one
                }
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < end) {
                List<Long> pids = pids();
                if (pids.isEmpty()) {
                    return;
                }
                for (long pid : pids) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
            note("processes still in " + memory + " after SIGKILL: " + pids());
        }

        void remove() {
            for (Path p : new Path[] {memory, cpu}) {
                if (p == null) {
                    continue;
                }
                for (int i = 0; i < 200; i++) {
                    try {
                        Files.deleteIfExists(p);
                        break;
                    } catch (IOException e) {
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // busy until the last task is reaped
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ Runtime API

    /** The Runtime API the runtime talks to, with the real service's checks. */
    static final class RuntimeApi implements Http.Handler {
        static final Pattern INVOCATION = Pattern.compile(API + "/runtime/invocation/([^/]+)/(response|error)");
        final Function fn;

        RuntimeApi(Function fn) {
            this.fn = fn;
        }

        @Override
        public void handle(Http.Exchange ex) throws IOException {
            String path = ex.path;
            Env e = fn.env;
            if (path.equals(API + "/ping")) {
                ex.send(200, "text/plain", "pong".getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (path.equals(API + "/runtime/invocation/next")) {
                if (!ex.method.equals("GET")) {
                    methodNotAllowed(ex, "GET");
                } else {
                    next(ex, e);
                }
                return;
            }
            if (path.equals(API + "/runtime/init/error")) {
                if (!ex.method.equals("POST")) {
                    methodNotAllowed(ex, "POST");
                } else {
                    initError(ex, e);
                }
                return;
            }
            Matcher m = INVOCATION.matcher(path);
            if (m.matches()) {
                if (!ex.method.equals("POST")) {
                    methodNotAllowed(ex, "POST");
                } else {
                    answer(ex, e, m.group(1), m.group(2).equals("error"));
                }
                return;
            }
            if (path.startsWith(API + "/runtime/restore/")) {
                // SnapStart endpoints exist only when SnapStart is on, which it never is for a zip on provided.al2023.
                ex.send(404, "application/json", errorJson("NotFound", "SnapStart is not enabled for this function"));
                return;
            }
            ex.send(404, "application/json", errorJson("NotFound", "no such Runtime API resource: " + path));
        }

        private static void methodNotAllowed(Http.Exchange ex, String allowed) throws IOException {
            ex.send(405, "application/json", errorJson("MethodNotAllowed", ex.method + " is not allowed; use " + allowed),
                    "Allow", allowed);
        }

        private static void stateError(Http.Exchange ex, String message) throws IOException {
            ex.send(403, "application/json", errorJson("InvalidStateTransition", message));
        }

        private void next(Http.Exchange ex, Env e) throws IOException {
            Invocation inv;
            if (e == null) {
                stateError(ex, "no execution environment is running");
                return;
            }
            e.lock.lock();
            try {
                if (e.dead) {
                    ex.close();
                    return;
                }
                switch (e.state) {
                    case INIT_FAILED -> {
                        stateError(ex, "/next after /runtime/init/error: the runtime must exit");
                        return;
                    }
                    case INVOKING, RECEIVING -> {
                        stateError(ex, "/next while invocation " + e.current.id() + " still owes a response or an error");
                        return;
                    }
                    default -> {
                        if (e.nextWaiting) {
                            stateError(ex, "a /next request is already waiting");
                            return;
                        }
                    }
                }
                e.nextNanos = System.nanoTime(); // ends the invoke phase of the invocation before, if any
                if (e.state == State.STARTING) {
                    e.readyNanos = e.nextNanos; // the first /next ends init
                    if (e.cgroup != null) {
                        e.cgroup.throttleCpu();
                    }
                }
                e.state = State.IDLE;
                e.nextWaiting = true;
                e.changed.signalAll();
                while (e.queued == null && !e.dead) {
                    e.changed.awaitUninterruptibly();
                }
                e.nextWaiting = false;
                if (e.dead) {
                    ex.close();
                    return;
                }
                inv = e.queued;
                e.queued = null;
                e.current = inv;
                e.state = State.INVOKING;
                e.changed.signalAll();
            } finally {
                e.lock.unlock();
            }
            InvokeRequest r = inv.request;
            List<String> h = new ArrayList<>(List.of(
                    "Lambda-Runtime-Aws-Request-Id", inv.id(),
                    "Lambda-Runtime-Deadline-Ms", String.valueOf(inv.deadlineMs),
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:" + fn.o.region + ":" + ACCOUNT + ":function:" + fn.o.functionName));
            addIfSet(h, "Lambda-Runtime-Trace-Id", r.traceId());
            addIfSet(h, "Lambda-Runtime-Client-Context", r.clientContext());
            addIfSet(h, "Lambda-Runtime-Cognito-Identity", r.cognitoIdentity());
            addIfSet(h, "Lambda-Runtime-Aws-Tenant-Id", r.tenantId());
            ex.send(200, "application/json", r.event(), h.toArray(new String[0]));
        }

        private static void addIfSet(List<String> h, String name, String value) {
            if (value != null && !value.isEmpty()) {
                h.add(name);
                h.add(value);
            }
        }

        private void answer(Http.Exchange ex, Env e, String id, boolean isError) throws IOException {
            Invocation inv;
            String mode = ex.header("Lambda-Runtime-Function-Response-Mode");
            if (e == null) {
                stateError(ex, "no execution environment is running");
                return;
            }
            e.lock.lock();
            try {
                if (e.dead) {
                    ex.close();
                    return;
                }
                if (e.current == null) {
                    stateError(ex, "no invocation has been handed out (call /next first)");
                    return;
                }
                if (!e.current.id().equals(id)) {
                    ex.send(400, "application/json", errorJson("InvalidRequestID",
                            "Invalid request ID: " + id + " (the current invocation is " + e.current.id() + ")"));
                    return;
                }
                if (e.state != State.INVOKING) {
                    stateError(ex, "invocation " + id + " has already been answered");
                    return;
                }
                inv = e.current;
                if (!isError && mode != null && !mode.equals("streaming")) {
                    e.complete(inv, Outcome.platform("Runtime.InvalidResponseModeHeader",
                            "RequestId: " + id + " Error: invalid Lambda-Runtime-Function-Response-Mode: " + mode));
                    ex.send(400, "application/json", errorJson("InvalidFunctionResponseMode",
                            "Lambda-Runtime-Function-Response-Mode must be 'streaming', got '" + mode + "'"));
                    return;
                }
                e.state = State.RECEIVING;
                e.changed.signalAll();
            } finally {
                e.lock.unlock();
            }
            Http.Body body;
            try {
                body = ex.readBody(MAX_RESPONSE_BYTES);
            } catch (IOException io) {
                body = new Http.Body(new byte[0], 0, true, Map.of());
            }
            Outcome oc;
            int status;
            byte[] reply;
            if (body.truncated()) {
                oc = Outcome.platform("Runtime.TruncatedResponse",
                        "RequestId: " + id + " Error: the runtime's HTTP request was truncated");
                status = 400;
                reply = errorJson("Runtime.TruncatedResponse", "HTTP request detected as truncated");
            } else if (body.size() > MAX_RESPONSE_BYTES) {
                oc = Outcome.platform("Function.ResponseSizeTooLarge", "Response payload size (" + body.size()
                        + " bytes) exceeded maximum allowed payload size (" + MAX_RESPONSE_BYTES + " bytes).");
                status = 413;
                reply = errorJson("RequestEntityTooLarge",
                        "Exceeded maximum allowed payload size (" + MAX_RESPONSE_BYTES + " bytes).");
            } else if (isError) {
                byte[] b = body.bytes();
                if (b.length == 0) {
                    b = errorJson(firstNonEmpty(ex.header("Lambda-Runtime-Function-Error-Type"), "Runtime.Unknown"),
                            "the runtime reported an error without a body");
                }
                oc = new Outcome(Kind.FUNCTION_ERROR, b, "application/json", null);
                status = 202;
                reply = "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8);
            } else if (body.trailers().containsKey("lambda-runtime-function-error-type")) {
                // A streamed response that failed after its first byte: the error travels in trailers.
                byte[] b;
                try {
                    b = Base64.getDecoder().decode(body.trailers().getOrDefault("lambda-runtime-function-error-body", ""));
                } catch (IllegalArgumentException bad) {
                    b = new byte[0];
                }
                if (b.length == 0) {
                    b = errorJson(body.trailers().get("lambda-runtime-function-error-type"), "streamed response failed");
                }
                oc = new Outcome(Kind.FUNCTION_ERROR, b, "application/json", null);
                status = 202;
                reply = "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8);
            } else {
                oc = new Outcome(Kind.SUCCESS, body.bytes(), firstNonEmpty(ex.header("Content-Type"), "application/json"), null);
                status = 202;
                reply = "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8);
            }
            e.lock.lock();
            try {
                if (e.dead || e.state != State.RECEIVING || e.current != inv) {
                    ex.close(); // timed out or killed while the body was arriving
                    return;
                }
                e.complete(inv, oc);
            } finally {
                e.lock.unlock();
            }
            ex.send(status, "application/json", reply);
        }

        private void initError(Http.Exchange ex, Env e) throws IOException {
            if (e == null) {
                stateError(ex, "no execution environment is running");
                return;
            }
            e.lock.lock();
            try {
                if (e.dead) {
                    ex.close();
                    return;
                }
                if (e.state != State.STARTING) {
                    stateError(ex, "/runtime/init/error is only allowed during init (before the first /next)");
                    return;
                }
                e.state = State.INIT_FAILED;
            } finally {
                e.lock.unlock();
            }
            Http.Body body;
            try {
                body = ex.readBody(MAX_RESPONSE_BYTES);
            } catch (IOException io) {
                body = new Http.Body(new byte[0], 0, true, Map.of());
            }
            e.lock.lock();
            try {
                e.initErrorBody = body.size() > MAX_RESPONSE_BYTES ? null : body.bytes();
                e.initErrorType = ex.header("Lambda-Runtime-Function-Error-Type");
                e.initErrorNanos = System.nanoTime();
                e.changed.signalAll();
            } finally {
                e.lock.unlock();
            }
            ex.send(202, "application/json", "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8));
        }
    }

    // ------------------------------------------------------------------------------------------------ invoke endpoint

    /** The emulator's invoke endpoint: POST /2015-03-31/functions/function/invocations. */
    static final class InvokeEndpoint implements Http.Handler {
        static final Pattern PATH = Pattern.compile("/2015-03-31/functions/([^/]+)/invocations");
        final Function fn;

        InvokeEndpoint(Function fn) {
            this.fn = fn;
        }

        @Override
        public void handle(Http.Exchange ex) throws IOException {
            Matcher m = PATH.matcher(ex.path);
            if (!m.matches() || !(m.group(1).equals("function") || m.group(1).equals(fn.o.functionName))) {
                ex.send(404, "application/json", userError("ResourceNotFoundException",
                        "Function not found: " + ex.path + " (POST to /2015-03-31/functions/function/invocations)"),
                        "X-Amzn-ErrorType", "ResourceNotFoundException");
                return;
            }
            if (!ex.method.equals("POST")) {
                ex.send(405, "application/json", userError("MethodNotAllowed", "use POST"), "Allow", "POST");
                return;
            }
            String type = firstNonEmpty(ex.header("X-Amz-Invocation-Type"), "RequestResponse");
            if (!List.of("RequestResponse", "Event", "DryRun").contains(type)) {
                ex.send(400, "application/json", userError("ValidationException", "1 validation error detected: Value '"
                        + type + "' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: "
                        + "[Event, RequestResponse, DryRun]"), "X-Amzn-ErrorType", "ValidationException");
                return;
            }
            String clientContext = null;
            String cc = ex.header("X-Amz-Client-Context");
            if (cc != null && !cc.isEmpty()) {
                clientContext = decodeClientContext(cc);
                if (clientContext == null) {
                    ex.send(400, "application/json", userError("InvalidRequestContentException",
                            "Client context must be a valid Base64-encoded JSON object."),
                            "X-Amzn-ErrorType", "InvalidRequestContentException");
                    return;
                }
            }
            Http.Body body = ex.readBody(MAX_REQUEST_BYTES);
            if (body.truncated()) {
                ex.close();
                return;
            }
            long limit = type.equals("Event") ? MAX_ASYNC_REQUEST_BYTES : MAX_REQUEST_BYTES;
            if (body.size() > limit) {
                ex.send(413, "application/json", userError("RequestTooLargeException",
                        "Request must be smaller than " + limit + " bytes for the "
                                + (type.equals("Event") ? "InvokeAsync" : "InvokeFunction") + " operation"),
                        "X-Amzn-ErrorType", "RequestTooLargeException");
                return;
            }
            String invalid = jsonProblem(body.bytes());
            if (invalid != null) {
                ex.send(400, "application/json", userError("InvalidRequestContentException", invalid),
                        "X-Amzn-ErrorType", "InvalidRequestContentException");
                return;
            }
            String id = firstNonEmpty(ex.header("X-Amzn-RequestId"), UUID.randomUUID().toString());
            if (type.equals("DryRun")) {
                // Lambda only validates the request: 204, and the function does not run. Here it is answered in
                // its turn, once the invocations queued before it have ended (their END and REPORT printed), which
                // gives scripts and tests a way to wait for that without polling the log.
                try {
                    fn.queue.submit(() -> { }).get();
                } catch (InterruptedException | ExecutionException e) {
                    ex.close();
                    return;
                }
                ex.send(204, null, new byte[0], "X-Amzn-RequestId", id);
                return;
            }
            InvokeRequest r = new InvokeRequest(id, payload(body.bytes()), ex.header("X-Amzn-Trace-Id"), clientContext,
                    ex.header("X-Amz-Cognito-Identity"), ex.header("X-Amz-Tenant-Id"));
            Queued q = fn.submit(r);
            if (type.equals("Event")) {
                // Lambda queues the event and answers 202 at once; the function runs later, its logs as usual.
                q.answer().thenAccept(res -> {
                    if (res.functionError() != null) {
                        note("asynchronous invoke " + id + " failed (" + jsonField(res.body(), "errorType")
                                + "); Lambda would retry it up to 2 more times, this local Lambda does not");
                    }
                });
                ex.send(202, null, new byte[0], "X-Amzn-RequestId", id);
                return;
            }
            Result res = q.answer().join();
            List<String> h = new ArrayList<>(List.of("X-Amzn-RequestId", id, "X-Amz-Executed-Version", VERSION));
            if (res.functionError() != null) {
                h.add("X-Amz-Function-Error");
                h.add(res.functionError());
            }
            ex.send(res.status(), res.contentType(), res.body(), h.toArray(new String[0]));
        }

        private static byte[] userError(String type, String message) {
            return ("{\"Type\":\"User\",\"__type\":" + json(type) + ",\"message\":" + json(message) + "}")
                    .getBytes(StandardCharsets.UTF_8);
        }
    }

    // ------------------------------------------------------------------------------------------------ HTTP/1.1

    /** A small HTTP/1.1 server: keep-alive, Content-Length and chunked bodies (with trailers), 100-continue. */
    static final class Http {
        interface Handler {
            void handle(Exchange ex) throws IOException;
        }

        record Body(byte[] bytes, long size, boolean truncated, Map<String, String> trailers) {}

        static void serve(ServerSocket ss, Handler h) {
            while (!ss.isClosed()) {
                Socket s;
                try {
                    s = ss.accept();
                } catch (IOException e) {
                    if (ss.isClosed()) {
                        return;
                    }
                    continue;
                }
                Thread.ofVirtual().start(() -> connection(s, h));
            }
        }

        static void connection(Socket s, Handler h) {
            try (s) {
                s.setTcpNoDelay(true);
                InputStream in = new BufferedInputStream(s.getInputStream(), 65536);
                OutputStream out = new BufferedOutputStream(s.getOutputStream(), 65536);
                while (true) {
                    Exchange ex;
                    try {
                        ex = Exchange.read(s, in, out);
                    } catch (BadRequest e) {
                        byte[] b = errorJson("BadRequest", e.getMessage());
                        out.write(("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                        out.write(b);
                        out.flush();
                        return;
                    }
                    if (ex == null) {
                        return;
                    }
                    h.handle(ex);
                    if (!ex.responded) {
                        return;
                    }
                    if (!ex.keepAlive()) {
                        return;
                    }
                }
            } catch (IOException e) {
                // the peer went away
            }
        }

        static final class BadRequest extends IOException {
            private static final long serialVersionUID = 1L;

            BadRequest(String m) {
                super(m);
            }
        }

        static final class Exchange {
            final Socket socket;
            final InputStream in;
            final OutputStream out;
            final String method;
            final String path;
            final String version;
            final Map<String, String> headers;
            boolean bodyRead;
            boolean responded;
            boolean closeAfter;

            private Exchange(Socket socket, InputStream in, OutputStream out, String method, String path, String version,
                    Map<String, String> headers) {
                this.socket = socket;
                this.in = in;
                this.out = out;
                this.method = method;
                this.path = path;
                this.version = version;
                this.headers = headers;
            }

            static Exchange read(Socket s, InputStream in, OutputStream out) throws IOException {
                String line = readLine(in, 16384);
                while (line != null && line.isEmpty()) {
                    line = readLine(in, 16384);
                }
                if (line == null) {
                    return null;
                }
                String[] p = line.split(" ");
                if (p.length != 3 || !p[2].startsWith("HTTP/1.")) {
                    throw new BadRequest("malformed request line");
                }
                Map<String, String> headers = new HashMap<>();
                int total = 0;
                while (true) {
                    String h = readLine(in, 65536);
                    if (h == null) {
                        return null;
                    }
                    if (h.isEmpty()) {
                        break;
                    }
                    total += h.length();
                    if (total > 256 * 1024) {
                        throw new BadRequest("headers too large");
                    }
                    int c = h.indexOf(':');
                    if (c <= 0) {
                        throw new BadRequest("malformed header line");
                    }
                    String name = h.substring(0, c).trim().toLowerCase(Locale.ROOT);
                    String value = h.substring(c + 1).trim();
                    headers.merge(name, value, (a, b) -> a + ", " + b);
                }
                String target = p[1];
                int q = target.indexOf('?');
                String path = q >= 0 ? target.substring(0, q) : target;
                return new Exchange(s, in, out, p[0], path, p[2], headers);
            }

            String header(String name) {
                return headers.get(name.toLowerCase(Locale.ROOT));
            }

            boolean keepAlive() {
                String c = header("Connection");
                return !closeAfter && version.equals("HTTP/1.1") && (c == null || !c.toLowerCase(Locale.ROOT).contains("close"));
            }

            private boolean hasBody() {
                String te = header("Transfer-Encoding");
                String cl = header("Content-Length");
                return (te != null && !te.isEmpty()) || (cl != null && !cl.equals("0"));
            }

            /** Reads the body, keeping at most LIMIT bytes; counts the rest (up to MAX_DRAIN_BYTES). */
            Body readBody(long limit) throws IOException {
                if (bodyRead) {
                    throw new IllegalStateException("body already read");
                }
                bodyRead = true;
                String te = header("Transfer-Encoding");
                String cl = header("Content-Length");
                boolean chunked = te != null && te.toLowerCase(Locale.ROOT).contains("chunked");
                long length = 0;
                if (!chunked && cl != null) {
                    try {
                        length = Long.parseLong(cl.trim());
                    } catch (NumberFormatException e) {
                        closeAfter = true;
                        return new Body(new byte[0], 0, true, Map.of());
                    }
                    if (length > MAX_DRAIN_BYTES) {
                        closeAfter = true; // not worth reading: report the declared size
                        return new Body(new byte[0], length, false, Map.of());
                    }
                }
                String expect = header("Expect");
                if (expect != null && expect.equalsIgnoreCase("100-continue")) {
                    out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                }
                ByteArrayOutputStream keep = new ByteArrayOutputStream();
                long size = 0;
                byte[] buf = new byte[65536];
                Map<String, String> trailers = new HashMap<>();
                if (!chunked) {
                    size = copyBounded(length, buf, keep, size, limit);
                    if (size < 0) {
                        closeAfter = true;
                        return new Body(keep.toByteArray(), -size - 1, true, trailers);
                    }
                    return new Body(keep.toByteArray(), size, false, trailers);
                }
                while (true) {
                    String sizeLine = readLine(in, 4096);
                    if (sizeLine == null) {
                        closeAfter = true;
                        return new Body(keep.toByteArray(), size, true, trailers);
                    }
                    int semi = sizeLine.indexOf(';');
                    long n;
                    try {
                        n = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
                    } catch (NumberFormatException e) {
                        closeAfter = true;
                        return new Body(keep.toByteArray(), size, true, trailers);
                    }
                    if (n == 0) {
                        while (true) {
                            String t = readLine(in, 65536);
                            if (t == null) {
                                closeAfter = true;
                                return new Body(keep.toByteArray(), size, true, trailers);
                            }
                            if (t.isEmpty()) {
                                return new Body(keep.toByteArray(), size, false, trailers);
                            }
                            int c = t.indexOf(':');
                            if (c > 0) {
                                trailers.put(t.substring(0, c).trim().toLowerCase(Locale.ROOT), t.substring(c + 1).trim());
                            }
                        }
                    }
                    size = copyBounded(n, buf, keep, size, limit);
                    if (size < 0) {
                        closeAfter = true;
                        return new Body(keep.toByteArray(), -size - 1, true, trailers);
                    }
                    if (size > MAX_DRAIN_BYTES) {
                        closeAfter = true;
                        return new Body(new byte[0], size, false, trailers);
                    }
                    String crlf = readLine(in, 16);
                    if (crlf == null || !crlf.isEmpty()) {
                        closeAfter = true;
                        return new Body(keep.toByteArray(), size, true, trailers);
                    }
                }
            }

            /**
             * Reads count bytes, keeping them in keep while the total stays under limit. Returns the new total, or
             * -(total + 1) when the stream ended first.
             */
            private long copyBounded(long count, byte[] buf, ByteArrayOutputStream keep, long size, long limit) throws IOException {
                long left = count;
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        return -size - 1;
                    }
                    if (size < limit) {
                        keep.write(buf, 0, (int) Math.min(n, limit - size));
                    }
                    size += n;
                    left -= n;
                }
                return size;
            }

            void send(int status, String contentType, byte[] body, String... extra) throws IOException {
                if (responded) {
                    throw new IllegalStateException("already responded");
                }
                responded = true;
                if (!bodyRead && hasBody()) {
                    closeAfter = true; // the unread body would be taken for the next request
                }
                StringBuilder b = new StringBuilder();
                b.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
                b.append("Date: ").append(httpDate(Instant.now())).append("\r\n");
                if (contentType != null) {
                    b.append("Content-Type: ").append(contentType).append("\r\n");
                }
                if (status != 204) { // a 204 has neither a body nor a Content-Length
                    b.append("Content-Length: ").append(body.length).append("\r\n");
                }
                for (int i = 0; i + 1 < extra.length; i += 2) {
                    b.append(extra[i]).append(": ").append(extra[i + 1].replace('\r', ' ').replace('\n', ' ')).append("\r\n");
                }
                if (!keepAlive()) {
                    b.append("Connection: close\r\n");
                }
                b.append("\r\n");
                // Header values are byte strings (read as ISO-8859-1), so they go out byte for byte.
                out.write(b.toString().getBytes(StandardCharsets.ISO_8859_1));
                out.write(body);
                out.flush();
            }

            void close() throws IOException {
                responded = true;
                closeAfter = true;
                socket.close();
            }

            private static String reason(int status) {
                return switch (status) {
                    case 200 -> "OK";
                    case 202 -> "Accepted";
                    case 204 -> "No Content";
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
        }

        /** One CRLF- or LF-terminated line as ISO-8859-1 (byte for byte); null at end of stream. */
        static String readLine(InputStream in, int max) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            while (true) {
                int c = in.read();
                if (c < 0) {
                    return null;
                }
                if (c == '\n') {
                    break;
                }
                if (b.size() >= max) {
                    throw new BadRequest("line too long");
                }
                b.write(c);
            }
            byte[] a = b.toByteArray();
            int n = a.length > 0 && a[a.length - 1] == '\r' ? a.length - 1 : a.length;
            return new String(a, 0, n, StandardCharsets.ISO_8859_1);
        }
    }

    // ------------------------------------------------------------------------------------------------ options

    static final class Options {
        static final String USAGE = """
                usage: LocalLambda --task DIR --handler HANDLER (--layer DIR --sandbox SCRIPT | -- COMMAND [ARG]...)
                                   (--event FILE | --serve) [OPTION]...

                A local AWS Lambda: serves the Runtime API to the runtime it starts, prints START, END and REPORT lines
                (on stderr, with the function's logs), and answers invokes as Lambda and its emulator do.

                The function
                  --task DIR             the function's code: LAMBDA_TASK_ROOT (/var/task in the sandbox)
                  --handler HANDLER      the function's handler setting (_HANDLER)
                  --layer DIR            the unpacked layer, mounted at /opt; runs /opt/bootstrap in the sandbox
                  --sandbox SCRIPT       the sandbox script (scripts/sandbox.sh) that --layer needs
                  -- COMMAND [ARG]...    instead of --layer: run COMMAND as the runtime, without a sandbox
                  --function-name NAME   AWS_LAMBDA_FUNCTION_NAME (default: the task directory's name)
                  --region REGION        AWS_REGION (default us-east-1)
                  --env NAME=VALUE       a function environment variable (repeatable)
                  --timeout SECONDS      function timeout, 1-900 (default 3, as Lambda's)
                  --memory MB            memory size, 128-10240 (default 128, not enforced); given explicitly, it is
                                         enforced with the matching CPU share (1769 MB = 1 vCPU) when cgroups allow
                  --init-timeout SECONDS init limit before Lambda's retry inside the invoke (default 10)
                  --no-cgroups           make no cgroup: nothing enforced, memory measured from the process tree
                                         (what happens anyway where cgroups are not writable)

                One-shot
                  --event FILE           invoke once with the event in FILE (- for stdin); the response goes to
                                         stdout, exit status 1 on any function error, 2 on a usage or setup error
                                         (an event that is not JSON, which Lambda refuses, included)
                  --trace-id VALUE, --client-context BASE64, --cognito-identity JSON, --tenant-id VALUE
                                         what the X-Amzn-Trace-Id, X-Amz-Client-Context, X-Amz-Cognito-Identity and
                                         X-Amz-Tenant-Id headers would carry

                Server
                  --serve                keep the function warm and answer POST /2015-03-31/functions/function/invocations
                                         (X-Amz-Invocation-Type RequestResponse, Event or DryRun, as Lambda);
                                         the endpoint's URL is printed as the first line on stdout
                  --port N               invoke endpoint port on 127.0.0.1 (default 9000; 0 picks a free one)
                  --runtime-api-port N   Runtime API port on 127.0.0.1 (default 0: a free one)
                """;

        boolean help;
        String task;
        String handler;
        String layer;
        String sandbox;
        List<String> command = new ArrayList<>();
        String event;
        boolean serve;
        int port = 9000;
        int runtimeApiPort = 0;
        int timeout = 3;
        int memory = 128;
        boolean memorySet;
        boolean noCgroups;
        int initTimeout = 10;
        String functionName;
        String region = "us-east-1";
        Map<String, String> env = new LinkedHashMap<>();
        String traceId;
        String clientContext;
        String cognitoIdentity;
        String tenantId;

        static final List<String> RESERVED = List.of("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
                "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
                "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR");

        static Options parse(String[] a) {
            Options o = new Options();
            for (int i = 0; i < a.length; i++) {
                String k = a[i];
                if (k.equals("--")) {
                    o.command.addAll(List.of(a).subList(i + 1, a.length));
                    break;
                }
                if (k.equals("--help") || k.equals("-h")) {
                    o.help = true;
                    return o;
                }
                if (k.equals("--serve")) {
                    o.serve = true;
                    continue;
                }
                if (k.equals("--no-cgroups")) {
                    o.noCgroups = true;
                    continue;
                }
                if (i + 1 >= a.length) {
                    throw new IllegalArgumentException(k + " needs a value");
                }
                String v = a[++i];
                switch (k) {
                    case "--task" -> o.task = v;
                    case "--handler" -> o.handler = v;
                    case "--layer" -> o.layer = v;
                    case "--sandbox" -> o.sandbox = v;
                    case "--event" -> o.event = v;
                    case "--port" -> o.port = number(k, v, 0, 65535);
                    case "--runtime-api-port" -> o.runtimeApiPort = number(k, v, 0, 65535);
                    case "--timeout" -> o.timeout = number(k, v, 1, 900);
                    case "--memory" -> {
                        o.memory = number(k, v, 128, 10240);
                        o.memorySet = true;
                    }
                    case "--init-timeout" -> o.initTimeout = number(k, v, 1, 900);
                    case "--function-name" -> o.functionName = v;
                    case "--region" -> o.region = v;
                    case "--trace-id" -> o.traceId = v;
                    case "--client-context" -> o.clientContext = v;
                    case "--cognito-identity" -> o.cognitoIdentity = v;
                    case "--tenant-id" -> o.tenantId = v;
                    case "--env" -> {
                        int eq = v.indexOf('=');
                        if (eq <= 0 || !v.substring(0, eq).matches("[A-Za-z_][A-Za-z0-9_]*")) {
                            throw new IllegalArgumentException("--env " + v + ": expected NAME=VALUE");
                        }
                        String name = v.substring(0, eq);
                        if (RESERVED.contains(name)) {
                            throw new IllegalArgumentException("--env " + name + ": Lambda reserves this variable; it cannot be set");
                        }
                        o.env.put(name, v.substring(eq + 1));
                    }
                    default -> throw new IllegalArgumentException("unknown option " + k);
                }
            }
            if (o.task == null || o.handler == null) {
                throw new IllegalArgumentException("--task and --handler are required");
            }
            if (!Files.isDirectory(Path.of(o.task))) {
                throw new IllegalArgumentException("--task " + o.task + ": not a directory");
            }
            if ((o.layer == null) == o.command.isEmpty()) {
                throw new IllegalArgumentException("give either --layer DIR (with --sandbox) or -- COMMAND, not both or neither");
            }
            if (o.layer != null && (o.sandbox == null || !Files.isExecutable(Path.of(o.sandbox)))) {
                throw new IllegalArgumentException("--layer needs --sandbox pointing to scripts/sandbox.sh");
            }
            if (o.layer != null && !Files.isRegularFile(Path.of(o.layer, "bootstrap"))) {
                throw new IllegalArgumentException("--layer " + o.layer + ": no bootstrap in it (is it an unpacked layer?)");
            }
            if (o.serve == (o.event != null)) {
                throw new IllegalArgumentException("give either --event FILE (one-shot) or --serve");
            }
            if (o.functionName == null) {
                Path name = Path.of(o.task).toAbsolutePath().normalize().getFileName();
                o.functionName = name == null ? "function" : name.toString();
            }
            if (!o.functionName.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new IllegalArgumentException("function name '" + o.functionName
                        + "' is not valid on Lambda (letters, digits, - and _, at most 64): use --function-name");
            }
            return o;
        }

        private static int number(String k, String v, int min, int max) {
            try {
                int n = Integer.parseInt(v);
                if (n < min || n > max) {
                    throw new IllegalArgumentException(k + " " + v + ": must be between " + min + " and " + max);
                }
                return n;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(k + " " + v + ": not a number");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    static void log(String line) {
        synchronized (LOG_LOCK) {
            ERR.println(line);
        }
    }

    static void note(String line) {
        log(ME + line);
    }

    static double millis(long nanos) {
        return nanos / 1e6;
    }

    static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** An HTTP Date header value: IMF-fixdate, e.g. "Tue, 01 Dec 2026 07:05:09 GMT". */
    public static String httpDate(Instant t) {
        return HTTP_DATE.format(t);
    }

    /** What the runtime gets for an invoke's payload: Lambda passes {} when the caller sent none. */
    static byte[] payload(byte[] body) {
        return body.length == 0 ? "{}".getBytes(StandardCharsets.US_ASCII) : body;
    }

    /**
     * Null when PAYLOAD is what Lambda's Invoke API accepts (one JSON value in UTF-8, or nothing at all), else why
     * not, worded like Lambda's InvalidRequestContentException message.
     */
    public static String jsonProblem(byte[] payload) {
        if (payload.length == 0) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload)).toString();
        } catch (CharacterCodingException e) {
            return "Could not parse request body into json: the payload is not valid UTF-8";
        }
        String problem = new JsonCheck(text).problem();
        return problem == null ? null : "Could not parse request body into json: " + problem;
    }

    /** A strict JSON (RFC 8259) syntax check without recursion, so deep nesting cannot overflow the stack. */
    static final class JsonCheck {
        final String s;
        int i;

        JsonCheck(String s) {
            this.s = s;
        }

        String problem() {
            StringBuilder open = new StringBuilder(); // the enclosing arrays and objects, innermost last
            while (true) {
                // a value
                ws();
                if (i >= s.length()) {
                    return at("Unexpected end of input: expected a value");
                }
                char c = s.charAt(i);
                if (c == '{' || c == '[') {
                    i++;
                    ws();
                    char close = c == '{' ? '}' : ']';
                    if (i < s.length() && s.charAt(i) == close) {
                        i++;
                    } else {
                        open.append(c);
                        if (c == '{') {
                            String p = key();
                            if (p != null) {
                                return p;
                            }
                        }
                        continue;
                    }
                } else if (c == '"') {
                    String p = string();
                    if (p != null) {
                        return p;
                    }
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                    String p = number();
                    if (p != null) {
                        return p;
                    }
                } else if (!word("true") && !word("false") && !word("null")) {
                    return at(unexpected("expected a JSON value (string, number, object, array, true, false or null)"));
                }
                // after a value: commas and closing brackets
                while (true) {
                    ws();
                    if (open.isEmpty()) {
                        return i < s.length() ? at(unexpected("expected the end of input after the JSON value")) : null;
                    }
                    char top = open.charAt(open.length() - 1);
                    char close = top == '{' ? '}' : ']';
                    if (i >= s.length()) {
                        return at("Unexpected end of input: expected ',' or '" + close + "'");
                    }
                    char d = s.charAt(i);
                    if (d == close) {
                        i++;
                        open.setLength(open.length() - 1);
                        continue;
                    }
                    if (d != ',') {
                        return at(unexpected("expected ',' or '" + close + "'"));
                    }
                    i++;
                    if (top == '{') {
                        String p = key();
                        if (p != null) {
                            return p;
                        }
                    }
                    break;
                }
            }
        }

        private String key() {
            ws();
            if (i >= s.length() || s.charAt(i) != '"') {
                return at(i >= s.length() ? "Unexpected end of input: expected a quoted field name"
                        : unexpected("expected a double-quoted field name"));
            }
            String p = string();
            if (p != null) {
                return p;
            }
            ws();
            if (i >= s.length() || s.charAt(i) != ':') {
                return at(i >= s.length() ? "Unexpected end of input: expected ':'" : unexpected("expected ':'"));
            }
            i++;
            return null;
        }

        private String string() {
            int start = i;
            i++; // the opening quote
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') {
                    i++;
                    return null;
                }
                if (c < 0x20) {
                    return at(String.format(Locale.ROOT, "Illegal unquoted character (code %d) in a string", (int) c));
                }
                if (c == '\\') {
                    i++;
                    if (i >= s.length()) {
                        break;
                    }
                    char e = s.charAt(i);
                    if (e == 'u') {
                        if (i + 4 >= s.length() || !s.substring(i + 1, i + 5).matches("[0-9A-Fa-f]{4}")) {
                            return at("Invalid \\u escape in a string");
                        }
                        i += 4;
                    } else if ("\"\\/bfnrt".indexOf(e) < 0) {
                        return at(unexpected("unrecognized escape in a string"));
                    }
                }
                i++;
            }
            i = start;
            return at("Unexpected end of input in a string that starts here");
        }

        private String number() {
            int start = i;
            if (s.charAt(i) == '-') {
                i++;
            }
            if (i < s.length() && s.charAt(i) == '0') {
                i++;
            } else if (!digits()) {
                i = start;
                return at(unexpected("expected a digit in a number"));
            }
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                if (!digits()) {
                    return at(i < s.length() ? unexpected("expected a digit after the decimal point")
                            : "Unexpected end of input: expected a digit after the decimal point");
                }
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                    i++;
                }
                if (!digits()) {
                    return at(i < s.length() ? unexpected("expected a digit in the exponent")
                            : "Unexpected end of input: expected a digit in the exponent");
                }
            }
            return null;
        }

        private boolean digits() {
            int start = i;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            return i > start;
        }

        private boolean word(String w) {
            if (s.startsWith(w, i)) {
                i += w.length();
                return true;
            }
            return false;
        }

        private void ws() {
            while (i < s.length() && " \t\n\r".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        private String unexpected(String expected) {
            int cp = s.codePointAt(i);
            return "Unexpected character ('" + (cp < 0x20 ? "?" : new String(Character.toChars(cp))) + "' (code " + cp
                    + ")): " + expected;
        }

        /** MESSAGE with where it happened, as line and column (1-based, in characters). */
        private String at(String message) {
            int line = 1;
            int column = 1;
            for (int k = 0; k < i && k < s.length(); k++) {
                if (s.charAt(k) == '\n') {
                    line++;
                    column = 1;
                } else {
                    column++;
                }
            }
            return message + " at line " + line + ", column " + column;
        }
    }

    /** Base64 client context to the JSON text the runtime gets (null when it is not base64). */
    static String decodeClientContext(String b64) {
        try {
            byte[] raw = Base64.getDecoder().decode(b64.trim());
            // A header value cannot hold line breaks; JSON does not need them.
            return new String(raw, StandardCharsets.ISO_8859_1).replace('\r', ' ').replace('\n', ' ');
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static String signalName(int n) {
        return switch (n) {
            case 9 -> "killed";
            case 15 -> "terminated";
            case 6 -> "aborted";
            case 11 -> "segmentation fault";
            case 2 -> "interrupt";
            default -> "signal " + n;
        };
    }

    static String firstNonEmpty(String... values) {
        for (String v : values) {
            if (v != null && !v.isEmpty()) {
                return v;
            }
        }
        return null;
    }

    static byte[] errorJson(String type, String message) {
        return ("{\"errorMessage\":" + json(message) + ",\"errorType\":" + json(type) + "}").getBytes(StandardCharsets.UTF_8);
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** The string value of a top-level "name" field of a JSON object (enough for errorType), or null. */
    static String jsonField(byte[] body, String name) {
        if (body == null) {
            return null;
        }
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")
                .matcher(new String(body, StandardCharsets.UTF_8));
        return m.find() ? m.group(1) : null;
    }

    static String readOr(Path p, String otherwise) {
        try {
            return Files.readString(p);
        } catch (IOException | RuntimeException e) {
            return otherwise;
        }
    }
}
