package framing_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// dribble writes p one byte every interval until stop is closed or p ends.
func dribble(c net.Conn, p []byte, interval time.Duration, stop <-chan struct{}) {
	for _, b := range p {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
	}
}

func u32(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

// TestSlowPeerGuard: a peer that declares 1 MiB and then sends a byte
// every 50 ms is cut off by FrameTimeout with a fatal SlowPeerError, even
// though the caller refreshes a per-read deadline that the dribble always
// beats.
func TestSlowPeerGuard(t *testing.T) {
	client, server := tcpPair(t)
	stats := new(framing.Stats)
	c := framing.NewConn(server, lengthprefix.U32BE, &framing.Options{FrameTimeout: 400 * time.Millisecond, Stats: stats})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		client.Write(u32(1 << 20))
		dribble(client, make([]byte, 1<<20), 50*time.Millisecond, stop)
	}()
	start := time.Now()
	var err error
	for time.Since(start) < 10*time.Second {
		c.SetReadDeadline(time.Now().Add(time.Second)) // a per-read deadline, refreshed
		if _, err = c.ReadFrame(); err != nil && framing.Classify(err) != framing.Temporary {
			break
		}
	}
	var spe *framing.SlowPeerError
	var ne net.Error
	if !errors.Is(err, framing.ErrSlowPeer) || !errors.As(err, &spe) || framing.Classify(err) != framing.Fatal {
		t.Fatalf("got %v (class %v), want a fatal *SlowPeerError", err, framing.Classify(err))
	}
	if errors.As(err, &ne) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the guard's error %v looks like the caller's timeout", err)
	}
	if el := time.Since(start); el < 350*time.Millisecond || el > 3*time.Second {
		t.Fatalf("guard fired after %v, want about 400ms", el)
	}
	if spe.Received < 4 || spe.Rate {
		t.Fatalf("error fields %+v: want the header counted and the frame timeout named", spe)
	}
	if _, err2 := c.ReadFrame(); !errors.Is(err2, framing.ErrSlowPeer) {
		t.Fatalf("second call: %v, want the sticky SlowPeerError", err2)
	}
	if stats.SlowPeers.Load() != 1 {
		t.Fatalf("SlowPeers = %d, want 1", stats.SlowPeers.Load())
	}
}

// TestSlowPeerMinRate: a frame that trickles in below MinRate fails once
// the first second of grace is over.
func TestSlowPeerMinRate(t *testing.T) {
	client, server := tcpPair(t)
	c := framing.NewConn(server, lengthprefix.U32BE, &framing.Options{MinRate: 1000})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		client.Write(u32(4096))
		dribble(client, make([]byte, 4096), 20*time.Millisecond, stop) // 50 B/s
	}()
	start := time.Now()
	_, err := c.ReadFrame()
	var spe *framing.SlowPeerError
	if !errors.As(err, &spe) || !spe.Rate {
		t.Fatalf("got %v, want a *SlowPeerError for the rate", err)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 4*time.Second {
		t.Fatalf("fired after %v, want a little over 1s", el)
	}
}

