//go:build linux || darwin

package netpollframe

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/framekit/framekit/eventloop/internal/loopcore"
	"github.com/framekit/framekit/framing"
)

// Config says how an event loop frames its connections.
type Config struct {
	// Codec frames both ways. Required.
	Codec framing.Codec
	// Options are the framing options of every connection (nil: the
	// defaults). BudgetWait is ignored: the loop does not wait.
	Options *framing.Options
	// Owned passes OnFrame a copy of each frame that it may keep, instead
	// of a view into netpoll's buffer valid only for the call.
	Owned bool
	// OnOpen, when set, is called for each new connection (netpoll's
	// OnConnect).
	OnOpen func(c *Conn)
	// OnFrame is called with each frame. Required.
	OnFrame func(c *Conn, frame []byte)
	// OnClose, when set, is called once when a connection ends, with why:
	// io.EOF (the peer closed between frames), an *framing.UnexpectedEOFError
	// (it closed inside a frame), the fatal framing error that made the
	// adapter close it (too large, corrupt, slow peer, budget), or nil
	// when the server closed it. Frames under the Skip policy are
	// reported to Options.OnReject, not here.
	OnClose func(c *Conn, err error)
}

// NewEventLoop returns a netpoll event loop that frames every connection
// it serves; opts are netpoll's (WithOnConnect is the adapter's own: use
// Config.OnOpen).
func NewEventLoop(cfg Config, opts ...netpoll.Option) (netpoll.EventLoop, error) {
	el, _, err := newEventLoop(cfg, opts...)
	return el, err
}

func newEventLoop(cfg Config, opts ...netpoll.Option) (netpoll.EventLoop, *loopcore.Loop[*Conn], error) {
	l, err := loopcore.New("netpollframe", loopcore.Config[*Conn](cfg), true)
	if err != nil {
		return nil, nil, err
	}
	onConnect := func(ctx context.Context, nc netpoll.Connection) context.Context {
		c := &Conn{Connection: nc, l: l}
		_ = nc.AddCloseCallback(c.closed)
		if l.OnOpen != nil {
			l.OnOpen(c)
		}
		return context.WithValue(ctx, connKey{}, c)
	}
	opts = append(opts, netpoll.WithOnConnect(onConnect))
	el, err := netpoll.NewEventLoop(onRequest, opts...)
	return el, l, err
}

type connKey struct{}

// Conn is a framed netpoll connection.
type Conn struct {
	netpoll.Connection
	l        *loopcore.Loop[*Conn]
	mu       sync.Mutex // the reading side: OnRequest against the close callback
	s        loopcore.Stream
	wmu      sync.Mutex        // one writer at a time on netpoll's Writer
	buffered bool              // frames are buffered in netpoll's Writer (under wmu)
	data     []byte            // the round's bytes, until its replies are flushed (under wmu)
	scratch  *loopcore.Scratch // the round's writes' scratch space, until it ends (under wmu)
	ctx      any
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection.
func (c *Conn) SetContext(v any) { c.ctx = v }

// onRequest decodes what netpoll buffered. Between frames it returns (an
// idle connection holds no goroutine); inside a frame it waits for the
// rest on this goroutine, as netpoll's OnRequest must consume what it is
// given, with the read deadline at the slow-peer guard's.
func onRequest(ctx context.Context, nc netpoll.Connection) error {
	c, _ := ctx.Value(connKey{}).(*Conn)
	if c == nil {
		return nil
	}
	r := nc.Reader()
	for {
		n := r.Len()
		if n == 0 {
			return nil
		}
		end := false
		c.mu.Lock()
		want, at := c.s.Want(), c.s.Deadline()
		c.mu.Unlock()
		if n < want {
			if !at.IsZero() {
				_ = nc.SetReadDeadline(at)
			}
			_, err := r.Peek(want)
			if !at.IsZero() {
				_ = nc.SetReadDeadline(time.Time{})
			}
			if err != nil && !errors.Is(err, netpoll.ErrReadTimeout) {
				end = true // closed: report how the stream ended
			}
		}
		c.mu.Lock()
		c.round(r, end)
		ended := c.s.Ended()
		c.mu.Unlock()
		if ended {
			return nc.Close()
		}
	}
}

// round decodes the frames netpoll holds and passes them on; at the end
// of the stream (end), it reports how the stream ended. c.mu is held.
func (c *Conn) round(r netpoll.Reader, end bool) {
	if c.s.Ended() {
		_ = r.Skip(r.Len())
		return
	}
	buf, _ := r.Peek(r.Len())
	c.wmu.Lock()
	c.data = buf
	c.wmu.Unlock()
	err := c.l.Decode(c, &c.s, buf, end)
	// Replies buffered by the callbacks go out before the frames they
	// may link to are released. A flush fails only on a connection
	// netpoll has closed, whose end the reading side reports.
	_ = c.flush(true)
	if err == nil {
		var n int
		n, err = c.l.Settle(c, &c.s, len(buf))
		_ = r.Skip(n)
		_ = r.Release()
		if err == nil {
			return
		}
	}
	if err == loopcore.ErrClosing {
		err = nil // OnFrame closed the connection
	}
	c.l.Finish(c, &c.s, err)
}

// closed is netpoll's close callback. A connection closed between frames
// ends with io.EOF here; inside a frame, OnRequest is waiting for the
// rest and reports the end itself.
func (c *Conn) closed(netpoll.Connection) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.s.Closing():
		c.l.Finish(c, &c.s, nil)
	case !c.s.Busy():
		c.l.Finish(c, &c.s, io.EOF)
	}
	return nil
}

