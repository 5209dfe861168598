/*
 * java-shell-runtime: an AWS Lambda custom runtime that runs shell handlers. The whole runtime is this file.
 *
 * How to read it: main() reads the settings and starts one Worker (or AWS_LAMBDA_MAX_CONCURRENCY of them). A Worker
 * runs the Lambda loop: get the next invocation from the Runtime API, hand it to its shell, post the answer.
 * HandlerShell owns the shell that runs the handler; LogPump carries that shell's output to the function's log and
 * hears the shell's reports; PipeReaders take the handler's stdout and stderr from its pipes; ResponseStream forwards a streamed
 * response. RuntimeApi speaks HTTP/1.1 on a plain socket. The rest are small value types and helpers.
 *
 * Choices a reviewer will ask about:
 * - Plain sockets, not java.net.http: its first request costs ~350 ms of cold start, and no JDK client can send
 *   the HTTP trailers that streamed errors need (docs/runtime.md has the measurements).
 * - One long-lived shell per worker, fed one short command per invocation. The handler's stdin and stdout are fresh
 *   anonymous pipes of the runtime's, which the shell opens as /proc/<runtime>/fd/<n>: they behave as pipes
 *   (reopening /dev/stdout appends, /dev/stdin goes on where the handler stopped), no file in /tmp holds the event or
 *   the response, and a process left over from one invocation can neither read the next event nor write into the
 *   next response.
 * - The shell reports "started" and "ended with status N" by opening its supervisor's stdout through /proc at the
 *   moment it reports. No descriptor of the handler's shell carries the runtime's signalling, so a handler may use,
 *   close or redirect any of them. The runtime calls builtins only through `command`, so functions may have any
 *   other name. Header values reach the shell single-quoted: data, never code.
 * - A tiny bash supervisor runs that shell in its own process group. When the shell ends it kills what is left in
 *   the group and reports the end itself, so the end of a shell is known when the process ends, not when pipes close.
 * - No lambdas, no `+` on strings and no pattern switches: each costs an invokedynamic bootstrap at first use, in
 *   a class the AOT cache cannot hold, and cold start is this project's hardest number.
 */

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
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

    /** Lambda's limit for a buffered response: 6 MiB and 100 bytes. */
    static final int MAX_BUFFERED_RESPONSE = 6 * 1024 * 1024 + 100;
    /** A header line must fit in one environment string, which Linux limits to 128 KiB; a header block to 1 MiB. */
    static final int MAX_HEADER_LINE = 128 * 1024 - 64;
    static final int MAX_HEADER_BLOCK = 1024 * 1024;
    /** An event up to PIPE_BUF always fits into an empty pipe, so it is written without a thread. */
    static final int DIRECT_EVENT_BYTES = 4096;
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
            String address = env.get("AWS_LAMBDA_RUNTIME_API");
            RuntimeApi api = RuntimeApi.fromAddress(address);
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
            // Managed Instances: more workers, each with its own shell and connection, loaded while the first one polls.
            for (int n = 2; n <= options.workers(); n++) {
                String name = concat("worker-", Integer.toString(n));
                Worker worker = new Worker(RuntimeApi.fromAddress(address), handler, options, null, directory.resolve(name));
                new Thread(worker, concat(RUNTIME_NAME, "-", name)).start();
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

    /** The runtime's files: one mode-700 directory (createTempDirectory's default), made again if a handler deletes it. */
    static Path privateDirectory() {
        if (!Files.isDirectory(Path.of("/proc/self/fd"))) {
            throw new InitError("Runtime.ProcUnavailable", "/proc is not mounted: the handler's shell reports to the runtime through /proc");
        }
        try {
            Path directory = Files.createTempDirectory(concat(".", RUNTIME_NAME, "."));
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
            for (ProcessHandle child : ProcessHandle.current().children().toList()) child.destroy();
            deleteTree(directory);
        }

        private static void deleteTree(Path path) {
            try {
                if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(path)) {
                        for (Path entry : entries) deleteTree(entry);
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
            if (function.equals("command")) {
                throw new InitError("Runtime.InvalidHandler", concat("_HANDLER '", handler,
                        "' names a function called 'command': the runtime calls the shell's builtins through `command`, so no function may take that name; rename it"));
            }
            return new Handler(taskRoot, checkedFile(taskRoot.resolve(concat(fileName, ".sh"))), function);
        }

        private static Path checkedFile(Path file) {
            String problem = !Files.exists(file) ? " does not exist"
                    : !Files.isRegularFile(file) ? " is not a regular file"
                    : !Files.isReadable(file) ? " is not readable" : null;
            if (problem != null) throw new InitError("Runtime.HandlerNotFound", concat(file.toString(), problem));
            return file;
        }

        private static boolean isShellName(String name) {
            if (name.isEmpty() || Character.isDigit(name.charAt(0)) || name.charAt(0) == '-') return false;
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '-' || isAsciiLetterOrDigit(c))) return false;
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
                if (shell == null) shell = HandlerShell.start(handler, options, directory);
                for (;;) serve(api.nextInvocation());
            } catch (InitError e) {
                // Only extra workers load here, after init: the others go on serving.
                log(ERROR, null, "a worker could not load the handler and stops: ", e.type, ": ", e.getMessage());
            } catch (FatalError e) {
                exit(e);
            }
        }

        private void serve(Invocation invocation) {
            String requestId = invocation.requestId();
            if (invocation.problem() != null) {
                // Delivered, so it must be answered, even though the handler cannot be given it.
                api.postError(requestId, report(invocation, new ErrorReport("Runtime.InvalidInvocation", invocation.problem(), List.of())));
                return;
            }
            long startMillis = System.currentTimeMillis();
            ResponseStream stream = options.streaming() ? new ResponseStream(api, requestId) : null;
            Stdout stdout = new Stdout(stream);
            HandlerResult result;
            try {
                result = shell.invoke(invocation, stdout);
            } catch (InitError e) {
                api.postError(requestId, report(invocation, new ErrorReport(e.type, e.getMessage(), List.of())));
                throw new FatalError(concat("reloading the handler failed: ", e.type, ": ", e.getMessage()));
            }
            ErrorReport error = result.succeeded() ? null : report(invocation, result.errorReport(handler));
            if (stream != null) {
                stream.finish(error);
            } else if (error != null) {
                api.postError(requestId, error);
            } else if (stdout.size > MAX_BUFFERED_RESPONSE + 1) {
                // Only the first bytes were kept: say what Lambda says of a response it cannot take.
                api.postError(requestId, report(invocation, new ErrorReport("Function.ResponseSizeTooLarge", concat("Response payload size (",
                        Long.toString(stdout.size), " bytes) exceeded maximum allowed payload size (", Integer.toString(MAX_BUFFERED_RESPONSE), " bytes)."), List.of())));
            } else {
                api.postResponse(requestId, stdout.buffer);
            }
            if (options.xray()) logXraySegment(invocation, startMillis, System.currentTimeMillis(), error != null);
            if (result.shellExited()) {
                try {
                    shell.restart();
                } catch (InitError e) {
                    throw new FatalError(concat("reloading the handler failed: ", e.type, ": ", e.getMessage()));
                }
            }
        }

        private static ErrorReport report(Invocation invocation, ErrorReport report) {
            log(WARN, invocation.requestId(), "invocation ", invocation.requestId(), " failed: ", report.type(), ": ", report.message());
            return report;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The handler's shell

    /**
     * The shell that runs the handler. In function mode it is the shell file.sh's shebang names (else bash): it sources
     * file.sh once and then calls the function once per invocation, so the function's variables persist. In file mode
     * it is /bin/sh and runs the file as a child per invocation.
     *
     * For each call the runtime writes a command file and sends the shell one line that sources it (a shell reads a
     * pipe one byte per system call, a file at once). The command runs the handler with stdin and stdout on two fresh
     * pipes (ShellPipe) and reports through /proc/SUPERVISOR/fd/1, where the log pump hears it.
     */
    static final class HandlerShell {
        /** $1 is the report token. On TERM (a deadline) or at the shell's end: kill the group, report, exit. */
        private static final String SUPERVISOR = "t=$1; shift; trap 'kill -KILL -- \"-$!\"; printf \"%s exit 143\\n\" \"$t\"; exit 143' TERM; "
                + "set -m; \"$@\" & exec 2>/dev/null; wait \"$!\"; s=$?; kill -KILL -- \"-$!\"; printf '%s exit %s\\n' \"$t\" \"$s\"; exit \"$s\"";

        private final Handler handler;
        private final Options options;
        private final Path directory;
        private final String token;
        private final String sentinel;
        private final PipeReader stdoutReader;
        private final PipeReader stderrReader;
        private Process process;
        private OutputStream commands;
        private LogPump pump;
        private BlockingQueue<Report> reports;
        private String reportTo;

        private HandlerShell(Handler handler, Options options, Path directory) {
            this.handler = handler;
            this.options = options;
            this.directory = directory;
            this.sentinel = concat(hex(ThreadLocalRandom.current().nextLong(), 16), hex(ThreadLocalRandom.current().nextLong(), 16));
            this.stdoutReader = new PipeReader(sentinel);
            this.stderrReader = new PipeReader(sentinel);
            this.token = concat(RUNTIME_NAME, "-", hex(ThreadLocalRandom.current().nextLong(), 16));
        }

        static HandlerShell start(Handler handler, Options options, Path directory) {
            HandlerShell shell = new HandlerShell(handler, options, directory);
            shell.load();
            return shell;
        }

        /** After the shell ended (exit, set -e or -u, a deadline, a kill): a fresh shell, and file.sh loaded again. */
        void restart() {
            log(INFO, null, "loading ", handler.file().toString(), " again in a new shell (the previous one ended)");
            load();
        }

        private void load() {
            if (process != null) stop();
            prepareDirectory();
            List<String> command = new ArrayList<>(List.of("/bin/bash", "-c", SUPERVISOR, RUNTIME_NAME, token));
            command.addAll(handler.functionMode() ? interpreterOf(handler.file()) : List.of("/bin/sh"));
            ProcessBuilder builder = new ProcessBuilder(command).directory(handler.taskRoot().toFile()).redirectErrorStream(true);
            for (String[] pair : CONTEXT_VARIABLES) builder.environment().remove(pair[1]);
            if (options.managedInstances()) {
                // Concurrent invocations must not meet in /tmp: each worker's handler gets a TMPDIR of its own.
                builder.environment().put("TMPDIR", directory.resolve("tmp").toString());
            }
            try {
                process = ShellPipe.start(builder);
            } catch (IOException e) {
                throw new InitError("Runtime.HandlerLoadError", concat("cannot start ", String.join(" ", command.subList(5, command.size())), ": ", e.getMessage()));
            }
            commands = process.getOutputStream();
            reports = new LinkedBlockingQueue<>();
            reportTo = concat("/proc/", Long.toString(process.pid()), "/fd/1");
            pump = new LogPump(process, token, reports);
            pump.start();
            if (!handler.functionMode()) return;
            HandlerResult loaded = run(concat("\\command . ", quote(handler.file().toString()), " </dev/null\n"), 0);
            if (!loaded.succeeded()) {
                stop();
                throw new InitError("Runtime.HandlerLoadError", loaded.describeLoadFailure(handler));
            }
            HandlerResult defined = run(concat("case $(\\command -V ", quote(handler.function()),
                    " 2>/dev/null) in *' is a function'*|*' is a shell function'*) ;; *) false ;; esac\n"), 0);
            if (!defined.succeeded()) {
                stop();
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
            if (length < 2 || head[0] != '#' || head[1] != '!') return List.of("/bin/bash");
            int end = 2;
            while (end < length && head[end] != '\n') end++;
            String line = new String(head, 2, end - 2, StandardCharsets.UTF_8).strip();
            int space = 0;
            while (space < line.length() && !Character.isWhitespace(line.charAt(space))) space++;
            return space == line.length() ? List.of(line) : List.of(line.substring(0, space), line.substring(space).strip());
        }

        /** A handler may empty /tmp: the runtime's directory is made again whenever it is gone. */
        private void prepareDirectory() {
            Path needed = directory.resolve(options.managedInstances() ? "tmp" : ".");
            try {
                if (!Files.isDirectory(needed)) {
                    Files.createDirectories(needed, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                }
            } catch (IOException e) {
                throw new FatalError(concat("cannot make ", directory.toString(), ": ", e.getMessage()));
            }
        }

        /**
         * Runs one invocation: the event in, the status and stderr tail out, stdout into the given sink. A shell that
         * ended while idle is replaced first; a handler that could not be started at all (its shell died, its pipes were
         * deleted) is tried once more, as it has not seen the event.
         */
        HandlerResult invoke(Invocation invocation, Stdout stdout) {
            if (!process.isAlive() || !reports.isEmpty()) {
                log(WARN, invocation.requestId(), "the handler's shell ended while idle; loading ", handler.file().toString(), " again");
                load();
            }
            HandlerResult result = attempt(invocation, stdout);
            if (!result.started()) {
                log(WARN, invocation.requestId(), "the handler could not be started (", result.describeFailure(handler), "); trying again");
                if (result.shellExited()) load();
                result = attempt(invocation, stdout);
            }
            return result;
        }

        private HandlerResult attempt(Invocation invocation, Stdout stdout) {
            ShellPipe stdin = ShellPipe.open();
            ShellPipe out = ShellPipe.open();
            ShellPipe err = ShellPipe.open();
            LogLines stderr = new LogLines(null, null, invocation.requestId());
            boolean finished = false;
            try {
                byte[] event = invocation.event();
                if (event.length <= DIRECT_EVENT_BYTES) {
                    stdin.pipe().sink().write(ByteBuffer.wrap(event));
                    stdin.pipe().sink().close(); // the handler reads the event, then its end
                } else {
                    new EventWriter(stdin.pipe().sink(), event).start();
                }
                stdoutReader.begin(out.pipe(), stdout, null);
                stderrReader.begin(err.pipe(), stderr, new LogLines(null, null, null));
                long deadline = options.managedInstances() ? Math.max(parseDecimal(invocation.header(HEADER_DEADLINE_MS), 15), 0) : 0;
                HandlerResult result = run(invocationCommand(invocation, stdin.readPath(), out.writePath(), err.writePath()), deadline);
                stdoutReader.finish(out.pipe());
                stderrReader.finish(err.pipe());
                finished = true;
                stderr.flush();
                return new HandlerResult(result.started(), result.shellExited(), result.status(), result.deadlinePassed(), stderr.takeTail());
            } catch (IOException e) {
                throw new FatalError(concat("cannot use the handler's pipes: ", e.getMessage()));
            } finally {
                // Closing stdin also stops an EventWriter still blocked on an event the handler did not read.
                stdin.close();
                if (!finished) {
                    out.close();
                    err.close();
                }
            }
        }

        /** The command for one invocation: context variables, then the handler with its pipes, announced as started. */
        private String invocationCommand(Invocation invocation, String in, String out, String err) {
            StringBuilder command = new StringBuilder(512);
            StringBuilder absent = new StringBuilder();
            StringBuilder present = new StringBuilder();
            for (String[] pair : CONTEXT_VARIABLES) {
                String value = invocation.header(pair[0]);
                if (value == null) {
                    absent.append(' ').append(pair[1]);
                } else {
                    // Bytes as they came (Latin-1 chars), single-quoted: the shell takes them literally. NUL cannot be in a variable.
                    present.append(' ').append(pair[1]).append("='").append(value.replace("\0", "").replace("'", "'\\''")).append('\'');
                }
            }
            if (absent.length() > 0) command.append("\\command unset -v").append(absent).append('\n');
            if (present.length() > 0) command.append("\\command export").append(present).append('\n');
            if (handler.functionMode()) {
                // The function may have changed directory last time; each invocation starts in the task root.
                command.append("\\command cd -P -- ").append(quote(handler.taskRoot().toString())).append(" && ");
            }
            command.append("{ \\command printf '%s started\\n' ").append(token).append(" >|").append(reportTo).append(" && ");
            if (handler.functionMode()) {
                command.append(quote(handler.function()));
            } else {
                command.append(Files.isExecutable(handler.file()) ? "" : "/bin/sh ").append(quote(handler.file().toString()));
            }
            return command.append("; } <").append(in).append(" >|").append(out).append(" 2>|").append(err).append('\n').toString();
        }

        /**
         * Writes one command and its report line to a new file renamed into place (dash still reads the previous one
         * after its last command, to find its end), has the shell source it, and waits for the end report. The wait is
         * bounded by the shell's life; with a deadline (Managed Instances only) a handler still running then is killed.
         */
        private HandlerResult run(String command, long deadlineMillis) {
            String script = concat(command, "\\command printf '%s end %s\\n' ", token, " \"$?\" >|", reportTo, " || \\command exit 125\n");
            Path file = directory.resolve("command");
            try {
                prepareDirectory();
                Path next = directory.resolve("command.next");
                Files.write(next, script.getBytes(StandardCharsets.ISO_8859_1));
                Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                // If the file is gone before the shell reads it, the shell exits and the handler was not started. Not
                // `. file || exit`: errexit is off on the left of ||, and `set -e` handlers rely on it. Short: the shell
                // reads this line from a pipe one byte per system call.
                commands.write(concat("\\command . ", quote(file.toString()), ";case $? in 0);;*)\\command exit 126;;esac\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                commands.flush();
            } catch (IOException e) {
                // The shell is gone, or /tmp is unusable: the wait below sees the shell's end, or its report.
            }
            boolean started = false;
            try {
                for (;;) {
                    long wait = deadlineMillis == 0 ? 1000 : Math.min(1000, deadlineMillis - System.currentTimeMillis());
                    Report report = wait <= 0 ? null : reports.poll(wait, TimeUnit.MILLISECONDS);
                    if (report == null && deadlineMillis != 0 && System.currentTimeMillis() >= deadlineMillis) {
                        stop();
                        return new HandlerResult(started, true, 137, true, pump.lines.takeTail());
                    }
                    if (report == null && !process.isAlive()) {
                        // The supervisor itself was killed before it could report; its last lines may still come.
                        report = reports.poll(100, TimeUnit.MILLISECONDS);
                        if (report == null) report = new Report(Report.EXIT, process.exitValue(), pump.lines.takeTail());
                    }
                    if (report == null) continue;
                    if (report.kind() == Report.STARTED) {
                        started = true;
                        continue;
                    }
                    return new HandlerResult(started, report.kind() == Report.EXIT, report.status(), false, report.stderrTail());
                }
            } catch (InterruptedException e) {
                throw new FatalError("interrupted while waiting for the handler");
            }
        }

        /** Kills the shell, everything it started (setsid or not) and its supervisor, and waits (bounded) for the end. */
        private void stop() {
            List<ProcessHandle> descendants = process.descendants().toList();
            for (ProcessHandle descendant : descendants) descendant.destroyForcibly();
            process.destroy();
            long until = System.currentTimeMillis() + 5000;
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
                // A killed process is gone once it has run to its death: wait for that (bounded), so that what the
                // answer says ("every process it started was stopped") is true when it goes out.
                for (ProcessHandle descendant : descendants) {
                    descendant.onExit().get(Math.max(1, until - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                process.destroyForcibly();
            }
        }

    }

    /**
     * An anonymous pipe of the runtime's that the handler's shell opens by path, as /proc/<runtime>/fd/<n>: anonymous,
     * because a shell that reopens /dev/stdin must find the same pipe and never wait for a writer, as with a named one.
     * Java does not tell a pipe's descriptor numbers, so they are found in /proc/self/fd: every pipe of this process is
     * made under one lock (shells' pipes too), so a pipe descriptor that was not there before is this pipe's; its other
     * end is the descriptor with the same pipe:[inode] link, most often the number next to it.
     */
    record ShellPipe(Pipe pipe, String readPath, String writePath) {
        private static final Object LOCK = new Object();
        private static final String FDS = concat("/proc/", Long.toString(ProcessHandle.current().pid()), "/fd/");

        static ShellPipe open() {
            synchronized (LOCK) {
                try {
                    // Rarely both numbers were listed before (freed meanwhile by another thread): then look again.
                    for (int attempt = 0; attempt < 10; attempt++) {
                        List<String> before = List.of(new java.io.File("/proc/self/fd").list());
                        Pipe pipe = Pipe.open();
                        String[] after = new java.io.File("/proc/self/fd").list();
                        String one = null;
                        String link = null;
                        for (int i = 0; i < after.length && one == null; i++) {
                            link = before.contains(after[i]) ? null : linkOf(after[i]);
                            one = link != null && link.startsWith("pipe:") ? after[i] : null;
                        }
                        String other = null;
                        if (one != null) {
                            int n = Integer.parseInt(one);
                            List<String> near = new ArrayList<>(List.of(Integer.toString(n - 1), Integer.toString(n + 1)));
                            near.addAll(List.of(after));
                            for (int i = 0; i < near.size() && other == null; i++) {
                                other = !near.get(i).equals(one) && link.equals(linkOf(near.get(i))) ? near.get(i) : null;
                            }
                        }
                        if (other != null) {
                            boolean oneReads = Files.getPosixFilePermissions(Path.of("/proc/self/fd", one), LinkOption.NOFOLLOW_LINKS)
                                    .contains(PosixFilePermission.OWNER_READ);
                            return new ShellPipe(pipe, concat(FDS, oneReads ? one : other), concat(FDS, oneReads ? other : one));
                        }
                        pipe.source().close();
                        pipe.sink().close();
                    }
                    throw new IOException("its descriptors are not in /proc/self/fd");
                } catch (IOException e) {
                    throw new FatalError(concat("cannot make a pipe for the handler: ", e.getMessage()));
                }
            }
        }

        /** Where /proc/self/fd/<fd> points, or null when there is no such descriptor (any more). */
        private static String linkOf(String fd) {
            try {
                return Files.readSymbolicLink(Path.of("/proc/self/fd", fd)).toString();
            } catch (IOException e) {
                return null;
            }
        }

        /** Starting a process makes pipes too: under the same lock. */
        static Process start(ProcessBuilder builder) throws IOException {
            synchronized (LOCK) {
                return builder.start();
            }
        }

        void close() {
            try {
                pipe.sink().close();
                pipe.source().close();
            } catch (IOException e) {
                // Nothing is lost by closing a pipe the invocation is done with.
            }
        }
    }

    /** Feeds an event too large for an empty pipe; ends when the handler has read it or the pipe is closed. */
    static final class EventWriter extends Thread {
        private final Pipe.SinkChannel pipe;
        private final byte[] event;

        EventWriter(Pipe.SinkChannel pipe, byte[] event) {
            super(concat(RUNTIME_NAME, "-event"));
            setDaemon(true);
            this.pipe = pipe;
            this.event = event;
        }

        @Override
        public void run() {
            try (Pipe.SinkChannel out = pipe) {
                out.write(ByteBuffer.wrap(event));
            } catch (IOException e) {
                // The handler returned without reading all of its event, as it may.
            }
        }
    }

    /** Where a reader puts what it read from one of the handler's pipes. */
    interface Sink {
        void accept(byte[] bytes, int length);
    }

    /** What the handler printed: kept in memory up to one byte over Lambda's limit and counted, or streamed. */
    static final class Stdout implements Sink {
        final ResponseStream stream;
        final Bytes buffer = new Bytes();
        long size;

        Stdout(ResponseStream stream) {
            this.stream = stream;
        }

        @Override
        public void accept(byte[] bytes, int length) {
            size += length;
            if (stream != null) {
                stream.forward(bytes, length);
            } else if (buffer.size() <= MAX_BUFFERED_RESPONSE) {
                buffer.write(bytes, 0, (int) Math.min(length, MAX_BUFFERED_RESPONSE + 1L - buffer.size()));
            }
        }
    }

    /** A byte buffer whose array can be posted without a copy. */
    static final class Bytes extends ByteArrayOutputStream {
        byte[] array() {
            return buf;
        }
    }

    /**
     * Reads the handler's pipes (stdout or stderr), one invocation after another, into each invocation's sink. The
     * runtime holds each pipe open for writing too, so an invocation's part does not end at the pipe's end of file (a
     * background process may hold the pipe for hours) but at a random sentinel the runtime writes after the handler
     * returned. What comes after it is a leftover process's, for no invocation: if any such process still holds the
     * pipe, a thread of its own drains it into the second sink (or nowhere) until the last one is gone.
     */
    static final class PipeReader extends Thread {
        private final String sentinel;
        private final java.util.concurrent.Semaphore passed = new java.util.concurrent.Semaphore(0);
        private Pipe pipe;
        private Sink sink;
        private Sink leftovers;
        private volatile boolean ending;

        PipeReader(String sentinel) {
            super(concat(RUNTIME_NAME, "-pipe"));
            setDaemon(true);
            this.sentinel = sentinel;
            start();
        }

        synchronized void begin(Pipe pipe, Sink sink, Sink leftovers) {
            passed.drainPermits();
            ending = false;
            this.sink = sink;
            this.leftovers = leftovers;
            this.pipe = pipe;
            notifyAll();
        }

        /** After the handler returned: when this returns, everything before the sentinel is in the sink. */
        void finish(Pipe pipe) throws IOException {
            ending = true;
            pipe.sink().write(ByteBuffer.wrap(sentinel.getBytes(StandardCharsets.ISO_8859_1)));
            passed.acquireUninterruptibly();
        }

        @Override
        public void run() {
            ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
            for (;;) {
                Pipe current;
                Sink to;
                Sink after;
                synchronized (this) {
                    while (pipe == null) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    current = pipe;
                    to = sink;
                    after = leftovers;
                    pipe = null;
                }
                byte[] rest = readUntilSentinel(current, to, buffer);
                passed.release();
                if (rest != null) afterwards(current, after, rest, buffer);
            }
        }

        /** The bytes that followed the sentinel, or null when the pipe was closed first (the invocation failed). */
        private byte[] readUntilSentinel(Pipe pipe, Sink to, ByteBuffer buffer) {
            ByteArrayOutputStream last = new ByteArrayOutputStream();
            try {
                for (int n; (n = pipe.source().read(buffer.clear())) >= 0;) {
                    if (!ending) {
                        to.accept(buffer.array(), n);
                        continue;
                    }
                    // The sentinel may be in the pipe now: collect and look for it.
                    last.write(buffer.array(), 0, n);
                    byte[] bytes = last.toByteArray();
                    int at = new String(bytes, StandardCharsets.ISO_8859_1).indexOf(sentinel);
                    if (at >= 0) {
                        to.accept(bytes, at);
                        return java.util.Arrays.copyOfRange(bytes, at + sentinel.length(), bytes.length);
                    }
                }
            } catch (IOException e) {
                log(ERROR, null, "reading the handler's output failed: ", e.toString());
            }
            return null;
        }

        private static void afterwards(Pipe pipe, Sink leftovers, byte[] rest, ByteBuffer buffer) {
            try {
                if (leftovers != null) leftovers.accept(rest, rest.length);
                pipe.sink().close();
                Pipe.SourceChannel source = pipe.source();
                source.configureBlocking(false);
                int n = source.read(buffer.clear());
                if (n < 0) {
                    source.close(); // no leftover writer: the common case
                    return;
                }
                if (leftovers != null) leftovers.accept(buffer.array(), n);
                source.configureBlocking(true);
                new Drain(source, leftovers).start();
            } catch (IOException e) {
                log(WARN, null, "closing the handler's pipe failed: ", e.toString());
            }
        }
    }

    /** Drains a pipe that leftover processes still hold, until the last of them is gone. */
    static final class Drain extends Thread {
        private final Pipe.SourceChannel source;
        private final Sink sink;

        Drain(Pipe.SourceChannel source, Sink sink) {
            super(concat(RUNTIME_NAME, "-leftovers"));
            setDaemon(true);
            this.source = source;
            this.sink = sink;
        }

        @Override
        public void run() {
            ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
            try (Pipe.SourceChannel in = source) {
                for (int n; (n = in.read(buffer.clear())) >= 0;) {
                    if (sink != null) sink.accept(buffer.array(), n);
                }
            } catch (IOException e) {
                // The runtime is ending.
            }
        }
    }

    /** What the shell reported: the handler started, the command ended with a status, or the shell exited. */
    record Report(char kind, int status, List<byte[]> stderrTail) {
        static final char STARTED = 's';
        static final char END = 'e';
        static final char EXIT = 'x';
    }

    /**
     * Copies the shell's own output (what it prints outside a handler call, such as while loading file.sh) to the
     * function's log and hears its reports. After the supervisor's exit report it stops reading: what a leftover
     * process writes to the old shell's output then belongs to no invocation.
     */
    static final class LogPump extends Thread {
        private final Process process;
        final LogLines lines;

        LogPump(Process process, String token, BlockingQueue<Report> reports) {
            super(concat(RUNTIME_NAME, "-log-pump"));
            setDaemon(true);
            this.process = process;
            this.lines = new LogLines(token, reports, null);
        }

        @Override
        public void run() {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = process.getInputStream()) {
                for (int n; !lines.exited && (n = in.read(buffer)) > 0;) lines.accept(buffer, n);
            } catch (IOException e) {
                // The pipe broke: the same as its end.
            }
            if (lines.exited) return;
            lines.flush();
            int status = -1;
            try {
                status = process.waitFor(1, TimeUnit.SECONDS) ? process.exitValue() : -1;
            } catch (InterruptedException e) {
                // Report the end without a status.
            }
            lines.reports.add(new Report(Report.EXIT, status, lines.takeTail()));
        }
    }

    /**
     * Lines of output for the function's log: each line to stderr (a JSON object with the request id in JSON format),
     * the last ones kept for an error report. With a token, the shell's report lines become Reports instead.
     */
    static final class LogLines implements Sink {
        private static final int MAX_LINE = 64 * 1024;
        private final String token;
        final BlockingQueue<Report> reports;
        private final String requestId;
        private final ArrayDeque<byte[]> tail = new ArrayDeque<>();
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        volatile boolean exited;

        LogLines(String token, BlockingQueue<Report> reports, String requestId) {
            this.token = token;
            this.reports = reports;
            this.requestId = requestId;
        }

        @Override
        public void accept(byte[] buffer, int n) {
            int start = 0;
            for (int i = 0; i < n && !exited; i++) {
                if (buffer[i] == '\n') {
                    line.write(buffer, start, i - start);
                    start = i + 1;
                    endLine();
                }
            }
            if (exited) return;
            line.write(buffer, start, n - start);
            if (line.size() > MAX_LINE) {
                // Pass a very long line on in pieces, keeping a little in case a report straddles the cut.
                byte[] bytes = line.toByteArray();
                int keep = token == null ? 0 : token.length() + 32;
                logLine(bytes, bytes.length - keep);
                line.reset();
                line.write(bytes, bytes.length - keep, keep);
            }
        }

        void flush() {
            if (line.size() > 0) logLine(line.toByteArray(), line.size());
            line.reset();
        }

        private void endLine() {
            byte[] bytes = line.toByteArray();
            line.reset();
            String text = token == null ? null : new String(bytes, StandardCharsets.ISO_8859_1);
            int at = text == null ? -1 : text.lastIndexOf(token);
            Report report = at < 0 ? null : parseReport(text.substring(at + token.length()));
            if (report == null) {
                logLine(bytes, bytes.length);
                return;
            }
            if (at > 0) logLine(bytes, at); // the last line before the report had no newline
            reports.add(new Report(report.kind(), report.status(), report.kind() == Report.STARTED ? List.of() : takeTail()));
            exited = report.kind() == Report.EXIT;
        }

        /** " started", " end STATUS" or " exit STATUS" after the token, else null. */
        static Report parseReport(String rest) {
            if (rest.equals(" started")) return new Report(Report.STARTED, 0, List.of());
            char kind = rest.startsWith(" end ") ? Report.END : rest.startsWith(" exit ") ? Report.EXIT : 0;
            long status = kind == 0 ? -1 : parseDecimal(rest.substring(kind == Report.END ? 5 : 6), 9);
            return status < 0 ? null : new Report(kind, (int) status, List.of());
        }

        private void logLine(byte[] bytes, int length) {
            if (JSON_LOGS) {
                System.err.println(handlerJsonLine(new String(bytes, 0, length, StandardCharsets.UTF_8), requestId, System.currentTimeMillis()));
            } else {
                byte[] out = new byte[length + 1];
                System.arraycopy(bytes, 0, out, 0, length);
                out[length] = '\n';
                System.err.write(out, 0, out.length);
                System.err.flush();
            }
            synchronized (tail) {
                if (tail.size() == STDERR_TAIL_LINES) tail.removeFirst();
                tail.addLast(java.util.Arrays.copyOf(bytes, Math.min(length, STDERR_TAIL_LINE_BYTES)));
            }
        }

        List<byte[]> takeTail() {
            synchronized (tail) {
                List<byte[]> lines = new ArrayList<>(tail);
                tail.clear();
                return lines;
            }
        }
    }

    /** How one call into the shell ended: whether the handler started, the status, and the shell's own end. */
    record HandlerResult(boolean started, boolean shellExited, int status, boolean deadlinePassed, List<byte[]> stderrTail) {
        boolean succeeded() {
            return !shellExited && status == 0;
        }

        List<String> lines() {
            List<String> lines = new ArrayList<>();
            for (byte[] line : stderrTail) {
                String text = new String(line, StandardCharsets.UTF_8).stripTrailing();
                if (!text.isEmpty()) lines.add(text);
            }
            return lines;
        }

        String describeLoadFailure(Handler handler) {
            String file = handler.file().toString();
            List<String> lines = lines();
            for (String line : lines) {
                if (line.toLowerCase(Locale.ROOT).contains("syntax error")) {
                    return line.contains(file) ? line.strip() : concat(file, ": ", line.strip());
                }
            }
            String last = lines.isEmpty() ? "" : concat(": ", lines.get(lines.size() - 1).strip());
            return shellExited
                    ? concat("the shell exited with status ", Integer.toString(status), " while loading ", file, last)
                    : concat("loading ", file, " returned status ", Integer.toString(status),
                            " (the status of its last command: end the file with `true` if that failure is intended)", last);
        }

        String describeFailure(Handler handler) {
            String status = Integer.toString(this.status);
            if (deadlinePassed) {
                return concat(handler.describe(), " was still running at the invocation's deadline; it and every process it started were stopped");
            }
            if (!shellExited) return concat(handler.describe(), " returned status ", status);
            return handler.functionMode()
                    ? concat(handler.describe(), " ended its shell with status ", status,
                            " (it called exit, or set -e or set -u stopped it); the file is loaded again for the next invocation")
                    : concat("the shell running ", handler.describe(), " ended with status ", status);
        }

        /**
         * The documented rule, as for an exception: the last stderr line that reads "Type: message" (at the start of
         * the line) gives the type and the message, and the lines after it are the stack trace. Without one, the type is
         * HandlerFailed and the message the last line (or, with no stderr at all, what happened), and the stack trace
         * is the last lines. Either way the stack trace ends with what happened.
         */
        ErrorReport errorReport(Handler handler) {
            String what = describeFailure(handler);
            List<String> lines = lines();
            if (deadlinePassed) {
                lines.add(what);
                return new ErrorReport("Sandbox.Timedout", what, lines);
            }
            for (int i = lines.size() - 1; i >= 0; i--) {
                String line = lines.get(i);
                int colon = line.indexOf(": ");
                if (colon > 0 && isErrorTypeName(line.substring(0, colon))) {
                    List<String> stackTrace = new ArrayList<>(lines.subList(i + 1, lines.size()));
                    stackTrace.add(what);
                    return new ErrorReport(line.substring(0, colon), line.substring(colon + 2).strip(), stackTrace);
                }
            }
            String message = lines.isEmpty() ? what : lines.get(lines.size() - 1).strip();
            lines.add(what);
            return new ErrorReport("HandlerFailed", message, lines);
        }

        static boolean isErrorTypeName(String name) {
            if (name.length() > 128 || !Character.isLetter(name.charAt(0))) return false;
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '.' || isAsciiLetterOrDigit(c))) return false;
            }
            return true;
        }
    }

    /**
     * A streamed response: forwards the handler's stdout in HTTP chunks as it comes, starting the POST at the first
     * byte so that a handler failing before any output can still use /error.
     */
    static final class ResponseStream {
        /** API Gateway wants the HTTP-integration prelude within the first 16 KB. */
        private static final int PRELUDE_LIMIT = 16 * 1024;
        private final RuntimeApi api;
        private final String requestId;
        private final ByteArrayOutputStream undecided = new ByteArrayOutputStream();
        private Socket socket;
        private OutputStream out;
        private IOException failure;

        ResponseStream(RuntimeApi api, String requestId) {
            this.api = api;
            this.requestId = requestId;
        }

        /** Holds back the start of the output until it is clear whether it opens with the HTTP-integration prelude. */
        void forward(byte[] buffer, int n) {
            if (out == null && failure == null) {
                undecided.write(buffer, 0, n);
                int prelude = preludeLength(undecided.toByteArray());
                if (prelude != 0) {
                    startPost(prelude > 0);
                    writeChunk(undecided.toByteArray(), undecided.size());
                }
                return;
            }
            writeChunk(buffer, n);
        }

        /**
         * Positive when the bytes open with a JSON object followed by 8 NUL bytes, negative when they cannot, zero
         * while more bytes are needed to tell.
         */
        static int preludeLength(byte[] bytes) {
            if (bytes.length == 0) return 0;
            if (bytes[0] != '{') return -1;
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
                        if (j == bytes.length) return bytes.length > PRELUDE_LIMIT ? -1 : 0;
                        if (bytes[j] != 0) return -1;
                    }
                    return i + 9;
                }
            }
            return bytes.length > PRELUDE_LIMIT ? -1 : 0;
        }

        private void startPost(boolean httpIntegration) {
            try {
                socket = api.connect();
                out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024 + 16);
                StringBuilder head = api.requestHead("POST", concat(API_BASE, "invocation/", pathSegment(requestId), "/response"));
                head.append(HEADER_RESPONSE_MODE).append(": streaming\r\nTransfer-Encoding: chunked\r\nTrailer: ")
                        .append(HEADER_ERROR_TYPE).append(", ").append(HEADER_ERROR_BODY).append("\r\nConnection: close\r\n");
                if (httpIntegration) head.append("Content-Type: ").append(HTTP_INTEGRATION_CONTENT_TYPE).append("\r\n");
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                failure = e;
            }
        }

        private void writeChunk(byte[] bytes, int length) {
            if (failure != null || length == 0) {
                return; // keep draining the pipe so the handler never blocks on a dead stream
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

        /** After the handler returned and its output was read: end the stream, with error trailers on failure. */
        void finish(ErrorReport error) {
            if (out == null && failure == null && undecided.size() > 0) {
                startPost(preludeLength(undecided.toByteArray()) > 0);
                writeChunk(undecided.toByteArray(), undecided.size());
            }
            if (out == null && failure == null) {
                // Nothing was written: an ordinary answer, so a failure before the first byte still uses /error.
                if (error == null) {
                    api.postResponse(requestId, new Bytes());
                } else {
                    api.postError(requestId, error);
                }
                return;
            }
            try (Socket closing = socket) {
                if (failure != null) throw failure;
                StringBuilder end = new StringBuilder("0\r\n");
                if (error != null) {
                    end.append(HEADER_ERROR_TYPE).append(": ").append(error.headerType()).append("\r\n")
                            .append(HEADER_ERROR_BODY).append(": ").append(Base64.getEncoder().encodeToString(error.json())).append("\r\n");
                }
                out.write(end.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                api.checkAnswer(requestId, concat("streamed response ", requestId), readReply(new BufferedInputStream(closing.getInputStream())), -1);
            } catch (IOException e) {
                log(ERROR, requestId, "streaming the response of ", requestId, " failed: ", e.toString());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The Runtime API

    /**
     * One invocation as /next delivered it. Header names are kept lower-case (HTTP header names are case-insensitive).
     * A problem is set when the invocation cannot be given to the handler (it is answered with an error).
     */
    record Invocation(String requestId, Map<String, String> headers, byte[] event, String problem) {
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
            for (int i = 0; i < stackTrace.size(); i++) appendJsonString(i > 0 ? json.append(',') : json, stackTrace.get(i));
            return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        }

        /** The Category.Reason form the platform keeps (it turns other values into Runtime.Unknown). */
        String headerType() {
            if (type.startsWith("Runtime.") || type.startsWith("Function.") || type.startsWith("Sandbox.")) return type;
            for (int i = 0; i < type.length(); i++) {
                char c = type.charAt(i);
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return "Function.HandlerFailed";
            }
            return Character.isUpperCase(type.charAt(0)) ? concat("Function.", type) : "Function.HandlerFailed";
        }
    }

    /**
     * The Runtime API client of one worker: plain HTTP/1.1 on one kept-alive connection. Before each request it checks
     * that the connection has not been closed by the other side (as across a long freeze), and if so opens a new one:
     * nothing was sent on the dead one, so nothing is lost or repeated.
     */
    static final class RuntimeApi {
        private final String host;
        private final int port;
        private SocketChannel channel;
        private InputStream in;
        private OutputStream out;

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
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            if (host.isEmpty() || port < 1 || port > 65535) {
                throw new FatalError(concat("AWS_LAMBDA_RUNTIME_API='", address, "' is not host:port"));
            }
            return new RuntimeApi(host, port);
        }

        /**
         * GET /next, with no read timeout: the environment may be frozen inside this call for any length of time. Once an
         * answer has begun, an invocation may have been handed out, so /next is never asked again before it is answered.
         */
        Invocation nextInvocation() {
            HttpReply reply = null;
            for (int attempt = 0; reply == null; attempt++) {
                try {
                    reply = exchange(requestHead("GET", concat(API_BASE, "invocation/next")), null);
                } catch (ReplyBroken e) {
                    throw new FatalError(concat("GET /next: the answer broke off (", e.getMessage(),
                            "); exiting, so that Lambda fails the invocation it may have handed out instead of losing it"));
                } catch (IOException e) {
                    if (attempt == NEXT_RETRY_DELAYS_MS.length) {
                        throw new FatalError(concat("GET /next failed ", Integer.toString(attempt + 1), " times: ", e.toString()));
                    }
                    log(WARN, null, "GET /next failed (", e.toString(), "); retrying");
                    try {
                        Thread.sleep(NEXT_RETRY_DELAYS_MS[attempt]);
                    } catch (InterruptedException interrupted) {
                        throw new FatalError("interrupted while retrying GET /next");
                    }
                }
            }
            if (reply.status() != 200) throw new FatalError(concat("GET /next answered ", reply.describe()));
            String requestId = reply.headers().get(HEADER_REQUEST_ID.toLowerCase(Locale.ROOT));
            if (requestId == null || requestId.isEmpty()) {
                throw new FatalError(concat("GET /next answered without a ", HEADER_REQUEST_ID, " header"));
            }
            return new Invocation(requestId, reply.headers(), reply.body(), reply.problem());
        }

        void postResponse(String requestId, Bytes body) {
            post(requestId, concat(API_BASE, "invocation/", pathSegment(requestId), "/response"), null, body.array(), body.size());
        }

        void postError(String requestId, ErrorReport report) {
            byte[] json = report.json();
            post(requestId, concat(API_BASE, "invocation/", pathSegment(requestId), "/error"), report.headerType(), json, json.length);
        }

        void postInitError(ErrorReport report) {
            byte[] json = report.json();
            post(null, concat(API_BASE, "init/error"), report.headerType(), json, json.length);
        }

        private void post(String requestId, String path, String errorType, byte[] body, int length) {
            StringBuilder head = requestHead("POST", path);
            if (errorType != null) {
                head.append(HEADER_ERROR_TYPE).append(": ").append(errorType).append("\r\nContent-Type: ").append(ERROR_CONTENT_TYPE).append("\r\n");
            }
            head.append("Content-Length: ").append(length).append("\r\n");
            try {
                checkAnswer(requestId, concat("POST ", path), exchange(head, body, length), length);
            } catch (IOException e) {
                // The answer may or may not have arrived; the next /next tells whether the API is still there.
                log(ERROR, requestId, "POST ", path, " failed: ", e.toString());
            }
        }

        /** The Runtime API's status table (docs/runtime-api.md) for answers: only 5xx means the API is broken. */
        void checkAnswer(String requestId, String what, HttpReply reply, long length) {
            int status = reply.status();
            if (status == 202) return;
            if (status == 413) {
                log(ERROR, requestId, what, ": the response (", Long.toString(length),
                        " bytes) is larger than Lambda accepts; Lambda has failed the invocation with Function.ResponseSizeTooLarge");
            } else if (status >= 500) {
                throw new FatalError(concat(what, " answered ", reply.describe()));
            } else {
                log(ERROR, requestId, what, " answered ", reply.describe());
            }
        }

        private HttpReply exchange(StringBuilder head, byte[] body) throws IOException {
            return exchange(head, body, body == null ? 0 : body.length);
        }

        private HttpReply exchange(StringBuilder head, byte[] body, int length) throws IOException {
            if (channel != null && !stillOpen()) disconnect();
            if (channel == null) {
                channel = SocketChannel.open(new InetSocketAddress(host, port));
                channel.socket().setTcpNoDelay(true);
                in = new BufferedInputStream(Channels.newInputStream(channel));
                out = new BufferedOutputStream(Channels.newOutputStream(channel), 8192);
            }
            try {
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                if (length > 0) out.write(body, 0, length);
                out.flush();
            } catch (IOException e) {
                // The API may refuse a body part-way (413) and close; its answer can still be read.
            }
            try {
                HttpReply reply = readReply(in);
                if ("close".equalsIgnoreCase(reply.headers().get("connection"))) disconnect();
                return reply;
            } catch (IOException e) {
                disconnect();
                throw e;
            }
        }

        /** A non-blocking read: -1 means the other side closed the connection; anything read would be out of turn. */
        private boolean stillOpen() {
            try {
                channel.configureBlocking(false);
                int n = channel.read(ByteBuffer.allocate(1));
                channel.configureBlocking(true);
                return n == 0;
            } catch (IOException e) {
                return false;
            }
        }

        private void disconnect() {
            try {
                channel.close();
            } catch (IOException e) {
                // Closing a connection we no longer use.
            }
            channel = null;
        }

        /** A connection of its own, for a streamed response (closed when the stream ends). */
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

        StringBuilder requestHead(String method, String path) {
            String hostName = host.indexOf(':') >= 0 ? concat("[", host, "]") : host;
            return new StringBuilder(256).append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(hostName).append(':')
                    .append(port).append("\r\nUser-Agent: ").append(RUNTIME_NAME).append('/').append(RUNTIME_VERSION).append("\r\n");
        }
    }

    /** An HTTP response: status, headers with lower-case names, body, and what was wrong with its header block, if anything. */
    record HttpReply(int status, Map<String, String> headers, byte[] body, String problem) {
        String describe() {
            String text = new String(body, 0, Math.min(body.length, 512), StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? Integer.toString(status) : concat(Integer.toString(status), " ", text);
        }
    }

    /** The connection broke after an answer began: whatever it carried may already count as delivered. */
    static final class ReplyBroken extends IOException {
        ReplyBroken(String message) {
            super(message, null);
        }
    }

    /**
     * Reads one HTTP/1.1 response: status line, headers, then a Content-Length, chunked, or read-to-close body. A header
     * line or block over the limits is read to its end and named in problem, so that the answer is still complete.
     */
    static HttpReply readReply(InputStream in) throws IOException {
        String statusLine = readLine(in, MAX_HEADER_LINE);
        int status = statusLine.startsWith("HTTP/1.") && statusLine.length() >= 12 && statusLine.charAt(8) == ' '
                ? (int) parseDecimal(statusLine.substring(9, 12), 3) : -1;
        if (status < 100) {
            throw new IOException(concat("not an HTTP/1.x status line: ", statusLine.substring(0, Math.min(statusLine.length(), 200))));
        }
        try {
            Map<String, String> headers = new HashMap<>();
            long headerBytes = 0;
            String problem = null;
            for (String line = readLine(in, MAX_HEADER_LINE); !line.isEmpty(); line = readLine(in, MAX_HEADER_LINE)) {
                headerBytes += line.length();
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException(concat("malformed header: ", line.substring(0, Math.min(line.length(), 200))));
                }
                String name = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                if (line.length() > MAX_HEADER_LINE || headerBytes > MAX_HEADER_BLOCK) {
                    problem = concat("the Runtime API sent header ", name, " over the runtime's limits (", Integer.toString(MAX_HEADER_LINE),
                            " bytes a header, ", Integer.toString(MAX_HEADER_BLOCK), " in all): it cannot reach the handler as an environment variable");
                    if (line.length() > MAX_HEADER_LINE) continue;
                }
                headers.put(name, line.substring(colon + 1).strip());
            }
            String transferEncoding = headers.get("transfer-encoding");
            String contentLength = headers.get("content-length");
            if (transferEncoding != null && transferEncoding.toLowerCase(Locale.ROOT).contains("chunked")) {
                return new HttpReply(status, headers, readChunked(in), problem);
            }
            if (contentLength != null) {
                long length = parseDecimal(contentLength, 10);
                byte[] body = length < 0 || length > Integer.MAX_VALUE - 16 ? null : in.readNBytes((int) length);
                if (body == null || body.length != length) {
                    throw new IOException(concat("body shorter than its Content-Length: ", contentLength));
                }
                return new HttpReply(status, headers, body, problem);
            }
            return new HttpReply(status, headers, status == 204 || status == 304 || status < 200 ? new byte[0] : in.readAllBytes(), problem);
        } catch (IOException e) {
            throw new ReplyBroken(e.getMessage());
        }
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (;;) {
            String sizeLine = readLine(in, 1024);
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
            if (size == 0) break;
            byte[] chunk = in.readNBytes((int) size);
            if (chunk.length != size || !readLine(in, 2).isEmpty()) throw new IOException("truncated or malformed chunk");
            body.writeBytes(chunk);
        }
        while (!readLine(in, MAX_HEADER_LINE).isEmpty()) {
            // Trailers of a response carry nothing the runtime needs.
        }
        return body.toByteArray();
    }

    /**
     * Reads a CRLF- (or LF-) terminated line as ISO-8859-1, so header bytes pass through unchanged. A line longer than
     * limit is read to its end but returned cut at limit + 1 characters, so the caller can tell.
     */
    static String readLine(InputStream in, int limit) throws IOException {
        StringBuilder line = new StringBuilder();
        for (;;) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed before the end of the response");
            if (b == '\n') {
                int last = line.length() - 1;
                return last >= 0 && last < limit && line.charAt(last) == '\r' ? line.substring(0, last) : line.toString();
            }
            if (line.length() <= limit) line.append((char) b);
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
        if (text == null || text.isEmpty() || text.length() > maxDigits) return -1;
        long value = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') return -1;
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

    /** Single-quotes a word for the shell. Only paths and names fixed at deployment pass through here. */
    static String shellQuote(String word) {
        return concat("'", word.replace("'", "'\\''"), "'");
    }

    /** shellQuote of the word's UTF-8 bytes as Latin-1 chars: commands are written as bytes, header values as they came. */
    static String quote(String word) {
        return shellQuote(new String(word.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
    }

    /** With Sampled=1 and a daemon configured, one line per invocation, as the shell runtimes people migrate from print. */
    static void logXraySegment(Invocation invocation, long startMillis, long endMillis, boolean fault) {
        String trace = invocation.header(HEADER_TRACE_ID);
        String root = traceField(trace, "Root");
        if (root == null || !"1".equals(traceField(trace, "Sampled"))) return;
        String parent = traceField(trace, "Parent");
        String name = System.getenv("AWS_LAMBDA_FUNCTION_NAME");
        StringBuilder json = new StringBuilder("X-Ray segment: {\"name\":");
        appendJsonString(json, name == null ? RUNTIME_NAME : name).append(",\"id\":\"").append(hex(ThreadLocalRandom.current().nextLong(), 16));
        appendJsonString(json.append("\",\"trace_id\":"), root);
        if (parent != null) appendJsonString(json.append(",\"parent_id\":"), parent);
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
        if (trace == null) return null;
        for (String part : trace.split(";")) {
            int equals = part.indexOf('=');
            if (equals > 0 && part.substring(0, equals).strip().equals(key)) return part.substring(equals + 1).strip();
        }
        return null;
    }

    static String concat(String... parts) {
        StringBuilder out = new StringBuilder();
        for (String part : parts) out.append(part);
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Logging

    static int logLevel(String name, int fallback) {
        for (int i = 0; i < LOG_LEVELS.length; i++) {
            if (LOG_LEVELS[i].equalsIgnoreCase(name)) return i;
        }
        return fallback;
    }

    /**
     * The runtime's own log lines, on stderr: "java-shell-runtime: message" in Text format; with JSON logging one
     * object per line, as Lambda's advanced logging controls expect. AWS_LAMBDA_LOG_LEVEL filters both.
     */
    static void log(int level, String requestId, String... parts) {
        if (level < LOG_LEVEL) return;
        String message = concat(parts);
        if (!JSON_LOGS) {
            System.err.println(concat(RUNTIME_NAME, ": ", message));
            return;
        }
        StringBuilder json = new StringBuilder("{\"timestamp\":\"").append(timestamp(System.currentTimeMillis()))
                .append("\",\"level\":\"").append(LOG_LEVELS[level]).append('"');
        if (requestId != null) appendJsonString(json.append(",\"requestId\":"), requestId);
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
            if (requestId == null || hasRequestId[0]) return trimmed;
            String rest = trimmed.substring(1).strip();
            return appendJsonString(new StringBuilder("{\"requestId\":"), requestId).append(rest.equals("}") ? "" : ",").append(rest).toString();
        }
        StringBuilder json = new StringBuilder("{\"timestamp\":\"").append(timestamp(millis)).append("\",\"level\":\"INFO\"");
        if (requestId != null) appendJsonString(json.append(",\"requestId\":"), requestId);
        return appendJsonString(json.append(",\"message\":"), line).append('}').toString();
    }

    /**
     * The index just past the JSON value that starts at i (after white space), or -1 when there is none; sets
     * hasRequestId[0] when that value is an object with a "requestId" member (pass null for nested values).
     */
    static int skipJsonValue(String s, int i, boolean[] hasRequestId) {
        i = skipJsonSpace(s, i);
        if (i >= s.length()) return -1;
        char c = s.charAt(i);
        if (c == '"') return skipJsonString(s, i);
        if (c != '{' && c != '[') {
            int end = i;
            while (end < s.length() && "+-.0123456789eEtrufalsn".indexOf(s.charAt(end)) >= 0) end++;
            String word = s.substring(i, end);
            return word.matches("true|false|null|-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?") ? end : -1;
        }
        char close = c == '{' ? '}' : ']';
        i = skipJsonSpace(s, i + 1);
        if (i < s.length() && s.charAt(i) == close) return i + 1;
        for (;;) {
            if (close == '}') {
                int keyEnd = skipJsonString(s, i);
                if (keyEnd < 0) return -1;
                if (hasRequestId != null && s.substring(i, keyEnd).equals("\"requestId\"")) hasRequestId[0] = true;
                i = skipJsonSpace(s, keyEnd);
                if (i >= s.length() || s.charAt(i) != ':') return -1;
                i++;
            }
            i = skipJsonValue(s, i, null);
            i = i < 0 ? -1 : skipJsonSpace(s, i);
            if (i < 0 || i >= s.length() || (s.charAt(i) != ',' && s.charAt(i) != close)) return -1;
            if (s.charAt(i) == close) return i + 1;
            i = skipJsonSpace(s, i + 1);
        }
    }

    private static int skipJsonString(String s, int i) {
        if (i >= s.length() || s.charAt(i) != '"') return -1;
        for (i++; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') return i + 1;
            if (c < 0x20) return -1;
            if (c == '\\') {
                i++;
                if (i >= s.length() || "\"\\/bfnrtu".indexOf(s.charAt(i)) < 0) return -1;
                if (s.charAt(i) == 'u') {
                    if (i + 4 >= s.length()) return -1;
                    for (int k = 1; k <= 4; k++) {
                        if (Character.digit(s.charAt(i + k), 16) < 0) return -1;
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

    /** RFC 3339 in UTC with milliseconds, e.g. 2026-11-22T17:10:15.042Z. */
    static String timestamp(long millis) {
        return String.format(Locale.ROOT, "%tFT%<tT.%<tLZ", OffsetDateTime.ofInstant(java.time.Instant.ofEpochMilli(millis), ZoneOffset.UTC));
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
