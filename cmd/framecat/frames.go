package main

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/framekit/framekit/framing"
)

// frameReader reads frames from a stream and numbers them, so that an error
// in the data says which frame and where.
type frameReader struct {
	r     frameSource
	src   *countingReader // nil when r reads a source of its own
	c     *codec
	index int64 // of the next frame, counting rejected ones

	// The frame last skipped under --skip, until a frame is read after
	// it: an unexpected EOF may lie in it rather than in a next frame.
	skipping  bool
	skip      dataError
	skipEnd   int64 // Offset after the rejection: the frame's end when its size is known
	skipSized bool  // the skipped frame's size was known (from a header or a delimiter)
}

// frameSource is a framing.Reader or framing.Conn.
type frameSource interface {
	ReadFrame() ([]byte, error)
	Offset() int64
	Kind() uint32
}

// countingReader counts the bytes read from a stream.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func newFrameReader(rd io.Reader, c *codec, opts *framing.Options) *frameReader {
	src := &countingReader{r: rd}
	return &frameReader{r: framing.NewReader(src, c.dec, opts), src: src, c: c}
}

// newConnFrameReader reads the frames of a connection through a
// framing.Conn, so that the slow-peer guard can set its deadlines; the
// Conn is for writing and closing.
func newConnFrameReader(nc net.Conn, c *codec, opts *framing.Options) (*frameReader, *framing.Conn) {
	cc := &countingConn{Conn: nc}
	conn := framing.NewConn(cc, c.conn(), opts)
	return &frameReader{r: conn, src: &cc.countingReader, c: c}, conn
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	countingReader
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// next returns the next frame (valid until the next call), io.EOF at a clean
// end of the stream, a *dataError for a bad frame, or the stream's own error.
func (fr *frameReader) next() ([]byte, error) {
	start := fr.r.Offset() // where the frame (or the rejected one) starts
	f, err := fr.r.ReadFrame()
	if err == nil {
		fr.index++
		fr.skipping = false
		return f, nil
	}
	if err == io.EOF || !isDataError(err) {
		return nil, err
	}
	if fr.skipping && errors.Is(err, io.ErrUnexpectedEOF) && fr.inSkipped() {
		// The stream ended inside the frame being skipped, not in a
		// frame after it.
		de := fr.skip
		de.err, de.skipping = err, true
		return nil, &de
	}
	de := &dataError{index: fr.index, offset: start, err: err, c: fr.c}
	if framing.Classify(err) == framing.Rejected {
		fr.index++
		var tl *framing.FrameTooLargeError
		fr.skipping = errors.As(err, &tl) && tl.Skipped
		if fr.skipping {
			fr.skip = *de
			fr.skipEnd = fr.r.Offset()
			fr.skipSized = tl.Size >= 0
		}
	}
	return nil, de
}

// inSkipped reports whether an unexpected EOF lies in the frame last
// skipped: its end, when known, is past the bytes the stream held; when
// not known, the skip has not moved on since it was reported (reaching
// the frame's end moves the offset past it).
func (fr *frameReader) inSkipped() bool {
	if fr.skipSized {
		return fr.src != nil && fr.skipEnd > fr.src.n
	}
	return fr.r.Offset() == fr.skipEnd
}

// isDataError reports whether err is about the bytes of the stream rather
// than the stream itself (a reset, a deadline).
func isDataError(err error) bool {
	return errors.Is(err, framing.ErrFrameTooLarge) || errors.Is(err, framing.ErrCorrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, framing.ErrPayload)
}

// dataError is an error in the framed data: frame index (counted from 0,
// printed from 1, as lines are) at offset, the byte offset in the framed
// stream where the frame starts (counted from 0).
type dataError struct {
	index, offset int64
	err           error
	c             *codec
	// skipping says that err is an unexpected EOF in a frame being
	// skipped under --skip.
	skipping bool
}

func (e *dataError) Error() string {
	d := describe(e.err, e.c)
	var eof *framing.UnexpectedEOFError
	if e.skipping {
		d = "unexpected EOF before the end of the frame being skipped"
		// Only a size known from the header makes the count the frame's:
		// a delimiter codec counts from where it resumed skipping.
		if e.c != nil && e.c.length && errors.As(e.err, &eof) && eof.Missing > 0 {
			d = fmt.Sprintf("unexpected EOF: %d more bytes needed to end the frame being skipped", eof.Missing)
		}
	}
	return fmt.Sprintf("frame %d at offset %d: %s", e.index+1, e.offset, d)
}

func (e *dataError) Unwrap() error { return e.err }

// rejected reports an error in the data about one frame only (a frame
// skipped under --skip, an undecodable stuffed frame): the next frame can
// be read.
func rejected(err error) bool {
	var de *dataError
	return errors.As(err, &de) && framing.Classify(de.err) == framing.Rejected
}

// describe says what went wrong with a frame, in the words of framecat
// rather than of the package that found it.
func describe(err error, c *codec) string {
	var (
		tl  *framing.FrameTooLargeError
		eof *framing.UnexpectedEOFError
		ce  *framing.CorruptError
		pe  *framing.PayloadError
	)
	switch {
	case errors.As(err, &tl):
		var s string
		switch {
		case tl.Size < 0:
			s = fmt.Sprintf("no end within the limit of %d bytes", tl.Limit)
		case c != nil && c.length:
			s = fmt.Sprintf("declares %d bytes, limit %d", tl.Size, tl.Limit)
		default:
			s = fmt.Sprintf("frame of %d bytes, limit %d", tl.Size, tl.Limit)
		}
		if tl.Skipped {
			s += "; skipped"
		}
		return s
	case errors.As(err, &eof):
		if eof.Missing >= 0 {
			return fmt.Sprintf("unexpected EOF: %d more bytes needed", eof.Missing)
		}
		return fmt.Sprintf("unexpected EOF: %d bytes of the frame received, more needed", eof.Buffered)
	case errors.As(err, &ce):
		return "corrupt frame: " + ce.Reason
	case errors.As(err, &pe):
		return fmt.Sprintf("cannot encode a payload of %d bytes with %s: %s", pe.Size, c.spec, pe.Reason)
	}
	return err.Error()
}
