import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Random;

// Reads one hex-encoded PROXY header a line, feeds it to Netty's
// HAProxyMessageDecoder in pieces of 1 to 7 bytes followed by the bytes
// "FRAMEKIT", and prints "OK version src srcport dst dstport rest" (rest:
// what the decoder passed on after the header) or "ERR reason".
public class ProxyDecode {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String line;
        while ((line = in.readLine()) != null) {
            byte[] h = new byte[line.length() / 2];
            for (int i = 0; i < h.length; i++) {
                h[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
            }
            byte[] b = new byte[h.length + 8];
            System.arraycopy(h, 0, b, 0, h.length);
            System.arraycopy("FRAMEKIT".getBytes(StandardCharsets.US_ASCII), 0, b, h.length, 8);
            EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
            try {
                Random r = new Random(b.length);
                for (int off = 0; off < b.length; ) {
                    int n = Math.min(b.length - off, 1 + r.nextInt(7));
                    ch.writeInbound(Unpooled.wrappedBuffer(b, off, n));
                    off += n;
                }
                HAProxyMessage m = ch.readInbound();
                StringBuilder rest = new StringBuilder();
                for (ByteBuf buf; (buf = ch.readInbound()) != null; buf.release()) {
                    rest.append(buf.toString(StandardCharsets.US_ASCII));
                }
                System.out.println("OK " + (m.protocolVersion() == HAProxyProtocolVersion.V1 ? 1 : 2) + " "
                        + m.sourceAddress() + " " + m.sourcePort() + " " + m.destinationAddress() + " "
                        + m.destinationPort() + " " + rest);
                m.release();
            } catch (Exception e) {
                System.out.println("ERR " + e);
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }
}
