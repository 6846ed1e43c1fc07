// Netty 4.1's JsonObjectDecoder as the reference of framekit's JSON
// differential test (issue 19). No sockets: each stream goes through an
// EmbeddedChannel in random pieces of 1 to 64 bytes.
//
//   java JsonSplit SEED < cases
//
// Each input line is "plain HEX" or "elements HEX" (streamArrayElements).
// For each it prints "CASE N", then "F HEX" per frame, then "END" or
// "ERR ExceptionClass".
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.json.JsonObjectDecoder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

public final class JsonSplit {
    public static void main(String[] args) throws Exception {
        Random rng = new Random(Long.parseLong(args[0]));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        PrintStream out = new PrintStream(System.out, false, "US-ASCII");
        String line;
        int n = 0;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ", 2);
            byte[] data = ByteBufUtil.decodeHexDump(f.length > 1 ? f[1] : "");
            EmbeddedChannel ch = new EmbeddedChannel(new JsonObjectDecoder(1 << 20, f[0].equals("elements")));
            out.println("CASE " + n++);
            String end = "END";
            try {
                for (int i = 0; i < data.length; ) {
                    int k = Math.min(data.length - i, 1 + rng.nextInt(64));
                    ch.writeInbound(Unpooled.wrappedBuffer(data, i, k));
                    i += k;
                    drain(ch, out);
                }
            } catch (Exception e) {
                drain(ch, out);
                end = "ERR " + e.getClass().getSimpleName();
            }
            out.println(end);
            ch.finishAndReleaseAll();
        }
        out.flush();
    }

    static void drain(EmbeddedChannel ch, PrintStream out) {
        for (ByteBuf b; (b = ch.readInbound()) != null; ) {
            out.println("F " + ByteBufUtil.hexDump(b));
            b.release();
        }
    }
}
