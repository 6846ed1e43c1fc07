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
// inbound frame.
//
// WriteFrame, BufferFrame and Close may be called from any goroutine (a
// worker that OnFrame handed a request to, say), unlike gnet's own Write
// and Writev, which must run on the loop: during a round of callbacks, a
// frame is queued and the round's end writes the queue on the loop;
// between rounds, WriteFrame copies the frame and hands it to the loop
// (gnet's AsyncWrite) without waiting, so that a callback of another
// connection on the same loop can write to this one.
package gnetframe

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/framekit/framekit/eventloop/internal/loopcore"
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
	// OnClose, when set, is called once when a connection ends, on the
	// loop, with why:
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
	l *loopcore.Loop[*Conn]
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
	l, err := loopcore.New("gnetframe", loopcore.Config[*Conn](cfg), true)
	if err != nil {
		return nil, err
	}
	l.AfterFrame = (*Conn).writeFull
	l.Fire = (*Conn).fire
	return &Handler{l: l}, nil
}

// Conn is a framed gnet connection. Context, SetContext and the methods
// of gnet.Conn must be called on the connection's event loop (inside the
// Config's callbacks), as gnet's own; WriteFrame, BufferFrame,
// AsyncWriteFrame and Close from any goroutine.
type Conn struct {
	gnet.Conn
	l   *loopcore.Loop[*Conn]
	s   loopcore.Stream
	ctx any

	wmu    sync.Mutex      // guards the fields below
	out    *loopcore.Batch // frames queued in the round
	data   []byte          // the round's bytes: payloads in them live until it ends
	async  int             // frames handed to the loop and not yet written
	inside bool            // the loop is in a round of this connection's callbacks
	closed bool            // the connection ended: writes fail

	fired atomic.Bool // the guard's timer fired
	full  atomic.Bool // out is large: writeFull writes it (set and cleared under wmu)
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection
// (gnet's own context holds the Conn).
func (c *Conn) SetContext(v any) { c.ctx = v }

// OnOpen implements gnet.EventHandler.
func (h *Handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c := &Conn{Conn: gc, l: h.l}
	gc.SetContext(c)
	if h.l.OnOpen != nil {
		c.begin(nil)
		h.l.OnOpen(c)
		if c.end() != nil || c.s.Closing() {
			return nil, gnet.Close
		}
	}
	return nil, gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (h *Handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*Conn)
	if c.s.Ended() {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	if gc.InboundBuffered() < c.s.Want() && !c.fired.Load() {
		return gnet.None // the frame is still incomplete: decode it once whole
	}
	return c.round(false)
}

// OnClose implements gnet.EventHandler.
func (h *Handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*Conn)
	if c == nil || c.s.Ended() {
		return gnet.None
	}
	if c.s.Closing() || c.inRound() {
		// Closed by the application, or by gnet inside a round, when a
		// write failed: the loop's error says why.
		c.finish(err)
		return gnet.None
	}
	c.round(true)
	return gnet.None
}

// round decodes the frames gnet holds and passes them on; at the end of
// the stream (end), it reports how the stream ended.
func (c *Conn) round(end bool) gnet.Action {
	c.fired.Store(false)
	buf, _ := c.Conn.Peek(-1)
	c.begin(buf)
	err := c.l.Decode(c, &c.s, buf, end)
	werr := c.end() // the replies, before the frames they may refer to are dropped
	switch {
	case c.s.Ended():
		return gnet.Close // gnet closed it when a write failed
	case err == nil && werr == nil:
		var n int
		if n, err = c.l.Settle(c, &c.s, len(buf)); err == nil {
			if n > 0 {
				_, _ = c.Conn.Discard(n) // Discard(0) would drop everything
			}
			return gnet.None
		}
	case err == loopcore.ErrClosing || err == nil:
		err = nil // closed by OnFrame, or a failed write
	}
	c.finish(err)
	return gnet.Close
}

// fire is the guard's timer: the loop runs a round, which cuts the peer
// off if its frame is still incomplete.
func (c *Conn) fire() {
	c.fired.Store(true)
	_ = c.Conn.Wake(nil)
}

// finish ends the connection's framing with err and reports it once.
func (c *Conn) finish(err error) {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	c.l.Finish(c, &c.s, err)
}

// inRound reports whether the loop is in a round of this connection.
func (c *Conn) inRound() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.inside
}

// begin starts a round of callbacks over data: frames written meanwhile
// are queued.
func (c *Conn) begin(data []byte) {
	c.wmu.Lock()
	c.inside, c.data = true, data
	c.wmu.Unlock()
}

