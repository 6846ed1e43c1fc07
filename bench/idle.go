package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/libp2p/go-msgio"
)

// A FramedConn is what each implementation puts around a net.Conn, reduced
// to one frame each way.
type FramedConn interface {
	WriteFrame(p []byte) error
	ReadFrame() ([]byte, error)
}

// ConnImpl is one implementation of a framed connection (u32 frames).
type ConnImpl struct {
	Name string
	Wrap func(net.Conn) FramedConn
}

// ConnImpls returns the implementations of the idle connection workload.
func ConnImpls() []ConnImpl {
	return []ConnImpl{
		{Name: "framekit", Wrap: func(c net.Conn) FramedConn {
			return framing.NewConn(c, lengthprefix.U32BE, nil)
		}},
		{Name: "msgio", Wrap: func(c net.Conn) FramedConn {
			return &msgioConn{rw: msgio.NewReadWriter(c)}
		}},
		{Name: "goframe", Wrap: func(c net.Conn) FramedConn {
			return newGoframeU32(c)
		}},
		{Name: "bufio", Wrap: func(c net.Conn) FramedConn {
			return &bufioConn{r: bufio.NewReader(c), w: bufio.NewWriter(c)}
		}},
	}
}

type msgioConn struct {
	rw   msgio.ReadWriteCloser
	prev []byte
}

func (m *msgioConn) WriteFrame(p []byte) error { return m.rw.WriteMsg(p) }

func (m *msgioConn) ReadFrame() ([]byte, error) {
	if m.prev != nil {
		m.rw.ReleaseMsg(m.prev)
	}
	msg, err := m.rw.ReadMsg()
	m.prev = msg
	return msg, err
}

// bufioConn is the hand-written framed conn: a bufio.Reader and a
// bufio.Writer around the conn.
type bufioConn struct {
	r   *bufio.Reader
	w   *bufio.Writer
	hdr [4]byte // here, not on the stack: io.ReadFull would make it escape
	buf []byte
}

func (b *bufioConn) WriteFrame(p []byte) error {
	binary.BigEndian.PutUint32(b.hdr[:], uint32(len(p)))
	if _, err := b.w.Write(b.hdr[:]); err != nil {
		return err
	}
	if _, err := b.w.Write(p); err != nil {
		return err
	}
	return b.w.Flush()
}

func (b *bufioConn) ReadFrame() ([]byte, error) {
	if _, err := io.ReadFull(b.r, b.hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(b.hdr[:])
	if n > MaxFrame {
		return nil, errTooLarge
	}
	if cap(b.buf) < int(n) {
		b.buf = make([]byte, n)
	}
	b.buf = b.buf[:n]
	_, err := io.ReadFull(b.r, b.buf)
	return b.buf, err
}

// idleFrame is the frame each idle connection sends and receives once
// before it is measured, so that lazily built state exists. With its
// header it does not fit framekit's 64-byte inline read buffer, so the
// pooled buffer is taken, and must be given back.
var idleFrame = bytes.Repeat([]byte{0x5a}, 64)

// IdleHeap measures the Go heap that impl's framed connections hold while
// idle, per connection, beyond the raw conns. Idle means what a server
// looks like between messages: one goroutine per connection blocked reading
// the next frame, after one frame went each way.
//
// The baseline is taken with the same goroutines blocked reading the raw
// conns (conns[i]) and the same peer goroutines blocked reading peers[i], so
// that goroutines, pipe and poller bookkeeping (a goroutine blocked in a
// net.Pipe read holds sudogs, one blocked on a channel fewer) are the same
// in both measurements; then each conn is wrapped, its goroutine writes a
// frame, reads the peer's reply, and blocks in the next read. Heap is measured after garbage collection, twice, so
// that buffers given back to sync.Pools are not counted. The goroutines
// stay blocked until the caller closes the conns.
func IdleHeap(impl ConnImpl, conns, peers []net.Conn) (float64, error) {
	n := len(conns)
	var wire [4 + 64]byte
	binary.BigEndian.PutUint32(wire[:], uint32(len(idleFrame)))
	copy(wire[4:], idleFrame)

	errs := make(chan error, 2*n)
	// Everything the goroutines use is allocated here and kept alive to
	// the end, so that it is in both measurements.
	handoff := make([]chan FramedConn, n)
	ones := make([]byte, n)
	var woke, tripped sync.WaitGroup
	woke.Add(n)
	tripped.Add(n)
	for i := range n {
		handoff[i] = make(chan FramedConn)
		go func(c net.Conn) { // the connection's reader, raw then framed
			_, err := c.Read(ones[i : i+1])
			woke.Done()
			if err != nil {
				errs <- err
				tripped.Done()
				return
			}
			fc := <-handoff[i]
			err = fc.WriteFrame(idleFrame)
			if err == nil {
				var f []byte
				if f, err = fc.ReadFrame(); err == nil {
					err = Check(f, idleFrame, i)
				}
			}
			if err != nil {
				errs <- fmt.Errorf("%s: conn %d: %w", impl.Name, i, err)
			}
			tripped.Done()
			if err == nil {
				_, _ = fc.ReadFrame() // idle, until the conn is closed
			}
		}(conns[i])
		go func(p net.Conn) { // the peer: echoes one frame, then waits
			var got [len(wire)]byte
			if _, err := io.ReadFull(p, got[:]); err != nil {
				return // closed before the measurement (an error elsewhere)
			}
			if got != wire {
				errs <- fmt.Errorf("%s: conn %d: peer got %x, want %x", impl.Name, i, got, wire)
			}
			if _, err := p.Write(wire[:]); err != nil {
				errs <- err
			}
			_, _ = p.Read(got[:1]) // until closed
		}(peers[i])
	}
	keep := make([]FramedConn, n)
	time.Sleep(100 * time.Millisecond) // every goroutine blocked in its raw read
	before := liveHeap()
	for _, p := range peers {
		if _, err := p.Write([]byte{0}); err != nil {
			return 0, err
		}
	}
	woke.Wait()
	for i, c := range conns {
		keep[i] = impl.Wrap(c)
		handoff[i] <- keep[i]
	}
	tripped.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	time.Sleep(100 * time.Millisecond) // every reader blocked in its next read
	after := liveHeap()
	runtime.KeepAlive(keep)
	runtime.KeepAlive(handoff)
	runtime.KeepAlive(ones)
	runtime.KeepAlive(errs)
	return float64(after-before) / float64(n), nil
}

// liveHeap returns the bytes of live heap objects after two collections
// (the second empties the sync.Pool victim caches, so pooled buffers that
// no connection holds are not counted).
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// PipePairs returns n connected net.Pipe pairs.
func PipePairs(n int) (a, b []net.Conn) {
	a, b = make([]net.Conn, n), make([]net.Conn, n)
	for i := range n {
		a[i], b[i] = net.Pipe()
	}
	return a, b
}

// TCPPairs returns n connected loopback TCP pairs, and a function that
// closes them and the listener.
func TCPPairs(n int) (a, b []net.Conn, closeAll func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	a, b = make([]net.Conn, 0, n), make([]net.Conn, 0, n)
	closeAll = func() {
		ClosePairs(a, b)
		ln.Close()
	}
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		a = append(a, c)
		s, err := ln.Accept()
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		b = append(b, s)
	}
	return a, b, closeAll, nil
}

// ClosePairs closes every conn of both sides, the accepting side first, so
// that TCP's TIME_WAIT lands there and not on the dialer's ephemeral ports.
func ClosePairs(a, b []net.Conn) {
	for _, c := range b {
		c.Close()
	}
	for _, c := range a {
		c.Close()
	}
}