// TestCallerDeadlineUnderGuard: the caller's own deadline, earlier than
// the guard's, stays a Temporary timeout, and the frame resumes intact.
func TestCallerDeadlineUnderGuard(t *testing.T) {
	client, server := tcpPair(t)
	c := framing.NewConn(server, lengthprefix.U32BE, &framing.Options{FrameTimeout: 10 * time.Second})
	client.Write(append(u32(5), 'h', 'e'))
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := c.ReadFrame()
	if !errors.Is(err, os.ErrDeadlineExceeded) || framing.Classify(err) != framing.Temporary || errors.Is(err, framing.ErrSlowPeer) {
		t.Fatalf("got %v, want the caller's temporary timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	client.Write([]byte("llo"))
	f, err := c.ReadFrame()
	if err != nil || string(f) != "hello" {
		t.Fatalf("after resuming: %q, %v", f, err)
	}
	// Between frames the guard leaves the caller's deadline alone: an
	// idle connection does not time out by itself.
	done := make(chan error, 1)
	go func() { _, err := c.ReadFrame(); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("idle read returned %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	client.Write(append(u32(2), 'o', 'k'))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGuardOnPlainReader: a Reader on a source without deadlines checks the
// guard whenever a read returns.
func TestGuardOnPlainReader(t *testing.T) {
	a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(1)})
	defer a.Close()
	r := framing.NewReader(struct{ io.Reader }{b}, lengthprefix.U32BE, &framing.Options{FrameTimeout: 100 * time.Millisecond})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		a.Write(u32(100))
		dribble(a, make([]byte, 100), 30*time.Millisecond, stop)
	}()
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrSlowPeer) {
		t.Fatalf("got %v, want ErrSlowPeer", err)
	}
}

// TestBudgetBoundsHeap is the budget test: 200 connections each
// send the first half of an 8 MiB frame under a 32 MiB budget. The heap
// stays within the budget plus 16 MiB, and the connections over budget get
// the typed error.
func TestBudgetBoundsHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 800 MiB over loopback")
	}
	const conns, declared = 200, 8 << 20
	half := make([]byte, declared/2)
	budget := framing.NewBudget(32 << 20)
	stats := new(framing.Stats)
	opts := &framing.Options{Budget: budget, Stats: stats, MaxFrameSize: 16 << 20}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var received [conns]atomic.Int64
	var overBudget, other atomic.Int64
	var wg sync.WaitGroup
	var servers []net.Conn
	var mu sync.Mutex
	go func() {
		for i := 0; i < conns; i++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			servers = append(servers, nc)
			mu.Unlock()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := framing.NewConn(countingConn{nc, &received[i]}, lengthprefix.U32BE, opts)
				_, err := c.ReadFrame()
				if errors.Is(err, framing.ErrBudget) {
					overBudget.Add(1)
					nc.Close()
					return
				}
				if !errors.Is(err, net.ErrClosed) {
					other.Add(1)
				}
			}(i)
		}
	}()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		go func() {
			c.Write(u32(declared))
			c.Write(half)
		}()
	}
	// Settled: every connection either failed or has all it was sent.
	deadline := time.Now().Add(60 * time.Second)
	for {
		settled := overBudget.Load()
		for i := range received {
			if received[i].Load() == int64(4+len(half)) {
				settled++
			}
		}
		if settled >= conns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %d over budget, %d settled", overBudget.Load(), settled)
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d over budget, %d MiB of budget in use, heap grew %d MiB", overBudget.Load(), budget.InUse()>>20, grown>>20)
	if grown > 32<<20+16<<20 {
		t.Errorf("heap grew by %d MiB, over the 32 MiB budget plus 16 MiB", grown>>20)
	}
	if overBudget.Load() == 0 || overBudget.Load() == conns {
		t.Errorf("%d connections got ErrBudget, want some but not all", overBudget.Load())
	}
	if budget.InUse() > budget.Size() {
		t.Errorf("budget in use %d over its size", budget.InUse())
	}
	if stats.OverBudget.Load() != overBudget.Load() {
		t.Errorf("Stats.OverBudget = %d, want %d", stats.OverBudget.Load(), overBudget.Load())
	}
	mu.Lock()
	for _, s := range servers {
		s.Close()
	}
	mu.Unlock()
	wg.Wait()
	if other.Load() != 0 {
		t.Errorf("%d connections failed otherwise", other.Load())
	}
	if budget.InUse() != 0 {
		// Readers blocked in a read still hold their buffers until they
		// return; after Close they all did.
		t.Logf("budget still in use after close: %d", budget.InUse())
	}
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestBudgetWait: with BudgetWait a Reader waits for memory another
// Reader gives back, instead of failing.
func TestBudgetWait(t *testing.T) {
	budget := framing.NewBudget(100 << 10)
	opts := &framing.Options{Budget: budget, BudgetWait: true}
	// r2 holds a 40 KiB buffer for a frame that is all there but 1 KiB.
	a, b := fuzz.Pipe(nil)
	defer a.Close()
	r2 := framing.NewReader(b, lengthprefix.U32BE, opts)
	small := append(u32(40<<10), make([]byte, 40<<10)...)
	a.Write(small[:len(small)-1024])
	got := make(chan error, 1)
	go func() { _, err := r2.ReadFrame(); got <- err }()
	for budget.InUse() < 40<<10 || !b.WaitReadBlocked(time.Millisecond) {
		time.Sleep(time.Millisecond)
	}
	// r1 has a whole 48 KiB frame, and needs more than what is left.
	big := append(u32(48<<10), make([]byte, 48<<10)...)
	r1 := framing.NewReader(bytes.NewReader(big), lengthprefix.U32BE, opts)
	done := make(chan error, 1)
	go func() { _, err := r1.ReadFrame(); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("r1 did not wait for memory: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	// r2 completes its frame, and gives its buffer back at its next read.
	a.Write(small[len(small)-1024:])
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	go r2.ReadFrame()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("r1 after waiting: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("r1 still waiting after memory was given back")
	}
	// Without BudgetWait the same shortage is an error at once.
	a.Write(small[:len(small)-1024])
	for budget.InUse() < 40<<10 {
		time.Sleep(time.Millisecond)
	}
	r3 := framing.NewReader(bytes.NewReader(big), lengthprefix.U32BE, &framing.Options{Budget: budget})
	var be *framing.BudgetError
	if _, err := r3.ReadFrame(); !errors.As(err, &be) || framing.Classify(err) != framing.Fatal {
		t.Fatalf("without BudgetWait: %v, want a fatal *BudgetError", err)
	}
}

// pattern repeats with a prime period, so a byte lost or doubled anywhere
// shows; readers and checkers copy and compare whole slices of it.
const period = 65521

var pattern = func() []byte {
	p := make([]byte, 2*period+(64<<10))
	for i := range p {
		p[i] = byte(i % period * 7 >> 3)
	}
	return p
}()

// patternReader yields n bytes of the pattern without holding them.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off, 64<<10)]
	n := copy(b, pattern[p.off%period:])
	p.off += int64(n)
	return n, nil
}

// patternChecker checks that it is written the pattern.
type patternChecker struct {
	off int64
	bad bool
}

func (p *patternChecker) Write(b []byte) (int, error) {
	written := len(b)
	for len(b) > 0 {
		n := min(len(b), 64<<10)
		if !bytes.Equal(b[:n], pattern[p.off%period:p.off%period+int64(n)]) {
			p.bad = true
		}
		p.off += int64(n)
		b = b[n:]
	}
	return written, nil
}

// TestStreamGiantFrame reads a 1 GiB frame through a 64 KiB buffer with
// ReadBody, then the frame after it.
func TestStreamGiantFrame(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	src := io.MultiReader(
		bytes.NewReader(binary.BigEndian.AppendUint64(nil, uint64(size))),
		&patternReader{n: size},
		bytes.NewReader(append(binary.BigEndian.AppendUint64(nil, 4), "next"...)),
	)
	r := framing.NewReader(src, lengthprefix.U64BE, &framing.Options{MaxBodySize: 1 << 40})
	var n int64
	var body *framing.Body
	var chk patternChecker
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	func() {
		var err error
		n, body, err = r.ReadBody()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64<<10)
		if _, err := io.CopyBuffer(struct{ io.Writer }{&chk}, struct{ io.Reader }{body}, buf); err != nil {
			t.Fatal(err)
		}
	}()
	runtime.ReadMemStats(&after)
	if n != size || chk.off != size || chk.bad {
		t.Fatalf("body of %d bytes, read %d, pattern broken: %v", n, chk.off, chk.bad)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("%d bytes allocated to stream %d bytes", alloc, size)
	}
	f, err := r.ReadFrame()
	if err != nil || string(f) != "next" {
		t.Fatalf("frame after the body: %q, %v", f, err)
	}
}

// TestBodyDiscardedByNextRead: a body left unread is skipped by the next
// read, arriving or not, and the frame after it comes out.
func TestBodyDiscardedByNextRead(t *testing.T) {
	a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutRandom(3, 100)})
	defer a.Close()
	r := framing.NewReader(b, lengthprefix.Uvarint, &framing.Options{MaxFrameSize: 16, MaxBodySize: 1 << 20})
	var stream []byte
	for _, p := range [][]byte{bytes.Repeat([]byte("x"), 100_000), []byte("after"), bytes.Repeat([]byte("y"), 5000)} {
		stream, _ = lengthprefix.Uvarint.AppendFrame(stream, p)
	}
	go func() { a.Write(stream); a.CloseWrite() }()
	n, body, err := r.ReadBody()
	if err != nil || n != 100_000 {
		t.Fatalf("ReadBody = %d, %v", n, err)
	}
	head := make([]byte, 10)
	if _, err := io.ReadFull(body, head); err != nil || string(head) != "xxxxxxxxxx" {
		t.Fatalf("body start %q, %v", head, err)
	}
	f, err := r.ReadFrame() // discards the other 99,990 bytes
	if err != nil || string(f) != "after" {
		t.Fatalf("next frame %q, %v", f, err)
	}
	if _, err := body.Read(head); err == nil {
		t.Fatal("the old body still reads")
	}
	// A frame over MaxFrameSize cannot be read whole, but streams.
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) {
		t.Fatalf("5000-byte frame under a 16-byte limit: %v", err)
	}
}