// Close closes the connection; OnClose is called with nil. Inside
// OnFrame, no further frame is passed on. Any goroutine may call it.
func (c *Conn) Close() error {
	c.s.Close()
	return c.Connection.Close()
}

// WriteFrame writes p as one frame: the codec's header and trailer in
// memory netpoll allocates, p linked into its output buffer (netpoll
// copies payloads of 4 KiB and less, its own rule), sent with one
// vectored write (with any frames buffered before it), returning once
// written. Any goroutine may call it; frames never interleave.
func (c *Conn) WriteFrame(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.put(p); err != nil {
		return err
	}
	c.buffered = false
	return c.Connection.Writer().Flush()
}

// BufferFrame queues p as one frame in netpoll's output buffer without
// sending it. Inside OnFrame, the adapter flushes what a round of
// callbacks buffered when the round ends, before it releases the frames'
// memory: the replies to a burst of requests go out in one vectored
// write. Elsewhere, call Flush; until then p (linked, not copied, when
// larger than 4 KiB) must stay unchanged. Frames still buffered when the
// connection closes are dropped. Any goroutine may call it.
func (c *Conn) BufferFrame(p []byte) error {
	c.wmu.Lock()
	err := c.put(p)
	if err == nil {
		c.buffered = true
	}
	c.wmu.Unlock()
	return err
}

// Flush sends the frames buffered with BufferFrame.
func (c *Conn) Flush() error { return c.flush(false) }

// flush is Flush; at a round's end (end) it also forgets the round's
// bytes.
func (c *Conn) flush(end bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if end {
		c.data = nil
		if c.scratch != nil {
			c.scratch.Free()
			c.scratch = nil
		}
	}
	if !c.buffered {
		return nil
	}
	c.buffered = false
	return c.Connection.Writer().Flush()
}

// put appends p's frame to netpoll's output buffer. c.wmu is held.
func (c *Conn) put(p []byte) error {
	s := c.scratch
	if c.data == nil {
		s = loopcore.NewScratch() // between rounds: one for this write
		defer s.Free()
	} else if s == nil {
		s = loopcore.NewScratch() // kept until the round ends
		c.scratch = s
	}
	w := c.Connection.Writer()
	// A frame passed on as it came is written from the round's bytes, in
	// one piece (they stay until the round's replies are flushed).
	if f, ok, err := c.l.InPlace(s, p, c.data); err != nil {
		return err
	} else if ok {
		if _, err := w.WriteBinary(f); err != nil {
			return err
		}
		c.l.Wrote(p)
		return nil
	}
	iov, err := c.l.Encode(s, p)
	if err != nil {
		return err
	}
	if err := writeCopy(w, iov[0]); err != nil {
		return err
	}
	if len(iov) > 1 { // header, payload linked, trailer
		if _, err := w.WriteBinary(iov[1]); err != nil {
			return err
		}
		if len(iov) > 2 {
			if err := writeCopy(w, iov[2]); err != nil {
				return err
			}
		}
	}
	c.l.Wrote(p)
	return nil
}

// writeCopy puts b into memory of the Writer's own.
func writeCopy(w netpoll.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	dst, err := w.Malloc(len(b))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}
