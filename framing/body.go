package framing

import (
	"errors"
	"io"
)

// HeaderDecoder is implemented by decoders that know a frame's size from
// its header (length prefixes), so that Reader.ReadBody can stream a frame
// instead of buffering it whole.
type HeaderDecoder interface {
	Decoder
	// DecodeHeader looks at the start of a frame at buf[0]. Once the
	// header is complete it returns skip, how many bytes at the front are
	// not payload, and size, the payload's length: the payload is the size
	// bytes after the first skip (skip <= len(buf)). Before that it
	// returns need > 0, how many bytes must be buffered first. A header
	// that cannot be valid is an error, as for Decode; it checks no size
	// limit (the Reader does).
	DecodeHeader(buf []byte, atEOF bool) (skip int, size int64, need int, err error)
}

const maxInt = int(^uint(0) >> 1)

// errBodyDone is returned by a Body read after the Reader moved on.
var errBodyDone = errors.New("framing: frame body read after the next frame was requested")

// ErrNotStreamable is returned by ReadBody when the decoder does not
// implement HeaderDecoder (delimiters and byte stuffing: a frame's size is
// known only at its end).
var ErrNotStreamable = errors.New("framing: decoder cannot stream frames (no HeaderDecoder)")

// Body is the payload of one frame being streamed by Reader.ReadBody.
type Body struct {
	r    *Reader
	left int64
}

// Remaining returns how many bytes of the payload are still to be read.
func (b *Body) Remaining() int64 { return b.left }

// Read reads the next bytes of the payload, returning io.EOF after its
// last byte. Bytes buffered with the header come first; the rest is read
// from the source straight into p. A timeout can be resumed by reading
// again; a stream that ends early gives an *UnexpectedEOFError.
func (b *Body) Read(p []byte) (int, error) {
	r := b.r
	if r.x == nil || r.x.body != b {
		return 0, errBodyDone
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	if buffered := r.end - r.start; buffered > 0 {
		n := copy(p, r.buf[r.start:r.end])
		r.consume(n)
		b.left -= int64(n)
		return n, nil
	}
	if r.eof {
		return 0, r.fail(&UnexpectedEOFError{Missing: b.left})
	}
	if r.pooled != nil {
		r.release() // the rest goes straight into p
	}
	n, err := r.rd.Read(p)
	if n < 0 || n > len(p) {
		return 0, r.fail(errors.New("framing: source returned an invalid count"))
	}
	r.consumed += int64(n)
	b.left -= int64(n)
	switch {
	case err == io.EOF:
		r.eof = true
		if n == 0 {
			return 0, r.fail(&UnexpectedEOFError{Missing: b.left})
		}
		return n, nil
	case err != nil && Classify(err) != Temporary:
		r.fail(err)
	}
	return n, err
}

// ReadBody starts reading the next frame as a stream instead of buffering
// it: it returns the payload's size and a Body to read it from, for frames
// larger than memory should hold (a 1 GiB frame read through a 64 KiB
// buffer). The frame may be as large as Options.MaxBodySize (MaxFrameSize
// when zero); a larger one is a *FrameTooLargeError, skipped under the Skip
// policy. The next ReadFrame or ReadBody discards what the caller did not
// read of the body. It needs a decoder that implements HeaderDecoder
// (lengthprefix's codecs do); others give ErrNotStreamable.
func (r *Reader) ReadBody() (int64, *Body, error) {
	hd, ok := r.dec.(HeaderDecoder)
	if !ok {
		return 0, nil, ErrNotStreamable
	}
	if r.err != nil {
		return 0, nil, r.err
	}
	if r.x == nil {
		r.x = &readerExt{}
	}
	x := r.x
	if x.body != nil {
		x.endBody(r)
	}
	limit := x.maxBody
	if limit <= 0 {
		limit = int64(r.st.Limit)
	}
	emptyReads := 0
	for {
		r.dropDiscarded()
		buffered := r.end - r.start
		if r.st.Discard == 0 && buffered > 0 && (buffered >= r.need || r.eof) {
			skip, size, need, err := hd.DecodeHeader(r.buf[r.start:r.end], r.eof)
			if err != nil {
				return 0, nil, r.decodeError(0, err)
			}
			if need == 0 {
				if skip < 0 || skip > buffered || size < 0 {
					return 0, nil, r.fail(errBadDecoder)
				}
				if size > limit {
					e := &FrameTooLargeError{Size: size, Limit: int(min(limit, int64(maxInt)))}
					if r.st.Skip && size <= (1<<63-1)-int64(skip) {
						e.Skipped = true
						r.consume(skip)
						r.st.Discard = size
					}
					return 0, nil, r.decodeError(0, e)
				}
				r.consume(skip)
				b := &Body{r: r, left: size}
				x.body = b
				x.frameDone(int(min(size, int64(maxInt))))
				return size, b, nil
			}
			r.need = max(need, buffered+1)
		}
		if err := r.readMore(&emptyReads); err != nil {
			return 0, nil, err
		}
	}
}

// endBody ends the body being streamed: what is left of it is discarded
// as it arrives.
func (x *readerExt) endBody(r *Reader) {
	r.st.Discard += x.body.left
	x.body.left = 0
	x.body = nil
}
