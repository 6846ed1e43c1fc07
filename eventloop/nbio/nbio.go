// Package nbioframe runs framekit codecs on lesismal/nbio event loops:
// frames in and out of nbio connections with the guarantees of a
// framing.Conn (the size limit and fail-or-skip, the memory budget, the
// slow-peer guard, Stats), without a goroutine per connection.
//
//	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{":9000"}})
//	err := nbioframe.Attach(g, nbioframe.Config{
//		Codec:   lengthprefix.U32BE,
//		OnFrame: func(c *nbioframe.Conn, f []byte) { c.WriteFrame(f) },
//	})
//	...
//	err = g.Start()
//
// nbio hands OnData bytes in its read buffer, valid for the call: frames
// that lie whole in them reach OnFrame as views, not copied, valid only
// for the call (Config.Owned passes a copy instead); the bytes of an
// incomplete frame at the end of a read are copied into the connection's
// framing.Deframer (drawn from Options.Budget) until the rest arrives. An
// idle connection holds no Deframer and no buffer.
//
// OnData runs on the poller goroutine (nbio's default), so a slow OnFrame
// holds the poller, which reads nothing meanwhile: the kernel's buffers
// fill and TCP pushes back on the peers; the adapter queues no frame.
package nbioframe

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/framekit/framekit/framing"
	"github.com/lesismal/nbio"
)

// Config says how an engine frames its connections.
type Config struct {
	// Codec frames both ways. Required.
	Codec framing.Codec
	// Options are the framing options of every connection (nil: the
	// defaults). BudgetWait is ignored: an event loop does not wait.
	Options *framing.Options
	// Owned passes OnFrame a copy of each frame that it may keep, instead
	// of a view valid only for the call.
	Owned bool
	// OnOpen, when set, is called for each new connection.
	OnOpen func(c *Conn)
	// OnFrame is called with each frame. Required.
	OnFrame func(c *Conn, frame []byte)
	// OnClose, when set, is called once when a connection ends, with why:
	// io.EOF (it closed between frames), an *framing.UnexpectedEOFError
	// (it closed inside a frame), the fatal framing error that made the
	// adapter close it (too large, corrupt, slow peer, budget), or nil
	// when the server closed it. Frames under the Skip policy are
	// reported to Options.OnReject, not here.
	OnClose func(c *Conn, err error)
}

// Attach makes g frame every connection with cfg: it sets g's OnOpen,
// OnData and OnClose handlers. Call it before g.Start.
func Attach(g *nbio.Engine, cfg Config) error {
	if cfg.Codec == nil || cfg.OnFrame == nil {
		return &framing.ConfigError{Codec: "nbioframe", Reason: "Config needs a Codec and OnFrame"}
	}
	l := &loop{cfg: cfg}
	l.wenc, _ = cfg.Codec.(framing.WrapEncoder)
	if o := cfg.Options; o != nil {
		l.stats = o.Stats
		l.guarded = o.FrameTimeout > 0 || o.MinRate > 0
	}
	g.OnOpen(l.onOpen)
	g.OnData(l.onData)
	g.OnClose(l.onClose)
	return nil
}

type loop struct {
	cfg     Config
	wenc    framing.WrapEncoder
	stats   *framing.Stats
	guarded bool
	pool    sync.Pool // *framing.Deframer of idle connections
	opening sync.Map  // *nbio.Conn -> *Conn, until its first event
}

// Conn is a framed nbio connection.
type Conn struct {
	*nbio.Conn
	l       *loop
	mu      sync.Mutex        // the reading side: OnData, OnClose and the guard's timer
	d       *framing.Deframer // nil while idle (pooled)
	offset  int64             // stream offset, while d is nil
	timer   *time.Timer       // the slow-peer guard, only mid-frame
	at      time.Time         // its deadline
	out     *batch            // frames buffered by BufferFrame, until the round ends
	data    []byte            // the bytes of the round, valid until it ends
	ended   bool
	closing atomic.Bool // Close was called
	ctx     any
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection
// (nbio's session holds the Conn).
func (c *Conn) SetContext(v any) { c.ctx = v }

func (l *loop) onOpen(nc *nbio.Conn) {
	c := &Conn{Conn: nc, l: l}
	if l.cfg.OnOpen != nil {
		l.cfg.OnOpen(c)
	}
	// nbio opens a connection on one goroutine and reads it on another,
	// ordered by epoll, which Go's memory model does not see: the Conn is
	// handed over through a sync.Map, then kept in nbio's session.
	l.opening.Store(nc, c)
}

// conn returns nc's Conn.
func (l *loop) conn(nc *nbio.Conn) *Conn {
	if c, ok := nc.Session().(*Conn); ok {
		return c
	}
	v, _ := l.opening.LoadAndDelete(nc)
	c, _ := v.(*Conn)
	if c != nil {
		nc.SetSession(c)
	}
	return c
}

func (l *loop) onData(nc *nbio.Conn, data []byte) {
	c := l.conn(nc)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.round(data, false)
}

func (l *loop) onClose(nc *nbio.Conn, _ error) {
	c := l.conn(nc)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		c.finish(nil)
		return
	}
	c.round(nil, true)
}

