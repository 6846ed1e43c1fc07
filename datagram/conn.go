package datagram

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
)

// Options configure a Conn. The zero value (and a nil *Options) gives the
// defaults.
type Options struct {
	// MaxDatagram is the size limit of the datagrams the Conn sends, header
	// included: frames are packed into a datagram while they fit. Zero
	// means DefaultMaxDatagram (1232); at most MaxUDPPayload. Raise it
	// (up to 1472 on an Ethernet LAN, 65507 on loopback) for fewer, larger
	// datagrams where fragmentation is no concern.
	MaxDatagram int
	// ReadBuffer is the size of the receive buffer: the largest datagram
	// the Conn receives whole. A larger datagram is reported as a
	// *TruncatedError. Zero means DefaultReadBuffer (64 KiB, more than any
	// UDP datagram); at least HeaderSize.
	ReadBuffer int
}

// Conn reads and writes frames on a net.PacketConn, several frames to a
// datagram. Any number of goroutines may write at once; one at a time may
// read.
type Conn struct {
	pc      net.PacketConn
	max     int // largest datagram sent
	readBuf int

	wmu sync.Mutex
	out []byte   // the datagram being built; empty when nothing is buffered
	to  net.Addr // its destination

	in     []byte   // receive buffer, allocated by the first read
	frames [][]byte // the frames of the last datagram read
	next   int      // how many of them were returned
	from   net.Addr // its sender
}

// New returns a Conn that sends and receives frames on pc. opts may be nil.
// It returns a *framing.ConfigError for options that cannot work.
func New(pc net.PacketConn, opts *Options) (*Conn, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxDatagram == 0 {
		o.MaxDatagram = DefaultMaxDatagram
	}
	if o.ReadBuffer == 0 {
		o.ReadBuffer = DefaultReadBuffer
	}
	switch {
	case o.MaxDatagram < HeaderSize+1 || o.MaxDatagram > MaxUDPPayload:
		return nil, &framing.ConfigError{Codec: "datagram", Reason: fmt.Sprintf("MaxDatagram %d is outside [%d, %d]", o.MaxDatagram, HeaderSize+1, MaxUDPPayload)}
	case o.ReadBuffer < HeaderSize:
		return nil, &framing.ConfigError{Codec: "datagram", Reason: fmt.Sprintf("ReadBuffer %d is smaller than the %d-byte header", o.ReadBuffer, HeaderSize)}
	}
	return &Conn{pc: pc, max: o.MaxDatagram, readBuf: o.ReadBuffer}, nil
}

// MaxPayload returns the largest payload that fits in one datagram.
func (c *Conn) MaxPayload() int { return maxPayload(c.max) }

// ReadFrame returns the next frame and its sender, reading a datagram when
// the frames of the last one were all returned. The frame is valid until the
// next read call on c. A datagram that cannot be read whole and intact gives
// a *TruncatedError or a *CorruptError, once; the next call goes on with the
// next datagram.
func (c *Conn) ReadFrame() ([]byte, net.Addr, error) {
	if c.next == len(c.frames) {
		if err := c.receive(); err != nil {
			return nil, nil, err
		}
	}
	p := c.frames[c.next]
	c.next++
	return p, c.from, nil
}

// ReadFrames appends to dst the frames of the last datagram read that were
// not returned yet, or else those of the next datagram, and returns them with
// their sender. The frames are valid until the next read call on c; errors
// are as for ReadFrame. An echo server is ReadFrames then WriteFramesTo.
func (c *Conn) ReadFrames(dst [][]byte) ([][]byte, net.Addr, error) {
	if c.next == len(c.frames) {
		if err := c.receive(); err != nil {
			return dst, nil, err
		}
	}
	dst = append(dst, c.frames[c.next:]...)
	c.next = len(c.frames)
	return dst, c.from, nil
}

// receive reads one datagram and splits it into c.frames.
func (c *Conn) receive() error {
	if c.in == nil {
		c.in = make([]byte, c.readBuf)
	}
	n, addr, err := c.pc.ReadFrom(c.in)
	if err != nil {
		return err
	}
	c.frames, c.next = c.frames[:0], 0
	c.frames, err = split(c.frames, c.in[:n], n == len(c.in))
	switch e := err.(type) { // split's own errors, never wrapped
	case *TruncatedError:
		e.Addr = addr
	case *CorruptError:
		e.Addr = addr
	}
	c.from = addr
	return err
}

