/*
 * java-shell-runtime: an AWS Lambda custom runtime that runs shell handlers. The whole runtime is this file.
 *
 * How to read it: main() reads the settings and starts one Worker (or AWS_LAMBDA_MAX_CONCURRENCY of them). A Worker
 * runs the Lambda loop: get the next invocation from the Runtime API, hand it to its shell, post the answer.
 * HandlerShell owns the shell that runs the handler; LogPump carries that shell's output to the function's log;
 * ResponseStream forwards a streamed response. RuntimeApi speaks HTTP/1.1 on a plain socket. The rest are small
 * value types and helpers: error JSON, shell quoting, logging.
 *
 * Choices a reviewer will ask about:
 * - Plain sockets, not java.net.http: its first request costs ~350 ms of cold start, and no JDK client can send
 *   the HTTP trailers that streamed errors need (docs/runtime.md has the measurements).
 * - One long-lived shell per worker, fed commands on its stdin. The event, the response and the per-invocation
 *   header values travel through files in a private directory, so header values are read with `read -r` and never
 *   parsed as shell code, and no size or order of handler I/O can block the runtime.
 * - A tiny bash supervisor runs that shell in its own process group and kills what the handler left behind when
 *   the shell ends, so a stray background process cannot hold the log pipe open forever.
 * - No lambdas, no `+` on strings and no pattern switches: each costs an invokedynamic bootstrap at first use, in
 *   a class the AOT cache cannot hold, and cold start is this project's hardest number.
 */

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

public final class Bootstrap {
    static final String RUNTIME_NAME = "java-shell-runtime";
    static final String RUNTIME_VERSION = "0.1.0";

    static final String API_BASE = "/2018-06-01/runtime/";
    static final String HEADER_REQUEST_ID = "Lambda-Runtime-Aws-Request-Id";
    static final String HEADER_DEADLINE_MS = "Lambda-Runtime-Deadline-Ms";
    static final String HEADER_FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn";
    static final String HEADER_TRACE_ID = "Lambda-Runtime-Trace-Id";
    static final String HEADER_CLIENT_CONTEXT = "Lambda-Runtime-Client-Context";
    static final String HEADER_COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity";
    static final String HEADER_TENANT_ID = "Lambda-Runtime-Aws-Tenant-Id";
    static final String HEADER_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";
    static final String HEADER_ERROR_BODY = "Lambda-Runtime-Function-Error-Body";
    static final String HEADER_RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode";
    static final String ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json";
    static final String HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";

    /** Each /next header the handler sees, and the variable that carries it (unset when the header is absent). */
    static final String[][] CONTEXT_VARIABLES = {
        {HEADER_REQUEST_ID, "LAMBDA_RUNTIME_AWS_REQUEST_ID"},
        {HEADER_DEADLINE_MS, "LAMBDA_RUNTIME_DEADLINE_MS"},
        {HEADER_FUNCTION_ARN, "LAMBDA_RUNTIME_INVOKED_FUNCTION_ARN"},
        {HEADER_TRACE_ID, "LAMBDA_RUNTIME_TRACE_ID"},
        {HEADER_CLIENT_CONTEXT, "LAMBDA_RUNTIME_CLIENT_CONTEXT"},
        {HEADER_COGNITO_IDENTITY, "LAMBDA_RUNTIME_COGNITO_IDENTITY"},
        {HEADER_TENANT_ID, "LAMBDA_RUNTIME_AWS_TENANT_ID"},
        // Custom runtimes must set this themselves; the AWS CLI reads it to propagate the trace (recursion detection).
        {HEADER_TRACE_ID, "_X_AMZN_TRACE_ID"},
    };

    /** The handler's last stderr lines kept for the error report; all of them are in the logs. */
    static final int STDERR_TAIL_LINES = 20;
    static final int STDERR_TAIL_LINE_BYTES = 1024;
    /** Retries of /next when the connection is refused or dropped (aws-lambda-cpp also retries a few times). */
    static final long[] NEXT_RETRY_DELAYS_MS = {10, 100, 1000};