// deframer returns the connection's Deframer, from the pool when idle.
func (c *Conn) deframer() *framing.Deframer {
	if c.d == nil {
		d, _ := c.l.pool.Get().(*framing.Deframer)
		if d == nil {
			d = framing.NewDeframer(c.l.cfg.Codec, c.l.cfg.Options)
		}
		d.Reset(c.offset)
		c.d = d
	}
	return c.d
}

// round decodes data and passes its frames on; at the end of the stream
// (end), it reports how the stream ended. c.mu is held.
func (c *Conn) round(data []byte, end bool) {
	if c.ended {
		return
	}
	d := c.deframer()
	c.data = data
	defer func() { c.data = nil }()
	d.Push(data)
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
		_ = c.flush() // the replies to the frames before the error
		c.fail(err)
		return
	}
	_ = c.flush() // a failed write closes the conn: OnClose reports its end
	if c.l.guarded && c.guard() {
		return
	}
	if d.Idle() {
		c.offset = d.Offset()
		c.d = nil
		c.l.pool.Put(d)
	}
}

// guard runs the slow-peer guard: a timer only mid-frame. It reports
// whether the peer was cut off. c.mu is held.
func (c *Conn) guard() bool {
	at, mid, err := c.d.Guard(time.Now())
	if err != nil {
		c.fail(err)
		return true
	}
	if !mid {
		c.stopTimer()
		return false
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(time.Until(at), c.fired)
	} else if !at.Equal(c.at) {
		c.timer.Reset(time.Until(at))
	}
	c.at = at
	return false
}

// fired runs the guard when its timer fires.
func (c *Conn) fired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.d == nil {
		return
	}
	c.timer = nil
	c.guard()
}

func (c *Conn) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// fail ends the connection with a fatal framing error. c.mu is held.
func (c *Conn) fail(err error) {
	c.finish(err)
	_ = c.Conn.CloseWithError(err)
}

// finish ends the connection's framing with err and reports it once.
// c.mu is held.
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
	if c.l.cfg.OnClose != nil {
		c.l.cfg.OnClose(c, err)
	}
}

// Close closes the connection; OnClose is called with nil. Inside
// OnFrame, no further frame is passed on. Any goroutine may call it.
func (c *Conn) Close() error {
	c.closing.Store(true)
	return c.Conn.Close()
}

// BufferFrame queues p as one frame, to go out with the other frames the
// round's callbacks buffer in one vectored write when the round ends (the
// replies to a burst of requests in one system call). A payload of 2 KiB
// or more that lies in the bytes nbio handed to this round (a frame
// OnFrame was given, not reassembled) is not copied; others are. Call it
// inside OnFrame;
// frames written with WriteFrame meanwhile go out before those still
// buffered.
func (c *Conn) BufferFrame(p []byte) error {
	if c.out == nil {
		c.out = batches.Get().(*batch)
	}
	if err := c.out.add(c.l.cfg.Codec, c.l.wenc, p, within(p, c.data)); err != nil {
		return err
	}
	if c.l.stats != nil {
		c.l.stats.FramesWritten.Add(1)
		c.l.stats.BytesWritten.Add(int64(len(p)))
	}
	if c.out.full() {
		return c.flush()
	}
	return nil
}

// flush writes the frames BufferFrame buffered, and gives the batch back
// (an idle connection holds none). c.mu is held.
func (c *Conn) flush() error {
	t := c.out
	if t == nil {
		return nil
	}
	c.out = nil
	var err error
	if len(t.segs) > 0 {
		_, err = c.Conn.Writev(t.vector()) // nbio copies what the socket does not take
	}
	t.free()
	return err
}

// scratch is a write's header and trailer and its vector, pooled so that
// a write allocates nothing.
type scratch struct {
	b   []byte
	iov [3][]byte
}

var scratches = sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 64)} }}

// WriteFrame writes p as one frame with nbio's vectored write: the
// codec's header, p and its trailer, p not copied (what the socket does
// not take at once, nbio copies into its write queue). Any goroutine may
// call it; frames never interleave.
func (c *Conn) WriteFrame(p []byte) error {
	s := scratches.Get().(*scratch)
	defer scratches.Put(s)
	var iov [][]byte
	if c.l.wenc == nil {
		b, err := c.l.cfg.Codec.AppendFrame(s.b[:0], p)
		if err != nil {
			return err
		}
		s.b = b
		s.iov[0] = b
		iov = s.iov[:1]
	} else {
		hdr, skip, err := c.l.wenc.AppendHeader(s.b[:0], p)
		if err != nil {
			return err
		}
		n := len(hdr)
		b := c.l.wenc.AppendTrailer(hdr, p)
		s.b = b
		s.iov[0], s.iov[1], s.iov[2] = b[:n:n], p[skip:], b[n:]
		iov = s.iov[:]
		if len(iov[2]) == 0 {
			iov = iov[:2]
		}
	}
	if _, err := c.Conn.Writev(iov); err != nil {
		return err
	}
	if c.l.stats != nil {
		c.l.stats.FramesWritten.Add(1)
		c.l.stats.BytesWritten.Add(int64(len(p)))
	}
	return nil
}

// within reports whether p lies inside buf.
func within(p, buf []byte) bool {
	if len(p) == 0 || len(buf) == 0 {
		return false
	}
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return a >= b && a+uintptr(len(p)) <= b+uintptr(len(buf))
}