// TestReadBodyWithoutHeader: a delimited frame is buffered, then streamed
// from memory; the next call goes on after it.
func TestReadBodyWithoutHeader(t *testing.T) {
	r := framing.NewReader(bytes.NewReader([]byte("a\nb\n")), delimiter.Lines, nil)
	n, body, err := r.ReadBody()
	if err != nil || n != 1 {
		t.Fatalf("ReadBody with Lines: %d, %v", n, err)
	}
	if got, err := io.ReadAll(body); err != nil || string(got) != "a" {
		t.Fatalf("body %q, %v", got, err)
	}
	if f, err := r.ReadFrame(); err != nil || string(f) != "b" {
		t.Fatalf("ReadFrame after: %q, %v", f, err)
	}
}

// TestDetachHandsOffEveryByte: frame a handshake, hand off, and read the
// rest raw, byte-exact, although it arrived in the same reads as the
// handshake's frames.
func TestDetachHandsOffEveryByte(t *testing.T) {
	client, server := tcpPair(t)
	raw := bytes.Repeat([]byte("RAW-TLS-RECORDS "), 5000)
	var hs []byte
	hs, _ = delimiter.CRLF.AppendFrame(hs, []byte("EHLO example"))
	hs, _ = delimiter.CRLF.AppendFrame(hs, []byte("STARTTLS"))
	go func() {
		client.Write(append(append([]byte(nil), hs...), raw[:1000]...)) // one write: frames and raw glued
		client.Write(raw[1000:])
		client.(*net.TCPConn).CloseWrite()
	}()
	c := framing.NewConn(server, delimiter.CRLF, nil)
	for _, want := range []string{"EHLO example", "STARTTLS"} {
		f, err := c.ReadFrame()
		if err != nil || string(f) != want {
			t.Fatalf("handshake frame %q, %v; want %q", f, err, want)
		}
	}
	if err := c.WriteFrame([]byte("220 go ahead")); err != nil {
		t.Fatal(err)
	}
	nc, rest, err := c.Detach()
	if err != nil {
		t.Fatal(err)
	}
	after, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(rest, after...); !bytes.Equal(got, raw) {
		t.Fatalf("handed-off stream differs: %d bytes (%d buffered), want %d", len(got), len(rest), len(raw))
	}
	if _, err := c.ReadFrame(); !errors.Is(err, framing.ErrDetached) {
		t.Fatalf("ReadFrame after Detach: %v", err)
	}
	if err := c.WriteFrame(nil); !errors.Is(err, framing.ErrDetached) {
		t.Fatalf("WriteFrame after Detach: %v", err)
	}
	reply, _ := io.ReadAll(io.LimitReader(client, 14))
	if string(reply) != "220 go ahead\r\n" {
		t.Fatalf("client got %q", reply)
	}
}

