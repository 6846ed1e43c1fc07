// Package gnetframe runs framekit codecs on gnet v2 event loops: frames in
// and out of gnet connections with the guarantees of a framing.Conn (the
// size limit and fail-or-skip, the memory budget, the slow-peer guard,
// Stats), without a goroutine per connection.
//
//	h, err := gnetframe.NewHandler(gnetframe.Config{
//		Codec:   lengthprefix.U32BE,
//		OnFrame: func(c *gnetframe.Conn, f []byte) { c.WriteFrame(f) },
//	})
//	...
//	err = gnet.Run(h, "tcp://127.0.0.1:9000", gnet.WithMulticore(true))
//
// Inbound bytes are decoded where gnet buffered them (Peek, then Discard
// of what was consumed): a frame reaches OnFrame as a view into gnet's
// buffer, valid only for the call (Config.Owned passes a copy instead),
// and the bytes of an incomplete frame stay in gnet's buffer, charged to
// Options.Budget, until the rest arrives. A frame whose size the header
// gives is decoded once, when all of it has arrived.
//
// Callbacks run on the connection's event loop, one at a time: a slow
// OnFrame holds the loop, which reads nothing meanwhile, so the kernel's
// buffers fill and TCP pushes back on the peers; the adapter queues no
// frame.
package gnetframe

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/panjf2000/gnet/v2"
)

// Config says how a Handler frames its connections.
type Config struct {
	// Codec frames both ways. Required.
	Codec framing.Codec
	// Options are the framing options of every connection (nil: the
	// defaults). BudgetWait is ignored: an event loop does not wait.
	Options *framing.Options
	// Owned passes OnFrame a copy of each frame that it may keep, instead
	// of a view into gnet's buffer valid only for the call.
	Owned bool
	// OnOpen, when set, is called for each new connection.
	OnOpen func(c *Conn)
	// OnFrame is called with each frame. Required.
	OnFrame func(c *Conn, frame []byte)
	// OnClose, when set, is called once when a connection ends, with why:
	// io.EOF (the peer closed between frames), an *framing.UnexpectedEOFError
	// (it closed inside a frame), the fatal framing error that made the
	// adapter close it (too large, corrupt, slow peer, budget), the
	// loop's error, or nil when the server closed it. Frames under the
	// Skip policy are reported to Options.OnReject, not here.
	OnClose func(c *Conn, err error)
}

// Handler is a gnet.EventHandler that frames every connection. Embed it
// in a handler of your own to add OnBoot, OnTick or OnShutdown.
type Handler struct {
	gnet.BuiltinEventEngine
	cfg     Config
	wenc    framing.WrapEncoder
	stats   *framing.Stats
	guarded bool
	pool    sync.Pool // *framing.Deframer of idle connections
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Codec == nil || cfg.OnFrame == nil {
		return nil, &framing.ConfigError{Codec: "gnetframe", Reason: "Config needs a Codec and OnFrame"}
	}
	h := &Handler{cfg: cfg}
	h.wenc, _ = cfg.Codec.(framing.WrapEncoder)
	if o := cfg.Options; o != nil {
		h.stats = o.Stats
		h.guarded = o.FrameTimeout > 0 || o.MinRate > 0
	}
	return h, nil
}

