package fuzz

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// PipeOptions configures a Pipe. The zero value (or nil) is a pipe holding
// 64 KiB each way that delivers bytes as they were written, coalesced.
type PipeOptions struct {
	// Cut says how the bytes written at one end are cut into reads at the
	// other, in both directions. A read returns at most one piece, and
	// bytes of several writes together whenever they are buffered, so one
	// write can arrive in several reads and several writes in one read.
	Cut Cutting
	// Buffer is how many bytes each direction holds before Write blocks
	// (default 64 KiB). A small buffer makes writes wait for the reader,
	// so write deadlines fire and writes come back partial, as on a real
	// socket whose peer does not read.
	Buffer int
	// DelayAfter and Delay stall the reads of each direction once, for
	// Delay, after DelayAfter bytes were delivered.
	DelayAfter int64
	Delay      time.Duration
	// ResetAfter, when positive, resets the connection once ResetAfter
	// bytes were delivered in either direction: both ends' reads and
	// writes then fail with ECONNRESET, as after a TCP RST.
	ResetAfter int64
}

// Pipe returns the two ends of an in-memory connection with the semantics
// of a TCP connection that net.Pipe lacks: each direction is buffered (so
// writes return before the peer reads, and several writes coalesce into one
// read), reads are cut by opts.Cut, deadlines fire with an error that
// errors.Is os.ErrDeadlineExceeded and can be moved or cleared to resume,
// CloseWrite half-closes (the peer reads io.EOF once it has read what was
// written), Close on either side is seen by the other, and writes are
// vectored through WriteBuffers (framing.BuffersWriter), one counted write
// per call.
func Pipe(opts *PipeOptions) (*Conn, *Conn) {
	var o PipeOptions
	if opts != nil {
		o = *opts
	}
	if o.Buffer <= 0 {
		o.Buffer = 64 << 10
	}
	ab := newHalf(&o)
	ba := newHalf(&o)
	reset := &resetState{}
	ab.reset, ba.reset = reset, reset
	reset.halves = [2]*half{ab, ba}
	a := &Conn{in: ba, out: ab, local: pipeAddr("pipe-a"), remote: pipeAddr("pipe-b")}
	b := &Conn{in: ab, out: ba, local: pipeAddr("pipe-b"), remote: pipeAddr("pipe-a")}
	return a, b
}

type pipeAddr string

func (a pipeAddr) Network() string { return "fuzz" }
func (a pipeAddr) String() string  { return string(a) }

// resetState is shared by the two directions of one pipe.
type resetState struct {
	once   sync.Once
	halves [2]*half
}

func (r *resetState) fire() {
	r.once.Do(func() {
		for _, h := range r.halves {
			h.mu.Lock()
			h.broken = true
			h.signal()
			h.mu.Unlock()
		}
	})
}

// half is one direction of a pipe: bytes written at one end, read at the
// other.
type half struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	buf     []byte        // buffered bytes are buf[off:]
	off     int
	size    int
	cut     piece

	delivered  int64
	delayAfter int64
	delay      time.Duration
	delayed    bool
	resetAfter int64
	reset      *resetState
	broken     bool // reset

	readDeadline  time.Time // of the reading end
	writeDeadline time.Time // of the writing end
	readerClosed  bool      // the reading end was closed
	readShut      bool      // the reading end called CloseRead
	writerClosed  bool      // the writing end was closed
	writeShut     bool      // the writing end called CloseWrite (or Close)
	readersWait   int       // Reads blocked waiting for bytes

	reads, writes int
}

func newHalf(o *PipeOptions) *half {
	return &half{
		changed:    make(chan struct{}),
		size:       o.Buffer,
		cut:        newPiece(o.Cut),
		delayAfter: o.DelayAfter,
		delay:      o.Delay,
		resetAfter: o.ResetAfter,
	}
}

// signal wakes every waiter; h.mu must be held.
func (h *half) signal() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// wait releases h.mu until something changes or until (a non-zero) t, and
// takes it again.
func (h *half) wait(t time.Time) {
	ch := h.changed
	h.mu.Unlock()
	if t.IsZero() {
		<-ch
	} else if d := time.Until(t); d > 0 {
		tm := time.NewTimer(d)
		select {
		case <-ch:
		case <-tm.C:
		}
		tm.Stop()
	}
	h.mu.Lock()
}

func expired(t time.Time) bool { return !t.IsZero() && !time.Now().Before(t) }

// Conn is one end of a Pipe. It is a net.Conn and a framing.BuffersWriter.
type Conn struct {
	in, out       *half
	local, remote net.Addr
	closeOnce     sync.Once
}