// TestStatsAndOnReject counts what a stream holds.
func TestStatsAndOnReject(t *testing.T) {
	stats := new(framing.Stats)
	var rejected []error
	opts := &framing.Options{MaxFrameSize: 10, Oversize: framing.Skip, Stats: stats, OnReject: func(err error) { rejected = append(rejected, err) }}
	var stream []byte
	for _, p := range []string{"a", "0123456789", "toolong-toolong", "bc", ""} {
		stream, _ = lengthprefix.U16BE.AppendFrame(stream, []byte(p))
	}
	a, b := fuzz.Pipe(nil)
	defer a.Close()
	c := framing.NewConn(b, lengthprefix.U16BE, opts)
	a.Write(stream[:4]) // the first frame and half the second's header
	go func() {
		b.WaitReadBlocked(5 * time.Second)
		c.SetReadDeadline(time.Now().Add(-time.Second))
	}()
	if f, err := c.ReadFrame(); err != nil || string(f) != "a" {
		t.Fatal(f, err)
	}
	if _, err := c.ReadFrame(); framing.Classify(err) != framing.Temporary {
		t.Fatalf("want a timeout, got %v", err)
	}
	c.SetReadDeadline(time.Time{})
	a.Write(stream[4:])
	a.CloseWrite()
	var frames []string
	for {
		f, err := c.ReadFrame()
		if err == io.EOF {
			break
		}
		if err == nil {
			frames = append(frames, string(f))
		}
	}
	c.WriteFrame([]byte("out"))
	got := stats.Snapshot()
	want := framing.StatsSnapshot{FramesRead: 4, BytesRead: 13, FramesWritten: 1, BytesWritten: 3, Skipped: 1, Resumed: 1, Largest: 10}
	if got != want {
		t.Fatalf("stats\n got %v\nwant %v", got, want)
	}
	if len(rejected) != 1 || !errors.Is(rejected[0], framing.ErrFrameTooLarge) {
		t.Fatalf("OnReject saw %v", rejected)
	}
	if len(frames) != 3 {
		t.Fatalf("frames %q", frames)
	}
}

