package framing

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Conn is a net.Conn that sends and receives frames. Code written as "one
// Write is one message, one Read is one message" becomes correct over a
// stream: Write sends its argument as one frame, and Read never returns
// bytes of two different frames.
//
// ReadFrame and WriteFrame give direct access to frames. As for any
// net.Conn, reads must come from one goroutine at a time; writes may come
// from any number at once (see Writer).
//
// Request and response: frames buffered with BufferFrame are written
// before the Conn reads from the network, that is, before any read call
// (ReadFrame, Read, a Body's Read, …) that finds no complete frame
// buffered; and on Flush and Close. A server that answers each request
// with BufferFrame thus sends the replies to a burst of pipelined requests
// in one write, once it has read them all, and never waits for a request
// while holding replies. A write that fails there breaks the Conn's
// writing side: the read goes on, and the next BufferFrame, WriteFrame or
// Flush returns the *WriterBrokenError.
//
// The reading side writes only what nobody else will: while another
// goroutine's write is in progress it reads at once and leaves the
// buffered frames to that goroutine, which writes them when its write
// ends; and it never writes a frame that another goroutine's WriteFrame,
// WriteFrames or Flush is waiting to write (such a write may block until
// the peer reads, while the peer waits for this side to read). It does
// write frames that other goroutines buffered with BufferFrame and left
// there (as if it called Flush): a program whose reading goroutine must
// never wait on a write has its other goroutines write with WriteFrame or
// WriteFrames, not BufferFrame.
type Conn struct {
	nc   net.Conn
	r    Reader
	w    Writer
	rest []byte // the unread part of a frame that Read returned in part

	// The caller's deadlines, as Unix nanoseconds (0: none), kept compact
	// because every idle connection carries them.
	readDeadline, writeDeadline atomic.Int64
	// rstate coordinates Close with a read in flight, so that the read
	// buffer is given back exactly once, after the last read returned.
	rstate atomic.Uint32
}

// The bits of Conn.rstate.
const (
	connReading  = 1 // a read call is in flight
	connClosed   = 2 // Close was called
	connReleased = 4 // the Reader's buffers were given back
)

// rstateOr sets bits in rstate and returns its old value.
func (c *Conn) rstateOr(bits uint32) uint32 {
	for {
		old := c.rstate.Load()
		if c.rstate.CompareAndSwap(old, old|bits) {
			return old
		}
	}
}

// beginRead marks a read in flight; it returns false (and no read may
// touch the Reader) once the Conn is closed.
func (c *Conn) beginRead() bool {
	// One reader at a time: the reading bit is clear here, and adding it
	// is one atomic instruction.
	if c.rstate.Add(connReading)&connClosed != 0 {
		c.rstate.Add(^uint32(connReading - 1))
		return false
	}
	return true
}

// endRead ends a read; if Close came meanwhile, this read gives the
// buffers back.
func (c *Conn) endRead() {
	if c.rstate.Add(^uint32(connReading-1))&connClosed != 0 {
		c.releaseReader()
	}
}

// releaseReader releases the Reader once.
func (c *Conn) releaseReader() {
	if old := c.rstateOr(connReleased); old&connReleased == 0 {
		c.rest = nil
		c.r.Release()
	}
}

// errClosedRead is what a read on a closed Conn returns.
var errClosedRead = &net.OpError{Op: "read", Net: "framing", Err: net.ErrClosed}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// NewConn wraps nc so that it reads and writes frames with codec. opts may
// be nil.
func NewConn(nc net.Conn, codec Codec, opts *Options) *Conn {
	c := &Conn{nc: nc}
	c.r.init((*connSource)(c), codec, opts)
	c.w.init(nc, codec, opts)
	if x := c.r.e.x; x != nil {
		if x.budget != nil {
			reclaim(c, x)
		}
		// The slow-peer guard moves the conn's read deadline, knowing the
		// caller's.
		x.conn = nc
		x.callerDL = &c.readDeadline
	}
	return c
}

// connSource is what a Conn's Reader reads from: the connection, after
// the frames buffered for writing have been written (see Conn).
type connSource Conn

func (s *connSource) Read(p []byte) (int, error) {
	c := (*Conn)(s)
	if c.w.state.Load() != 0 {
		c.w.idle()
	}
	return c.nc.Read(p)
}

// ErrDetached is returned by a Conn, Reader or Writer used after Detach.
var ErrDetached = errors.New("framing: used after Detach")