// Conn is a framed gnet connection. Its methods other than
// AsyncWriteFrame must be called on the connection's event loop (inside
// the Config's callbacks), as gnet's own.
type Conn struct {
	gnet.Conn
	h      *Handler
	d      *framing.Deframer // nil while idle (pooled)
	offset int64             // stream offset, while d is nil
	want   int               // bytes gnet must hold before decoding again
	ended  bool
	fired  atomic.Bool // the guard's timer fired
	timer  *time.Timer // the slow-peer guard, only mid-frame
	at     time.Time   // its deadline
	out    *batch      // frames buffered by BufferFrame, until the round ends
	ctx    any
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection
// (gnet's own context holds the Conn).
func (c *Conn) SetContext(v any) { c.ctx = v }

// OnOpen implements gnet.EventHandler.
func (h *Handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c := &Conn{Conn: gc, h: h, want: 1}
	gc.SetContext(c)
	if h.cfg.OnOpen != nil {
		h.cfg.OnOpen(c)
	}
	return nil, gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (h *Handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*Conn)
	if c.ended {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	if gc.InboundBuffered() < c.want && !c.fired.Load() {
		return gnet.None // the frame is still incomplete: decode it once whole
	}
	return c.round(false)
}

// OnClose implements gnet.EventHandler.
func (h *Handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.ended {
		return gnet.None
	}
	c.round(true)
	if !c.ended {
		c.finish(err) // unreachable: the end of the stream ends the Deframer
	}
	return gnet.None
}

// deframer returns the connection's Deframer, from the pool when idle.
func (c *Conn) deframer() *framing.Deframer {
	if c.d == nil {
		d, _ := c.h.pool.Get().(*framing.Deframer)
		if d == nil {
			d = framing.NewDeframer(c.h.cfg.Codec, c.h.cfg.Options)
			d.Hold()
		}
		d.Reset(c.offset)
		c.d = d
	}
	return c.d
}

// round decodes the frames gnet holds and passes them on; at the end of
// the stream (end), it reports how the stream ended.
func (c *Conn) round(end bool) gnet.Action {
	c.fired.Store(false)
	d := c.deframer()
	buf, _ := c.Conn.Peek(-1)
	d.Push(buf)
	if end {
		d.End()
	}
	for {
		f, err := d.Next()
		if err == nil {
			if c.h.cfg.Owned {
				f = bytes.Clone(f)
			}
			c.h.cfg.OnFrame(c, f)
			if c.ended {
				_ = c.flush()
				return gnet.Close // OnFrame closed the connection
			}
			continue
		}
		if err == framing.ErrNeedMore {
			break
		}
		if framing.Classify(err) == framing.Rejected {
			continue // a skipped frame: told to Options.OnReject
		}
		_ = c.flush() // the replies to the frames before the error
		c.finish(err)
		return gnet.Close
	}
	if c.flush() != nil {
		c.finish(nil)
		return gnet.Close
	}
	if n := len(buf) - d.Held(); n > 0 {
		_, _ = c.Conn.Discard(n) // Discard(0) would drop everything
	}
	c.want = d.Want()
	if c.h.guarded && c.guard(d) {
		return gnet.Close
	}
	if d.Idle() {
		c.offset = d.Offset()
		c.d = nil
		c.h.pool.Put(d)
	}
	return gnet.None
}

// guard runs the slow-peer guard after a round: a timer only mid-frame.
// It reports whether the peer was cut off.
func (c *Conn) guard(d *framing.Deframer) bool {
	at, mid, err := d.Guard(time.Now())
	if err != nil {
		c.finish(err)
		return true
	}
	if !mid {
		c.stopTimer()
		return false
	}
	if c.timer == nil {
		gc := c.Conn
		c.timer = time.AfterFunc(time.Until(at), func() {
			c.fired.Store(true)
			_ = gc.Wake(nil)
		})
	} else if !at.Equal(c.at) {
		c.timer.Reset(time.Until(at))
	}
	c.at = at
	return false
}

func (c *Conn) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// finish ends the connection's framing with err and reports it once.
func (c *Conn) finish(err error) {
	if c.ended {
		return
	}
	c.ended = true
	c.stopTimer()
	if c.d != nil {
		c.d.Release()
		c.d = nil
	}
	if errors.Is(err, framing.ErrReleased) {
		err = nil
	}
	if c.h.cfg.OnClose != nil {
		c.h.cfg.OnClose(c, err)
	}
}

// Close closes the connection after the frames written so far; OnClose
// is called with nil. Inside OnFrame, no further frame is passed on.
func (c *Conn) Close() error {
	c.finish(nil)
	return c.Conn.Close()
}

var errClosed = errors.New("gnetframe: connection closed")

// scratch is a write's header and trailer and its vector, pooled so that
// a write allocates nothing.
type scratch struct {
	b   []byte
	iov [3][]byte
}

var scratches = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 64)} }}

