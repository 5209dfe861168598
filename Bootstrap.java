/*
 * java-shell-runtime: an AWS Lambda custom runtime that runs shell handlers. The whole runtime is this file.
 *
 * How to read it: main() wires the parts together. A Worker runs the Lambda loop: get the next invocation from
 * the Runtime API, hand it to the user's shell, post the answer. RuntimeApi speaks HTTP/1.1 on a plain socket.
 * HandlerShell owns the shell that runs the handler and the pump that carries its logs. The rest are small value
 * types and helpers: error JSON, shell quoting, logging.
 *
 * Design choices a reviewer will ask about:
 * - Plain sockets, not java.net.http: its first request costs ~350 ms of cold start, and no JDK client can send
 *   the HTTP trailers that streamed errors need (docs/runtime.md has the measurements).
 * - One long-lived shell per worker, fed commands on its stdin. The event, the response and the per-invocation
 *   header values travel through files in a private directory, so header values are read with `read -r` and never
 *   parsed as shell code, and no size or order of handler I/O can block the runtime.
 * - A tiny bash supervisor runs that shell in its own process group and kills what the handler left behind when
 *   the shell exits, so a stray background process cannot hold the log pipe open forever.
 * - No lambdas, no string concatenation with `+` and no pattern switches: each costs an invokedynamic bootstrap
 *   at first use in a class the AOT cache cannot hold, and cold start is this project's hardest number.
 */

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;

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
    static final String ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json";

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

    /** The handler's last stderr lines kept for the error report; older lines are only in the logs. */
    static final int STDERR_TAIL_LINES = 20;
    static final int STDERR_TAIL_LINE_BYTES = 1024;
    /** Retries of /next when the connection is refused or dropped (aws-lambda-cpp also retries a few times). */
    static final long[] NEXT_RETRY_DELAYS_MS = {10, 100, 1000};

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        RuntimeApi api;
        try {
            api = RuntimeApi.fromAddress(env.get("AWS_LAMBDA_RUNTIME_API"));
        } catch (FatalError e) {
            log("cannot start: ", e.getMessage());
            System.exit(1);
            return;
        }
        try {
            HandlerShell shell = initHandler(api, env);
            new Worker(api, shell, env.get("AWS_XRAY_DAEMON_ADDRESS") != null).run();
        } catch (FatalError e) {
            log("stopping: ", e.getMessage());
            System.exit(1);
        }
    }

    /** Loads the handler before the first /next, reporting any failure through /init/error. */
    static HandlerShell initHandler(RuntimeApi api, Map<String, String> env) {
        try {
            Handler handler = Handler.fromEnvironment(env.get("_HANDLER"), env.get("LAMBDA_TASK_ROOT"));
            return HandlerShell.start(handler);
        } catch (InitError e) {
            log("init failed: ", e.type, ": ", e.getMessage());
            api.postInitError(new ErrorReport(e.type, e.getMessage(), List.of()));
            throw new FatalError("the handler could not be initialised");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The Lambda loop

    /** One loop of next -> handler -> answer. Everything it touches is its own or read-only after init. */
    static final class Worker implements Runnable {
        private final RuntimeApi api;
        private final HandlerShell shell;
        private final boolean xray;

        Worker(RuntimeApi api, HandlerShell shell, boolean xray) {
            this.api = api;
            this.shell = shell;
            this.xray = xray;
        }

        @Override
        public void run() {
            for (;;) {
                Invocation invocation = api.nextInvocation();
                long startMillis = System.currentTimeMillis();
                HandlerResult result = shell.invoke(invocation);
                if (result.succeeded()) {
                    api.postResponse(invocation.requestId(), shell.responseFile());
                } else {
                    ErrorReport report = result.errorReport(shell.handler());
                    log("invocation ", invocation.requestId(), " failed: ", report.type(), ": ", report.message());
                    api.postError(invocation.requestId(), report);
                }
                shell.discardResponse();
                if (xray) {
                    logXraySegment(invocation, startMillis, System.currentTimeMillis(), !result.succeeded());
                }
                if (result.shellExited()) {
                    shell.restart();
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The handler

    /** What _HANDLER names: a shell function in file.sh (function mode) or a file run per invocation (file mode). */
    record Handler(Path taskRoot, Path file, String function) {
        boolean functionMode() {
            return function != null;
        }

        String describe() {
            return functionMode() ? concat("function '", function, "' of ", file.toString()) : file.toString();
        }

        static Handler fromEnvironment(String handler, String taskRootVariable) {
            Path taskRoot = Path.of(taskRootVariable == null || taskRootVariable.isEmpty() ? "/var/task" : taskRootVariable);
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
            if (!Files.exists(file)) {
                throw new InitError("Runtime.HandlerNotFound", concat(file.toString(), " does not exist"));
            }
            if (!Files.isRegularFile(file)) {
                throw new InitError("Runtime.HandlerNotFound", concat(file.toString(), " is not a regular file"));
            }
            if (!Files.isReadable(file)) {
                throw new InitError("Runtime.HandlerNotFound", concat(file.toString(), " is not readable"));
            }
            return file;
        }

        private static boolean isShellName(String name) {
            if (name.isEmpty() || Character.isDigit(name.charAt(0)) || name.charAt(0) == '-') {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * The shell that runs the handler, and the files it exchanges with the runtime.
     *
     * In function mode the shell is the one file.sh's shebang names (else bash): it sources file.sh once and then
     * calls the function once per invocation, so the function's variables persist. In file mode it is /bin/sh and
     * runs the file as a child per invocation. Either way the runtime writes one short command per invocation to
     * the shell's stdin and the shell ends it by printing a marker line carrying the handler's exit status.
     */
    static final class HandlerShell {
        /** Runs the shell as a job in its own process group; when the shell ends, kills whatever is left in it. */
        private static final String SUPERVISOR =
                "set -m; \"$@\" & exec 2>/dev/null; wait \"$!\"; s=$?; kill -KILL -- \"-$!\"; exit \"$s\"";

        private final Handler handler;
        private final Path directory;
        private final Path eventFile;
        private final Path contextFile;
        private final Path responseFile;
        private final String marker;
        private Process process;
        private OutputStream commands;
        private BlockingQueue<HandlerResult> results;
        private int sequence;

        private HandlerShell(Handler handler, Path directory) {
            this.handler = handler;
            this.directory = directory;
            this.eventFile = directory.resolve("event");
            this.contextFile = directory.resolve("context");
            this.responseFile = directory.resolve("response");
            this.marker = concat(RUNTIME_NAME, "-", Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62));
        }

        static HandlerShell start(Handler handler) {
            Path directory;
            try {
                // createTempDirectory makes it mode 700: the event and the response are nobody else's business.
                directory = Files.createTempDirectory(concat(RUNTIME_NAME, "."));
            } catch (IOException e) {
                throw new InitError("Runtime.TmpUnavailable", concat("cannot create a private directory in /tmp: ", e.getMessage()));
            }
            HandlerShell shell = new HandlerShell(handler, directory);
            shell.load();
            return shell;
        }

        Handler handler() {
            return handler;
        }

        Path responseFile() {
            return responseFile;
        }

        /** After a shell exit (the handler called exit, or set -e/-u stopped it): a fresh shell, file.sh loaded again. */
        void restart() {
            log("loading ", handler.file().toString(), " again in a new shell (the previous one exited)");
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
            try {
                process = builder.start();
            } catch (IOException e) {
                throw new InitError("Runtime.HandlerLoadError", concat("cannot start ", String.join(" ", command.subList(4, command.size())), ": ", e.getMessage()));
            }
            commands = process.getOutputStream();
            results = new LinkedBlockingQueue<>();
            LogPump pump = new LogPump(process, marker, results);
            pump.setDaemon(true);
            pump.start();
            if (!handler.functionMode()) {
                return;
            }
            String function = shellQuote(handler.function());
            HandlerResult loaded = run(concat(". ", shellQuote(handler.file().toString()), " </dev/null\n"));
            if (loaded.shellExited() || loaded.status() != 0) {
                kill();
                throw new InitError("Runtime.HandlerLoadError", concat(loaded.describeLoadFailure(handler), loaded.lastStderrLineSuffix()));
            }
            HandlerResult defined = run(concat("case $(command -V ", function,
                    " 2>/dev/null) in *' is a function'*|*' is a shell function'*) ;; *) false ;; esac\n"));
            if (defined.shellExited() || defined.status() != 0) {
                kill();
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
            int space = indexOfWhitespace(line);
            return space < 0 ? List.of(line) : List.of(line.substring(0, space), line.substring(space + 1).strip());
        }

        /** Runs one invocation: event in, status and stderr tail out; the response is left in responseFile. */
        HandlerResult invoke(Invocation invocation) {
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
            try {
                writeNewFile(eventFile, invocation.event());
                writeNewFile(contextFile, values.toByteArray());
                Files.deleteIfExists(responseFile);
            } catch (IOException e) {
                throw new FatalError(concat("cannot write the event to ", directory.toString(), ": ", e.getMessage()));
            }
            StringBuilder script = new StringBuilder();
            if (!absent.isEmpty()) {
                script.append("unset -v ").append(String.join(" ", absent)).append('\n');
            }
            // Header values are data: the shell reads them with `read -r`, it never parses them as code.
            script.append('{');
            for (String name : present) {
                script.append(" IFS= read -r ").append(name).append(';');
            }
            script.append(" } <").append(shellQuote(contextFile.toString())).append('\n');
            script.append("export ").append(String.join(" ", present)).append('\n');
            String redirections = concat(" <", shellQuote(eventFile.toString()), " >", shellQuote(responseFile.toString()));
            if (handler.functionMode()) {
                // The function may have changed directory last time; each invocation starts in the task root.
                script.append("cd -P -- ").append(shellQuote(handler.taskRoot().toString())).append(" && ")
                        .append(shellQuote(handler.function())).append(redirections).append('\n');
            } else if (Files.isExecutable(handler.file())) {
                script.append(shellQuote(handler.file().toString())).append(redirections).append('\n');
            } else {
                script.append("/bin/sh ").append(shellQuote(handler.file().toString())).append(redirections).append('\n');
            }
            return run(script.toString());
        }

        /** Sends one command, then the marker line, and waits for the pump to see that marker (or the shell's end). */
        private HandlerResult run(String command) {
            sequence++;
            String script = concat(command, "printf '%s %s\\n' '", marker, "-", Integer.toString(sequence), "' \"$?\"\n");
            try {
                commands.write(script.getBytes(StandardCharsets.UTF_8));
                commands.flush();
            } catch (IOException e) {
                // The shell is gone; the pump reports how it ended.
            }
            try {
                for (;;) {
                    HandlerResult result = results.take();
                    if (result.shellExited() || result.sequence() == sequence) {
                        return result;
                    }
                }
            } catch (InterruptedException e) {
                throw new FatalError("interrupted while waiting for the handler");
            }
        }

        void discardResponse() {
            try {
                Files.deleteIfExists(responseFile);
            } catch (IOException e) {
                log("cannot delete ", responseFile.toString(), ": ", e.getMessage());
            }
        }

        private void kill() {
            process.destroyForcibly();
        }

        /** A new inode each time: a background process still holding the old file cannot write into this one. */
        private static void writeNewFile(Path file, byte[] content) throws IOException {
            Files.deleteIfExists(file);
            Files.write(file, content);
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

        LogPump(Process process, String marker, BlockingQueue<HandlerResult> results) {
            super(concat(RUNTIME_NAME, "-log-pump"));
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
                // The pipe broke: treated as the shell's end.
            }
            if (line.size() > 0) {
                byte[] bytes = line.toByteArray();
                logHandlerLine(bytes, bytes.length);
            }
            int status;
            try {
                status = process.waitFor();
            } catch (InterruptedException e) {
                status = -1;
            }
            results.add(new HandlerResult(0, status, true, takeTail()));
        }

        private void endLine() {
            byte[] bytes = line.toByteArray();
            line.reset();
            int at = lastIndexOf(bytes, marker);
            if (at >= 0) {
                long[] sequenceAndStatus = parseMarkerSuffix(bytes, at + marker.length);
                if (sequenceAndStatus != null) {
                    if (at > 0) {
                        logHandlerLine(bytes, at);
                    }
                    results.add(new HandlerResult((int) sequenceAndStatus[0], (int) sequenceAndStatus[1], false, takeTail()));
                    return;
                }
            }
            logHandlerLine(bytes, bytes.length);
        }

        private void logHandlerLine(byte[] bytes, int length) {
            byte[] out = new byte[length + 1];
            System.arraycopy(bytes, 0, out, 0, length);
            out[length] = '\n';
            System.err.write(out, 0, out.length);
            System.err.flush();
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
            long sequence = parseDigits(bytes, from + 1, space);
            long status = parseDigits(bytes, space + 1, bytes.length);
            return sequence < 0 || status < 0 ? null : new long[] {sequence, status};
        }

        private static long parseDigits(byte[] bytes, int from, int to) {
            if (from >= to || to - from > 9) {
                return -1;
            }
            long value = 0;
            for (int i = from; i < to; i++) {
                if (bytes[i] < '0' || bytes[i] > '9') {
                    return -1;
                }
                value = value * 10 + (bytes[i] - '0');
            }
            return value;
        }
    }

    /** How one call into the shell ended: the marker's status, or the shell's own exit. */
    record HandlerResult(int sequence, int status, boolean shellExited, List<byte[]> stderrTail) {
        boolean succeeded() {
            return !shellExited && status == 0;
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
            if (!shellExited) {
                return concat(handler.describe(), " returned status ", Integer.toString(status));
            }
            if (handler.functionMode()) {
                return concat(handler.describe(), " ended its shell with status ", Integer.toString(status),
                        " (it called exit, or set -e or set -u stopped it); the file is loaded again for the next invocation");
            }
            return concat("the shell running ", handler.describe(), " ended with status ", Integer.toString(status));
        }

        /**
         * The documented rule: if the last non-blank stderr line reads "Type: message", Type and message are the
         * error's type and message; otherwise the type is HandlerFailed and the message is that line (or, with no
         * stderr at all, what happened). The stack trace is the last stderr lines.
         */
        ErrorReport errorReport(Handler handler) {
            List<String> stackTrace = new ArrayList<>();
            for (byte[] line : stderrTail) {
                stackTrace.add(new String(line, StandardCharsets.UTF_8));
            }
            stackTrace.add(describeFailure(handler));
            String last = lastStderrLine();
            if (last != null) {
                int colon = last.indexOf(": ");
                if (colon > 0 && isErrorTypeName(last.substring(0, colon))) {
                    return new ErrorReport(last.substring(0, colon), last.substring(colon + 2), stackTrace);
                }
                return new ErrorReport("HandlerFailed", last, stackTrace);
            }
            return new ErrorReport("HandlerFailed", describeFailure(handler), stackTrace);
        }

        static boolean isErrorTypeName(String name) {
            if (name.length() > 128 || !Character.isLetter(name.charAt(0))) {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (!(c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                    return false;
                }
            }
            return true;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The Runtime API

    /** One invocation as /next delivered it. Header names are kept lower-case: HTTP header names are case-insensitive. */
    record Invocation(String requestId, Map<String, String> headers, byte[] event) {
        String header(String name) {
            return headers.get(name.toLowerCase(java.util.Locale.ROOT));
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
                if (i > 0) {
                    json.append(',');
                }
                appendJsonString(json, stackTrace.get(i));
            }
            return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        }

        /** The Category.Reason form the platform keeps (others become Runtime.Unknown there). */
        String headerType() {
            if (type.startsWith("Runtime.") || type.startsWith("Function.")) {
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
            int port = colon < 0 ? -1 : parsePort(address.substring(colon + 1));
            String host = colon < 0 ? "" : address.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (host.isEmpty() || port < 0) {
                throw new FatalError(concat("AWS_LAMBDA_RUNTIME_API='", address, "' is not host:port"));
            }
            return new RuntimeApi(host, port);
        }

        private static int parsePort(String text) {
            if (text.isEmpty() || text.length() > 5) {
                return -1;
            }
            int port = 0;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c < '0' || c > '9') {
                    return -1;
                }
                port = port * 10 + (c - '0');
            }
            return port > 0 && port <= 65535 ? port : -1;
        }

        /** GET /next, with no read timeout (the environment may be frozen inside this call for any length of time). */
        Invocation nextInvocation() {
            HttpReply reply = null;
            for (int attempt = 0; reply == null; attempt++) {
                try {
                    reply = exchange("GET", concat(API_BASE, "invocation/next"), null, null, null);
                } catch (IOException e) {
                    if (attempt == NEXT_RETRY_DELAYS_MS.length) {
                        throw new FatalError(concat("GET /next failed ", Integer.toString(attempt + 1), " times: ", e.toString()));
                    }
                    log("GET /next failed (", e.toString(), "); retrying");
                    pause(NEXT_RETRY_DELAYS_MS[attempt]);
                }
            }
            if (reply.status() != 200) {
                throw new FatalError(concat("GET /next answered ", reply.describe()));
            }
            String requestId = reply.headers().get(HEADER_REQUEST_ID.toLowerCase(java.util.Locale.ROOT));
            if (requestId == null || requestId.isEmpty()) {
                throw new FatalError(concat("GET /next answered without a ", HEADER_REQUEST_ID, " header"));
            }
            return new Invocation(requestId, reply.headers(), reply.body());
        }

        void postResponse(String requestId, Path response) {
            long length;
            try {
                length = Files.exists(response) ? Files.size(response) : 0;
            } catch (IOException e) {
                length = 0;
            }
            String path = concat(API_BASE, "invocation/", pathSegment(requestId), "/response");
            answer(path, null, length > 0 ? response : null, null, length);
        }

        void postError(String requestId, ErrorReport report) {
            String path = concat(API_BASE, "invocation/", pathSegment(requestId), "/error");
            byte[] body = report.json();
            answer(path, report.headerType(), null, body, body.length);
        }

        void postInitError(ErrorReport report) {
            byte[] body = report.json();
            answer(concat(API_BASE, "init/error"), report.headerType(), null, body, body.length);
        }

        /** Posts an answer and applies the status table of the Runtime API notes (section 1.4). */
        private void answer(String path, String errorType, Path bodyFile, byte[] body, long length) {
            HttpReply reply;
            try {
                reply = exchange("POST", path, errorType, bodyFile, body == null && bodyFile == null ? new byte[0] : body);
            } catch (IOException e) {
                // The answer may or may not have arrived; the next /next tells whether the API is still there.
                log("POST ", path, " failed: ", e.toString());
                return;
            }
            int status = reply.status();
            if (status == 202) {
                return;
            }
            if (status == 413) {
                log("POST ", path, ": the response (", Long.toString(length),
                        " bytes) is larger than Lambda accepts; Lambda has failed the invocation with Function.ResponseSizeTooLarge");
            } else if (status >= 500) {
                throw new FatalError(concat("POST ", path, " answered ", reply.describe()));
            } else {
                log("POST ", path, " answered ", reply.describe());
            }
        }

        /** One request on a new connection. The request body is a file, a byte array, or absent (GET). */
        private HttpReply exchange(String method, String path, String errorType, Path bodyFile, byte[] body) throws IOException {
            try (Socket socket = new Socket()) {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(host, port));
                OutputStream out = socket.getOutputStream();
                StringBuilder head = new StringBuilder(256);
                head.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(host).append(':').append(port)
                        .append("\r\nUser-Agent: ").append(RUNTIME_NAME).append('/').append(RUNTIME_VERSION)
                        .append("\r\nConnection: close\r\n");
                if (errorType != null) {
                    head.append(HEADER_ERROR_TYPE).append(": ").append(errorType).append("\r\nContent-Type: ").append(ERROR_CONTENT_TYPE).append("\r\n");
                }
                if (bodyFile != null) {
                    head.append("Content-Length: ").append(Files.size(bodyFile)).append("\r\n");
                } else if (body != null) {
                    head.append("Content-Length: ").append(body.length).append("\r\n");
                }
                out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
                try {
                    if (bodyFile != null) {
                        Files.copy(bodyFile, out);
                    } else if (body != null) {
                        out.write(body);
                    }
                    out.flush();
                } catch (IOException e) {
                    // The API may refuse a body mid-way (413) and close; its answer can still be read.
                }
                return readReply(socket.getInputStream());
            }
        }
    }

    /** An HTTP response: status, headers with lower-case names, body. */
    record HttpReply(int status, Map<String, String> headers, byte[] body) {
        String describe() {
            String text = new String(body, 0, Math.min(body.length, 512), StandardCharsets.UTF_8).strip();
            return concat(Integer.toString(status), text.isEmpty() ? "" : concat(" ", text));
        }
    }

    /** Reads one HTTP/1.1 response: status line, headers, then a Content-Length, chunked, or read-to-close body. */
    static HttpReply readReply(InputStream in) throws IOException {
        String statusLine = readLine(in);
        if (statusLine == null) {
            throw new IOException("connection closed before a response");
        }
        if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
            throw new IOException(concat("not an HTTP/1.x status line: ", statusLine));
        }
        int status = (int) parseNumber(statusLine.substring(9, 12), 10, "status code");
        Map<String, String> headers = new HashMap<>();
        int headerBytes = 0;
        for (String line = readLine(in); ; line = readLine(in)) {
            if (line == null) {
                throw new IOException("connection closed inside the response headers");
            }
            if (line.isEmpty()) {
                break;
            }
            headerBytes += line.length();
            if (headerBytes > 1024 * 1024) {
                throw new IOException("response headers larger than 1 MiB");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException(concat("malformed header line: ", line));
            }
            headers.put(line.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT), line.substring(colon + 1).strip());
        }
        String transferEncoding = headers.get("transfer-encoding");
        String contentLength = headers.get("content-length");
        byte[] body;
        if (transferEncoding != null && transferEncoding.toLowerCase(java.util.Locale.ROOT).contains("chunked")) {
            body = readChunked(in);
        } else if (contentLength != null) {
            long length = parseNumber(contentLength, 10, "Content-Length");
            if (length > Integer.MAX_VALUE - 16) {
                throw new IOException(concat("Content-Length too large: ", contentLength));
            }
            body = in.readNBytes((int) length);
            if (body.length != length) {
                throw new IOException(concat("body ended after ", Integer.toString(body.length), " of ", contentLength, " bytes"));
            }
        } else if (status == 204 || status == 304 || status < 200) {
            body = new byte[0];
        } else {
            body = in.readAllBytes();
        }
        return new HttpReply(status, headers, body);
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (;;) {
            String sizeLine = readLine(in);
            if (sizeLine == null) {
                throw new IOException("connection closed inside a chunked body");
            }
            int extension = sizeLine.indexOf(';');
            long size = parseNumber((extension < 0 ? sizeLine : sizeLine.substring(0, extension)).strip(), 16, "chunk size");
            if (size == 0) {
                break;
            }
            if (size > Integer.MAX_VALUE - 16 - body.size()) {
                throw new IOException("chunked body too large");
            }
            byte[] chunk = in.readNBytes((int) size);
            if (chunk.length != size) {
                throw new IOException("connection closed inside a chunk");
            }
            body.writeBytes(chunk);
            if (!"".equals(readLine(in))) {
                throw new IOException("chunk not followed by CRLF");
            }
        }
        for (String trailer = readLine(in); trailer != null && !trailer.isEmpty(); trailer = readLine(in)) {
            // Trailers of a response carry nothing the runtime needs.
        }
        return body.toByteArray();
    }

    /** Reads a CRLF- (or LF-) terminated line as ISO-8859-1, so header bytes pass through unchanged. Null at end of stream. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (;;) {
            int b = in.read();
            if (b < 0) {
                return line.length() == 0 ? null : line.toString();
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

    private static long parseNumber(String text, int radix, String what) throws IOException {
        try {
            long value = Long.parseLong(text, radix);
            if (value < 0) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IOException(concat("bad ", what, ": '", text, "'"));
        }
    }

    /** Request ids are UUIDs; anything else is percent-encoded rather than trusted into a request line. */
    static String pathSegment(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
                out.append(c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Small helpers

    /** Appends s as a JSON string: quotes, backslashes and every control character escaped; output is valid UTF-8. */
    static void appendJsonString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                        out.append("\\u").append(hex(c, 4));
                    } else if (Character.isSurrogate(c) && !isPairedSurrogate(s, i)) {
                        out.append('\uFFFD'); // a lone surrogate cannot be encoded as UTF-8
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static boolean isPairedSurrogate(String s, int i) {
        char c = s.charAt(i);
        return Character.isHighSurrogate(c)
                ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                : i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    /** value in lower-case hex, zero-padded to digits. */
    static String hex(long value, int digits) {
        StringBuilder out = new StringBuilder(digits);
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
            out.append(Character.forDigit((int) (value >>> shift) & 15, 16));
        }
        return out.toString();
    }

    static String jsonString(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2);
        appendJsonString(out, s);
        return out.toString();
    }

    /** Single-quotes a word for the shell. Only paths and names chosen at deployment pass through here, never header values. */
    static String shellQuote(String word) {
        return concat("'", word.replace("'", "'\\''"), "'");
    }

    /** With Sampled=1 and a daemon configured, one line per invocation, as the shell runtimes people migrate from print. */
    static void logXraySegment(Invocation invocation, long startMillis, long endMillis, boolean fault) {
        String trace = invocation.header(HEADER_TRACE_ID);
        if (trace == null || !trace.contains("Sampled=1")) {
            return;
        }
        String root = traceField(trace, "Root");
        if (root == null) {
            return;
        }
        String parent = traceField(trace, "Parent");
        String name = System.getenv("AWS_LAMBDA_FUNCTION_NAME");
        StringBuilder json = new StringBuilder("{\"name\":");
        appendJsonString(json, name == null ? RUNTIME_NAME : name);
        json.append(",\"id\":\"").append(hex(ThreadLocalRandom.current().nextLong(), 16)).append("\",\"trace_id\":");
        appendJsonString(json, root);
        if (parent != null) {
            json.append(",\"parent_id\":");
            appendJsonString(json, parent);
        }
        json.append(",\"start_time\":").append(seconds(startMillis)).append(",\"end_time\":").append(seconds(endMillis));
        if (fault) {
            json.append(",\"fault\":true");
        }
        System.err.println(json.insert(0, "X-Ray segment: ").append('}'));
    }

    private static String traceField(String trace, String key) {
        for (String part : trace.split(";")) {
            int equals = part.indexOf('=');
            if (equals > 0 && part.substring(0, equals).strip().equals(key)) {
                return part.substring(equals + 1).strip();
            }
        }
        return null;
    }

    private static String seconds(long millis) {
        return concat(Long.toString(millis / 1000), ".", Long.toString(1000 + millis % 1000).substring(1));
    }

    private static int indexOfWhitespace(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isWhitespace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
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
        int length = 0;
        for (String part : parts) {
            length += part.length();
        }
        StringBuilder out = new StringBuilder(length);
        for (String part : parts) {
            out.append(part);
        }
        return out.toString();
    }

    /** The runtime's own log lines: stderr, one line each, with a prefix that tells them from the handler's. */
    static void log(String... parts) {
        String[] line = new String[parts.length + 1];
        line[0] = concat(RUNTIME_NAME, ": ");
        System.arraycopy(parts, 0, line, 1, parts.length);
        System.err.println(concat(line));
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
