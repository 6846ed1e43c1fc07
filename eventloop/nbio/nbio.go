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
	"sync"

	"github.com/framekit/framekit/eventloop/internal/loopcore"
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
	_, err := attach(g, cfg)
	return err
}

func attach(g *nbio.Engine, cfg Config) (*loop, error) {
	core, err := loopcore.New("nbioframe", loopcore.Config[*Conn](cfg), false)
	if err != nil {
		return nil, err
	}
	core.Fire = (*Conn).fired
	l := &loop{Loop: core}
	g.OnOpen(l.onOpen)
	g.OnData(l.onData)
	g.OnClose(l.onClose)
	return l, nil
}

type loop struct {
	*loopcore.Loop[*Conn]
	opening sync.Map // *nbio.Conn -> *Conn, until its first event
}

// Conn is a framed nbio connection.
type Conn struct {
	*nbio.Conn
	l    *loop
	mu   sync.Mutex // the reading side: OnData, OnClose and the guard's timer
	s    loopcore.Stream
	out  *loopcore.Batch // frames buffered by BufferFrame, until the round ends
	data []byte          // the bytes of the round, valid until it ends
	ctx  any
}

// Context returns the value set with SetContext.
func (c *Conn) Context() any { return c.ctx }

// SetContext attaches a value of the application's to the connection
// (nbio's session holds the Conn).
func (c *Conn) SetContext(v any) { c.ctx = v }

func (l *loop) onOpen(nc *nbio.Conn) {
	c := &Conn{Conn: nc, l: l}
	if l.OnOpen != nil {
		l.OnOpen(c)
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
	if c.s.Closing() {
		c.l.Finish(c, &c.s, nil)
		return
	}
	c.round(nil, true)
}

// round decodes data and passes its frames on; at the end of the stream
// (end), it reports how the stream ended. c.mu is held.
func (c *Conn) round(data []byte, end bool) {
	if c.s.Ended() {
		return
	}
	c.data = data
	err := c.l.Decode(c, &c.s, data, end)
	_ = c.flush() // a failed write closes the conn: OnClose reports its end
	c.data = nil
	if err == nil {
		if _, err = c.l.Settle(c, &c.s, len(data)); err == nil {
			return
		}
	}
	if err == loopcore.ErrClosing {
		c.l.Finish(c, &c.s, nil) // OnFrame closed the connection
		return
	}
	c.fail(err)
}

// fired runs the guard when its timer fires.
func (c *Conn) fired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s.Ended() {
		return
	}
	if err := c.l.Guard(c, &c.s); err != nil {
		c.fail(err)
	}
}

// fail ends the connection with a fatal framing error. c.mu is held.
func (c *Conn) fail(err error) {
	c.l.Finish(c, &c.s, err)
	_ = c.Conn.CloseWithError(err)
}

// Close closes the connection; OnClose is called with nil. Inside
// OnFrame, no further frame is passed on. Any goroutine may call it.
func (c *Conn) Close() error {
	c.s.Close()
	return c.Conn.Close()
}

// BufferFrame queues p as one frame, to go out with the other frames the
// round's callbacks buffer in one vectored write when the round ends (the
// replies to a burst of requests in one system call). A payload of 2 KiB
// or more that lies in the bytes nbio handed to this round (a frame
// OnFrame was given, not reassembled) is not copied (it must stay
// unchanged until the round ends; its whole frame, when passed on as it
// came, goes out from nbio's buffer, joined with its neighbours); others
// are copied. Call it
// inside OnFrame (from other goroutines, use WriteFrame); frames written
// with WriteFrame meanwhile go out before those still buffered.
func (c *Conn) BufferFrame(p []byte) error {
	if c.out == nil {
		c.out = loopcore.NewBatch()
	}
	if err := c.out.Add(&c.l.Encoder, p, c.data); err != nil {
		return err
	}
	c.l.Wrote(p)
	if c.out.Full() {
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
	return t.Send(c.Conn.Writev) // nbio copies what the socket does not take
}

// WriteFrame writes p as one frame with nbio's vectored write: the
// codec's header, p and its trailer, p not copied (what the socket does
// not take at once, nbio copies into its write queue). Any goroutine may
// call it; frames never interleave.
func (c *Conn) WriteFrame(p []byte) error {
	s := loopcore.NewScratch()
	defer s.Free()
	iov, err := c.l.Encode(s, p)
	if err != nil {
		return err
	}
	if _, err := c.Conn.Writev(iov); err != nil {
		return err
	}
	c.l.Wrote(p)
	return nil
}
