// Package goframeconn is a drop-in for github.com/smallnest/goframe: a conn
// with goframe's FrameConn methods, built on framekit, so goframe code switches
// by changing its constructor.
//
// The shortest working use, for goframe's length-field conn:
//
//	fc, err := goframeconn.NewLengthFieldBasedFrameConn(
//		goframeconn.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
//		goframeconn.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4},
//		conn)
//	err = fc.WriteFrame([]byte("hello"))
//	frame, err := fc.ReadFrame() // an owned copy, as goframe returns
//
// Any framekit codec works through New: goframe's line, delimiter and fixed
// length conns are New(conn, d, nil) with d from delimiter.New (Delimiters
// "\n" for goframe's lines; delimiter.Lines also strips a "\r" before it),
// and New(conn, f, nil) with f from delimiter.Fixed.
//
// Unlike goframe v1.0.0, the conn reads a frame correctly however the stream
// is cut (a length field split across two reads included), enforces a size
// limit before allocating (framing.Options.MaxFrameSize, 8 MiB by default),
// reports a stream that ends inside a frame as io.ErrUnexpectedEOF, and is safe
// for concurrent writers.
package goframeconn

import (
	"encoding/binary"
	"net"

	"github.com/framekit/framekit/compat/internal/goframecfg"
	"github.com/framekit/framekit/framing"
)

// Conn has the methods of goframe's FrameConn interface: ReadFrame,
// WriteFrame, Close and Conn. As for any framekit Conn, one goroutine at a
// time may read and any number may write.
type Conn struct {
	fc *framing.Conn
}

// New wraps nc so that it reads and writes frames with codec. opts may be
// nil for the defaults (an 8 MiB limit on frames read).
func New(nc net.Conn, codec framing.Codec, opts *framing.Options) *Conn {
	return &Conn{fc: framing.NewConn(nc, codec, opts)}
}

// ReadFrame returns the next frame. The slice is the caller's to keep, as
// goframe's is (a copy of the frame); Framed().ReadFrame returns a view
// without copying.
func (c *Conn) ReadFrame() ([]byte, error) {
	p, err := c.fc.ReadFrameInto(nil)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = []byte{}
	}
	return p, nil
}

// WriteFrame writes p as one frame. A payload the codec cannot frame is
// refused with a *framing.PayloadError before anything is written.
func (c *Conn) WriteFrame(p []byte) error {
	return c.fc.WriteFrame(p)
}

// Close writes the frames still queued and closes the connection.
func (c *Conn) Close() error {
	return c.fc.Close()
}

// Conn returns the underlying connection, as goframe's does. Bytes already
// read from it but not yet returned as frames stay in the framing Reader and
// are not seen by reads on the returned conn: to switch protocols after
// framed messages, use Framed().Detach(), which returns the connection
// together with those bytes. Deadlines are best set through Framed, whose
// reads resume after a deadline without losing bytes.
func (c *Conn) Conn() net.Conn {
	return c.fc.NetConn()
}

// Framed returns the framing.Conn underneath, for deadlines, zero-copy reads
// (ReadFrame without a copy) and batched writes.
func (c *Conn) Framed() *framing.Conn {
	return c.fc
}

// EncoderConfig has the fields of goframe's EncoderConfig and means the same:
// Netty's LengthFieldPrepender.
type EncoderConfig struct {
	// ByteOrder is the byte order of the length field: any ByteOrder that
	// reads as big- or little-endian (binary.BigEndian, LittleEndian,
	// NativeEndian); nil only for a 1-byte field, which has no order.
	ByteOrder binary.ByteOrder
	// LengthFieldLength is the width of the length field: 1, 2, 3, 4 or 8.
	LengthFieldLength int
	// LengthAdjustment is added to the payload's length to get the value
	// written in the field.
	LengthAdjustment int
	// LengthIncludesLengthFieldLength adds the field's own width to the value.
	LengthIncludesLengthFieldLength bool
}

// DecoderConfig has the fields of goframe's DecoderConfig and means the same:
// Netty's LengthFieldBasedFrameDecoder.
type DecoderConfig struct {
	// ByteOrder is the byte order of the length field, as in EncoderConfig.
	ByteOrder binary.ByteOrder
	// LengthFieldOffset is the number of header bytes before the field.
	LengthFieldOffset int
	// LengthFieldLength is the width of the length field: 1, 2, 3, 4 or 8.
	LengthFieldLength int
	// LengthAdjustment is added to the field's value to get the number of
	// bytes after the field.
	LengthAdjustment int
	// InitialBytesToStrip is the number of bytes removed from the front of
	// each frame read.
	InitialBytesToStrip int
}

// NewLengthFieldBasedFrameConn is goframe's constructor of the same name,
// with framekit underneath and the default options. Unlike goframe's, it
// checks the configurations and returns an error for one that cannot work.
func NewLengthFieldBasedFrameConn(enc EncoderConfig, dec DecoderConfig, conn net.Conn) (*Conn, error) {
	codec, err := LengthField(enc, dec)
	if err != nil {
		return nil, err
	}
	return New(conn, codec, nil), nil
}

// LengthField returns the framekit codec that writes frames as enc says
// and reads them as dec says, for New. When both describe one layout
// (the usual case) it is a plain *lengthprefix.Codec.
func LengthField(enc EncoderConfig, dec DecoderConfig) (framing.Codec, error) {
	e, err := goframecfg.Enc(enc).Codec()
	if err != nil {
		return nil, err
	}
	d, err := goframecfg.Dec(dec).Decoder()
	if err != nil {
		return nil, err
	}
	return goframecfg.Join(e, d), nil
}
