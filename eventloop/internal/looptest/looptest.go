// Package looptest is the test suite every framekit event-loop adapter
// runs: the same checks, on loopback, against an echo server the
// adapter's test starts on its loop.
package looptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/eventloop/internal/loopcore"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/google/go-cmp/cmp"
)

// Config is the echo server a check asks for.
type Config struct {
	Codec   framing.Codec
	Options *framing.Options
	// Owned asks for frames as owned copies.
	Owned bool
	// Frame, when set, is called with each frame on the loop before it
	// is echoed.
	Frame func(frame []byte)
}

// Server is a running echo server (see Echo): each frame it reads is
// written back as a frame; a frame "fanout" is answered instead by Fanout
// goroutines writing FanoutFrames frames "w<writer>:<seq>" each, at once,
// on the same connection.
type Server struct {
	Addr string
	// Ends receives each connection's end as the adapter reported it.
	Ends <-chan error
	// Counts are what the server's connections hold.
	Counts *loopcore.Counts
}

// Fanout writers, FanoutFrames frames each.
const (
	Fanout       = 64
	FanoutFrames = 50
)

// Loop is an adapter under test.
type Loop struct {
	Name string
	// Start starts an echo server for cfg, stopped when t ends.
	Start func(t *testing.T, cfg Config) *Server
	// ReadsRegardless says the loop reads from a socket whatever its
	// callback is doing (netpoll v0.7.2 has no way to pause reading): the
	// backpressure check then holds the adapter only to echoing every
	// frame, whole and in order, once the callback is released.
	ReadsRegardless bool
}

// Run runs every check on l.
func Run(t *testing.T, l Loop) {
	t.Run("conformance", func(t *testing.T) { conformance(t, l) })
	t.Run("limits", func(t *testing.T) { limits(t, l) })
	t.Run("hostile", func(t *testing.T) { hostile(t, l) })
	t.Run("truncation", func(t *testing.T) { truncation(t, l) })
	t.Run("writers", func(t *testing.T) { writers(t, l) })
	t.Run("foreign", func(t *testing.T) { foreign(t, l) })
	t.Run("crosswrite", func(t *testing.T) { crossWrite(t, l) })
	t.Run("idle", func(t *testing.T) { idle(t, l) })
	t.Run("slowpeer", func(t *testing.T) { slowPeer(t, l) })
	t.Run("backpressure", func(t *testing.T) { backpressure(t, l) })
}

// Codecs are the codecs the checks run: a length prefix (frames found
// from the header) and lines (found by scanning).
var Codecs = []struct {
	Name  string
	Codec framing.Codec
}{
	{"u32be", lengthprefix.U32BE},
	{"lines", delimiter.Lines},
}

// payloads returns n payloads of many sizes up to max, without newlines.
func payloads(rng *rand.Rand, n, max int) [][]byte {
	sizes := []int{0, 1, 2, 3, 7, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 20000}
	ps := make([][]byte, n)
	for i := range ps {
		size := sizes[i%len(sizes)]
		if i%3 == 0 || size > max {
			size = rng.IntN(300)
		}
		p := make([]byte, size)
		for j := range p {
			p[j] = 'a' + byte(rng.IntN(26))
		}
		ps[i] = p
	}
	return ps
}

// end waits for one connection's end.
func end(t *testing.T, s *Server) error {
	t.Helper()
	select {
	case err := <-s.Ends:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no connection ended within 10 s")
		return nil
	}
}

