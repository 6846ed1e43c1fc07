package interop

// AMQP 0-9-1 (the AMQP and AMQPClient presets) and STOMP 1.2
// (textframe.STOMP12) against RabbitMQ 3.10 from Debian (rabbitmq-server,
// with its STOMP plugin): framekit clients speak both protocols through
// taps, and the messages cross from one protocol to the other.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/framekit/framekit/textframe"
)

// startRabbit starts epmd and rabbitmq-server (as the peer user, data,
// cookie and logs in a temporary directory, every port a free one) and
// returns the AMQP and STOMP addresses.
func startRabbit(t *testing.T) (amqpAddr, stompAddr string) {
	t.Helper()
	server := needPeer(t, "apt-get install rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")
	epmd := needPeer(t, "apt-get install rabbitmq-server (erlang-base)", "epmd", "/usr/bin/epmd")
	dir := peerDir(t)
	amqpPort, stompPort, distPort, epmdPort := freePort(t), freePort(t), freePort(t), freePort(t)
	conf := fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\nstomp.listeners.tcp.1 = 127.0.0.1:%d\nlog.console = true\nlog.console.level = warning\nlog.file = false\n", amqpPort, stompPort)
	for name, text := range map[string]string{"rabbitmq.conf": conf, "enabled_plugins": "[rabbitmq_stomp].\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Our own epmd, in the foreground, so that it ends with the test
	// (rabbitmq-server would start one that outlives it).
	startServer(t, "epmd", fmt.Sprintf("127.0.0.1:%d", epmdPort), true, epmd, "-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1")
	start := time.Now()
	amqpAddr = fmt.Sprintf("127.0.0.1:%d", amqpPort)
	srv := startServerWait(t, "", "rabbitmq-server", amqpAddr, true, 3*time.Minute, "env",
		"HOME="+dir,
		"RABBITMQ_NODENAME=framekit@localhost",
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
		"ERL_EPMD_PORT="+strconv.Itoa(epmdPort),
		server)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("rabbitmq-server's log:\n%s", srv.log.String())
		}
	})
	stompAddr = fmt.Sprintf("127.0.0.1:%d", stompPort)
	waitListening(t, stompAddr, time.Minute)
	t.Logf("rabbitmq-server listening for AMQP and STOMP after %v", time.Since(start).Round(time.Millisecond))
	return amqpAddr, stompAddr
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, wait time.Duration) {
	t.Helper()
	end := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(end) {
			t.Fatalf("nothing listens on %s after %v: %v", addr, wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// amqpConn is a minimal AMQP 0-9-1 client on framekit: frames are
// written whole (type, channel, a size the encoder fills in, payload) and
// read whole, the frame-end octet checked by the preset.
type amqpConn struct {
	t *testing.T
	c *framing.Conn
}

func shortstr(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func longstr(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func (a *amqpConn) frame(typ byte, ch uint16, payload ...[]byte) []byte {
	f := []byte{typ, byte(ch >> 8), byte(ch), 0, 0, 0, 0}
	for _, p := range payload {
		f = append(f, p...)
	}
	return f
}

// method is a method frame of class.method with its arguments.
func (a *amqpConn) method(ch, class, meth uint16, args ...[]byte) []byte {
	return a.frame(1, ch, append([][]byte{{byte(class >> 8), byte(class), byte(meth >> 8), byte(meth)}}, args...)...)
}

func (a *amqpConn) send(frames ...[]byte) {
	a.t.Helper()
	if err := a.c.WriteFrames(frames); err != nil {
		a.t.Fatalf("amqp: writing: %v", err)
	}
}

// read returns the next frame's type, channel and payload.
func (a *amqpConn) read() (byte, uint16, []byte) {
	a.t.Helper()
	f, err := a.c.ReadFrameOwned()
	if err != nil {
		a.t.Fatalf("amqp: reading: %v", err)
	}
	if got := int(binary.BigEndian.Uint32(f[3:])); got != len(f)-7 {
		a.t.Fatalf("amqp: a frame of %d bytes says its payload is %d", len(f), got)
	}
	return f[0], binary.BigEndian.Uint16(f[1:]), f[7:]
}

// expect reads a method frame and fails unless it is class.method on ch;
// it returns the arguments.
func (a *amqpConn) expect(ch, class, meth uint16) []byte {
	a.t.Helper()
	typ, gotCh, p := a.read()
	if typ != 1 || gotCh != ch || len(p) < 4 || binary.BigEndian.Uint16(p) != class || binary.BigEndian.Uint16(p[2:]) != meth {
		a.t.Fatalf("amqp: frame type %d on channel %d, % x; want method %d.%d on channel %d", typ, gotCh, head(p), class, meth, ch)
	}
	return p[4:]
}

// stompFrame splits a STOMP frame into its command, headers and body.
func stompFrame(f []byte) (string, map[string]string, []byte) {
	end := bytes.Index(f, []byte("\n\n"))
	if end < 0 {
		return "", nil, nil
	}
	lines := strings.Split(string(f[:end]), "\n")
	h := map[string]string{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			if _, seen := h[k]; !seen {
				h[k] = v
			}
		}
	}
	return lines[0], h, f[end+2:]
}

// TestRabbitMQ: a framekit AMQP client (AMQPClient up through the tap,
// AMQP down) opens a connection (protocol header, start/start-ok,
// tune/tune-ok, open/open-ok), a channel, declares two queues and
// publishes 40 messages of 0 B to 1 MiB (bodies split over frames of
// the negotiated frame-max) to the first; a framekit STOMP client
// (STOMP12 both ways, through its tap) subscribes to it and gets every
// message byte for byte, then SENDs 40 messages with content-length to
// the second queue, which the AMQP client reads with basic.get. NULs in
// the bodies cross STOMP only by content-length.
func TestRabbitMQ(t *testing.T) {
	amqpAddr, stompAddr := startRabbit(t)
	seed := seedFor(t)
	bodies := frames(seed, 40, func(r *rand.Rand) []byte { return randomBytes(r, sizeOf(r, 1<<20)) })
	back := frames(seed+1, 40, func(r *rand.Rand) []byte { return randomBytes(r, sizeOf(r, 1<<20)) })
	bodies[0], back[0] = []byte("\x00"), []byte("a\x00b")

	clientAddr, atap := newTap(t, amqpAddr, lengthprefix.AMQPClient, lengthprefix.AMQP)
	c, err := framing.Dial("tcp", clientAddr, splitCodec{lengthprefix.AMQP, lengthprefix.AMQPClient}, &framing.Options{MaxFrameSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	a := &amqpConn{t: t, c: c}
	a.send([]byte("AMQP\x00\x00\x09\x01"))
	start := a.expect(0, 10, 10)
	if start[0] != 0 || start[1] != 9 {
		t.Fatalf("connection.start for AMQP %d-%d, want 0-9", start[0], start[1])
	}
	a.send(a.method(0, 10, 11, []byte{0, 0, 0, 0}, shortstr("PLAIN"), longstr("\x00guest\x00guest"), shortstr("en_US")))
	tune := a.expect(0, 10, 30)
	channelMax, frameMax := binary.BigEndian.Uint16(tune), binary.BigEndian.Uint32(tune[2:])
	a.send(
		a.method(0, 10, 31, []byte{byte(channelMax >> 8), byte(channelMax)}, binary.BigEndian.AppendUint32(nil, frameMax), []byte{0, 0}),
		a.method(0, 10, 40, shortstr("/"), shortstr(""), []byte{0}))
	a.expect(0, 10, 41)
	a.send(a.method(1, 20, 10, shortstr("")))
	a.expect(1, 20, 11)
	for _, q := range []string{"framekit.to-stomp", "framekit.from-stomp"} {
		a.send(a.method(1, 50, 10, []byte{0, 0}, shortstr(q), []byte{0}, []byte{0, 0, 0, 0}))
		a.expect(1, 50, 11)
	}
	// basic.publish, a content header (class 60, weight 0, body size, no
	// properties), body frames of at most frame-max - 8 bytes.
	maxBody := int(frameMax) - 8
	bodyFrames := 0
	for _, b := range bodies {
		fs := [][]byte{
			a.method(1, 60, 40, []byte{0, 0}, shortstr(""), shortstr("framekit.to-stomp"), []byte{0}),
			a.frame(2, 1, []byte{0, 60, 0, 0}, binary.BigEndian.AppendUint64(nil, uint64(len(b))), []byte{0, 0}),
		}
		for off := 0; off < len(b); off += maxBody {
			fs = append(fs, a.frame(3, 1, b[off:min(len(b), off+maxBody)]))
			bodyFrames++
		}
		a.send(fs...)
	}

	stompClient, stap := newTap(t, stompAddr, textframe.STOMP12, textframe.STOMP12)
	s, err := framing.Dial("tcp", stompClient, textframe.STOMP12, &framing.Options{MaxFrameSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(2 * time.Minute))
	stompRead := func(want string) (map[string]string, []byte) {
		t.Helper()
		f, err := s.ReadFrameOwned()
		if err != nil {
			t.Fatalf("stomp: waiting for %s: %v", want, err)
		}
		cmd, h, body := stompFrame(f)
		if cmd != want {
			t.Fatalf("stomp: %q (%v), want %s", cmd, h, want)
		}
		return h, body
	}
	stompWrite := func(frames ...[]byte) {
		t.Helper()
		if err := s.WriteFrames(frames); err != nil {
			t.Fatalf("stomp: writing: %v", err)
		}
	}
	stompWrite([]byte("CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,0\n\n"))
	if h, _ := stompRead("CONNECTED"); h["version"] != "1.2" {
		t.Fatalf("stomp: CONNECTED %v, want version 1.2", h)
	}
	stompWrite([]byte("SUBSCRIBE\nid:0\ndestination:/amq/queue/framekit.to-stomp\nack:auto\n\n"))
	for i, want := range bodies {
		h, got := stompRead("MESSAGE")
		if !bytes.Equal(got, want) {
			t.Fatalf("stomp: message %d (headers %v): %s", i, h, difference(got, want))
		}
	}
	var sends [][]byte
	for i, b := range back {
		f := fmt.Appendf(nil, "SEND\ndestination:/amq/queue/framekit.from-stomp\ncontent-type:application/octet-stream\ncontent-length:%d\n", len(b))
		if i == len(back)-1 {
			f = append(f, "receipt:sent\n"...)
		}
		sends = append(sends, append(append(f, '\n'), b...))
	}
	stompWrite(sends...)
	if h, _ := stompRead("RECEIPT"); h["receipt-id"] != "sent" {
		t.Fatalf("stomp: RECEIPT %v, want receipt-id sent", h)
	}
	stompWrite([]byte("DISCONNECT\nreceipt:bye\n\n"))
	stompRead("RECEIPT")
	s.Close()

	// basic.get with no-ack: get-ok, the content header, the body.
	for i, want := range back {
		a.send(a.method(1, 60, 70, []byte{0, 0}, shortstr("framekit.from-stomp"), []byte{1}))
		a.expect(1, 60, 71)
		typ, _, hdr := a.read()
		if typ != 2 || len(hdr) < 12 {
			t.Fatalf("amqp: after get-ok %d, a frame of type %d, want the content header", i, typ)
		}
		size := int(binary.BigEndian.Uint64(hdr[4:]))
		var got []byte
		for len(got) < size {
			typ, _, p := a.read()
			if typ != 3 {
				t.Fatalf("amqp: message %d: a frame of type %d inside the body", i, typ)
			}
			got = append(got, p...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("amqp: message %d from STOMP: %s", i, difference(got, want))
		}
	}
	a.send(a.method(0, 10, 50, []byte{0, 200}, shortstr("bye"), []byte{0, 0, 0, 0}))
	a.expect(0, 10, 51)
	c.Close()

	seen := atap.seen(t)
	if len(seen[0]) == 0 || seen[0][0].kind != lengthprefix.KindPreamble || seen[0][0].size != 8 {
		t.Errorf("amqp: the client's first frame %+v, want the 8-byte protocol header", seen[0][:min(1, len(seen[0]))])
	}
	counts := [2]map[byte]int{{}, {}}
	for dir := range seen {
		for _, f := range seen[dir][min(1-dir, len(seen[dir])):] {
			counts[dir][f.typ]++
		}
	}
	if counts[0][3] != bodyFrames || counts[0][2] != len(bodies) || counts[1][2] != len(back) || counts[1][3] < len(back)-2 {
		t.Errorf("amqp: frames by type from the client %v (want %d content headers, %d body frames), from the server %v", counts[0], len(bodies), bodyFrames, counts[1])
	}
	seen = stap.seen(t)
	commands := func(dir int) map[byte]int {
		m := map[byte]int{}
		for _, f := range seen[dir] {
			m[f.typ]++
		}
		return m
	}
	if up, down := commands(0), commands(1); up['S'] != 1+len(back) || down['M'] != len(bodies) || down['R'] != 2 {
		t.Errorf("stomp: frames by first letter from the client %v, from the server %v", up, down)
	}
	t.Logf("amqp frame-max %d: %d frames from the client, %d from the server; stomp: %d and %d frames",
		frameMax, len(atap.frames[0]), len(atap.frames[1]), len(seen[0]), len(seen[1]))
}