// end ends the round: it writes the frames queued in it, on the loop.
func (c *Conn) end() error {
	c.wmu.Lock()
	t := c.out
	c.inside, c.data, c.out = false, nil, nil
	c.full.Store(false)
	c.wmu.Unlock()
	if t == nil {
		return nil
	}
	return t.Send(c.Conn.Writev) // gnet copies what the socket does not take
}

// writeFull writes the round's queue once it is large, on the loop.
func (c *Conn) writeFull() {
	if !c.full.Load() {
		return // after each frame: no lock unless the queue is large
	}
	c.wmu.Lock()
	t := c.out
	if t == nil || !t.Full() {
		c.wmu.Unlock()
		return
	}
	c.out = nil
	c.full.Store(false)
	c.wmu.Unlock()
	_ = t.Send(c.Conn.Writev) // a failure closes the connection: OnClose reports it
}

// Close closes the connection after the frames written so far; OnClose
// is called with nil. Inside OnFrame, no further frame is passed on. Any
// goroutine may call it.
func (c *Conn) Close() error {
	c.s.Close()
	return c.Conn.Close() // gnet closes it on the loop
}

var errClosed = errors.New("gnetframe: connection closed")

// WriteFrame writes p as one frame: the codec's header, p and its
// trailer, with gnet's vectored write. Any goroutine may call it; frames
// never interleave, and each goroutine's go out in order.
//
// During a round of callbacks (inside OnFrame, say), the frame is queued
// and written with the others queued in the round, in one vectored write
// when the round ends (or before, past 64 KiB): a payload of 2 KiB or
// more that lies in the round's frames is referenced (it must stay
// unchanged until the round ends; its whole frame, when passed on as it
// came, goes out from gnet's buffer, joined with its neighbours), others
// are copied.
// Between rounds (from a worker goroutine, or from a callback of another
// connection), the frame is copied and handed to the loop, and WriteFrame
// returns before it is written: a write that fails then closes the
// connection, and OnClose says why. AsyncWriteFrame hands a frame over
// without the copy, and reports its outcome.
func (c *Conn) WriteFrame(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return errClosed
	}
	if c.inside && c.async == 0 {
		return c.queue(p)
	}
	// Frames handed over earlier go first: while any is on its way, a
	// round's writes are handed over too.
	b, err := c.l.Codec.AppendFrame(nil, p)
	if err != nil {
		return err
	}
	c.async++
	err = c.Conn.AsyncWrite(b, func(gnet.Conn, error) error {
		c.wmu.Lock()
		c.async--
		c.wmu.Unlock()
		return nil
	})
	if err != nil {
		c.async--
		return err
	}
	c.l.Wrote(p)
	return nil
}

// BufferFrame is WriteFrame, which on gnet already buffers the frames a
// round's callbacks write and sends them in one vectored write when the
// round ends (the replies to a burst of requests in one system call), as
// BufferFrame does on the other adapters.
func (c *Conn) BufferFrame(p []byte) error { return c.WriteFrame(p) }

// queue adds p's frame to the round's queue. c.wmu is held.
func (c *Conn) queue(p []byte) error {
	if c.out == nil {
		c.out = loopcore.NewBatch()
	}
	if err := c.out.Add(&c.l.Encoder, p, c.data); err != nil {
		return err
	}
	if c.out.Full() {
		c.full.Store(true)
	}
	c.l.Wrote(p)
	return nil
}

// AsyncWriteFrame queues p as one frame to be written by the connection's
// event loop; it is safe to call from any goroutine, and frames queued
// concurrently never interleave. p must stay unchanged until done is
// called (done may be nil) with the write's outcome, on the loop.
func (c *Conn) AsyncWriteFrame(p []byte, done func(error)) error {
	s := loopcore.NewScratch()
	iov, err := c.l.Encode(s, p)
	if err != nil {
		s.Free()
		return err
	}
	l := c.l
	c.wmu.Lock()
	c.async++ // the round's writes wait for it (see WriteFrame)
	c.wmu.Unlock()
	err = c.Conn.AsyncWritev(iov, func(_ gnet.Conn, err error) error {
		c.wmu.Lock()
		c.async--
		c.wmu.Unlock()
		s.Free()
		if err == nil {
			l.Wrote(p)
		}
		if done != nil {
			done(err)
		}
		return nil
	})
	if err != nil {
		c.wmu.Lock()
		c.async--
		c.wmu.Unlock()
	}
	return err
}
