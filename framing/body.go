package framing

import (
	"errors"
	"io"
)

const maxInt = int(^uint(0) >> 1)

// errBodyDone is returned by a Body read after the Reader moved on.
var errBodyDone = errors.New("framing: frame body read after the next frame was requested")

// Body is the payload of one frame being streamed by Reader.ReadBody.
type Body struct {
	r       *Reader
	c       *Conn  // the Conn whose ReadBody returned it: its reads count as reads in flight
	mem     []byte // the payload, when the frame was buffered whole
	left    int64  // payload bytes not yet read
	trailer int64  // bytes after the payload, dropped once it is read
}

// Remaining returns how many bytes of the payload are still to be read.
func (b *Body) Remaining() int64 { return b.left }

// Read reads the next bytes of the payload, returning io.EOF after its
// last byte. Bytes buffered with the header come first; the rest is read
// from the source straight into p. A timeout can be resumed by reading
// again; a stream that ends early gives an *UnexpectedEOFError.
func (b *Body) Read(p []byte) (int, error) {
	if c := b.c; c != nil {
		// As any read on the Conn: Close waits for it to give the buffers back.
		if !c.beginRead() {
			return 0, errClosedRead
		}
		defer c.endRead()
	}
	r := b.r
	e := &r.e
	if e.x == nil || e.x.body != b {
		return 0, errBodyDone
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.mem != nil {
		n := copy(p, b.mem)
		b.mem = b.mem[n:]
		b.left -= int64(n)
		return n, nil
	}
	if e.err != nil {
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	if buffered := e.end - e.start; buffered > 0 {
		n := copy(p, e.buf[e.start:e.end])
		e.consume(n, false)
		b.left -= int64(n)
		return n, nil
	}
	if e.eof {
		return 0, e.fail(&UnexpectedEOFError{Missing: b.left})
	}
	if e.pooled != nil {
		e.start, e.end = 0, 0
		e.release() // the rest goes straight into p
	}
	n, _, err := r.readAtLeast(p, 1, true)
	e.consumed += int64(n)
	b.left -= int64(n)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		e.eof = true
		if n == 0 {
			return 0, e.fail(&UnexpectedEOFError{Missing: b.left})
		}
		return n, nil
	}
	if re, ok := err.(readErr); ok {
		err = re.error
		if Classify(err) == Temporary {
			e.x.pause(true)
			return n, err
		}
	}
	e.x.reject(err)
	return n, e.fail(err)
}

// ReadBody starts reading the next frame as a stream instead of returning
// it whole: it returns the payload's size and a Body to read it from, for
// frames larger than memory should hold (a 1 GiB frame read through a 64
// KiB buffer). It works with every codec: a frame located by its header
// (length codecs, NeedFrame) is streamed from the source; a frame whose end
// is found by scanning (delimiters, byte stuffing), or whose decoder checks
// its bytes before it is handed out (Checked), is buffered whole first and
// read from memory.
//
// The frame may be as large as Options.MaxBodySize (MaxFrameSize when
// zero); a larger one is a *FrameTooLargeError, skipped under the Skip
// policy. The next ReadFrame or ReadBody discards what the caller did not
// read of the body. Errors are as for ReadFrame.
func (r *Reader) ReadBody() (int64, *Body, error) {
	e := &r.e
	if e.err != nil {
		return 0, nil, e.err
	}
	if e.x == nil {
		e.x = &readerExt{}
	}
	x := e.x
	if x.body != nil {
		x.endBody(r)
	}
	limit := x.maxBody
	if limit <= 0 {
		limit = int64(e.limit)
	}
	for {
		f, outcome, err := e.step(false, true, limit)
		switch outcome {
		case stepFrame:
			b := &Body{r: r, mem: f, left: int64(len(f))}
			x.body = b
			return b.left, b, nil
		case stepErr:
			return 0, nil, err
		case stepLocated:
			l := e.loc
			e.consume(int(l.start), false)
			b := &Body{r: r, left: l.end - int64(l.start), trailer: l.total - l.end}
			e.kind = 0
			x.body = b
			x.frameDone(int(min(b.left, int64(maxInt))))
			return b.left, b, nil
		}
		if err := r.readMore(); err != nil {
			return 0, nil, err
		}
	}
}

// endBody ends the body being streamed: what is left of it is discarded
// as it arrives.
func (x *readerExt) endBody(r *Reader) {
	if x.body.mem == nil {
		r.e.discard += x.body.left + x.body.trailer
	}
	x.body.left = 0
	x.body.mem = nil
	x.body = nil
}
