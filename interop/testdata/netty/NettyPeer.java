// NettyPeer runs Netty 4.1's own frame codecs as an echo server, a checking
// client, or a plain sender, for framekit's interop tests. Only Netty's
// decoders and encoders do the framing; where Netty has no encoder (lines,
// delimiters, fixed size, a length field inside a larger header) the program
// writes the bytes itself.
//
//   server SPEC...                   SPEC is CONFIG:MAXFRAMELENGTH; prints
//                                    "LISTEN SPEC PORT" for each, then READY,
//                                    and "EXCEPTION SPEC CLASS: MESSAGE" for
//                                    every exception a connection raises
//   client SEED COUNT CONFIG=ADDR... sends COUNT frames to each address,
//                                    checks the echo, prints
//                                    "DONE CONFIG FRAMES BYTES SHA256" or
//                                    "FAIL CONFIG REASON"
//   send CONFIG ADDR SIZE...         sends one frame of each size, prints
//                                    SENT, then CLOSED when the peer closes
//
// Every program exits when its standard input closes.
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.DelimiterBasedFrameDecoder;
import io.netty.handler.codec.FixedLengthFrameDecoder;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32FrameDecoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32LengthFieldPrepender;
import io.netty.util.concurrent.Promise;

import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

public final class NettyPeer {
    static final int FIXED = 1021; // FixedLengthFrameDecoder's frame size; the Go tests use the same
    static final byte[] LF = {'\n'};
    static final byte[] CRLF = {'\r', '\n'};
    static final byte[] CRLF2 = {'\r', '\n', '\r', '\n'};