// WriteFrame writes p as one frame with gnet's vectored write: the
// codec's header, p and its trailer, p not copied (what the socket does
// not take at once, gnet copies into its outbound buffer). Call it on the
// connection's event loop; from other goroutines, use AsyncWriteFrame.
func (c *Conn) WriteFrame(p []byte) error {
	if c.ended {
		return errClosed
	}
	if err := c.flush(); err != nil { // frames buffered before it go first
		return err
	}
	s := scratches.Get().(*scratch)
	defer scratches.Put(s)
	iov, err := c.h.encode(s, p)
	if err != nil {
		return err
	}
	if _, err := c.Conn.Writev(iov); err != nil {
		return err
	}
	c.h.count(p)
	return nil
}

// BufferFrame queues p as one frame, to go out with the other frames the
// round's callbacks buffer in one vectored write when the round ends (the
// replies to a burst of requests in one system call). Payloads under
// 2 KiB are copied; larger ones are not, and must stay unchanged until the
// round ends (a frame OnFrame was given does). Call it inside OnFrame.
func (c *Conn) BufferFrame(p []byte) error {
	if c.ended {
		return errClosed
	}
	if c.out == nil {
		c.out = batches.Get().(*batch)
	}
	if err := c.out.add(c.h.cfg.Codec, c.h.wenc, p, true); err != nil {
		return err
	}
	c.h.count(p)
	if c.out.full() {
		return c.flush()
	}
	return nil
}

// flush writes the frames BufferFrame buffered, and gives the batch back
// (an idle connection holds none).
func (c *Conn) flush() error {
	t := c.out
	if t == nil {
		return nil
	}
	c.out = nil
	var err error
	if len(t.segs) > 0 {
		_, err = c.Conn.Writev(t.vector()) // gnet copies what the socket does not take
	}
	t.free()
	return err
}

// AsyncWriteFrame queues p as one frame to be written by the connection's
// event loop; it is safe to call from any goroutine, and frames queued
// concurrently never interleave. p must stay unchanged until done is
// called (done may be nil) with the write's outcome, on the loop.
func (c *Conn) AsyncWriteFrame(p []byte, done func(error)) error {
	s := &scratch{}
	iov, err := c.h.encode(s, p)
	if err != nil {
		return err
	}
	h := c.h
	return c.Conn.AsyncWritev(iov, func(_ gnet.Conn, err error) error {
		if err == nil {
			h.count(p)
		}
		if done != nil {
			done(err)
		}
		return nil
	})
}

// encode frames p into s: header, payload and trailer for a WrapEncoder,
// else the whole frame.
func (h *Handler) encode(s *scratch, p []byte) ([][]byte, error) {
	if h.wenc == nil {
		b, err := h.cfg.Codec.AppendFrame(s.b[:0], p)
		if err != nil {
			return nil, err
		}
		s.b = b
		s.iov[0] = b
		return s.iov[:1], nil
	}
	hdr, skip, err := h.wenc.AppendHeader(s.b[:0], p)
	if err != nil {
		return nil, err
	}
	n := len(hdr)
	b := h.wenc.AppendTrailer(hdr, p)
	s.b = b
	s.iov[0], s.iov[1], s.iov[2] = b[:n:n], p[skip:], b[n:]
	return s.iov[:], nil
}

func (h *Handler) count(p []byte) {
	if h.stats != nil {
		h.stats.FramesWritten.Add(1)
		h.stats.BytesWritten.Add(int64(len(p)))
	}
}
