package goframe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/framekit/framekit/compat/internal/goframecfg"
	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// goframe's error variables, with its messages, for code that compares
// them.
var (
	// ErrUnsupportedlength reports a LengthFieldLength other than 1, 2, 3,
	// 4 or 8.
	ErrUnsupportedlength = errors.New("unsupported lengthFieldLength. (expected: 1, 2, 3, 4, or 8)")
	// ErrTooLessLength reports a length that is negative once adjusted: a
	// payload too short for a negative EncoderConfig.LengthAdjustment, or a
	// corrupt length field read.
	ErrTooLessLength = errors.New("Adjusted frame length is less than zero") //lint:ignore ST1005 goframe's message, kept for code that compares it
	// ErrUnexpectedFixedLength reports a payload whose length is not a
	// multiple of a fixed-length conn's frame length, or a frame length
	// below 1.
	ErrUnexpectedFixedLength = errors.New("Unexpected fixed length") //lint:ignore ST1005 goframe's message, kept for code that compares it
)

// CRLFBytes is goframe's name for the line terminator, "\n" (not "\r\n",
// whatever the name says). The line conn writes "\n" whatever it holds:
// it is here so that code naming it compiles.
var CRLFBytes = []byte("\n")

// FrameConn is a connection that sends and receives frames.
type FrameConn interface {
	// ReadFrame returns the next frame, a slice the caller keeps.
	ReadFrame() ([]byte, error)
	// WriteFrame sends p as one frame (the fixed-length conn: as
	// len(p)/frameLength frames).
	WriteFrame(p []byte) error
	// Close sends what is still queued and closes the connection.
	Close() error
	// Conn returns the underlying connection.
	Conn() net.Conn
}

// EncoderConfig says how the length-field conn writes frames: Netty's
// LengthFieldPrepender. It is goframeconn's, so values convert freely.
type EncoderConfig = goframeconn.EncoderConfig

// DecoderConfig says how the length-field conn reads frames: Netty's
// LengthFieldBasedFrameDecoder. It is goframeconn's, so values convert
// freely.
type DecoderConfig = goframeconn.DecoderConfig

// NewLengthFieldBasedFrameConn returns a conn that writes frames as
// encoderConfig says and reads them as decoderConfig says. A configuration
// that cannot work makes the calls in its direction return its error.
func NewLengthFieldBasedFrameConn(encoderConfig EncoderConfig, decoderConfig DecoderConfig, conn net.Conn) FrameConn {
	enc := goframecfg.Enc(encoderConfig)
	e, werr := enc.Codec()
	d, rerr := goframecfg.Dec(decoderConfig).Decoder()
	var codec framing.Codec
	switch {
	case e != nil && d != nil:
		codec = goframecfg.Join(e, d)
	case e != nil:
		codec = e // reads are refused before they reach it
	case d != nil:
		codec = decodeOnly{d}
	}
	return &lengthConn{
		frameConn: newConn(conn, codec, nil,
			unsupported(decoderConfig.LengthFieldLength, rerr),
			unsupported(encoderConfig.LengthFieldLength, werr)),
		extra: enc.Extra(),
	}
}

// NewLineBasedFrameConn returns a conn whose frames end with "\n". Only
// the "\n" is stripped: a line sent as "a\r\n" reads as "a\r", as in
// goframe.
func NewLineBasedFrameConn(conn net.Conn) FrameConn {
	return NewDelimiterBasedFrameConn('\n', conn)
}

// NewDelimiterBasedFrameConn returns a conn whose frames end with
// delimiter, which ReadFrame strips.
func NewDelimiterBasedFrameConn(delimiter byte, conn net.Conn) FrameConn {
	codec, err := delimiterCodec(delimiter)
	if err != nil {
		return newConn(conn, nil, nil, err, err)
	}
	return newConn(conn, codec, nil, nil, nil)
}

// NewFixedLengthFrameConn returns a conn whose frames are frameLength
// bytes long. WriteFrame takes any multiple of frameLength and sends it as
// that many frames.
func NewFixedLengthFrameConn(frameLength int, conn net.Conn) FrameConn {
	codec, err := delimiter.Fixed(frameLength)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrUnexpectedFixedLength, err)
		return newConn(conn, nil, nil, err, err)
	}
	var opts *framing.Options
	if frameLength > framing.DefaultMaxFrameSize {
		opts = &framing.Options{MaxFrameSize: frameLength}
	}
	return &fixedConn{frameConn: newConn(conn, codec, opts, nil, nil), n: frameLength}
}

