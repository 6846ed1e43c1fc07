//go:build linux || darwin

package netpollframe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
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
	if cfg.Codec == nil || cfg.OnFrame == nil {
		return nil, &framing.ConfigError{Codec: "netpollframe", Reason: "Config needs a Codec and OnFrame"}
	}
	l := &loop{cfg: cfg}
	l.wenc, _ = cfg.Codec.(framing.WrapEncoder)
	if o := cfg.Options; o != nil {
		l.stats = o.Stats
		l.guarded = o.FrameTimeout > 0 || o.MinRate > 0
	}
	opts = append(opts, netpoll.WithOnConnect(l.onConnect))
	return netpoll.NewEventLoop(l.onRequest, opts...)
}

type loop struct {
	cfg     Config
	wenc    framing.WrapEncoder
	stats   *framing.Stats
	guarded bool
	pool    sync.Pool // *framing.Deframer of idle connections
}

type connKey struct{}

// Conn is a framed netpoll connection.
type Conn struct {
	netpoll.Connection
	l        *loop
	mu       sync.Mutex        // the reading side: OnRequest against the close callback
	wmu      sync.Mutex        // one writer at a time on netpoll's Writer
	d        *framing.Deframer // nil while idle (pooled)
	offset   int64             // stream offset, while d is nil
	want     int               // bytes netpoll must hold before decoding again
	at       time.Time         // the slow-peer guard's deadline, mid-frame
	ended    bool
	closing  atomic.Bool // Close was called
	buffered bool        // frames are buffered in netpoll's Writer (under wmu)
	ctx      any
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection.
func (c *Conn) SetContext(v any) { c.ctx = v }

func (l *loop) onConnect(ctx context.Context, nc netpoll.Connection) context.Context {
	c := &Conn{Connection: nc, l: l, want: 1}
	_ = nc.AddCloseCallback(c.closed)
	if l.cfg.OnOpen != nil {
		l.cfg.OnOpen(c)
	}
	return context.WithValue(ctx, connKey{}, c)
}

// onRequest decodes what netpoll buffered. Between frames it returns (an
// idle connection holds no goroutine); inside a frame it waits for the
// rest on this goroutine, as netpoll's OnRequest must consume what it is
// given, with the read deadline at the slow-peer guard's.
func (l *loop) onRequest(ctx context.Context, nc netpoll.Connection) error {
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
		if n < c.want {
			if l.guarded {
				_ = nc.SetReadDeadline(c.at)
			}
			_, err := r.Peek(c.want)
			if l.guarded {
				_ = nc.SetReadDeadline(time.Time{})
			}
			if err != nil && !errors.Is(err, netpoll.ErrReadTimeout) {
				end = true // closed: report how the stream ended
			}
		}
		c.mu.Lock()
		c.round(r, end)
		ended := c.ended
		c.mu.Unlock()
		if ended {
			return nc.Close()
		}
	}
}

// deframer returns the connection's Deframer, from the pool when idle.
func (c *Conn) deframer() *framing.Deframer {
	if c.d == nil {
		d, _ := c.l.pool.Get().(*framing.Deframer)
		if d == nil {
			d = framing.NewDeframer(c.l.cfg.Codec, c.l.cfg.Options)
			d.Hold()
		}
		d.Reset(c.offset)
		c.d = d
	}
	return c.d
}

// round decodes the frames netpoll holds and passes them on; at the end
// of the stream (end), it reports how the stream ended.
func (c *Conn) round(r netpoll.Reader, end bool) {
	if c.ended {
		_ = r.Skip(r.Len())
		return
	}
	d := c.deframer()
	buf, _ := r.Peek(r.Len())
	d.Push(buf)
	if end {
		d.End()
	}
	for {
		f, err := d.Next()
		if err == nil {
			if c.l.cfg.Owned {
				f = bytes.Clone(f)
			}
			c.l.cfg.OnFrame(c, f)
			if c.closing.Load() {
				c.finish(nil) // OnFrame closed the connection
				return
			}
			continue
		}
		if err == framing.ErrNeedMore {
			break
		}
		if framing.Classify(err) == framing.Rejected {
			continue // a skipped frame: told to Options.OnReject
		}
		_ = c.Flush() // the replies to the frames before the error
		c.finish(err)
		return
	}
	// Replies buffered by the callbacks go out before the frames they
	// may link to are released. A flush fails only on a connection
	// netpoll has closed, whose end the reading side reports.
	_ = c.Flush()
	_ = r.Skip(len(buf) - d.Held())
	_ = r.Release()
	c.want = d.Want()
	if c.l.guarded {
		at, _, err := d.Guard(time.Now())
		if err != nil {
			c.finish(err)
			return
		}
		c.at = at
	}
	if d.Idle() {
		c.offset = d.Offset()
		c.d = nil
		c.l.pool.Put(d)
	}
}

// closed is netpoll's close callback. A connection closed between frames
// ends with io.EOF here; inside a frame, OnRequest is waiting for the
// rest and reports the end itself.
func (c *Conn) closed(netpoll.Connection) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closing.Load():
		c.finish(nil)
	case c.d == nil || c.d.Idle():
		c.finish(io.EOF)
	}
	return nil
}

// finish ends the connection's framing with err and reports it once.
func (c *Conn) finish(err error) {
	if c.ended {
		return
	}
	c.ended = true
	if c.d != nil {
		c.d.Release()
		c.d = nil
	}
	if c.l.cfg.OnClose != nil {
		c.l.cfg.OnClose(c, err)
	}
}

// Close closes the connection; OnClose is called with nil. Inside
// OnFrame, no further frame is passed on.
func (c *Conn) Close() error {
	c.closing.Store(true)
	return c.Connection.Close()
}

// scratch is a write's header and trailer, pooled so that a write
// allocates nothing.
type scratch struct{ b []byte }

var scratches = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 64)} }}

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
	defer c.wmu.Unlock()
	if err := c.put(p); err != nil {
		return err
	}
	c.buffered = true
	return nil
}

// Flush sends the frames buffered with BufferFrame.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.buffered {
		return nil
	}
	c.buffered = false
	return c.Connection.Writer().Flush()
}

// put appends p's frame to netpoll's output buffer. c.wmu is held.
func (c *Conn) put(p []byte) error {
	s := scratches.Get().(*scratch)
	defer scratches.Put(s)
	w := c.Connection.Writer()
	if c.l.wenc == nil {
		b, err := c.l.cfg.Codec.AppendFrame(s.b[:0], p)
		if err != nil {
			return err
		}
		s.b = b
		if err := writeCopy(w, b); err != nil {
			return err
		}
	} else {
		hdr, skip, err := c.l.wenc.AppendHeader(s.b[:0], p)
		if err != nil {
			return err
		}
		n := len(hdr)
		b := c.l.wenc.AppendTrailer(hdr, p)
		s.b = b
		if err := writeCopy(w, b[:n]); err != nil {
			return err
		}
		if _, err := w.WriteBinary(p[skip:]); err != nil {
			return err
		}
		if err := writeCopy(w, b[n:]); err != nil {
			return err
		}
	}
	if c.l.stats != nil {
		c.l.stats.FramesWritten.Add(1)
		c.l.stats.BytesWritten.Add(int64(len(p)))
	}
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
