package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/framekit/framekit/framing"
)

// frameReader reads frames from a stream and numbers them, so that an error
// in the data says which frame and where.
type frameReader struct {
	r     *framing.Reader
	c     *codec
	index int64 // of the next frame, counting rejected ones
}

func newFrameReader(rd io.Reader, c *codec, opts *framing.Options) *frameReader {
	return &frameReader{r: framing.NewReader(rd, c.dec, opts), c: c}
}

// next returns the next frame (valid until the next call), io.EOF at a clean
// end of the stream, a *dataError for a bad frame, or the stream's own error.
func (fr *frameReader) next() ([]byte, error) {
	start := fr.r.Offset() // where the frame (or the rejected one) starts
	f, err := fr.r.ReadFrame()
	if err == nil {
		fr.index++
		return f, nil
	}
	if err == io.EOF || !isDataError(err) {
		return nil, err
	}
	de := &dataError{index: fr.index, offset: start, err: err, c: fr.c}
	if framing.Classify(err) == framing.Rejected {
		fr.index++
	}
	return nil, de
}

// isDataError reports whether err is about the bytes of the stream rather
// than the stream itself (a reset, a deadline).
func isDataError(err error) bool {
	return errors.Is(err, framing.ErrFrameTooLarge) || errors.Is(err, framing.ErrCorrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, framing.ErrPayload)
}

// dataError is an error in the framed data: frame index at offset, the
// byte offset in the framed stream where the frame starts.
type dataError struct {
	index, offset int64
	err           error
	c             *codec
}

func (e *dataError) Error() string {
	return fmt.Sprintf("frame %d at offset %d: %s", e.index, e.offset, describe(e.err, e.c))
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