// ReadN reads exactly n bytes from r. Its buffer grows with the bytes that
// arrive, so a hostile n costs only what r delivers; on a short read it
// returns the bytes read, with io.EOF if there were none and
// io.ErrUnexpectedEOF otherwise.
func ReadN(r io.Reader, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: ReadN(%d)", ErrTooLessLength, n)
	}
	buf := make([]byte, 0, min(n, readNFirst))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf))) // at most doubling
		}
		k, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

// readNFirst is what ReadN allocates before the first byte arrives.
const readNFirst = 4 << 10

// frameConn is a goframeconn.Conn and the errors of a direction whose
// configuration cannot work, which the calls in that direction return
// without touching the connection.
type frameConn struct {
	c    *goframeconn.Conn // nil when neither direction can work
	nc   net.Conn
	rerr error
	werr error
}

func newConn(nc net.Conn, codec framing.Codec, opts *framing.Options, rerr, werr error) *frameConn {
	fc := &frameConn{nc: nc, rerr: rerr, werr: werr}
	if codec != nil {
		fc.c = goframeconn.New(nc, codec, opts)
	}
	return fc
}

func (fc *frameConn) ReadFrame() ([]byte, error) {
	if fc.rerr != nil {
		return nil, fc.rerr
	}
	return fc.c.ReadFrame()
}

func (fc *frameConn) WriteFrame(p []byte) error {
	if fc.werr != nil {
		return fc.werr
	}
	return fc.c.WriteFrame(p)
}

func (fc *frameConn) Close() error {
	if fc.c == nil {
		return fc.nc.Close()
	}
	return fc.c.Close()
}

func (fc *frameConn) Conn() net.Conn {
	return fc.nc
}

// lengthConn adds goframe's length errors to a length-field conn.
type lengthConn struct {
	*frameConn
	extra int // goframe writes len(p)+extra in the length field
}

func (lc *lengthConn) ReadFrame() ([]byte, error) {
	p, err := lc.frameConn.ReadFrame()
	var ce *framing.CorruptError
	if errors.As(err, &ce) {
		// Every corrupt length a lengthprefix decoder reports is a
		// negative one: goframe's name for it is ErrTooLessLength.
		err = fmt.Errorf("%w: %w", ErrTooLessLength, err)
	}
	return p, err
}

func (lc *lengthConn) WriteFrame(p []byte) error {
	if lc.werr == nil && len(p)+lc.extra < 0 {
		return ErrTooLessLength
	}
	return lc.frameConn.WriteFrame(p)
}

// fixedConn sends a payload of several frame lengths as several frames,
// as goframe does.
type fixedConn struct {
	*frameConn
	n int
}

func (fc *fixedConn) WriteFrame(p []byte) error {
	if len(p)%fc.n != 0 {
		return ErrUnexpectedFixedLength
	}
	if len(p) == fc.n {
		return fc.c.WriteFrame(p)
	}
	frames := make([][]byte, 0, len(p)/fc.n)
	for ; len(p) > 0; p = p[fc.n:] {
		frames = append(frames, p[:fc.n])
	}
	return fc.c.Framed().WriteFrames(frames) // together: no frame of another writer in between
}

// decodeOnly is the codec of a length-field conn whose EncoderConfig
// cannot work: WriteFrame returns that error before asking it, and it
// refuses every payload too.
type decodeOnly struct{ *lengthprefix.Decoder }

func (decodeOnly) AppendFrame(dst, p []byte) ([]byte, error) {
	return dst, &framing.PayloadError{Size: len(p), Reason: "the conn's EncoderConfig cannot work"}
}

// unsupported is err, or ErrUnsupportedlength itself, as goframe returns
// it, when width is not one of the widths goframe takes.
func unsupported(width int, err error) error {
	if err == nil {
		return nil
	}
	switch width {
	case 1, 2, 3, 4, 8:
		return err
	}
	return ErrUnsupportedlength
}

// delimiterCodec is the codec of frames that end with b (outside
// NewDelimiterBasedFrameConn, whose parameter has goframe's name and hides
// the delimiter package).
func delimiterCodec(b byte) (*delimiter.Codec, error) {
	return delimiter.New(delimiter.Config{Delimiters: [][]byte{{b}}})
}
