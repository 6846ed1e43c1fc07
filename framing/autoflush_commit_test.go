package framing

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// gateConn is a net.Conn whose writes wait for gate, then record.
type gateConn struct {
	net.Conn
	gate chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer
}

func (g *gateConn) Write(p []byte) (int, error) {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out.Write(p)
}
func (g *gateConn) Close() error { return nil }

// The write in progress is a slow-world commit (take block): the frames
// buffered before idle must go out when it ends.
func TestAutoFlushDuringCommitWrite(t *testing.T) {
	gc := &gateConn{gate: make(chan struct{})}
	c := NewConn(gc, u32{}, nil)
	if err := c.BufferFrame([]byte("a")); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.WriteFrame([]byte("g")) }() // slow path: commit takes [a g]
	for c.w.state.Load()&wWriting == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := c.BufferFrame([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	idled := make(chan struct{})
	go func() { c.w.idle(); close(idled) }()
	select {
	case <-idled:
	case <-time.After(2 * time.Second):
		t.Fatal("idle waited for the write in progress")
	}
	close(gc.gate)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	want := encodeAll(t, u32{}, [][]byte{[]byte("a"), []byte("g"), []byte("reply")})
	deadline := time.Now().Add(2 * time.Second)
	for {
		gc.mu.Lock()
		got := append([]byte(nil), gc.out.Bytes()...)
		gc.mu.Unlock()
		if bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("wrote %q, want %q: the buffered reply was never written", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}
