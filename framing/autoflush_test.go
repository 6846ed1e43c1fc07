package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// scriptConn is a net.Conn that reads a fixed stream (Reads of at most max
// bytes) and records writes, or fails them with werr.
type scriptConn struct {
	net.Conn // nil: only the methods below are used
	r        io.Reader
	max      int
	reads    int
	writes   int
	out      bytes.Buffer
	werr     error
}

func (s *scriptConn) Read(p []byte) (int, error) {
	s.reads++
	if len(p) > s.max {
		p = p[:s.max]
	}
	return s.r.Read(p)
}

func (s *scriptConn) Write(p []byte) (int, error) {
	s.writes++
	if s.werr != nil {
		return 0, s.werr
	}
	return s.out.Write(p)
}

func (s *scriptConn) Close() error { return nil }

func (s *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// A request/response loop that only buffers its replies: they are written
// before each read from the connection, one write per read that found no
// complete frame, and every reply arrives, in order.
func TestBufferedRepliesFlushedBeforeRead(t *testing.T) {
	var reqs [][]byte
	for i := range 40 {
		reqs = append(reqs, []byte(fmt.Sprintf("request %02d", i)))
	}
	sc := &scriptConn{r: bytes.NewReader(encodeAll(t, u32{}, reqs)), max: 100}
	c := NewConn(sc, u32{}, nil)
	var want [][]byte
	for {
		f, err := c.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		reply := append([]byte("re: "), f...)
		want = append(want, reply)
		if err := c.BufferFrame(reply); err != nil {
			t.Fatal(err)
		}
		if sc.writes > sc.reads {
			t.Fatalf("%d writes after %d reads: replies written before a read was needed", sc.writes, sc.reads)
		}
	}
	if !bytes.Equal(sc.out.Bytes(), encodeAll(t, u32{}, want)) {
		t.Fatalf("wrote %d bytes, want the %d replies", sc.out.Len(), len(want))
	}
	if sc.writes >= len(reqs)/2 || sc.writes > sc.reads {
		t.Fatalf("%d writes for %d replies and %d reads", sc.writes, len(want), sc.reads)
	}
	if c.w.Buffered() != 0 {
		t.Fatal("replies left buffered")
	}
}

// Over a real pipe, a server that never calls Flush still answers: a client
// that waits for each reply would otherwise wait for ever.
func TestBufferFrameServerAnswers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	client, server := NewConn(a, u32{}, nil), NewConn(b, u32{}, nil)
	go func() {
		defer server.Close()
		for {
			f, err := server.ReadFrame()
			if err != nil {
				return
			}
			if server.BufferFrame(append([]byte("echo "), f...)) != nil {
				return
			}
		}
	}()
	if err := client.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		msg := fmt.Sprint(i)
		if err := client.WriteFrame([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		f, err := client.ReadFrame()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if string(f) != "echo "+msg {
			t.Fatalf("reply %d: %q", i, f)
		}
	}
}

// A flush before a read that fails breaks the writing side: the read goes
// on, and the next write call returns the error.
func TestAutoFlushErrorSurfacesOnNextWrite(t *testing.T) {
	boom := errors.New("boom")
	reqs := [][]byte{[]byte("one"), []byte("two")}
	sc := &scriptConn{r: bytes.NewReader(encodeAll(t, u32{}, reqs)), max: 7, werr: boom}
	c := NewConn(sc, u32{}, nil)
	f, err := c.ReadFrame()
	if err != nil || string(f) != "one" {
		t.Fatalf("first frame: %q, %v", f, err)
	}
	if err := c.BufferFrame([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	f, err = c.ReadFrame() // reads, so flushes first: the write fails
	if err != nil || string(f) != "two" {
		t.Fatalf("second frame: %q, %v", f, err)
	}
	if sc.writes != 1 {
		t.Fatalf("%d writes, want the one flush", sc.writes)
	}
	for name, call := range map[string]func() error{
		"BufferFrame": func() error { return c.BufferFrame([]byte("x")) },
		"WriteFrame":  func() error { return c.WriteFrame([]byte("x")) },
		"Flush":       c.Flush,
	} {
		if err := call(); !errors.Is(err, ErrWriterBroken) || !errors.Is(err, boom) {
			t.Errorf("%s after the failed flush: %v", name, err)
		}
	}
}

// The read goroutine's flushes and other goroutines' writes on the same
// Conn never interleave frames, and every frame arrives.
func TestAutoFlushWithConcurrentWriters(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	server, peer := NewConn(b, u32{}, nil), NewConn(a, u32{}, nil)
	const writers, each, requests = 4, 200, 200
	done := make(chan error, 1)
	go func() { // the peer: sends requests, reads everything back
		go func() {
			for i := range requests {
				if err := peer.WriteFrame([]byte(fmt.Sprintf("q%d", i))); err != nil {
					return
				}
			}
		}()
		next := map[string]int{}
		for range writers*each + requests {
			f, err := peer.ReadFrame()
			if err != nil {
				done <- err
				return
			}
			var who string
			var n int
			if _, err := fmt.Sscanf(string(f), "%s %d", &who, &n); err != nil || n != next[who] {
				done <- fmt.Errorf("frame %q, want %s %d", f, who, next[who])
				return
			}
			next[who]++
		}
		done <- nil
	}()
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				p := []byte(fmt.Sprintf("w%d %d", g, k))
				var err error
				if k%3 == 0 {
					err = server.BufferFrame(p)
				} else {
					err = server.WriteFrame(p)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			if err := server.Flush(); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := range requests { // the server's reader: replies buffered
		if _, err := server.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if err := server.BufferFrame([]byte(fmt.Sprintf("r %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := server.Flush(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer did not get every frame")
	}
}

func TestFrameBuffered(t *testing.T) {
	stream := encodeAll(t, u32{}, [][]byte{[]byte("first"), []byte("second")})
	stream = append(stream, 0, 0) // the start of a third frame's header
	sc := &scriptConn{r: bytes.NewReader(stream), max: len(stream)}
	c := NewConn(sc, u32{}, nil)
	if c.FrameBuffered() {
		t.Fatal("a frame buffered before any read")
	}
	for _, want := range []string{"first", "second"} {
		f, err := c.ReadFrame()
		if err != nil || string(f) != want {
			t.Fatalf("%q, %v", f, err)
		}
		if got := c.FrameBuffered(); got != (want == "first") {
			t.Fatalf("after %q: FrameBuffered %v", want, got)
		}
	}
	if sc.reads != 1 {
		t.Fatalf("%d reads: FrameBuffered read or changed the Reader", sc.reads)
	}
}

// A Conn's reading side gives the Writer's spare run back before it waits
// for the network: an idle server conn holds no write buffer.
func TestIdleConnHoldsNoWriteRun(t *testing.T) {
	sc := &scriptConn{r: bytes.NewReader(encodeAll(t, u32{}, [][]byte{[]byte("x")})), max: 64}
	c := NewConn(sc, u32{}, nil)
	if err := c.WriteFrame([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if c.w.spare == nil {
		t.Fatal("no spare run after a small write: the fast path allocates each time")
	}
	if _, err := c.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if c.w.spare != nil || c.w.state.Load() != 0 {
		t.Fatalf("spare %v, state %b after a read from the network", c.w.spare != nil, c.w.state.Load())
	}
}

// Both sides write a frame larger than the pipe holds (net.Pipe holds
// nothing) while their reading sides, with a reply buffered, start to
// read: a reading side must not wait for its own side's write in progress
// (blocked until the peer reads) before it reads, or neither side ever
// reads. The buffered reply goes out when that write ends. (CI caught the
// deadlock under -race in TestAutoFlushWithConcurrentWriters.)
func TestAutoFlushDoesNotWaitForWriteInProgress(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	big := bytes.Repeat([]byte("x"), 1<<20)
	sides := []*Conn{NewConn(a, u32{}, nil), NewConn(b, u32{}, nil)}
	errs := make(chan error, 4)
	for i, c := range sides {
		go func() { errs <- c.WriteFrame(big) }()
		for c.w.state.Load()&wWriting == 0 { // its write has begun
			runtime.Gosched()
		}
		if err := c.BufferFrame([]byte(fmt.Sprintf("reply %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range sides {
		go func() {
			f, err := c.ReadFrame()
			if err == nil && !bytes.Equal(f, big) {
				err = fmt.Errorf("side %d: first frame %d bytes, want the large one", i, len(f))
			}
			if err == nil {
				f, err = c.ReadFrame()
				if want := fmt.Sprintf("reply %d", 1-i); err == nil && string(f) != want {
					err = fmt.Errorf("side %d: second frame %q, want %q", i, f, want)
				}
			}
			errs <- err
		}()
	}
	timeout := time.After(20 * time.Second)
	for range 4 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("deadlock: the reading sides waited for their own writes")
		}
	}
}

// A frame another goroutine queued with WriteFrame and waits to write (in
// commit's yield, or woken by the end of another write and not yet back on
// the lock: no write is in progress) is that goroutine's to write. The
// reading side must not write it before it reads: on net.Pipe that write
// blocks until the peer reads, and here the peer writes first and reads
// only after its frame was read (with both sides in that state, neither
// would ever read again). The frames buffered before it go out with it.
func TestAutoFlushLeavesCommittedFrames(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := NewConn(b, u32{}, nil)
	if err := c.BufferFrame([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("z"), 256<<10)
	// The state commit leaves while such a goroutine is off the lock: in
	// the slow world, its run marked.
	c.w.enter()
	gen := c.w.openGen
	if err := c.w.queue(big, false); err != nil {
		t.Fatal(err)
	}
	c.w.open.committed = true
	c.w.mu.Unlock()

	go func() { _, _ = a.Write(encodeAll(t, u32{}, [][]byte{[]byte("ping")})) }()
	read := make(chan error, 1)
	go func() {
		f, err := c.ReadFrame()
		if err == nil && string(f) != "ping" {
			err = fmt.Errorf("read %q, want ping", f)
		}
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reading side wrote a frame another goroutine was committed to writing, and blocked until the peer read")
	}

	// The committed goroutine's turn: everything arrives, in order.
	wrote := make(chan error, 1)
	go func() {
		c.w.mu.Lock()
		defer c.w.leave()
		wrote <- c.w.commit(gen)
	}()
	peer := NewConn(a, u32{}, nil)
	for _, want := range [][]byte{[]byte("reply"), big} {
		f, err := peer.ReadFrame()
		if err != nil || !bytes.Equal(f, want) {
			t.Fatalf("peer read %d bytes, %v; want %d bytes", len(f), err, len(want))
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}