// dial connects to addr with deadlines that bound the test.
func dial(t *testing.T, addr string, codec framing.Codec, opts *framing.Options) *framing.Conn {
	t.Helper()
	c, err := framing.Dial("tcp", addr, codec, opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RoundTrip writes ps to an echo server (from another goroutine) and reads
// them back.
func RoundTrip(c *framing.Conn, ps [][]byte) ([][]byte, error) {
	werr := make(chan error, 1)
	go func() {
		for _, p := range ps {
			if err := c.WriteFrame(p); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	var got [][]byte
	for range ps {
		f, err := c.ReadFrameOwned()
		if err != nil {
			return got, err
		}
		got = append(got, f)
	}
	return got, <-werr
}

// conformance: frames of many sizes echoed whole and in order through
// the re-cutting proxy, the client's bytes cut into 1 to 7 byte pieces
// and coalesced bursts, for a length codec and a scanning one, views and
// owned copies.
func conformance(t *testing.T, l Loop) {
	cuts := []struct {
		name string
		opts fuzz.ProxyOptions
	}{
		{"burst", fuzz.ProxyOptions{Cut: fuzz.CutRandom(7, 16<<10), Back: fuzz.CutWhole(), Hold: 2 * time.Millisecond}},
	}
	for n := 1; n <= 7; n++ {
		cuts = append(cuts, struct {
			name string
			opts fuzz.ProxyOptions
		}{fmt.Sprintf("every%d", n), fuzz.ProxyOptions{Cut: fuzz.CutEvery(n), Back: fuzz.CutRandom(int64(n), 4096)}})
	}
	for _, cd := range Codecs {
		for _, owned := range []bool{false, true} {
			stats := &framing.Stats{}
			s := l.Start(t, Config{Codec: cd.Codec, Owned: owned, Options: &framing.Options{Stats: stats}})
			var sent, bytesSent int64
			for i, cut := range cuts {
				name := fmt.Sprintf("%s/owned=%v/%s", cd.Name, owned, cut.name)
				p, err := fuzz.NewProxy(s.Addr, &cut.opts)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				// Pieces of a few bytes test where headers and
				// delimiters are split; they are slow through a proxy, so
				// they carry smaller frames than the bursts.
				n, max := 40, 1<<20
				if strings.HasPrefix(cut.name, "every") {
					n, max = 20, 1000
				}
				ps := payloads(rng, n, max)
				c := dial(t, p.Addr(), cd.Codec, nil)
				got, err := RoundTrip(c, ps)
				if err != nil {
					t.Fatalf("%s: %v after %d frames", name, err, len(got))
				}
				if diff := DiffFrames(ps, got); diff != "" {
					t.Fatalf("%s: echoed frames differ (-sent +got):\n%s", name, diff)
				}
				_ = c.Close()
				if err := end(t, s); err != io.EOF {
					t.Fatalf("%s: connection ended with %v, want io.EOF", name, err)
				}
				_ = p.Close()
				for _, q := range ps {
					sent++
					bytesSent += int64(len(q))
				}
			}
			if got := stats.FramesRead.Load(); got != sent {
				t.Errorf("%s owned=%v: Stats.FramesRead %d, want %d", cd.Name, owned, got, sent)
			}
			if got := stats.BytesRead.Load(); got != bytesSent {
				t.Errorf("%s owned=%v: Stats.BytesRead %d, want %d", cd.Name, owned, got, bytesSent)
			}
			if got := stats.FramesWritten.Load(); got != sent {
				t.Errorf("%s owned=%v: Stats.FramesWritten %d, want %d", cd.Name, owned, got, sent)
			}
		}
	}
}

// DiffFrames compares frames with bytes.Equal (cmp reflects over every
// byte: seconds for a megabyte) and diffs the first that differ; "" when
// got is want.
func DiffFrames(want, got [][]byte) string {
	for k := range want {
		if k >= len(got) || !bytes.Equal(want[k], got[k]) {
			return fmt.Sprintf("frame %d of %d:\n%s", k, len(want), cmp.Diff(want[k:k+1], got[k:min(k+1, len(got))]))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d frames, want %d", len(got), len(want))
	}
	return ""
}

// limits: frames under, at and over the limit, under Fail (the
// connection ends with a fatal *FrameTooLargeError after the frames
// before it) and under Skip (the oversized frame is dropped, told to
// OnReject, and the next ones echoed).
func limits(t *testing.T, l Loop) {
	const limit = 1000
	sized := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	for _, cd := range Codecs {
		t.Run(cd.Name+"/fail", func(t *testing.T) {
			stats := &framing.Stats{}
			s := l.Start(t, Config{Codec: cd.Codec, Options: &framing.Options{MaxFrameSize: limit, Stats: stats}})
			c := dial(t, s.Addr, cd.Codec, nil)
			for _, n := range []int{limit - 1, limit, limit + 1} {
				if err := c.WriteFrame(sized(n)); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range []int{limit - 1, limit} {
				f, err := c.ReadFrame()
				if err != nil || len(f) != n {
					t.Fatalf("echo of %d bytes: %d bytes, %v", n, len(f), err)
				}
			}
			if f, err := c.ReadFrame(); err != io.EOF {
				t.Fatalf("after the oversized frame: %d bytes, %v; want io.EOF", len(f), err)
			}
			err := end(t, s)
			var tl *framing.FrameTooLargeError
			if !errors.As(err, &tl) || tl.Skipped || framing.Classify(err) != framing.Fatal || tl.Limit != limit {
				t.Fatalf("connection ended with %v, want a fatal *FrameTooLargeError", err)
			}
			if stats.TooLarge.Load() != 1 {
				t.Fatalf("Stats.TooLarge = %d, want 1", stats.TooLarge.Load())
			}
		})
		t.Run(cd.Name+"/skip", func(t *testing.T) {
			stats := &framing.Stats{}
			var rejected atomic.Int64
			s := l.Start(t, Config{Codec: cd.Codec, Options: &framing.Options{MaxFrameSize: limit, Oversize: framing.Skip,
				Stats: stats, OnReject: func(error) { rejected.Add(1) }}})
			c := dial(t, s.Addr, cd.Codec, nil)
			sizes := []int{10, limit + 1, 20, 50000, limit}
			for _, n := range sizes {
				if err := c.WriteFrame(sized(n)); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range []int{10, 20, limit} {
				f, err := c.ReadFrame()
				if err != nil || len(f) != n {
					t.Fatalf("echo of %d bytes: %d bytes, %v", n, len(f), err)
				}
			}
			_ = c.Close()
			if err := end(t, s); err != io.EOF {
				t.Fatalf("connection ended with %v, want io.EOF", err)
			}
			if stats.Skipped.Load() != 2 || rejected.Load() != 2 {
				t.Fatalf("Stats.Skipped = %d, OnReject called %d times; want 2", stats.Skipped.Load(), rejected.Load())
			}
		})
	}
}

// hostile: headers that declare huge frames allocate nothing near their
// size. Conns declaring 4 GiB end with a *FrameTooLargeError; conns
// declaring 7 MiB (under the limit) and sending 10 bytes of it, then
// closing, end with an *UnexpectedEOFError saying so; the server's
// allocations over all of them stay far below one declared frame.
func hostile(t *testing.T, l Loop) {
	const conns = 20
	budget := framing.NewBudget(1 << 20)
	s := l.Start(t, Config{Codec: lengthprefix.U32BE, Options: &framing.Options{Budget: budget}})
	huge := []byte{0xff, 0xff, 0xff, 0xf0}
	under := append([]byte{0x00, 0x70, 0x00, 0x00}, make([]byte, 10)...)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < conns; i++ {
		for _, msg := range [][]byte{huge, under} {
			nc, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := nc.Write(msg); err != nil {
				t.Fatal(err)
			}
			if len(msg) == len(huge) {
				_, _ = io.Copy(io.Discard, nc) // the server closes
			} else {
				_ = nc.(*net.TCPConn).CloseWrite()
			}
			err = end(t, s)
			_ = nc.Close()
			var tl *framing.FrameTooLargeError
			var ue *framing.UnexpectedEOFError
			switch {
			case len(msg) == len(huge) && (!errors.As(err, &tl) || tl.Size != 0xfffffff0):
				t.Fatalf("a 4 GiB header: %v, want a *FrameTooLargeError of its size", err)
			case len(msg) != len(huge) && (!errors.As(err, &ue) || ue.Buffered != len(msg) || ue.Missing != 0x700000-10):
				t.Fatalf("7 MiB declared, 10 bytes sent: %#v, want an *UnexpectedEOFError", err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("%d hostile conns allocated %d bytes (one declared frame is 7 MiB)", 2*conns, got)
	}
	if budget.InUse() != 0 {
		t.Fatalf("%d bytes of the budget still in use", budget.InUse())
	}
}

// truncation: a connection closed at every byte offset of a frame
// reports io.EOF at a boundary and an *UnexpectedEOFError inside it,
// with the bytes it had. (A frame whole at the cut may be echoed or not:
// the connection is closed.)
func truncation(t *testing.T, l Loop) {
	for _, cd := range Codecs {
		s := l.Start(t, Config{Codec: cd.Codec})
		first, _ := cd.Codec.AppendFrame(nil, []byte("first"))
		frame, _ := cd.Codec.AppendFrame(nil, []byte("the frame that is cut"))
		for cut := 0; cut <= len(frame); cut++ {
			nc, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			// The frame before the cut is echoed; then the connection
			// closes (wholly: netpoll closes a half-closed one).
			if _, err := nc.Write(first); err != nil {
				t.Fatal(err)
			}
			echoed := make([]byte, len(first))
			if _, err := io.ReadFull(nc, echoed); err != nil || !bytes.Equal(echoed, first) {
				t.Fatalf("%s cut at %d: echoed %q, %v; want %q", cd.Name, cut, echoed, err, first)
			}
			if _, err := nc.Write(frame[:cut]); err != nil {
				t.Fatal(err)
			}
			_ = nc.Close()
			err = end(t, s)
			var ue *framing.UnexpectedEOFError
			switch {
			case cut == 0 || cut == len(frame):
				if err != io.EOF {
					t.Fatalf("%s cut at %d: %v, want io.EOF", cd.Name, cut, err)
				}
			case !errors.As(err, &ue) || ue.Buffered != cut || !errors.Is(err, io.ErrUnexpectedEOF):
				t.Fatalf("%s cut at %d: %#v, want an *UnexpectedEOFError with %d bytes", cd.Name, cut, err, cut)
			}
		}
	}
}

// writers: 64 goroutines write on one client connection and every frame
// comes back whole, each writer's in order; meanwhile 64 goroutines of
// the server (Server's fanout, started by the first frame) write on the
// same connection, racing with the loop's rounds of echoes, and the
// client gets their frames whole too, each writer's in order.
func writers(t *testing.T, l Loop) {
	const n, per = 64, 40
	s := l.Start(t, Config{Codec: lengthprefix.U32BE})
	c := dial(t, s.Addr, lengthprefix.U32BE, nil)
	if err := c.WriteFrame([]byte("fanout")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				p := fmt.Appendf(nil, "%d:%d:", w, i)
				p = append(p, bytes.Repeat([]byte{byte('a' + w%26)}, (w*i)%3000)...)
				if err := c.WriteFrame(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	echoed, fanned := make([]int, n), make([]int, Fanout)
	for k := 0; k < n*per+Fanout*FanoutFrames; k++ {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		next := echoed
		if bytes.HasPrefix(f, []byte("w")) {
			next, f = fanned, f[1:]
		}
		var w, i int
		if _, err := fmt.Sscanf(string(f), "%d:%d:", &w, &i); err != nil || w < 0 || w >= len(next) {
			t.Fatalf("frame %d is not a whole frame: %.40q", k, f)
		}
		if i != next[w] {
			t.Fatalf("writer %d: frame %d arrived when %d was due", w, i, next[w])
		}
		next[w]++
	}
	wg.Wait()
	if diff := cmp.Diff(slicesOf(n, per), echoed); diff != "" {
		t.Fatalf("frames echoed per client writer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(slicesOf(Fanout, FanoutFrames), fanned); diff != "" {
		t.Fatalf("frames per server writer (-want +got):\n%s", diff)
	}
	_ = c.Close()
	if err := end(t, s); err != io.EOF {
		t.Fatalf("connection ended with %v, want io.EOF", err)
	}
}

// foreign: WriteFrame and Close called by a goroutine of the
// application's, not the loop's (Server's "bye"): the frame arrives,
// then the connection closes, and its end is reported as nil.
func foreign(t *testing.T, l Loop) {
	s := l.Start(t, Config{Codec: lengthprefix.U32BE})
	for i := 0; i < 20; i++ {
		c := dial(t, s.Addr, lengthprefix.U32BE, nil)
		for _, p := range []string{"hello", "bye"} {
			if err := c.WriteFrame([]byte(p)); err != nil {
				t.Fatal(err)
			}
			if f, err := c.ReadFrame(); err != nil || string(f) != p {
				t.Fatalf("conn %d: %q, %v; want %q", i, f, err, p)
			}
		}
		if f, err := c.ReadFrame(); err != io.EOF {
			t.Fatalf("conn %d after bye: %q, %v; want io.EOF", i, f, err)
		}
		if err := end(t, s); err != nil {
			t.Fatalf("conn %d closed by the server ended with %v, want nil", i, err)
		}
		_ = c.Close()
	}
}

// crossWrite: OnFrame of one connection writes to others (Server's
// "poke" to the connections that sent "hold"), which on a single-loop
// server are on the same loop, between their own rounds: every frame
// arrives, in order, and nothing waits on the loop that runs the callback.
func crossWrite(t *testing.T, l Loop) {
	s := l.Start(t, Config{Codec: lengthprefix.U32BE})
	read := func(c *framing.Conn, want string) {
		t.Helper()
		if f, err := c.ReadFrame(); err != nil || string(f) != want {
			t.Fatalf("%q, %v; want %q", f, err, want)
		}
	}
	held := make([]*framing.Conn, 3)
	for i := range held {
		held[i] = dial(t, s.Addr, lengthprefix.U32BE, nil)
		if err := held[i].WriteFrame([]byte("hold")); err != nil {
			t.Fatal(err)
		}
		read(held[i], "hold")
	}
	poker := dial(t, s.Addr, lengthprefix.U32BE, nil)
	const pokes = 20
	for i := 0; i < pokes; i++ {
		if err := poker.WriteFrame([]byte("poke")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < pokes; i++ {
		read(poker, "poke")
	}
	for _, c := range held {
		for i := 0; i < pokes; i++ {
			read(c, "poked")
		}
		// and the connection still echoes, after what others wrote to it
		if err := c.WriteFrame([]byte("after")); err != nil {
			t.Fatal(err)
		}
		read(c, "after")
	}
}

// idle: an idle connection holds no Deframer and no armed slow-peer
// guard (no timer). 1,000 connections that each had a frame echoed hold
// none; after every other one sent half a frame, exactly those hold one
// of each; once their frames are complete, none again.
func idle(t *testing.T, l Loop) {
	const conns = 1000
	s := l.Start(t, Config{Codec: lengthprefix.U32BE, Options: &framing.Options{FrameTimeout: time.Minute}})
	frame, _ := lengthprefix.U32BE.AppendFrame(nil, []byte("idle connection"))
	half := len(frame) / 2
	ncs := make([]net.Conn, conns)
	for i := range ncs {
		nc, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = nc.Close() })
		_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
		ncs[i] = nc
	}
	send := func(step int, p []byte) {
		t.Helper()
		for i := 0; i < conns; i += step {
			if _, err := ncs[i].Write(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	echoed := func(step int) {
		t.Helper()
		got := make([]byte, len(frame))
		for i := 0; i < conns; i += step {
			if _, err := io.ReadFull(ncs[i], got); err != nil || !bytes.Equal(got, frame) {
				t.Fatalf("conn %d echoed %q, %v; want %q", i, got, err, frame)
			}
		}
	}
	send(1, frame)
	echoed(1)
	holds(t, s, 0, "after one frame each")
	send(2, frame[:half])
	holds(t, s, conns/2, "with half a frame on every other one")
	send(2, frame[half:])
	echoed(2)
	holds(t, s, 0, "once those frames were complete")
	for _, nc := range ncs {
		_ = nc.Close()
	}
	for i := 0; i < conns; i++ {
		if err := end(t, s); err != io.EOF {
			t.Fatalf("an idle connection ended with %v, want io.EOF", err)
		}
	}
}

// holds waits (10 s at most: the loop settles a round after it wrote the
// replies) until the server's connections hold n Deframers and n armed
// guards.
func holds(t *testing.T, s *Server, n int64, when string) {
	t.Helper()
	var d, g int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		d, g = s.Counts.Deframers.Load(), s.Counts.Guards.Load()
		if d == n && g == n {
			return
		}
	}
	t.Fatalf("%s: the connections hold %d Deframers and %d armed guards, want %d of each", when, d, g, n)
}

func slicesOf(n, v int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// slowPeer: a frame that stalls mid-way past FrameTimeout cuts the peer
// off with a *SlowPeerError; an idle connection is never cut off (no
// timer without a frame in progress) and still echoes afterwards.
func slowPeer(t *testing.T, l Loop) {
	const timeout = 150 * time.Millisecond
	stats := &framing.Stats{}
	s := l.Start(t, Config{Codec: lengthprefix.U32BE, Options: &framing.Options{FrameTimeout: timeout, Stats: stats}})
	idle := dial(t, s.Addr, lengthprefix.U32BE, nil)
	if err := idle.WriteFrame([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if f, err := idle.ReadFrame(); err != nil || string(f) != "hello" {
		t.Fatalf("echo: %q, %v", f, err)
	}
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte{0, 0, 1, 0, 'x', 'y'}); err != nil {
		t.Fatal(err)
	}
	err = end(t, s)
	var se *framing.SlowPeerError
	if !errors.As(err, &se) || se.Received != 6 {
		t.Fatalf("stalled frame: %v, want a *SlowPeerError with 6 bytes", err)
	}
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("the stalled connection is still open")
	}
	time.Sleep(2 * timeout) // the idle connection outlives the timeout
	if err := idle.WriteFrame([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	if f, err := idle.ReadFrame(); err != nil || string(f) != "still here" {
		t.Fatalf("idle connection after the timeout: %q, %v", f, err)
	}
	if stats.SlowPeers.Load() != 1 {
		t.Fatalf("Stats.SlowPeers = %d, want 1", stats.SlowPeers.Load())
	}
}

// backpressure: while the server's callback is stuck, a client writing
// 64 MiB of frames is held back by TCP (its writes stop) rather than the
// server buffering them; released, every frame is echoed.
func backpressure(t *testing.T, l Loop) {
	const frames, size = 1024, 64 << 10
	release := make(chan struct{})
	var stuck sync.Once
	entered := make(chan struct{})
	s := l.Start(t, Config{Codec: lengthprefix.U32BE, Frame: func([]byte) {
		stuck.Do(func() { close(entered); <-release })
	}})
	c := dial(t, s.Addr, lengthprefix.U32BE, nil)
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		p := make([]byte, size)
		for i := 0; i < frames; i++ {
			if err := c.WriteFrame(p); err != nil {
				done <- err
				return
			}
			written.Add(1)
		}
		done <- nil
	}()
	<-entered
	// Wait until the writes stop moving (the kernel's buffers are full).
	last := int64(-1)
	for written.Load() != last {
		last = written.Load()
		time.Sleep(100 * time.Millisecond)
	}
	if last >= frames && !l.ReadsRegardless {
		t.Fatalf("all %d frames (%d MiB) were taken while the callback was stuck", frames, frames*size>>20)
	}
	close(release)
	var got int
	for got < frames {
		f, err := c.ReadFrame()
		if err != nil || len(f) != size {
			t.Fatalf("echo %d: %d bytes, %v", got, len(f), err)
		}
		got++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d frames were written while the callback was stuck", last, frames)
}
