package framing

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// TestIdleConnHeap measures the heap a framed Conn adds to an idle
// connection once it has carried a frame each way and sits blocked in
// ReadFrame: its read buffer and write batch are back in the pools, so
// what is left is the Conn itself.
func TestIdleConnHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("heap figures are checked without -race")
	}
	const n = 500
	pipes := make([][2]net.Conn, n)
	for i := range pipes {
		a, b := net.Pipe()
		pipes[i] = [2]net.Conn{a, b}
	}
	defer func() {
		for _, p := range pipes {
			p[0].Close()
			p[1].Close()
		}
	}()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// The reader goroutines and their channels exist before the baseline,
	// so that only the Conns' own cost is measured.
	ready := make([]chan *Conn, n)
	for i := range ready {
		ready[i] = make(chan *Conn)
		go func(ch chan *Conn, raw net.Conn) {
			// Block once in a plain pipe read, as the idle Conn will, so
			// that the runtime's bookkeeping for blocked goroutines is in
			// the baseline too.
			var one [1]byte
			if _, err := raw.Read(one[:]); err != nil {
				t.Error(err)
			}
			c := <-ch
			if _, err := c.ReadFrame(); err != nil {
				t.Error(err)
			}
			_, _ = c.ReadFrame() // idle until the pipe closes
		}(ready[i], pipes[i][1])
	}
	time.Sleep(50 * time.Millisecond) // all blocked in their plain reads
	for _, p := range pipes {
		if _, err := p[0].Write([]byte{0}); err != nil {
			t.Fatal(err)
		}
	}
	conns := make([]*Conn, 0, 2*n)
	frame := make([]byte, 3000)
	before := heap()
	for i, p := range pipes {
		a, b := NewConn(p[0], u32{}, nil), NewConn(p[1], u32{}, nil)
		conns = append(conns, a, b)
		ready[i] <- b
		if err := a.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	after := heap()
	per := (int64(after) - int64(before)) / int64(len(conns))
	t.Logf("%d bytes of heap per idle framed conn", per)
	// The Conn struct is 448 bytes (a size class of its own); about 90 more
	// are runtime bookkeeping not yet accounted for. A read buffer or write
	// batch kept while idle would add 4 KiB or more.
	if per > 640 {
		t.Fatalf("%d bytes of heap per idle framed conn", per)
	}
	runtime.KeepAlive(conns)
}