// WriteFramesTo sends the frames in ps to addr, in order, packed into as few
// datagrams as the size limit allows, behind any frames buffered for addr.
// If a payload is larger than MaxPayload, none is sent: the error is a
// *framing.PayloadError. If a send fails, the frames of the datagrams before
// it were sent and the others were not. The ps may be reused as soon as it
// returns. On a connected socket (net.DialUDP) addr may be nil.
func (c *Conn) WriteFramesTo(ps [][]byte, addr net.Addr) error {
	for _, p := range ps {
		if err := c.fits(p); err != nil {
			return err
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, p := range ps {
		if err := c.buffer(p, addr); err != nil {
			return err
		}
	}
	return c.flush()
}

// WriteFrameTo sends p to addr, in one datagram with any frames buffered for
// addr; see WriteFramesTo.
func (c *Conn) WriteFrameTo(p []byte, addr net.Addr) error {
	return c.WriteFramesTo([][]byte{p}, addr)
}

// BufferFrameTo adds p to the datagram being built for addr, to be sent with
// the next Flush or write. A datagram that p would make too large, or that
// is addressed elsewhere, is sent first. p may be reused as soon as it
// returns; addr is kept until the datagram is sent. On error p was not
// buffered.
func (c *Conn) BufferFrameTo(p []byte, addr net.Addr) error {
	if err := c.fits(p); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.buffer(p, addr)
}

// Flush sends the datagram being built, if any.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flush()
}

// Close sends the datagram being built, then closes the PacketConn.
func (c *Conn) Close() error {
	c.wmu.Lock()
	err := c.flush()
	c.wmu.Unlock()
	return errors.Join(err, c.pc.Close())
}

func (c *Conn) fits(p []byte) error {
	if HeaderSize+encodedSize(len(p)) > c.max {
		return &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(
			"larger than %d bytes, the most a datagram of at most %d bytes can carry (Options.MaxDatagram)", c.MaxPayload(), c.max)}
	}
	return nil
}

// buffer adds a frame that fits to c.out; c.wmu is held.
func (c *Conn) buffer(p []byte, addr net.Addr) error {
	if len(c.out) > 0 && (len(c.out)+encodedSize(len(p)) > c.max || !sameAddr(c.to, addr)) {
		if err := c.flush(); err != nil {
			return err
		}
	}
	if len(c.out) == 0 {
		if c.out == nil {
			c.out = make([]byte, 0, c.max)
		}
		c.out, c.to = startDatagram(c.out), addr
	}
	c.out = appendFrame(c.out, p)
	return nil
}

// flush sends c.out; c.wmu is held. The datagram is dropped whether or not
// the send succeeds: a datagram is never sent twice.
func (c *Conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	seal(c.out)
	d, to := c.out, c.to
	c.out, c.to = c.out[:0], nil
	var n int
	var err error
	if to == nil {
		w, ok := c.pc.(io.Writer)
		if !ok {
			return errors.New("datagram: nil address on a PacketConn that cannot Write")
		}
		n, err = w.Write(d)
	} else {
		n, err = c.pc.WriteTo(d, to)
	}
	if err == nil && n != len(d) {
		err = io.ErrShortWrite
	}
	return err
}

// sameAddr reports whether a and b are the same address, without allocating
// for UDP addresses.
func sameAddr(a, b net.Addr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if ua, ok := a.(*net.UDPAddr); ok {
		if ub, ok := b.(*net.UDPAddr); ok {
			return ua.Port == ub.Port && ua.IP.Equal(ub.IP) && ua.Zone == ub.Zone
		}
	}
	return a.Network() == b.Network() && a.String() == b.String()
}

// LocalAddr returns the local address of the PacketConn.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline sets the read and write deadlines of the PacketConn.
func (c *Conn) SetDeadline(t time.Time) error { return c.pc.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the PacketConn. A deadline that
// fires loses nothing: no datagram was consumed.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the PacketConn.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }
