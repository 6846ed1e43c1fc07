package datagram_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/datagram"
	"github.com/framekit/framekit/framing"
	"github.com/google/go-cmp/cmp"
)

// memConn is a lossless in-memory net.PacketConn that delivers every
// datagram written to it, in order, to its own ReadFrom, and records them,
// so that packing can be checked exactly. Like a Linux socket, it truncates
// a datagram to the reader's buffer.
type memConn struct {
	ch   chan memPacket
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	sent []memPacket
}

type memPacket struct {
	b  []byte
	to net.Addr
}

func newMemConn() *memConn {
	return &memConn{ch: make(chan memPacket, 1<<16), done: make(chan struct{})}
}

var memAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}

func (m *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-m.ch:
		return copy(b, p.b), memAddr, nil
	case <-m.done:
		return 0, nil, net.ErrClosed
	}
}

func (m *memConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	p := memPacket{b: bytes.Clone(b), to: addr}
	m.mu.Lock()
	m.sent = append(m.sent, p)
	m.mu.Unlock()
	m.ch <- p
	return len(b), nil
}

func (m *memConn) datagrams() []memPacket {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]memPacket(nil), m.sent...)
}

func (m *memConn) Close() error                     { m.once.Do(func() { close(m.done) }); return nil }
func (m *memConn) LocalAddr() net.Addr              { return memAddr }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

func newConn(t *testing.T, pc net.PacketConn, opts *datagram.Options) *datagram.Conn {
	t.Helper()
	c, err := datagram.New(pc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readN reads n frames, copying them.
func readN(t *testing.T, c *datagram.Conn, n int) [][]byte {
	t.Helper()
	var got [][]byte
	for len(got) < n {
		p, _, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", len(got), err)
		}
		got = append(got, bytes.Clone(p))
	}
	return got
}

func TestPacking(t *testing.T) {
	for _, max := range []int{5, 6, 100, 1232, datagram.MaxUDPPayload} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			mc := newMemConn()
			c := newConn(t, mc, &datagram.Options{MaxDatagram: max})
			mp := c.MaxPayload()
			r := rand.New(rand.NewSource(int64(max)))
			var ps [][]byte
			for _, n := range []int{0, 1, 2, 127, 128, 129, 16383, 16384, mp - 1, mp, 0, 3, mp} {
				if n < 0 || n > mp {
					continue
				}
				p := make([]byte, n)
				r.Read(p)
				ps = append(ps, p)
			}
			if err := c.WriteFramesTo(ps, memAddr); err != nil {
				t.Fatal(err)
			}
			// Compared by hand: cmp on 64 KiB payloads is slow under -race.
			for i, p := range readN(t, c, len(ps)) {
				if !bytes.Equal(p, ps[i]) {
					t.Fatalf("frame %d: received %d bytes, not the %d sent", i, len(p), len(ps[i]))
				}
			}
			// Greedy packing: every datagram within the limit, and none
			// could have taken the first frame of the next.
			ds := mc.datagrams()
			for i, d := range ds {
				if len(d.b) > max {
					t.Errorf("datagram %d has %d bytes, limit %d", i, len(d.b), max)
				}
				if i+1 < len(ds) {
					first := ds[i+1].b[datagram.HeaderSize:]
					n, w := binary.Uvarint(first)
					if len(d.b)+w+int(n) <= max {
						t.Errorf("datagram %d (%d bytes) had room for the next frame (%d bytes)", i, len(d.b), w+int(n))
					}
				}
			}
		})
	}
}

func TestSmallFramesShareDatagrams(t *testing.T) {
	mc := newMemConn()
	c := newConn(t, mc, nil) // 1232 bytes
	ps := make([][]byte, 100)
	for i := range ps {
		ps[i] = []byte(fmt.Sprintf("frame %02d", i)) // 8 bytes, 9 framed
	}
	if err := c.WriteFramesTo(ps, memAddr); err != nil {
		t.Fatal(err)
	}
	// (1232-4)/9 = 136 frames fit in one datagram.
	if n := len(mc.datagrams()); n != 1 {
		t.Fatalf("100 small frames went out in %d datagrams, want 1", n)
	}
	if diff := cmp.Diff(ps, readN(t, c, len(ps))); diff != "" {
		t.Fatalf("(-sent +received):\n%s", diff)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	mc := newMemConn()
	c := newConn(t, mc, &datagram.Options{MaxDatagram: 100})
	big := make([]byte, c.MaxPayload()+1)
	for name, write := range map[string]func() error{
		"WriteFramesTo": func() error { return c.WriteFramesTo([][]byte{[]byte("ok"), big}, memAddr) },
		"WriteFrameTo":  func() error { return c.WriteFrameTo(big, memAddr) },
		"BufferFrameTo": func() error { return c.BufferFrameTo(big, memAddr) },
	} {
		err := write()
		var pe *framing.PayloadError
		if !errors.As(err, &pe) || !errors.Is(err, framing.ErrPayload) || pe.Size != len(big) {
			t.Errorf("%s: error %v, want a *framing.PayloadError of %d bytes", name, err, len(big))
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if ds := mc.datagrams(); len(ds) != 0 {
		t.Fatalf("refused payloads sent %d datagrams, want none", len(ds))
	}
}

func TestBufferFrameTo(t *testing.T) {
	mc := newMemConn()
	c := newConn(t, mc, nil)
	a := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	a2 := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} // equal, not the same pointer
	b := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
	for _, f := range []struct {
		p    string
		addr net.Addr
	}{{"a1", a}, {"a2", a2}, {"b1", b}, {"a3", a}} {
		if err := c.BufferFrameTo([]byte(f.p), f.addr); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mc.datagrams()); n != 2 {
		t.Fatalf("before Flush: %d datagrams sent, want 2 (a1+a2, b1)", n)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	type dg struct {
		To     string
		Frames []string
	}
	var got []dg
	for range mc.datagrams() {
		frames, _, err := c.ReadFrames(nil)
		if err != nil {
			t.Fatal(err)
		}
		var fs []string
		for _, f := range frames {
			fs = append(fs, string(f))
		}
		got = append(got, dg{Frames: fs})
	}
	for i, d := range mc.datagrams() {
		got[i].To = d.to.String()
	}
	want := []dg{{"127.0.0.1:1", []string{"a1", "a2"}}, {"127.0.0.1:2", []string{"b1"}}, {"127.0.0.1:1", []string{"a3"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("datagrams (-want +got):\n%s", diff)
	}
}

func TestReadFramesAfterReadFrame(t *testing.T) {
	c := newConn(t, newMemConn(), nil)
	if err := c.WriteFramesTo([][]byte{[]byte("a"), []byte("b"), []byte("c")}, memAddr); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrameTo([]byte("d"), memAddr); err != nil {
		t.Fatal(err)
	}
	p, _, err := c.ReadFrame()
	if err != nil || string(p) != "a" {
		t.Fatalf("ReadFrame = %q, %v; want a", p, err)
	}
	var got []string
	for i := 0; i < 2; i++ {
		frames, _, err := c.ReadFrames(nil)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, f := range frames {
			s = append(s, string(f))
		}
		got = append(got, fmt.Sprint(s))
	}
	if diff := cmp.Diff([]string{"[b c]", "[d]"}, got); diff != "" {
		t.Fatalf("ReadFrames (-want +got):\n%s", diff)
	}
}

func TestConcurrentWriters(t *testing.T) {
	mc := newMemConn()
	c := newConn(t, mc, &datagram.Options{MaxDatagram: 300})
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := binary.BigEndian.AppendUint32([]byte{byte(w)}, uint32(i))
				p = append(p, bytes.Repeat([]byte{byte(i)}, i%50)...)
				var err error
				switch i % 3 {
				case 0:
					err = c.WriteFrameTo(p, memAddr)
				case 1:
					err = c.BufferFrameTo(p, memAddr)
				case 2:
					err = c.WriteFramesTo([][]byte{p}, memAddr)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			if err := c.Flush(); err != nil {
				t.Error(err)
			}
		}(w)
	}
	wg.Wait()
	next := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		p, _, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		w, i := int(p[0]), int(binary.BigEndian.Uint32(p[1:5]))
		if i != next[w] {
			t.Fatalf("writer %d: frame %d arrived, want %d (order lost)", w, i, next[w])
		}
		if want := bytes.Repeat([]byte{byte(i)}, i%50); !bytes.Equal(p[5:], want) {
			t.Fatalf("writer %d frame %d: body %x, want %x", w, i, p[5:], want)
		}
		next[w]++
	}
}

func TestNewRejectsOptions(t *testing.T) {
	for _, o := range []datagram.Options{
		{MaxDatagram: datagram.HeaderSize},
		{MaxDatagram: datagram.MaxUDPPayload + 1},
		{MaxDatagram: -1},
		{ReadBuffer: datagram.HeaderSize - 1},
		{ReadBuffer: -1},
	} {
		var ce *framing.ConfigError
		if _, err := datagram.New(newMemConn(), &o); !errors.As(err, &ce) {
			t.Errorf("New(%+v) = %v, want a *framing.ConfigError", o, err)
		}
	}
}

func TestCloseFlushes(t *testing.T) {
	mc := newMemConn()
	c, err := datagram.New(mc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BufferFrameTo([]byte("last words"), memAddr); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ds := mc.datagrams()
	if len(ds) != 1 || !bytes.HasSuffix(ds[0].b, []byte("last words")) {
		t.Fatalf("Close sent %d datagrams (%v), want the buffered frame", len(ds), ds)
	}
}

// listenUDP returns a UDP socket on a free loopback port.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func withDeadline(t *testing.T, c *datagram.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
}

// The classic UDP bug on a real socket: a datagram larger than the receive
// buffer. A plain ReadFrom returns its first bytes as if nothing happened;
// the Conn reports it, and goes on with the next datagram.
func TestTruncatedOnLoopback(t *testing.T) {
	spc, rpc := listenUDP(t), listenUDP(t)
	sender := newConn(t, spc, &datagram.Options{MaxDatagram: 2000})
	receiver := newConn(t, rpc, &datagram.Options{ReadBuffer: 512})
	withDeadline(t, receiver)

	big := bytes.Repeat([]byte("x"), 1500)
	if err := sender.WriteFramesTo([][]byte{big, []byte("in the same datagram")}, rpc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := sender.WriteFrameTo([]byte("next"), rpc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	p, _, err := receiver.ReadFrame()
	var te *datagram.TruncatedError
	if !errors.As(err, &te) || !errors.Is(err, datagram.ErrTruncated) {
		t.Fatalf("ReadFrame = %d bytes, %v; want a *TruncatedError", len(p), err)
	}
	wantSize := datagram.HeaderSize + 2 + 1500 + 1 + len("in the same datagram")
	if te.Size != wantSize || te.Received != 512 || te.Addr.String() != spc.LocalAddr().String() {
		t.Errorf("TruncatedError{Size: %d, Received: %d, Addr: %v}, want {%d, 512, %v}", te.Size, te.Received, te.Addr, wantSize, spc.LocalAddr())
	}
	if framing.Classify(err) != framing.Rejected {
		t.Errorf("Classify = %v, want rejected", framing.Classify(err))
	}
	p, from, err := receiver.ReadFrame()
	if err != nil || string(p) != "next" || from.String() != spc.LocalAddr().String() {
		t.Fatalf("after the truncated datagram: %q from %v, %v; want \"next\"", p, from, err)
	}
}

// Hostile senders on a real socket: each bad datagram is one typed, rejected
// error, and the next valid one reads intact.
func TestHostileOnLoopback(t *testing.T) {
	raw, rpc := listenUDP(t), listenUDP(t)
	receiver := newConn(t, rpc, nil)
	withDeadline(t, receiver)
	bad := [][]byte{
		{},
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		{0xFD, 1, 0xFF, 0xFF, 1, 'x'},
		{0xFD, 1, 0, 6, 9, 'x'},
		{0xFD, 1, 0, 4},
		{0xFD, 7, 0, 6, 1, 'x'},
	}
	good := []byte{0xFD, 1, 0, 6, 1, 'y'}
	for _, d := range bad {
		if _, err := raw.WriteTo(d, rpc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.WriteTo(good, rpc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		p, _, err := receiver.ReadFrame()
		var ce *datagram.CorruptError
		if !errors.As(err, &ce) || framing.Classify(err) != framing.Rejected || ce.Addr == nil {
			t.Errorf("datagram %q: ReadFrame = %q, %v; want a rejected *CorruptError with the sender", d, p, err)
		}
		if p, _, err := receiver.ReadFrame(); err != nil || string(p) != "y" {
			t.Fatalf("after %q: ReadFrame = %q, %v; want \"y\"", d, p, err)
		}
	}
}

func TestReadDeadlineLosesNothing(t *testing.T) {
	spc, rpc := listenUDP(t), listenUDP(t)
	sender, receiver := newConn(t, spc, nil), newConn(t, rpc, nil)
	if err := receiver.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, _, err := receiver.ReadFrame()
	if !errors.Is(err, os.ErrDeadlineExceeded) || framing.Classify(err) != framing.Temporary {
		t.Fatalf("ReadFrame past the deadline = %v, want a temporary timeout", err)
	}
	if err := sender.WriteFramesTo([][]byte{[]byte("one"), []byte("two")}, rpc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	withDeadline(t, receiver)
	if diff := cmp.Diff([][]byte{[]byte("one"), []byte("two")}, readN(t, receiver, 2)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// On a connected socket (net.DialUDP) the address may be nil.
func TestConnectedSocket(t *testing.T) {
	rpc := listenUDP(t)
	cpc, err := net.DialUDP("udp", nil, rpc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	client, receiver := newConn(t, cpc, nil), newConn(t, rpc, nil)
	withDeadline(t, receiver)
	if err := client.WriteFrameTo([]byte("hi"), nil); err != nil {
		t.Fatal(err)
	}
	p, from, err := receiver.ReadFrame()
	if err != nil || string(p) != "hi" || from.String() != cpc.LocalAddr().String() {
		t.Fatalf("ReadFrame = %q from %v, %v; want \"hi\" from %v", p, from, err, cpc.LocalAddr())
	}
}

// fixedConn receives the same datagram for ever and discards what is sent.
type fixedConn struct {
	memConn
	d []byte
}

func (f *fixedConn) ReadFrom(b []byte) (int, net.Addr, error)  { return copy(b, f.d), memAddr, nil }
func (f *fixedConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (f *fixedConn) Close() error                              { return nil }

// Steady state costs no allocation per frame, on either side.
func TestAllocs(t *testing.T) {
	fc := &fixedConn{d: []byte{0xFD, 1, 0, 10, 2, 'h', 'i', 2, 'y', 'o'}}
	c := newConn(t, fc, nil)
	ps := [][]byte{[]byte("one"), []byte("two"), make([]byte, 1000)}
	if n := testing.AllocsPerRun(100, func() {
		if err := c.WriteFramesTo(ps, memAddr); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFrameTo(ps[0], memAddr); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("writes: %v allocations, want 0", n)
	}
	var frames [][]byte
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := c.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		var err error
		if frames, _, err = c.ReadFrames(frames[:0]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("reads: %v allocations, want 0", n)
	}
}