// Detach stops framing and hands the connection back, for protocols that
// switch after a framed handshake (STARTTLS, an HTTP upgrade): it writes
// the frames still buffered, and returns the underlying connection and
// every byte already received but not yet returned as a frame (a partial
// frame included), which come before anything read from the connection
// next. The Conn must not be used afterwards (its methods return
// ErrDetached). Detach fails, changing nothing, while part of a frame
// returned by Read is unread or a body is being streamed.
func (c *Conn) Detach() (net.Conn, []byte, error) {
	if len(c.rest) > 0 {
		return nil, nil, errors.New("framing: Detach with part of a frame unread by Read")
	}
	if x := c.r.e.x; x != nil && x.body != nil && x.body.left > 0 {
		return nil, nil, errors.New("framing: Detach while a frame body is being read")
	}
	if err := c.w.Flush(); err != nil {
		return nil, nil, err
	}
	c.w.stop(ErrDetached)
	rest := c.r.Detach()
	if x := c.r.e.x; x != nil && x.overrode {
		// The guard's deadline is on the conn: put the caller's back.
		if err := c.nc.SetReadDeadline(x.callerDeadline()); err != nil {
			return nil, nil, err
		}
	}
	return c.nc, rest, nil
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Frames returns an iterator over the frames of c, for a range loop (Go
// 1.23 and newer):
//
//	for f, err := range c.Frames() {
//		if err != nil {
//			log.Print(err) // a fatal error is the last thing yielded
//			continue
//		}
//		handle(f) // f is valid for this iteration only
//	}
//
// The end of the stream (io.EOF) ends the loop without being yielded. An
// error the stream goes on after (Rejected: a frame skipped or refused;
// Temporary: a deadline) is yielded and iteration goes on if the loop
// does, except that after a deadline it ends unless the loop moved the
// read deadline (every read would fail again at once). Any other error is
// yielded last. Each frame is ReadFrame's: valid until the next iteration.
func (c *Conn) Frames() func(yield func([]byte, error) bool) {
	return func(yield func([]byte, error) bool) {
		for {
			f, err := c.ReadFrame()
			switch {
			case err == io.EOF:
				return
			case err == nil:
				if !yield(f, nil) {
					return
				}
			case Classify(err) == Fatal:
				yield(nil, err)
				return
			case Classify(err) == Temporary:
				dl, _ := c.Deadlines()
				if !yield(nil, err) {
					return
				}
				if now, _ := c.Deadlines(); now.Equal(dl) && !dl.IsZero() && !time.Now().Before(dl) {
					return // the same deadline, past: the loop would spin
				}
			case !yield(nil, err):
				return
			}
		}
	}
}

// ReadFrame returns the next frame, or what is left of it after a Read that
// returned part of it. The slice is valid until the next read call on c.
func (c *Conn) ReadFrame() ([]byte, error) {
	if !c.beginRead() {
		return nil, errClosedRead
	}
	f, err := c.readFrame()
	c.endRead()
	return f, err
}

func (c *Conn) readFrame() ([]byte, error) {
	if c.rest != nil {
		f := c.rest
		c.rest = nil
		return f, nil
	}
	return c.r.ReadFrame()
}

// ReadFrameInto appends the next frame (or what is left of it) to dst.
func (c *Conn) ReadFrameInto(dst []byte) ([]byte, error) {
	if !c.beginRead() {
		return dst, errClosedRead
	}
	defer c.endRead()
	if c.rest == nil {
		return c.r.ReadFrameInto(dst)
	}
	f, err := c.readFrame()
	if err != nil {
		return dst, err
	}
	return append(dst, f...), nil
}

// ReadFrameOwned returns the next frame (or what is left of it) in memory
// the caller owns; see Reader.ReadFrameOwned.
func (c *Conn) ReadFrameOwned() ([]byte, error) {
	if !c.beginRead() {
		return nil, errClosedRead
	}
	defer c.endRead()
	f, err := c.readFrame()
	if err != nil {
		return nil, err
	}
	return c.r.owned(f), nil
}

// ReadBody streams the next frame's payload; see Reader.ReadBody. The Body
// must be read before the next read call on c, and not after Close.
func (c *Conn) ReadBody() (int64, *Body, error) {
	if !c.beginRead() {
		return 0, nil, errClosedRead
	}
	defer c.endRead()
	if c.rest != nil {
		return 0, nil, errors.New("framing: ReadBody with part of a frame unread by Read")
	}
	n, b, err := c.r.ReadBody()
	if b != nil {
		b.c = c
	}
	return n, b, err
}

// FrameBuffered reports whether a complete frame (or the rest of one that
// Read returned in part) is buffered, so that the next ReadFrame returns
// it without reading from the network; see Reader.FrameBuffered.
func (c *Conn) FrameBuffered() bool { return len(c.rest) > 0 || c.r.FrameBuffered() }

// Offset returns the stream offset of the next frame; see Reader.Offset.
func (c *Conn) Offset() int64 { return c.r.Offset() }

// Kind returns the kind of the last frame read; see Reader.Kind.
func (c *Conn) Kind() uint32 { return c.r.Kind() }

// WriteFrame writes p as one frame; see Writer.WriteFrame.
func (c *Conn) WriteFrame(p []byte) error { return c.w.WriteFrame(p) }

// WriteFrames writes the frames in ps with as few system calls as possible.
func (c *Conn) WriteFrames(ps [][]byte) error { return c.w.WriteFrames(ps) }

// BufferFrame queues p as a frame until Flush, the next WriteFrame, or the
// Conn's next read from the network (see Conn); see Writer.BufferFrame.
func (c *Conn) BufferFrame(p []byte) error { return c.w.BufferFrame(p) }

// Flush writes the buffered frames.
func (c *Conn) Flush() error { return c.w.Flush() }

// NewBatch returns a Batch that encodes frames for one goroutine and writes
// them on the connection in blocks; see Batch.
func (c *Conn) NewBatch() *Batch { return c.w.NewBatch() }

// Read reads from the next frame into p. It never mixes bytes of two
// frames in one call: a frame longer than p continues in the next Read
// (or ReadFrame). Empty frames are skipped, since returning (0, nil) would
// look like no progress to io.Reader callers.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !c.beginRead() {
		return 0, errClosedRead
	}
	defer c.endRead()
	for len(c.rest) == 0 {
		f, err := c.r.ReadFrame()
		if err != nil {
			return 0, err
		}
		if len(f) > 0 {
			c.rest = f
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	if len(c.rest) == 0 {
		c.rest = nil
	}
	return n, nil
}

// Write sends p as one frame. It returns len(p) on success and 0 with the
// error otherwise: a frame is never sent in part.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.w.WriteFrame(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// closeFlushTimeout bounds how long Close waits to write buffered frames to
// a peer that does not read.
const closeFlushTimeout = 2 * time.Second

// Close writes the frames still buffered (BufferFrame) or queued, waiting
// at most until the caller's write deadline or two seconds, whichever comes
// first, then closes the connection. Writers still blocked in WriteFrame
// then return an error. The read buffer goes back to the pool (and to the
// memory budget) at once, or when a read in flight on another goroutine
// returns; later reads return an error matching net.ErrClosed.
func (c *Conn) Close() error {
	var ferr error
	if c.w.Buffered() > 0 {
		dl := time.Now().Add(closeFlushTimeout)
		if _, wdl := c.Deadlines(); !wdl.IsZero() && wdl.Before(dl) {
			dl = wdl
		}
		if err := c.nc.SetWriteDeadline(dl); err == nil {
			ferr = c.w.Flush()
		}
	}
	err := errors.Join(ferr, c.nc.Close())
	c.w.releaseSpare()
	if old := c.rstateOr(connClosed); old&connReading == 0 {
		c.releaseReader()
	}
	return err
}

// CloseWrite flushes buffered frames and shuts down the writing side, if
// the underlying connection can (TCP, Unix).
func (c *Conn) CloseWrite() error {
	if err := c.w.Flush(); err != nil {
		return err
	}
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok {
		return errors.New("framing: underlying connection has no CloseWrite")
	}
	return cw.CloseWrite()
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets the read and write deadlines; a deadline that fires in
// the middle of a frame loses nothing (see Reader.ReadFrame).
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.Store(unixNano(t))
	c.writeDeadline.Store(unixNano(t))
	return c.nc.SetDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.Store(unixNano(t))
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline. A write that times out breaks
// the writing side (see Writer).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(unixNano(t))
	return c.nc.SetWriteDeadline(t)
}

// Deadlines returns the read and write deadlines the caller last set, so
// that guards of the Conn's own can be told apart from them.
func (c *Conn) Deadlines() (read, write time.Time) {
	return fromUnixNano(c.readDeadline.Load()), fromUnixNano(c.writeDeadline.Load())
}

// Listener is a net.Listener whose connections are framed Conns.
type Listener struct {
	l     net.Listener
	codec Codec
	opts  *Options
}

// NewListener wraps l so that Accept returns framed Conns.
func NewListener(l net.Listener, codec Codec, opts *Options) *Listener {
	return &Listener{l: l, codec: codec, opts: opts}
}

// Listen announces on the local network address and returns a framed
// Listener; see net.Listen.
func Listen(network, address string, codec Codec, opts *Options) (*Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return NewListener(l, codec, opts), nil
}

// Accept waits for the next connection and returns it as a *Conn.
func (l *Listener) Accept() (net.Conn, error) { return l.AcceptFramed() }

// AcceptFramed is Accept with the concrete type.
func (l *Listener) AcceptFramed() (*Conn, error) {
	nc, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	return NewConn(nc, l.codec, l.opts), nil
}

// Close closes the listener.
func (l *Listener) Close() error { return l.l.Close() }

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Dial connects to address and returns a framed Conn; see net.Dial.
func Dial(network, address string, codec Codec, opts *Options) (*Conn, error) {
	return DialContext(context.Background(), network, address, codec, opts)
}

// DialContext is Dial with a context.
func DialContext(ctx context.Context, network, address string, codec Codec, opts *Options) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return NewConn(nc, codec, opts), nil
}