// TestBudgetWaitEndsAtTheGuardAsBudgetError: a read waiting for budget
// memory that the guard's deadline ends fails with a fatal *BudgetError,
// not the Temporary timeout the caller never set (a retrying caller would
// spin on it) nor a *SlowPeerError (the peer sent its frame at once).
func TestBudgetWaitEndsAtTheGuardAsBudgetError(t *testing.T) {
	b := framing.NewBudget(48 << 10)
	a1, a2 := fuzz.Pipe(&fuzz.PipeOptions{Buffer: 1 << 20})
	defer a1.Close()
	holder := framing.NewConn(a2, lengthprefix.U32BE, &framing.Options{Budget: b})
	defer holder.Close()
	a1.Write(binary.BigEndian.AppendUint32(nil, 30<<10))
	a1.Write(make([]byte, 20<<10))
	holder.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := holder.ReadFrame(); framing.Classify(err) != framing.Temporary || b.InUse() < 30<<10 {
		t.Fatalf("the holder: %v, holding %d bytes; want a timeout holding its partial frame", err, b.InUse())
	}
	c1, c2 := fuzz.Pipe(&fuzz.PipeOptions{Buffer: 1 << 20})
	defer c1.Close()
	stats := new(framing.Stats)
	c := framing.NewConn(c2, lengthprefix.U32BE, &framing.Options{Budget: b, BudgetWait: true, FrameTimeout: 100 * time.Millisecond, Stats: stats})
	defer c.Close()
	c1.Write(append(binary.BigEndian.AppendUint32(nil, 32<<10), make([]byte, 32<<10)...))
	_, err := c.ReadFrame()
	if !errors.Is(err, framing.ErrBudget) || framing.Classify(err) != framing.Fatal {
		t.Fatalf("a frame waiting for memory past the guard's deadline: %v (%T, %v); want a fatal *BudgetError", err, err, framing.Classify(err))
	}
	if st := stats.Snapshot(); st.OverBudget != 1 || st.SlowPeers != 0 {
		t.Errorf("Stats: over_budget %d, slow_peers %d; want 1, 0", st.OverBudget, st.SlowPeers)
	}
}
