package looptest

import (
	"strconv"
	"sync"

	"github.com/framekit/framekit/eventloop/internal/loopcore"
)

// Writer is what the echo server needs of an adapter's Conn.
type Writer interface {
	WriteFrame(p []byte) error
	BufferFrame(p []byte) error
	Close() error
}

// Echo is the echo server's callbacks, for an adapter whose Conn is C:
// each frame is buffered back (written when the round ends); a frame
// "fanout" is answered by Fanout goroutines writing at once with
// WriteFrame, a frame "bye" by a goroutine that writes "bye" and closes
// the connection; "hold" is echoed and remembers the connection, and
// "poke" is echoed after OnFrame wrote "poked" to every connection held
// (a callback of one connection writing to others).
type Echo[C Writer] struct {
	cfg  Config
	ends chan error

	mu   sync.Mutex
	held []C // connections that sent "hold"
}

// NewEcho returns the callbacks of an echo server for cfg.
func NewEcho[C Writer](cfg Config) *Echo[C] {
	return &Echo[C]{cfg: cfg, ends: make(chan error, 1024)}
}

// OnFrame is the adapter's Config.OnFrame.
func (e *Echo[C]) OnFrame(c C, f []byte) {
	switch string(f) {
	case "fanout":
		fanout(c)
		return
	case "hold":
		e.mu.Lock()
		e.held = append(e.held, c)
		e.mu.Unlock()
	case "poke":
		e.mu.Lock()
		for _, h := range e.held {
			_ = h.WriteFrame([]byte("poked"))
		}
		e.mu.Unlock()
	case "bye":
		go func() {
			if c.WriteFrame([]byte("bye")) == nil {
				_ = c.Close()
			}
		}()
		return
	}
	if e.cfg.Frame != nil {
		e.cfg.Frame(f)
	}
	// A failed write (the peer gone) is seen by the client's checks,
	// which read every echo.
	_ = c.BufferFrame(f)
}

// OnClose is the adapter's Config.OnClose.
func (e *Echo[C]) OnClose(_ C, err error) { e.ends <- err }

// Server returns the running server at addr; counts are its Loop's.
func (e *Echo[C]) Server(addr string, counts *loopcore.Counts) *Server {
	return &Server{Addr: addr, Ends: e.ends, Counts: counts}
}

// fanout writes from many goroutines at once on one connection.
func fanout(c Writer) {
	for w := 0; w < Fanout; w++ {
		go func() {
			for i := 0; i < FanoutFrames; i++ {
				if c.WriteFrame([]byte("w"+strconv.Itoa(w)+":"+strconv.Itoa(i)+":")) != nil {
					return
				}
			}
		}()
	}
}