func (c *Conn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "fuzz", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads the next piece of what the other end wrote.
func (c *Conn) Read(b []byte) (int, error) {
	h := c.in
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		switch {
		case h.readerClosed:
			return 0, c.opErr("read", net.ErrClosed)
		case h.broken:
			return 0, c.opErr("read", syscall.ECONNRESET)
		case h.readShut:
			return 0, io.EOF
		case expired(h.readDeadline):
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		avail := len(h.buf) - h.off
		if avail > 0 {
			if len(b) == 0 {
				return 0, nil
			}
			if h.delay > 0 && !h.delayed && h.delivered >= h.delayAfter {
				h.delayed = true
				until := time.Now().Add(h.delay)
				for time.Now().Before(until) && !h.readerClosed && !h.broken && !expired(h.readDeadline) {
					t := until
					if !h.readDeadline.IsZero() && h.readDeadline.Before(t) {
						t = h.readDeadline
					}
					h.wait(t)
				}
				continue
			}
			n := h.cut.limit(min(avail, len(b)))
			if h.resetAfter > 0 {
				if left := h.resetAfter - h.delivered; int64(n) > left {
					n = int(left)
				}
				if n == 0 {
					h.mu.Unlock()
					h.reset.fire()
					h.mu.Lock()
					continue
				}
			}
			copy(b, h.buf[h.off:h.off+n])
			h.off += n
			if h.off == len(h.buf) {
				h.buf, h.off = h.buf[:0], 0
			}
			h.cut.took(n)
			h.delivered += int64(n)
			h.reads++
			h.signal()
			return n, nil
		}
		if h.writeShut {
			return 0, io.EOF
		}
		if len(b) == 0 {
			return 0, nil
		}
		h.readersWait++
		h.signal()
		h.wait(h.readDeadline)
		h.readersWait--
	}
}

// Write writes b to the other end, waiting while the direction's buffer is
// full. On an error (deadline, close, reset) it returns how much it wrote.
func (c *Conn) Write(b []byte) (int, error) {
	h := c.out
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	return c.write(h, b)
}

// WriteBuffers writes all of v's buffers in order as one vectored write
// (one counted write), consuming v as net.Buffers.WriteTo does.
func (c *Conn) WriteBuffers(v *net.Buffers) (int64, error) {
	h := c.out
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	var total int64
	for len(*v) > 0 {
		b := (*v)[0]
		n, err := c.write(h, b)
		total += int64(n)
		if err != nil {
			(*v)[0] = b[n:]
			return total, err
		}
		*v = (*v)[1:]
	}
	return total, nil
}

// write copies b into h; h.mu is held.
func (c *Conn) write(h *half, b []byte) (int, error) {
	done := 0
	for {
		switch {
		case h.writerClosed:
			return done, c.opErr("write", net.ErrClosed)
		case h.broken:
			return done, c.opErr("write", syscall.ECONNRESET)
		case h.writeShut || h.readerClosed:
			return done, c.opErr("write", syscall.EPIPE)
		case done == len(b):
			return done, nil
		case expired(h.writeDeadline):
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		}
		if h.readShut {
			done = len(b) // the reader shut its side: bytes are dropped
			continue
		}
		if space := h.size - (len(h.buf) - h.off); space > 0 {
			if h.off > 0 && len(h.buf)+min(space, len(b)-done) > cap(h.buf) {
				h.buf = append(h.buf[:0], h.buf[h.off:]...)
				h.off = 0
			}
			n := min(space, len(b)-done)
			h.buf = append(h.buf, b[done:done+n]...)
			done += n
			h.signal()
			continue
		}
		h.wait(h.writeDeadline)
	}
}

// Close closes this end: its reads and writes fail with net.ErrClosed, the
// other end reads io.EOF once it has read what was written, and its writes
// fail (EPIPE).
func (c *Conn) Close() error {
	err := c.opErr("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		err = nil
		for _, h := range []*half{c.in, c.out} {
			h.mu.Lock()
			if h == c.in {
				h.readerClosed = true
			} else {
				h.writerClosed = true
				h.writeShut = true
			}
			h.signal()
			h.mu.Unlock()
		}
	})
	return err
}

// CloseWrite half-closes the connection: the other end reads io.EOF once
// it has read everything written before, and this end can still read.
func (c *Conn) CloseWrite() error {
	h := c.out
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.writerClosed {
		return c.opErr("close", net.ErrClosed)
	}
	h.writeShut = true
	h.signal()
	return nil
}

// CloseRead shuts the reading side: this end's reads return io.EOF, and
// what the other end writes from now on is dropped.
func (c *Conn) CloseRead() error {
	h := c.in
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.readerClosed {
		return c.opErr("close", net.ErrClosed)
	}
	h.readShut = true
	h.buf, h.off = h.buf[:0], 0
	h.signal()
	return nil
}

// LocalAddr returns "pipe-a" or "pipe-b" (network "fuzz").
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the other end's LocalAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; a Read blocked now sees the new
// deadline at once. The zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	h := c.in
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.readerClosed {
		return c.opErr("set", net.ErrClosed)
	}
	h.readDeadline = t
	h.signal()
	return nil
}

// SetWriteDeadline sets the write deadline; a Write blocked now sees the
// new deadline at once. The zero time clears it.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	h := c.out
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.writerClosed {
		return c.opErr("set", net.ErrClosed)
	}
	h.writeDeadline = t
	h.signal()
	return nil
}

// Writes returns how many Write and WriteBuffers calls this end made (the
// system calls a socket would have made).
func (c *Conn) Writes() int {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.writes
}

// Reads returns how many Reads of this end returned bytes.
func (c *Conn) Reads() int {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	return c.in.reads
}

// Buffered returns how many bytes written by the other end this end has not
// read yet.
func (c *Conn) Buffered() int {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	return len(c.in.buf) - c.in.off
}

// WaitReadBlocked waits until every byte written to this end was read and a
// Read is blocked waiting for more, or until timeout passes; it reports
// whether that happened. Tests use it to make timing deterministic: deliver
// part of a frame, wait until the reader consumed it, then fire a deadline.
func (c *Conn) WaitReadBlocked(timeout time.Duration) bool {
	h := c.in
	end := time.Now().Add(timeout)
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if h.readersWait > 0 && len(h.buf) == h.off {
			return true
		}
		if !time.Now().Before(end) {
			return false
		}
		h.wait(end)
	}
}