    /** Log levels of AWS_LAMBDA_LOG_LEVEL, lowest first. */
    static final String[] LOG_LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    static final int INFO = 2;
    static final int WARN = 3;
    static final int ERROR = 4;
    /** Set by Lambda's advanced logging controls; read once, never changed. */
    static final boolean JSON_LOGS = "JSON".equalsIgnoreCase(System.getenv("AWS_LAMBDA_LOG_FORMAT"));
    static final int LOG_LEVEL = logLevel(System.getenv("AWS_LAMBDA_LOG_LEVEL"), INFO);

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        try {
            RuntimeApi api = RuntimeApi.fromAddress(env.get("AWS_LAMBDA_RUNTIME_API"));
            Handler handler;
            Options options;
            Path directory;
            HandlerShell shell;
            try {
                handler = Handler.fromEnvironment(env.get("_HANDLER"), env.get("LAMBDA_TASK_ROOT"));
                options = Options.fromEnvironment(env);
                directory = privateDirectory();
                shell = HandlerShell.start(handler, options, directory.resolve("worker-1"));
            } catch (InitError e) {
                log(ERROR, null, "init failed: ", e.type, ": ", e.getMessage());
                api.postInitError(new ErrorReport(e.type, e.getMessage(), List.of()));
                throw new FatalError("the handler could not be initialised");
            }
            // Managed Instances: more workers, each with its own shell, loaded while the first one already polls.
            for (int n = 2; n <= options.workers(); n++) {
                String name = concat("worker-", Integer.toString(n));
                new Thread(new Worker(api, handler, options, null, directory.resolve(name)), concat(RUNTIME_NAME, "-", name)).start();
            }
            new Worker(api, handler, options, shell, null).run();
        } catch (FatalError e) {
            exit(e);
        }
    }

    static void exit(FatalError e) {
        log(ERROR, null, "stopping: ", e.getMessage());
        System.exit(1);
    }

    /** The one directory for the runtime's files: mode 700 (createTempDirectory's default), removed at exit. */
    static Path privateDirectory() {
        try {
            Path directory = Files.createTempDirectory(concat(RUNTIME_NAME, "."));
            Runtime.getRuntime().addShutdownHook(new Cleanup(directory));
            return directory;
        } catch (IOException e) {
            throw new InitError("Runtime.TmpUnavailable", concat("cannot create a private directory in /tmp: ", e.getMessage()));
        }
    }

    /** At exit: SIGTERM to each shell's supervisor, which kills the shell's whole process group; then the files go. */
    static final class Cleanup extends Thread {
        private final Path directory;

        Cleanup(Path directory) {
            this.directory = directory;
        }

        @Override
        public void run() {
            for (ProcessHandle child : ProcessHandle.current().children().toList()) {
                child.destroy();
            }
            deleteTree(directory);
        }

        private static void deleteTree(Path path) {
            try {
                if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(path)) {
                        for (Path entry : entries) {
                            deleteTree(entry);
                        }
                    }
                }
                Files.deleteIfExists(path);
            } catch (IOException e) {
                // Best effort: the process is ending, and Lambda discards /tmp with the environment.
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Settings

    /** What _HANDLER names: a shell function in file.sh (function mode) or a file run per invocation (file mode). */
    record Handler(Path taskRoot, Path file, String function) {
        boolean functionMode() {
            return function != null;
        }

        String describe() {
            return functionMode() ? concat("function '", function, "' of ", file.toString()) : file.toString();
        }

        static Handler fromEnvironment(String handler, String taskRootVariable) {
            // Absolute: the shell runs in the task root, so a relative path would resolve twice.
            Path taskRoot = Path.of(taskRootVariable == null || taskRootVariable.isEmpty() ? "/var/task" : taskRootVariable).toAbsolutePath();
            if (handler == null || handler.isBlank()) {
                throw new InitError("Runtime.InvalidHandler",
                        "_HANDLER is not set: set the function's handler to file.function (shell function 'function' in file.sh) or to the name of a file to run");
            }
            // A name that is a file runs as a file, dots and all: run.sh means run.sh, not function "sh" of run.sh.
            int dot = handler.lastIndexOf('.');
            if (dot < 0 || Files.isRegularFile(taskRoot.resolve(handler))) {
                return new Handler(taskRoot, checkedFile(taskRoot.resolve(handler)), null);
            }
            String fileName = handler.substring(0, dot);
            String function = handler.substring(dot + 1);
            if (fileName.isEmpty() || !isShellName(function)) {
                throw new InitError("Runtime.InvalidHandler", concat("_HANDLER '", handler,
                        "' is not file.function: expected a file name, a dot, and a shell function name (letters, digits, _ and -, not starting with a digit or -)"));
            }
            return new Handler(taskRoot, checkedFile(taskRoot.resolve(concat(fileName, ".sh"))), function);
        }

        private static Path checkedFile(Path file) {
            String problem = !Files.exists(file) ? " does not exist"
                    : !Files.isRegularFile(file) ? " is not a regular file"
                    : !Files.isReadable(file) ? " is not readable" : null;
            if (problem != null) {
                throw new InitError("Runtime.HandlerNotFound", concat(file.toString(), problem));
            }
            return file;
        }

        private static boolean isShellName(String name) {
            if (name.isEmpty() || Character.isDigit(name.charAt(0)) || name.charAt(0) == '-') {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '-' || isAsciiLetterOrDigit(c))) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * How many workers, and how they answer. AWS_LAMBDA_MAX_CONCURRENCY exists only on Lambda Managed Instances,
     * which also leave deadlines to the runtime. Streaming is the one switch of our own: nothing in the Runtime API
     * tells a runtime that the caller streams.
     */
    record Options(int workers, boolean managedInstances, boolean streaming, boolean xray) {
        static final String STREAMING_VARIABLE = "JAVA_SHELL_RUNTIME_RESPONSE_MODE";

        static Options fromEnvironment(Map<String, String> env) {
            String concurrency = env.get("AWS_LAMBDA_MAX_CONCURRENCY");
            int workers = 1;
            if (concurrency != null) {
                workers = (int) parseDecimal(concurrency.strip(), 4);
                if (workers < 1) {
                    throw new InitError("Runtime.ConfigInvalid", concat("AWS_LAMBDA_MAX_CONCURRENCY='", concurrency, "' is not a number from 1 to 9999"));
                }
            }
            String mode = env.getOrDefault(STREAMING_VARIABLE, "buffered");
            if (!mode.equals("buffered") && !mode.equals("streaming")) {
                throw new InitError("Runtime.ConfigInvalid", concat(STREAMING_VARIABLE, "='", mode, "': expected streaming or buffered"));
            }
            return new Options(workers, concurrency != null, mode.equals("streaming"), env.get("AWS_XRAY_DAEMON_ADDRESS") != null);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The Lambda loop

    /** One loop of next -> handler -> answer. Everything it touches is its own, or read-only after init. */
    static final class Worker implements Runnable {
        private final RuntimeApi api;
        private final Handler handler;
        private final Options options;
        private final Path directory;
        private HandlerShell shell;

        /** Either an already loaded shell (the first worker, loaded during init) or the directory to start one in. */
        Worker(RuntimeApi api, Handler handler, Options options, HandlerShell shell, Path directory) {
            this.api = api;
            this.handler = handler;
            this.options = options;
            this.shell = shell;
            this.directory = directory;
        }

        @Override
        public void run() {
            try {
                if (shell == null) {
                    shell = HandlerShell.start(handler, options, directory);
                }
                for (;;) {
                    serve(api.nextInvocation());
                }
            } catch (InitError e) {
                // Only extra workers load here, after init: the others go on serving.
                log(ERROR, null, "a worker could not load the handler and stops: ", e.type, ": ", e.getMessage());
            } catch (FatalError e) {
                exit(e);
            }
        }

        private void serve(Invocation invocation) {
            long startMillis = System.currentTimeMillis();
            HandlerResult result;
            if (options.streaming()) {
                ResponseStream stream = new ResponseStream(api, invocation.requestId(), shell.streamFile());
                stream.start();
                result = shell.invoke(invocation, shell.streamFile());
                stream.finish(result.succeeded() ? null : report(invocation, result));
            } else {
                result = shell.invoke(invocation, shell.responseFile());
                if (result.succeeded()) {
                    api.postResponse(invocation.requestId(), shell.responseFile());
                } else {
                    api.postError(invocation.requestId(), report(invocation, result));
                }
            }
            shell.discardFiles();
            if (options.xray()) {
                logXraySegment(invocation, startMillis, System.currentTimeMillis(), !result.succeeded());
            }
            if (result.shellExited()) {
                shell.restart();
            }
        }

        private ErrorReport report(Invocation invocation, HandlerResult result) {
            ErrorReport report = result.errorReport(handler);
            log(WARN, invocation.requestId(), "invocation ", invocation.requestId(), " failed: ", report.type(), ": ", report.message());
            return report;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The handler's shell

    /**
     * The shell that runs the handler, and the files it exchanges with the runtime.
     *
     * In function mode the shell is the one file.sh's shebang names (else bash): it sources file.sh once and then
     * calls the function once per invocation, so the function's variables persist. In file mode it is /bin/sh and
     * runs the file as a child per invocation. Either way the runtime writes one short command per invocation to
     * the shell's stdin, and the shell ends it by printing a marker line that carries the handler's exit status.
     */
    static final class HandlerShell {
        /**
         * Runs the shell as a job in its own process group. When the shell ends, or the runtime sends SIGTERM at a
         * deadline, it kills everything left in that group, so no handler process outlives its shell. The shell gets
         * the log pipe a second time as descriptor 9, for the marker lines: file.sh may redirect its own stdout.
         */
        private static final String SUPERVISOR = "trap 'kill -KILL -- \"-$!\"; exit 143' TERM; set -m; \"$@\" 9>&1 & exec 2>/dev/null; "
                + "wait \"$!\"; s=$?; kill -KILL -- \"-$!\"; exit \"$s\"";

        private static final String[] INVOCATION_FILES = {"event", "context", "response"};
        private final Handler handler;
        private final Options options;
        private final Path directory;
        private final String marker;
        private Process process;
        private OutputStream commands;
        private LogPump pump;
        private BlockingQueue<HandlerResult> results;
        private int sequence;

        private HandlerShell(Handler handler, Options options, Path directory) {
            this.handler = handler;
            this.options = options;
            this.directory = directory;
            this.marker = concat(RUNTIME_NAME, "-", Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62));
        }

        static HandlerShell start(Handler handler, Options options, Path directory) {
            try {
                Files.createDirectory(directory);
                if (options.managedInstances()) {
                    Files.createDirectory(directory.resolve("tmp"));
                }
                if (options.streaming()) {
                    makeFifo(directory.resolve("stream"));
                }
            } catch (IOException e) {
                throw new InitError("Runtime.TmpUnavailable", concat("cannot prepare ", directory.toString(), ": ", e.getMessage()));
            }
            HandlerShell shell = new HandlerShell(handler, options, directory);
            shell.load();
            return shell;
        }

        Path responseFile() {
            return directory.resolve("response");
        }

        Path streamFile() {
            return directory.resolve("stream");
        }

        /** After the shell ended (exit, set -e or -u, a deadline): a fresh shell, and file.sh loaded again. */
        void restart() {
            log(INFO, null, "loading ", handler.file().toString(), " again in a new shell (the previous one ended)");
            try {
                load();
            } catch (InitError e) {
                throw new FatalError(concat("reloading the handler failed: ", e.type, ": ", e.getMessage()));
            }
        }

        private void load() {
            List<String> command = new ArrayList<>(List.of("/bin/bash", "-c", SUPERVISOR, RUNTIME_NAME));
            command.addAll(handler.functionMode() ? interpreterOf(handler.file()) : List.of("/bin/sh"));
            ProcessBuilder builder = new ProcessBuilder(command).directory(handler.taskRoot().toFile()).redirectErrorStream(true);
            if (options.managedInstances()) {
                // Concurrent invocations must not meet in /tmp: each worker's handler gets a TMPDIR of its own.
                builder.environment().put("TMPDIR", directory.resolve("tmp").toString());
            }
            try {
                process = builder.start();
            } catch (IOException e) {
                throw new InitError("Runtime.HandlerLoadError", concat("cannot start ", String.join(" ", command.subList(4, command.size())), ": ", e.getMessage()));
            }
            commands = process.getOutputStream();
            results = new LinkedBlockingQueue<>();
            pump = new LogPump(process, marker, results);
            pump.start();
            if (!handler.functionMode()) {
                return;
            }
            HandlerResult loaded = run(concat(". ", shellQuote(handler.file().toString()), " </dev/null\n"), 0);
            if (loaded.shellExited() || loaded.status() != 0) {
                process.destroyForcibly();
                throw new InitError("Runtime.HandlerLoadError", concat(loaded.describeLoadFailure(handler), loaded.lastStderrLineSuffix()));
            }
            HandlerResult defined = run(concat("case $(command -V ", shellQuote(handler.function()),
                    " 2>/dev/null) in *' is a function'*|*' is a shell function'*) ;; *) false ;; esac\n"), 0);
            if (defined.shellExited() || defined.status() != 0) {
                process.destroyForcibly();
                throw new InitError("Runtime.HandlerNotFound", concat(handler.file().toString(),
                        " loaded, but does not define a shell function named '", handler.function(), "'"));
            }
        }

        /** The interpreter named by the file's shebang line (with its one optional argument, as Linux passes it), else bash. */
        private static List<String> interpreterOf(Path file) {
            byte[] head = new byte[256];
            int length;
            try (InputStream in = Files.newInputStream(file)) {
                length = in.readNBytes(head, 0, head.length);
            } catch (IOException e) {
                throw new InitError("Runtime.HandlerNotFound", concat("cannot read ", file.toString(), ": ", e.getMessage()));
            }
            if (length < 2 || head[0] != '#' || head[1] != '!') {
                return List.of("/bin/bash");
            }
            int end = 2;
            while (end < length && head[end] != '\n') {
                end++;
            }
            String line = new String(head, 2, end - 2, StandardCharsets.UTF_8).strip();
            int space = 0;
            while (space < line.length() && !Character.isWhitespace(line.charAt(space))) {
                space++;
            }
            return space == line.length() ? List.of(line) : List.of(line.substring(0, space), line.substring(space).strip());
        }

        /** Runs one invocation: the event in, the status and stderr tail out, stdout into the given file or FIFO. */
        HandlerResult invoke(Invocation invocation, Path stdout) {
            List<String> present = new ArrayList<>();
            List<String> absent = new ArrayList<>();
            ByteArrayOutputStream values = new ByteArrayOutputStream();
            for (String[] pair : CONTEXT_VARIABLES) {
                String value = invocation.header(pair[0]);
                if (value == null) {
                    absent.add(pair[1]);
                } else {
                    present.add(pair[1]);
                    values.writeBytes(value.getBytes(StandardCharsets.ISO_8859_1));
                    values.write('\n');
                }
            }
            Path event = directory.resolve("event");
            Path context = directory.resolve("context");
            try {
                // discardFiles removed the last ones: a background process still holding the old event reads that one.
                Files.write(event, invocation.event());
                Files.write(context, values.toByteArray());
            } catch (IOException e) {
                throw new FatalError(concat("cannot write the event to ", directory.toString(), ": ", e.getMessage()));
            }
            StringBuilder script = new StringBuilder();
            if (!absent.isEmpty()) {
                script.append("unset -v ").append(String.join(" ", absent)).append('\n');
            }
            // Header values are data: the shell reads them with `read -r`; it never parses them as code.
            script.append('{');
            for (String name : present) {
                script.append(" IFS= read -r ").append(name).append(';');
            }
            script.append(" } <").append(shellQuote(context.toString())).append("\nexport ").append(String.join(" ", present)).append('\n');
            String redirections = concat(" <", shellQuote(event.toString()), " >", shellQuote(stdout.toString()), "\n");
            if (handler.functionMode()) {
                // The function may have changed directory last time; each invocation starts in the task root.
                script.append("cd -P -- ").append(shellQuote(handler.taskRoot().toString())).append(" && ")
                        .append(shellQuote(handler.function())).append(redirections);
            } else {
                script.append(Files.isExecutable(handler.file()) ? "" : "/bin/sh ").append(shellQuote(handler.file().toString())).append(redirections);
            }
            pump.requestId = invocation.requestId();
            long deadline = options.managedInstances() ? parseDecimal(invocation.header(HEADER_DEADLINE_MS), 15) : 0;
            return run(script.toString(), Math.max(deadline, 0));
        }

        /**
         * Writes one command and its marker line to a file and has the shell source it (a shell reads commands from a
         * pipe one byte per system call), then waits for the pump to see that marker or the shell's end.
         * With a deadline (Managed Instances only), a handler still running at the deadline is stopped with its group.
         */
        private HandlerResult run(String command, long deadlineMillis) {
            sequence++;
            String script = concat(command, "printf '%s %s\\n' '", marker, "-", Integer.toString(sequence), "' \"$?\" >&9\n");
            Path file = directory.resolve("command");
            try {
                // A new file renamed into place, never the old one rewritten: a shell such as dash is still reading
                // the previous command file after its marker (to find its end), and would read our new bytes there.
                Path next = directory.resolve("command.next");
                Files.writeString(next, script);
                Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new FatalError(concat("cannot write ", file.toString(), ": ", e.getMessage()));
            }
            try {
                commands.write(concat(". ", shellQuote(file.toString()), "\n").getBytes(StandardCharsets.UTF_8));
                commands.flush();
            } catch (IOException e) {
                // The shell is gone; the pump reports how it ended.
            }
            try {
                for (;;) {
                    HandlerResult result = deadlineMillis == 0 ? results.take()
                            : results.poll(deadlineMillis - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
                    if (result == null) {
                        process.destroy(); // SIGTERM: the supervisor kills the whole group, then exits
                        return results.take().timedOut();
                    }
                    if (result.shellExited() || result.sequence() == sequence) {
                        return result;
                    }
                }
            } catch (InterruptedException e) {
                throw new FatalError("interrupted while waiting for the handler");
            }
        }

        /** The event can be megabytes: nothing of an invocation stays in /tmp after it. */
        void discardFiles() {
            for (String name : INVOCATION_FILES) {
                try {
                    Files.deleteIfExists(directory.resolve(name));
                } catch (IOException e) {
                    log(WARN, null, "cannot delete ", directory.resolve(name).toString(), ": ", e.getMessage());
                }
            }
        }

        private static void makeFifo(Path path) throws IOException {
            try {
                Process mkfifo = new ProcessBuilder("mkfifo", "-m", "600", path.toString()).inheritIO().start();
                if (mkfifo.waitFor() != 0) {
                    throw new IOException(concat("mkfifo ", path.toString(), " failed"));
                }
            } catch (InterruptedException e) {
                throw new IOException("interrupted while making a FIFO");
            }
        }
    }

    /**
     * Copies the shell's output (the handler's stderr, and anything a shell prints outside a handler call) to the
     * function's log, keeps the last lines for error reports, and turns marker lines into results.
     */
    static final class LogPump extends Thread {
        private static final int MAX_LINE = 64 * 1024;
        private final Process process;
        private final InputStream logs;
        private final byte[] marker;
        private final BlockingQueue<HandlerResult> results;
        private final ArrayDeque<byte[]> tail = new ArrayDeque<>();
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        /** The invocation that JSON log lines are attributed to: the current one, or the last one. */
        volatile String requestId;

        LogPump(Process process, String marker, BlockingQueue<HandlerResult> results) {
            super(concat(RUNTIME_NAME, "-log-pump"));
            setDaemon(true);
            this.process = process;
            this.logs = process.getInputStream();
            this.marker = marker.getBytes(StandardCharsets.US_ASCII);
            this.results = results;
        }

        @Override
        public void run() {
            byte[] buffer = new byte[16 * 1024];
            try {
                int n;
                while ((n = logs.read(buffer)) > 0) {
                    int start = 0;
                    for (int i = 0; i < n; i++) {
                        if (buffer[i] == '\n') {
                            line.write(buffer, start, i - start);
                            endLine();
                            start = i + 1;
                        }
                    }
                    line.write(buffer, start, n - start);
                    if (line.size() > MAX_LINE) {
                        // Pass a very long line on in pieces, keeping a little in case a marker straddles the cut.
                        byte[] bytes = line.toByteArray();
                        int keep = marker.length + 32;
                        logHandlerLine(bytes, bytes.length - keep);
                        line.reset();
                        line.write(bytes, bytes.length - keep, keep);
                    }
                }
            } catch (IOException e) {
                // The pipe broke: the same as the shell's end.
            }
            if (line.size() > 0) {
                logHandlerLine(line.toByteArray(), line.size());
            }
            int status;
            try {
                status = process.waitFor();
            } catch (InterruptedException e) {
                status = -1;
            }
            results.add(new HandlerResult(0, status, true, false, takeTail()));
        }

        private void endLine() {
            byte[] bytes = line.toByteArray();
            line.reset();
            int at = lastIndexOf(bytes, marker);
            long[] sequenceAndStatus = at < 0 ? null : parseMarkerSuffix(bytes, at + marker.length);
            if (sequenceAndStatus == null) {
                logHandlerLine(bytes, bytes.length);
                return;
            }
            if (at > 0) {
                logHandlerLine(bytes, at); // the handler's last line had no newline
            }
            results.add(new HandlerResult((int) sequenceAndStatus[0], (int) sequenceAndStatus[1], false, false, takeTail()));
        }

        private void logHandlerLine(byte[] bytes, int length) {
            if (JSON_LOGS) {
                System.err.println(handlerJsonLine(new String(bytes, 0, length, StandardCharsets.UTF_8), requestId, System.currentTimeMillis()));
            } else {
                byte[] out = new byte[length + 1];
                System.arraycopy(bytes, 0, out, 0, length);
                out[length] = '\n';
                System.err.write(out, 0, out.length);
                System.err.flush();
            }
            if (tail.size() == STDERR_TAIL_LINES) {
                tail.removeFirst();
            }
            byte[] kept = new byte[Math.min(length, STDERR_TAIL_LINE_BYTES)];
            System.arraycopy(bytes, 0, kept, 0, kept.length);
            tail.addLast(kept);
        }

        private List<byte[]> takeTail() {
            List<byte[]> lines = new ArrayList<>(tail);
            tail.clear();
            return lines;
        }

        /** Parses "-SEQUENCE STATUS" up to the end of the line, or returns null when it is not a marker. */
        static long[] parseMarkerSuffix(byte[] bytes, int from) {
            if (from >= bytes.length || bytes[from] != '-') {
                return null;
            }
            int space = from + 1;
            while (space < bytes.length && bytes[space] != ' ') {
                space++;
            }
            long sequence = parseDecimal(new String(bytes, from + 1, space - from - 1, StandardCharsets.ISO_8859_1), 9);
            long status = space >= bytes.length ? -1 : parseDecimal(new String(bytes, space + 1, bytes.length - space - 1, StandardCharsets.ISO_8859_1), 9);
            return sequence < 0 || status < 0 ? null : new long[] {sequence, status};
        }
    }

    /** How one call into the shell ended: the marker's status, or the shell's own end. */
    record HandlerResult(int sequence, int status, boolean shellExited, boolean deadlinePassed, List<byte[]> stderrTail) {
        boolean succeeded() {
            return !shellExited && status == 0;
        }

        HandlerResult timedOut() {
            return new HandlerResult(sequence, status, true, true, stderrTail);
        }

        String lastStderrLine() {
            for (int i = stderrTail.size() - 1; i >= 0; i--) {
                String line = new String(stderrTail.get(i), StandardCharsets.UTF_8).strip();
                if (!line.isEmpty()) {
                    return line;
                }
            }
            return null;
        }

        String lastStderrLineSuffix() {
            String line = lastStderrLine();
            return line == null ? "" : concat(": ", line);
        }

        String describeLoadFailure(Handler handler) {
            String file = handler.file().toString();
            return shellExited
                    ? concat("the shell exited with status ", Integer.toString(status), " while loading ", file)
                    : concat("loading ", file, " returned status ", Integer.toString(status),
                            " (the status of its last command: end the file with `true` if that failure is intended)");
        }

        String describeFailure(Handler handler) {
            String status = Integer.toString(this.status);
            if (deadlinePassed) {
                return concat(handler.describe(), " was still running at the invocation's deadline; it and every process it started were stopped");
            }
            if (!shellExited) {
                return concat(handler.describe(), " returned status ", status);
            }
            return handler.functionMode()
                    ? concat(handler.describe(), " ended its shell with status ", status,
                            " (it called exit, or set -e or set -u stopped it); the file is loaded again for the next invocation")
                    : concat("the shell running ", handler.describe(), " ended with status ", status);
        }

        /**
         * The documented rule: if the last non-blank stderr line reads "Type: message", Type and message are the
         * error's type and message; otherwise the type is HandlerFailed and the message is that line (or, with no
         * stderr at all, what happened). The stack trace is the last stderr lines, then what happened.
         */
        ErrorReport errorReport(Handler handler) {
            List<String> stackTrace = new ArrayList<>();
            for (byte[] line : stderrTail) {
                stackTrace.add(new String(line, StandardCharsets.UTF_8));
            }
            stackTrace.add(describeFailure(handler));
            if (deadlinePassed) {
                return new ErrorReport("Sandbox.Timedout", describeFailure(handler), stackTrace);
            }
            String last = lastStderrLine();
            if (last == null) {
                return new ErrorReport("HandlerFailed", describeFailure(handler), stackTrace);
            }
            int colon = last.indexOf(": ");
            if (colon > 0 && isErrorTypeName(last.substring(0, colon))) {
                return new ErrorReport(last.substring(0, colon), last.substring(colon + 2), stackTrace);
            }
            return new ErrorReport("HandlerFailed", last, stackTrace);
        }

        static boolean isErrorTypeName(String name) {
            if (name.length() > 128 || !Character.isLetter(name.charAt(0))) {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '.' || isAsciiLetterOrDigit(c))) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * A streamed response: reads the handler's stdout from the FIFO as it is written and forwards it in HTTP chunks,
     * starting the POST at the first byte so that a handler failing before any output can still use /error.
     */
    static final class ResponseStream extends Thread {
        /** API Gateway wants the HTTP-integration prelude within the first 16 KB. */
        private static final int PRELUDE_LIMIT = 16 * 1024;
        private final RuntimeApi api;
        private final String requestId;
        private final Path fifo;
        private final ByteArrayOutputStream undecided = new ByteArrayOutputStream();
        private volatile boolean opened;
        private Socket socket;
        private OutputStream out;
        private IOException failure;

        ResponseStream(RuntimeApi api, String requestId, Path fifo) {
            super(concat(RUNTIME_NAME, "-response-stream"));
            setDaemon(true);
            this.api = api;
            this.requestId = requestId;
            this.fifo = fifo;
        }

        @Override
        public void run() {
            // Opening a FIFO waits for its writer: the shell opens it when it starts the handler.
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                opened = true;
                byte[] buffer = new byte[16 * 1024];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    forward(buffer, n);
                }
            } catch (IOException e) {
                failure = e;
            }
        }

        /** Holds back the start of the output until it is clear whether it opens with the HTTP-integration prelude. */
        private void forward(byte[] buffer, int n) {
            if (out == null && failure == null) {
                undecided.write(buffer, 0, n);
                int prelude = preludeLength(undecided.toByteArray());
                if (prelude == 0) {
                    return; // not decided yet
                }
                startPost(prelude > 0);
                writeChunk(undecided.toByteArray(), undecided.size());
                return;
            }
            writeChunk(buffer, n);
        }

        /**
         * Positive when the bytes open with a JSON object followed by 8 NUL bytes, negative when they cannot, zero
         * while more bytes are needed to tell.
         */
        static int preludeLength(byte[] bytes) {
            if (bytes.length == 0) {
                return 0;
            }
            if (bytes[0] != '{') {
                return -1;
            }
            int depth = 0;
            boolean inString = false;
            for (int i = 0; i < bytes.length; i++) {
                byte b = bytes[i];
                if (inString) {
                    if (b == '\\') {
                        i++;
                    } else if (b == '"') {
                        inString = false;
                    }
                } else if (b == '"') {
                    inString = true;
                } else if (b == '{') {
                    depth++;
                } else if (b == '}' && --depth == 0) {
                    for (int j = i + 1; j < i + 9; j++) {
                        if (j == bytes.length) {
                            return bytes.length > PRELUDE_LIMIT ? -1 : 0;
                        }
                        if (bytes[j] != 0) {
                            return -1;
                        }
                    }
                    return i + 9;
                }
            }
            return bytes.length > PRELUDE_LIMIT ? -1 : 0;
        }

        private void startPost(boolean httpIntegration) {
            try {
                socket = api.connect();
                out = socket.getOutputStream();
                StringBuilder head = api.requestHead("POST", concat(API_BASE, "invocation/", pathSegment(requestId), "/response"));
                head.append(HEADER_RESPONSE_MODE).append(": streaming\r\nTransfer-Encoding: chunked\r\nTrailer: ")
                        .append(HEADER_ERROR_TYPE).append(", ").append(HEADER_ERROR_BODY).append("\r\n");
                if (httpIntegration) {
                    head.append("Content-Type: ").append(HTTP_INTEGRATION_CONTENT_TYPE).append("\r\n");
                }
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                failure = e;
            }
        }

        private void writeChunk(byte[] bytes, int length) {
            if (failure != null || length == 0) {
                return; // keep draining the FIFO so the handler never blocks on a dead stream
            }
            try {
                out.write(concat(Integer.toHexString(length), "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(bytes, 0, length);
                out.write('\r');
                out.write('\n');
                out.flush();
            } catch (IOException e) {
                failure = e;
            }
        }

        /** After the handler returned: wait for the last byte, then end the stream, with error trailers on failure. */
        void finish(ErrorReport error) {
            if (!opened) {
                // The shell never opened the FIFO (it ended first): open it ourselves so the reader sees its end.
                try (OutputStream release = new FileOutputStream(fifo.toFile())) {
                    release.flush();
                } catch (IOException e) {
                    log(WARN, requestId, "cannot release the response stream: ", e.getMessage());
                }
            }
            try {
                join();
            } catch (InterruptedException e) {
                throw new FatalError("interrupted while streaming a response");
            }
            if (out == null && failure == null && undecided.size() > 0) {
                startPost(preludeLength(undecided.toByteArray()) > 0);
                writeChunk(undecided.toByteArray(), undecided.size());
            }
            if (out == null && failure == null) {
                // Nothing was written: an ordinary answer, so a failure before the first byte still uses /error.
                if (error == null) {
                    api.postResponse(requestId, null);
                } else {
                    api.postError(requestId, error);
                }
                return;
            }
            try (Socket closing = socket) {
                if (failure != null) {
                    throw failure;
                }
                StringBuilder end = new StringBuilder("0\r\n");
                if (error != null) {
                    end.append(HEADER_ERROR_TYPE).append(": ").append(error.headerType()).append("\r\n")
                            .append(HEADER_ERROR_BODY).append(": ").append(Base64.getEncoder().encodeToString(error.json())).append("\r\n");
                }
                out.write(end.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                api.checkAnswer(requestId, concat("streamed response ", requestId), readReply(RuntimeApi.buffered(closing)), -1);
            } catch (IOException e) {
                log(ERROR, requestId, "streaming the response of ", requestId, " failed: ", e.toString());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The Runtime API

    /** One invocation as /next delivered it. Header names are kept lower-case: HTTP header names are case-insensitive. */
    record Invocation(String requestId, Map<String, String> headers, byte[] event) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** An error as Lambda wants it: {"errorMessage","errorType","stackTrace"}. */
    record ErrorReport(String type, String message, List<String> stackTrace) {
        byte[] json() {
            StringBuilder json = new StringBuilder("{\"errorMessage\":");
            appendJsonString(json, message);
            json.append(",\"errorType\":");
            appendJsonString(json, type);
            json.append(",\"stackTrace\":[");
            for (int i = 0; i < stackTrace.size(); i++) {
                appendJsonString(i > 0 ? json.append(',') : json, stackTrace.get(i));
            }
            return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        }

        /** The Category.Reason form the platform keeps (it turns other values into Runtime.Unknown). */
        String headerType() {
            if (type.startsWith("Runtime.") || type.startsWith("Function.") || type.startsWith("Sandbox.")) {
                return type;
            }
            for (int i = 0; i < type.length(); i++) {
                char c = type.charAt(i);
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                    return "Function.HandlerFailed";
                }
            }
            return Character.isUpperCase(type.charAt(0)) ? concat("Function.", type) : "Function.HandlerFailed";
        }
    }

    /** The Runtime API client: one plain HTTP/1.1 connection per request, which also survives the freeze between invocations. */
    static final class RuntimeApi {
        private final String host;
        private final int port;

        private RuntimeApi(String host, int port) {
            this.host = host;
            this.port = port;
        }

        static RuntimeApi fromAddress(String address) {
            if (address == null || address.isEmpty()) {
                throw new FatalError("AWS_LAMBDA_RUNTIME_API is not set (this program runs inside AWS Lambda or a local emulator)");
            }
            int colon = address.lastIndexOf(':');
            int port = colon < 0 ? -1 : (int) parseDecimal(address.substring(colon + 1), 5);
            String host = colon < 0 ? "" : address.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (host.isEmpty() || port < 1 || port > 65535) {
                throw new FatalError(concat("AWS_LAMBDA_RUNTIME_API='", address, "' is not host:port"));
            }
            return new RuntimeApi(host, port);
        }

        /** GET /next, with no read timeout: the environment may be frozen inside this call for any length of time. */
        Invocation nextInvocation() {
            HttpReply reply = null;
            for (int attempt = 0; reply == null; attempt++) {
                try (Socket socket = connect()) {
                    socket.getOutputStream().write(requestHead("GET", concat(API_BASE, "invocation/next")).append("\r\n").toString()
                            .getBytes(StandardCharsets.ISO_8859_1));
                    reply = readReply(buffered(socket));
                } catch (IOException e) {
                    if (attempt == NEXT_RETRY_DELAYS_MS.length) {
                        throw new FatalError(concat("GET /next failed ", Integer.toString(attempt + 1), " times: ", e.toString()));
                    }
                    log(WARN, null, "GET /next failed (", e.toString(), "); retrying");
                    pause(NEXT_RETRY_DELAYS_MS[attempt]);
                }
            }
            if (reply.status() != 200) {
                throw new FatalError(concat("GET /next answered ", reply.describe()));
            }
            String requestId = reply.headers().get(HEADER_REQUEST_ID.toLowerCase(Locale.ROOT));
            if (requestId == null || requestId.isEmpty()) {
                throw new FatalError(concat("GET /next answered without a ", HEADER_REQUEST_ID, " header"));
            }
            return new Invocation(requestId, reply.headers(), reply.body());
        }

        /** Posts the handler's stdout, streamed from its file (null or missing: an empty response). */
        void postResponse(String requestId, Path response) {
            post(requestId, concat(API_BASE, "invocation/", pathSegment(requestId), "/response"), null, response, null);
        }

        void postError(String requestId, ErrorReport report) {
            post(requestId, concat(API_BASE, "invocation/", pathSegment(requestId), "/error"), report.headerType(), null, report.json());
        }

        void postInitError(ErrorReport report) {
            post(null, concat(API_BASE, "init/error"), report.headerType(), null, report.json());
        }

        private void post(String requestId, String path, String errorType, Path bodyFile, byte[] body) {
            long length = body != null ? body.length : 0;
            try (Socket socket = connect()) {
                if (bodyFile != null && Files.exists(bodyFile)) {
                    length = Files.size(bodyFile);
                }
                StringBuilder head = requestHead("POST", path);
                if (errorType != null) {
                    head.append(HEADER_ERROR_TYPE).append(": ").append(errorType).append("\r\nContent-Type: ").append(ERROR_CONTENT_TYPE).append("\r\n");
                }
                OutputStream out = socket.getOutputStream();
                out.write(head.append("Content-Length: ").append(length).append("\r\n\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                try {
                    if (body != null) {
                        out.write(body);
                    } else if (length > 0) {
                        Files.copy(bodyFile, out);
                    }
                    out.flush();
                } catch (IOException e) {
                    // The API may refuse a body part-way (413) and close; its answer can still be read.
                }
                checkAnswer(requestId, concat("POST ", path), readReply(buffered(socket)), length);
            } catch (IOException e) {
                // The answer may or may not have arrived; the next /next tells whether the API is still there.
                log(ERROR, requestId, "POST ", path, " failed: ", e.toString());
            }
        }

        /** The status table of the Runtime API notes (section 1.4) for answers: only 5xx means the API is broken. */
        void checkAnswer(String requestId, String what, HttpReply reply, long length) {
            int status = reply.status();
            if (status == 202) {
                return;
            }
            if (status == 413) {
                log(ERROR, requestId, what, ": the response (", Long.toString(length),
                        " bytes) is larger than Lambda accepts; Lambda has failed the invocation with Function.ResponseSizeTooLarge");
            } else if (status >= 500) {
                throw new FatalError(concat(what, " answered ", reply.describe()));
            } else {
                log(ERROR, requestId, what, " answered ", reply.describe());
            }
        }

        /** readLine reads byte by byte: unbuffered, that is one system call per byte. One reply per connection. */
        static InputStream buffered(Socket socket) throws IOException {
            return new BufferedInputStream(socket.getInputStream());
        }

        Socket connect() throws IOException {
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(host, port));
                return socket;
            } catch (IOException e) {
                socket.close();
                throw e;
            }
        }

        /** The request line and common headers; each request has its own connection, closed after the answer. */
        StringBuilder requestHead(String method, String path) {
            String hostName = host.indexOf(':') >= 0 ? concat("[", host, "]") : host;
            return new StringBuilder(256).append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(hostName).append(':')
                    .append(port).append("\r\nUser-Agent: ").append(RUNTIME_NAME).append('/').append(RUNTIME_VERSION)
                    .append("\r\nConnection: close\r\n");
        }
    }

    /** An HTTP response: status, headers with lower-case names, body. */
    record HttpReply(int status, Map<String, String> headers, byte[] body) {
        String describe() {
            String text = new String(body, 0, Math.min(body.length, 512), StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? Integer.toString(status) : concat(Integer.toString(status), " ", text);
        }
    }

    /** Reads one HTTP/1.1 response: status line, headers, then a Content-Length, chunked, or read-to-close body. */
    static HttpReply readReply(InputStream in) throws IOException {
        String statusLine = readLine(in);
        int status = statusLine.startsWith("HTTP/1.") && statusLine.length() >= 12 && statusLine.charAt(8) == ' '
                ? (int) parseDecimal(statusLine.substring(9, 12), 3) : -1;
        if (status < 100) {
            throw new IOException(concat("not an HTTP/1.x status line: ", statusLine));
        }
        Map<String, String> headers = new HashMap<>();
        int headerBytes = 0;
        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
            headerBytes += line.length();
            int colon = line.indexOf(':');
            if (colon <= 0 || headerBytes > 1024 * 1024) {
                throw new IOException(concat("malformed or oversized header: ", line));
            }
            headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
        }
        String transferEncoding = headers.get("transfer-encoding");
        String contentLength = headers.get("content-length");
        if (transferEncoding != null && transferEncoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            return new HttpReply(status, headers, readChunked(in));
        }
        if (contentLength != null) {
            long length = parseDecimal(contentLength, 10);
            byte[] body = length < 0 || length > Integer.MAX_VALUE - 16 ? null : in.readNBytes((int) length);
            if (body == null || body.length != length) {
                throw new IOException(concat("body shorter than its Content-Length: ", contentLength));
            }
            return new HttpReply(status, headers, body);
        }
        return new HttpReply(status, headers, status == 204 || status == 304 || status < 200 ? new byte[0] : in.readAllBytes());
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (;;) {
            String sizeLine = readLine(in);
            int extension = sizeLine.indexOf(';');
            String hex = (extension < 0 ? sizeLine : sizeLine.substring(0, extension)).strip();
            long size;
            try {
                size = hex.isEmpty() || hex.length() > 8 ? -1 : Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                size = -1;
            }
            if (size < 0 || size > Integer.MAX_VALUE - 16 - body.size()) {
                throw new IOException(concat("bad chunk size: ", sizeLine));
            }
            if (size == 0) {
                break;
            }
            byte[] chunk = in.readNBytes((int) size);
            if (chunk.length != size || !readLine(in).isEmpty()) {
                throw new IOException("truncated or malformed chunk");
            }
            body.writeBytes(chunk);
        }
        while (!readLine(in).isEmpty()) {
            // Trailers of a response carry nothing the runtime needs.
        }
        return body.toByteArray();
    }

    /** Reads a CRLF- (or LF-) terminated line as ISO-8859-1, so header bytes pass through unchanged. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (;;) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before the end of the response");
            }
            if (b == '\n') {
                int last = line.length() - 1;
                return last >= 0 && line.charAt(last) == '\r' ? line.substring(0, last) : line.toString();
            }
            if (line.length() >= 64 * 1024) {
                throw new IOException("line longer than 64 KiB");
            }
            line.append((char) b);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Small helpers

    /** Appends s as a JSON string: quotes, backslashes and every control character escaped; the result encodes to valid UTF-8. */
    static StringBuilder appendJsonString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                        out.append("\\u").append(hex(c, 4));
                    } else if (Character.isSurrogate(c) && !isPairedSurrogate(s, i)) {
                        out.append('\uFFFD'); // a lone surrogate has no UTF-8 encoding
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"');
    }

    static String jsonString(String s) {
        return appendJsonString(new StringBuilder(s.length() + 2), s).toString();
    }

    private static boolean isPairedSurrogate(String s, int i) {
        return Character.isHighSurrogate(s.charAt(i))
                ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                : i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    /** value in lower-case hex, zero-padded to the given number of digits. */
    static String hex(long value, int digits) {
        StringBuilder out = new StringBuilder(digits);
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
            out.append(Character.forDigit((int) (value >>> shift) & 15, 16));
        }
        return out.toString();
    }

    /** A non-negative decimal of at most maxDigits (at most 18) digits, or -1. */
    static long parseDecimal(String text, int maxDigits) {
        if (text == null || text.isEmpty() || text.length() > maxDigits) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /** Request ids are UUIDs; anything else is percent-encoded rather than trusted into a request line. */
    static String pathSegment(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.ISO_8859_1)) { // header text holds the bytes as Latin-1
            char c = (char) (b & 0xff);
            if (isAsciiLetterOrDigit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(hex(c, 2).toUpperCase(Locale.ROOT));
            }
        }
        return out.toString();
    }

    static boolean isAsciiLetterOrDigit(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** Single-quotes a word for the shell. Only paths and names fixed at deployment pass through here, never header values. */
    static String shellQuote(String word) {
        return concat("'", word.replace("'", "'\\''"), "'");
    }

    /** With Sampled=1 and a daemon configured, one line per invocation, as the shell runtimes people migrate from print. */
    static void logXraySegment(Invocation invocation, long startMillis, long endMillis, boolean fault) {
        String trace = invocation.header(HEADER_TRACE_ID);
        String root = traceField(trace, "Root");
        if (root == null || !"1".equals(traceField(trace, "Sampled"))) {
            return;
        }
        String parent = traceField(trace, "Parent");
        String name = System.getenv("AWS_LAMBDA_FUNCTION_NAME");
        StringBuilder json = new StringBuilder("X-Ray segment: {\"name\":");
        appendJsonString(json, name == null ? RUNTIME_NAME : name).append(",\"id\":\"").append(hex(ThreadLocalRandom.current().nextLong(), 16));
        appendJsonString(json.append("\",\"trace_id\":"), root);
        if (parent != null) {
            appendJsonString(json.append(",\"parent_id\":"), parent);
        }
        json.append(",\"start_time\":").append(startMillis / 1000).append('.').append(Long.toString(1000 + startMillis % 1000).substring(1))
                .append(",\"end_time\":").append(endMillis / 1000).append('.').append(Long.toString(1000 + endMillis % 1000).substring(1));
        json.append(fault ? ",\"fault\":true}" : "}");
        if (JSON_LOGS) {
            log(INFO, invocation.requestId(), json.toString());
        } else {
            System.err.println(json);
        }
    }

    private static String traceField(String trace, String key) {
        if (trace == null) {
            return null;
        }
        for (String part : trace.split(";")) {
            int equals = part.indexOf('=');
            if (equals > 0 && part.substring(0, equals).strip().equals(key)) {
                return part.substring(equals + 1).strip();
            }
        }
        return null;
    }

    static int lastIndexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = haystack.length - needle.length; i >= 0; i--) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String concat(String... parts) {
        StringBuilder out = new StringBuilder();
        for (String part : parts) {
            out.append(part);
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Logging

    static int logLevel(String name, int fallback) {
        for (int i = 0; i < LOG_LEVELS.length; i++) {
            if (LOG_LEVELS[i].equalsIgnoreCase(name)) {
                return i;
            }
        }
        return fallback;
    }

    /**
     * The runtime's own log lines, on stderr: "java-shell-runtime: message" in Text format; with JSON logging one
     * object per line, as Lambda's advanced logging controls expect. AWS_LAMBDA_LOG_LEVEL filters both.
     */
    static void log(int level, String requestId, String... parts) {
        if (level < LOG_LEVEL) {
            return;
        }
        String message = concat(parts);
        if (!JSON_LOGS) {
            System.err.println(concat(RUNTIME_NAME, ": ", message));
            return;
        }
        StringBuilder json = new StringBuilder("{\"timestamp\":\"").append(timestamp(System.currentTimeMillis()))
                .append("\",\"level\":\"").append(LOG_LEVELS[level]).append('"');
        if (requestId != null) {
            appendJsonString(json.append(",\"requestId\":"), requestId);
        }
        appendJsonString(json.append(",\"message\":"), message);
        System.err.println(json.append(",\"logger\":\"").append(RUNTIME_NAME).append("\"}"));
    }

    /**
     * A line the handler wrote to stderr, in JSON format: a line that already is a JSON object passes through (with
     * the request id added when missing); any other line becomes an INFO object carrying it.
     */
    static String handlerJsonLine(String line, String requestId, long millis) {
        String trimmed = line.strip();
        boolean[] hasRequestId = {false};
        if (trimmed.startsWith("{") && skipJsonValue(trimmed, 0, hasRequestId) == trimmed.length()) {
            if (requestId == null || hasRequestId[0]) {
                return trimmed;
            }
            String rest = trimmed.substring(1).strip();
            return appendJsonString(new StringBuilder("{\"requestId\":"), requestId).append(rest.equals("}") ? "" : ",").append(rest).toString();
        }
        StringBuilder json = new StringBuilder("{\"timestamp\":\"").append(timestamp(millis)).append("\",\"level\":\"INFO\"");
        if (requestId != null) {
            appendJsonString(json.append(",\"requestId\":"), requestId);
        }
        return appendJsonString(json.append(",\"message\":"), line).append('}').toString();
    }

    /**
     * The index just past the JSON value that starts at i (after white space), or -1 when there is none; sets
     * hasRequestId[0] when that value is an object with a "requestId" member (pass null for nested values).
     */
    static int skipJsonValue(String s, int i, boolean[] hasRequestId) {
        i = skipJsonSpace(s, i);
        if (i >= s.length()) {
            return -1;
        }
        char c = s.charAt(i);
        if (c == '"') {
            return skipJsonString(s, i);
        }
        if (c != '{' && c != '[') {
            int end = i;
            while (end < s.length() && "+-.0123456789eEtrufalsn".indexOf(s.charAt(end)) >= 0) {
                end++;
            }
            String word = s.substring(i, end);
            return word.equals("true") || word.equals("false") || word.equals("null") || isJsonNumber(word) ? end : -1;
        }
        char close = c == '{' ? '}' : ']';
        i = skipJsonSpace(s, i + 1);
        if (i < s.length() && s.charAt(i) == close) {
            return i + 1;
        }
        for (;;) {
            if (close == '}') {
                int keyEnd = skipJsonString(s, i);
                if (keyEnd < 0) {
                    return -1;
                }
                if (hasRequestId != null && s.substring(i, keyEnd).equals("\"requestId\"")) {
                    hasRequestId[0] = true;
                }
                i = skipJsonSpace(s, keyEnd);
                if (i >= s.length() || s.charAt(i) != ':') {
                    return -1;
                }
                i++;
            }
            i = skipJsonValue(s, i, null);
            i = i < 0 ? -1 : skipJsonSpace(s, i);
            if (i < 0 || i >= s.length() || (s.charAt(i) != ',' && s.charAt(i) != close)) {
                return -1;
            }
            if (s.charAt(i) == close) {
                return i + 1;
            }
            i = skipJsonSpace(s, i + 1);
        }
    }

    private static int skipJsonString(String s, int i) {
        if (i >= s.length() || s.charAt(i) != '"') {
            return -1;
        }
        for (i++; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                return i + 1;
            }
            if (c < 0x20) {
                return -1;
            }
            if (c == '\\') {
                i++;
                if (i >= s.length() || "\"\\/bfnrtu".indexOf(s.charAt(i)) < 0) {
                    return -1;
                }
                if (s.charAt(i) == 'u') {
                    if (i + 4 >= s.length()) {
                        return -1;
                    }
                    for (int k = 1; k <= 4; k++) {
                        if (Character.digit(s.charAt(i + k), 16) < 0) {
                            return -1;
                        }
                    }
                    i += 4;
                }
            }
        }
        return -1;
    }

    private static int skipJsonSpace(String s, int i) {
        while (i >= 0 && i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) {
            i++;
        }
        return i;
    }

    /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    static boolean isJsonNumber(String w) {
        int i = w.startsWith("-") ? 1 : 0;
        int digits = countDigits(w, i);
        if (digits == 0 || (digits > 1 && w.charAt(i) == '0')) {
            return false;
        }
        i += digits;
        if (i < w.length() && w.charAt(i) == '.') {
            digits = countDigits(w, i + 1);
            if (digits == 0) {
                return false;
            }
            i += 1 + digits;
        }
        if (i < w.length() && (w.charAt(i) == 'e' || w.charAt(i) == 'E')) {
            i++;
            if (i < w.length() && (w.charAt(i) == '+' || w.charAt(i) == '-')) {
                i++;
            }
            digits = countDigits(w, i);
            if (digits == 0) {
                return false;
            }
            i += digits;
        }
        return i == w.length();
    }

    private static int countDigits(String w, int from) {
        int i = from;
        while (i < w.length() && w.charAt(i) >= '0' && w.charAt(i) <= '9') {
            i++;
        }
        return i - from;
    }

    /** RFC 3339 in UTC with milliseconds, e.g. 2026-11-22T17:10:15.042Z. */
    static String timestamp(long millis) {
        OffsetDateTime t = OffsetDateTime.ofInstant(java.time.Instant.ofEpochMilli(millis), ZoneOffset.UTC);
        return new StringBuilder(24).append(t.getYear()).append('-').append(pad2(t.getMonthValue())).append('-').append(pad2(t.getDayOfMonth()))
                .append('T').append(pad2(t.getHour())).append(':').append(pad2(t.getMinute())).append(':').append(pad2(t.getSecond()))
                .append('.').append(Long.toString(1000 + millis % 1000).substring(1)).append('Z').toString();
    }

    private static String pad2(int value) {
        return value < 10 ? concat("0", Integer.toString(value)) : Integer.toString(value);
    }

    /** A problem during init: reported through /init/error with its type. */
    static final class InitError extends RuntimeException {
        final String type;

        InitError(String type, String message) {
            super(message, null, false, false);
            this.type = type;
        }
    }

    /** The Runtime API or the environment is broken: the runtime exits and Lambda starts a fresh one. */
    static final class FatalError extends RuntimeException {
        FatalError(String message) {
            super(message, null, false, false);
        }
    }
}