    public static void main(String[] args) throws Exception {
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                }
            } catch (Exception e) {
                // fall through: the parent is gone
            }
            System.exit(0);
        });
        stdin.setDaemon(true);
        stdin.start();
        EventLoopGroup group = new NioEventLoopGroup(1);
        switch (args[0]) {
            case "server":
                server(group, args);
                Thread.currentThread().join();
                break;
            case "client":
                int failed = client(group, Long.parseLong(args[1]), Integer.parseInt(args[2]), args);
                System.exit(failed == 0 ? 0 : 1);
                break;
            case "send":
                send(group, args);
                System.exit(0);
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    // codec adds Netty's decoder for the configuration and, where Netty has
    // one, its encoder. lineEnds, when not null, is where lines and
    // delimited frames take their terminator from.
    static void codec(ChannelPipeline p, String config, int max, Random lineEnds) {
        switch (config) {
            case "u32be":
                p.addLast(new LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4));
                p.addLast(new LengthFieldPrepender(4));
                break;
            case "u16le":
                p.addLast(new LengthFieldBasedFrameDecoder(ByteOrder.LITTLE_ENDIAN, max, 0, 2, 0, 2, true));
                p.addLast(new LengthFieldPrepender(ByteOrder.LITTLE_ENDIAN, 2, 0, false));
                break;
            case "incl":
                p.addLast(new LengthFieldBasedFrameDecoder(max, 0, 4, -4, 4));
                p.addLast(new LengthFieldPrepender(4, true));
                break;
            case "off2":
                // 5-byte header: 2 type bytes, a 2-byte length of the body,
                // 1 flags byte the length does not count; the whole frame
                // is kept, and written back as it came.
                p.addLast(new LengthFieldBasedFrameDecoder(max, 2, 2, 1, 0));
                break;
            case "varint":
                p.addLast(new ProtobufVarint32FrameDecoder());
                p.addLast(new ProtobufVarint32LengthFieldPrepender());
                break;
            case "lines":
                p.addLast(new LineBasedFrameDecoder(max));
                p.addLast(new Terminator(lineEnds, LF, CRLF));
                break;
            case "crlf2":
                p.addLast(new DelimiterBasedFrameDecoder(max, Unpooled.wrappedBuffer(CRLF2)));
                p.addLast(new Terminator(null, CRLF2));
                break;
            case "fixed":
                p.addLast(new FixedLengthFrameDecoder(FIXED));
                break;
            default:
                throw new IllegalArgumentException("unknown configuration " + config);
        }
    }

    // Terminator appends a delimiter to each outgoing frame, as a second
    // buffer (Netty has no encoder for delimiters of bytes).
    static final class Terminator extends MessageToMessageEncoder<ByteBuf> {
        final Random pick;
        final byte[][] ends;

        Terminator(Random pick, byte[]... ends) {
            this.pick = pick;
            this.ends = ends;
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) {
            out.add(msg.retain());
            out.add(Unpooled.wrappedBuffer(ends[pick == null ? 0 : pick.nextInt(ends.length)]));
        }
    }

    static void server(EventLoopGroup group, String[] args) throws Exception {
        for (int i = 1; i < args.length; i++) {
            String spec = args[i];
            String[] cm = spec.split(":");
            String config = cm[0];
            int max = Integer.parseInt(cm[1]);
            ServerBootstrap b = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            codec(ch.pipeline(), config, max, null);
                            ch.pipeline().addLast(new Echo(spec, max <= 65536)); // frame sizes only where the limit is shown
                        }
                    });
            Channel ch = b.bind("127.0.0.1", 0).sync().channel();
            say("LISTEN " + spec + " " + ((InetSocketAddress) ch.localAddress()).getPort());
        }
        say("READY");
    }

    // Echo writes every decoded frame back, and reports exceptions without
    // closing the connection, to show what the decoder does after one.
    static final class Echo extends ChannelInboundHandlerAdapter {
        final String spec;
        final boolean verbose;

        Echo(String spec, boolean verbose) {
            this.spec = spec;
            this.verbose = verbose;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            if (verbose) say("FRAME " + spec + " " + b.readableBytes());
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            say("EXCEPTION " + spec + " " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
    }

    // size draws a frame size in [0, max] as the Go tests do: 2% max, 2%
    // empty, 46% under 256 bytes, 30% under 4 KiB, the rest up to max.
    static int size(Random r, int max) {
        int b = r.nextInt(100);
        if (b < 2) return max;
        if (b < 4) return 0;
        if (b < 50) return r.nextInt(Math.min(256, max + 1));
        if (b < 80) return r.nextInt(Math.min(4096, max + 1));
        return r.nextInt(max + 1);
    }

    static byte[] bytes(Random r, int n) {
        byte[] p = new byte[n];
        r.nextBytes(p);
        return p;
    }

    // payload returns a frame of the given size (or of a random one when
    // size < 0) that the configuration can carry, as the application
    // writes it: the body, or the whole frame for off2.
    static byte[] payload(String config, Random r, int size) {
        switch (config) {
            case "u16le":
                return bytes(r, size >= 0 ? size : size(r, 65535));
            case "off2": {
                int n = size >= 0 ? size : size(r, 65535);
                byte[] f = bytes(r, n + 5);
                f[2] = (byte) (n >> 8);
                f[3] = (byte) n;
                return f;
            }
            case "lines": {
                byte[] p = bytes(r, size >= 0 ? size : size(r, 65536));
                for (int i = 0; i < p.length; i++) {
                    if (p[i] == '\n') p[i] = 'n';
                }
                if (p.length > 0 && p[p.length - 1] == '\r') p[p.length - 1] = 'r';
                return p;
            }
            case "crlf2": {
                byte[] p = new byte[size >= 0 ? size : size(r, 65536)];
                for (int i = 0; i < p.length; i++) {
                    p[i] = r.nextInt(4) == 0 ? (byte) r.nextInt(256) : CRLF2[r.nextInt(2)];
                }
                byte[] ext = new byte[p.length + 4];
                System.arraycopy(p, 0, ext, 0, p.length);
                System.arraycopy(CRLF2, 0, ext, p.length, 4);
                for (int i = 0; i < p.length; i++) {
                    if (ext[i] == '\r' && ext[i + 1] == '\n' && ext[i + 2] == '\r' && ext[i + 3] == '\n') {
                        p[i] = 'x';
                        ext[i] = 'x';
                    }
                }
                return p;
            }
            case "fixed":
                return bytes(r, FIXED);
            default:
                return bytes(r, size >= 0 ? size : size(r, 65536));
        }
    }

    static String summary(List<byte[]> frames) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long total = 0;
        for (byte[] f : frames) {
            long n = f.length;
            for (int s = 56; s >= 0; s -= 8) md.update((byte) (n >>> s));
            md.update(f);
            total += n;
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : md.digest()) hex.append(String.format("%02x", b));
        return frames.size() + " " + total + " " + hex;
    }

    // Chopper sits next to the socket and cuts what the encoders produce:
    // in small pieces each flushed on its own (mode 0), whole (mode 1), or
    // not flushed at all so that several frames leave in one gathering
    // write (mode 2).
    static final class Chopper extends ChannelOutboundHandlerAdapter {
        final Random r;
        int mode;

        Chopper(Random r) {
            this.r = r;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (mode != 0 || !(msg instanceof ByteBuf)) {
                ctx.write(msg, promise);
                return;
            }
            ByteBuf b = (ByteBuf) msg;
            while (b.readableBytes() > 0) {
                int n = Math.min(b.readableBytes(), 1 + r.nextInt(r.nextBoolean() ? 8 : 2048));
                ctx.write(b.readRetainedSlice(n));
                ctx.flush();
            }
            b.release();
            promise.setSuccess();
        }
    }

    static final class Checker extends ChannelInboundHandlerAdapter {
        final List<byte[]> frames;
        final Random r;
        final Chopper chopper;
        final Promise<String> done;
        int sent, received;

        Checker(List<byte[]> frames, Random r, Chopper chopper, Promise<String> done) {
            this.frames = frames;
            this.r = r;
            this.chopper = chopper;
            this.done = done;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            sendSome(ctx);
        }

        // sendSome writes a few frames, then lets the event loop read
        // before it writes more.
        void sendSome(ChannelHandlerContext ctx) {
            if (done.isDone()) return;
            int n = 1 + r.nextInt(8);
            for (; n > 0 && sent < frames.size(); n--) {
                chopper.mode = r.nextInt(3);
                ctx.write(Unpooled.wrappedBuffer(frames.get(sent++)));
                if (chopper.mode != 2) ctx.flush();
            }
            ctx.flush();
            if (sent < frames.size()) ctx.executor().execute(() -> sendSome(ctx));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                if (received >= frames.size()) {
                    done.tryFailure(new Exception("more frames than sent"));
                    return;
                }
                byte[] want = frames.get(received);
                byte[] got = new byte[b.readableBytes()];
                b.readBytes(got);
                if (!java.util.Arrays.equals(got, want)) {
                    done.tryFailure(new Exception("frame " + received + ": got " + got.length + " bytes, want " + want.length + ", or different bytes"));
                    return;
                }
                received++;
                if (received == frames.size()) {
                    done.trySuccess("ok");
                    ctx.close();
                }
            } finally {
                b.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.tryFailure(new Exception("connection closed after " + received + " frames"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.tryFailure(cause);
            ctx.close();
        }
    }

    static int client(EventLoopGroup group, long seed, int count, String[] args) throws Exception {
        int failed = 0;
        for (int i = 3; i < args.length; i++) {
            String[] ca = args[i].split("=");
            String config = ca[0];
            String[] hp = ca[1].split(":");
            Random r = new Random(seed + i);
            List<byte[]> frames = new ArrayList<>();
            for (int k = 0; k < count; k++) frames.add(payload(config, r, -1));
            Chopper chopper = new Chopper(r);
            Promise<String> done = group.next().newPromise();
            Checker checker = new Checker(frames, r, chopper, done);
            Bootstrap b = new Bootstrap()
                    .group(group)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(chopper);
                            codec(ch.pipeline(), config, 1 << 24, r);
                            ch.pipeline().addLast(checker);
                        }
                    });
            try {
                b.connect(hp[0], Integer.parseInt(hp[1])).sync();
                if (!done.await(90, TimeUnit.SECONDS)) {
                    say("FAIL " + config + " timed out after " + checker.received + " frames");
                    failed++;
                } else if (!done.isSuccess()) {
                    say("FAIL " + config + " " + done.cause());
                    failed++;
                } else {
                    say("DONE " + config + " " + summary(frames));
                }
            } catch (Exception e) {
                say("FAIL " + config + " " + e);
                failed++;
            }
        }
        return failed;
    }

    static void send(EventLoopGroup group, String[] args) throws Exception {
        String config = args[1];
        String[] hp = args[2].split(":");
        Random r = new Random(1);
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        codec(ch.pipeline(), config, 1 << 24, null);
                    }
                });
        Channel ch = b.connect(hp[0], Integer.parseInt(hp[1])).sync().channel();
        for (int i = 3; i < args.length; i++) {
            ch.writeAndFlush(Unpooled.wrappedBuffer(payload(config, r, Integer.parseInt(args[i])))).sync();
        }
        say("SENT");
        ch.closeFuture().await(30, TimeUnit.SECONDS);
        say("CLOSED");
    }
}
