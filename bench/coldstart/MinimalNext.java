import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The least a JEP 330 runtime has to do before its first /next: start, open a socket, send one GET and read the
 * answer. bench/coldstart.sh launches it like Bootstrap.java to show the floor under our init time. No lambdas,
 * no string concatenation with +, no records or pattern switches (each has a first-use cost).
 */
public class MinimalNext {
    public static void main(String[] args) throws Exception {
        String api = System.getenv("AWS_LAMBDA_RUNTIME_API");
        int colon = api.lastIndexOf(':');
        try (Socket s = new Socket(api.substring(0, colon), Integer.parseInt(api.substring(colon + 1)))) {
            StringBuilder req = new StringBuilder();
            req.append("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: ").append(api)
                    .append("\r\nConnection: close\r\n\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            while (in.read(buf) >= 0) {
                // drain the answer; the fake answers 500 when it has no event left, which ends the run
            }
        }
    }
}
