package framing

import (
	"errors"
	"io"
)

// inlineSize is the Reader's own small buffer. A Reader at a frame boundary
// gives its pooled buffer back and waits for the next bytes in this one, so
// an idle connection holds no read buffer; small frames are decoded from it
// directly.
const inlineSize = 64

// maxHeadroom is the largest frame whose buffer may be grown with room for
// the frames that follow it (see grow). Larger frames get a buffer of their
// size: the extra room would save little and cost a copy of the next
// frame's start.
const maxHeadroom = 16 << 10

// maxEmptyReads is how many (0, nil) reads in a row a Reader tolerates
// before it reports io.ErrNoProgress.
const maxEmptyReads = 100

// errBadDecoder reports a Decoder that broke its contract.
var errBadDecoder = errors.New("framing: decoder returned an out-of-range result")

// A Reader reads frames from an io.Reader with a Decoder.
//
// Only one goroutine may use a Reader at a time.
type Reader struct {
	rd  io.Reader
	dec Decoder

	buf        []byte  // the active buffer: inline[:] or *pooled
	pooled     *[]byte // the pooled buffer in use, nil when inline
	start, end int     // buffered, unconsumed bytes are buf[start:end]
	need       int     // do not decode again before end-start reaches need
	lastFrame  int     // size of the last frame consumed, for shrinking
	srcErr     error   // an error the source returned with data, reported once the data is used
	st         DecodeState
	consumed   int64             // stream offset of buf[start]
	err        error             // sticky fatal error
	x          *readerExt        // optional features (Options); nil when none is on
	ownBlock   *[ownedBlock]byte // ReadFrameOwned's block, of which ownOff bytes are handed out
	// Small fields together, so that they share a word: every idle
	// connection carries a Reader.
	initSize  uint32
	ownOff    uint16
	needExact bool
	lastFill  bool // the last read filled all free space: more is likely waiting
	lastBig   bool // lastFill, and that space was at least half the buffer (see fill)
	eof       bool
	inline    [inlineSize]byte
}

// NewReader returns a Reader that reads frames from rd with dec. opts may be
// nil.
func NewReader(rd io.Reader, dec Decoder, opts *Options) *Reader {
	r := &Reader{}
	r.init(rd, dec, opts)
	return r
}

func (r *Reader) init(rd io.Reader, dec Decoder, opts *Options) {
	r.rd = rd
	r.dec = dec
	r.st.Limit = opts.maxFrameSize()
	r.st.Skip = opts.skip()
	r.initSize = uint32(opts.initialBufferSize()) // at most 1 GiB
	r.buf = r.inline[:]
	r.x = newReaderExt(opts)
}

// ReadFrame returns the next frame's payload. The returned slice points into
// the Reader's buffer and is valid only until the next call on the Reader;
// use ReadFrameInto to keep a copy.
//
// At a clean end of stream between frames it returns io.EOF; a stream that
// ends inside a frame gives an *UnexpectedEOFError. Errors are classified
// by Classify: after a Temporary error (a deadline) call again to resume the
// same frame; after a Rejected one the next call returns the next frame;
// a Fatal one is returned by every later call.
func (r *Reader) ReadFrame() ([]byte, error) {
	f, _, err := r.readFrame(nil)
	return f, err
}

// readFrame is ReadFrame. With into set (ReadFrameInto), a large frame of
// a length codec may be read straight into *into instead of the buffer:
// then direct is set and *into holds it.
func (r *Reader) readFrame(into *[]byte) (f []byte, direct bool, err error) {
	if r.err != nil {
		return nil, false, r.err
	}
	if r.x != nil && r.x.body != nil {
		r.x.endBody(r)
	}
	emptyReads := 0
	for {
		r.dropDiscarded()
		buffered := r.end - r.start
		if r.st.Discard == 0 && buffered > 0 && (buffered >= r.need || r.eof) {
			d, err := r.dec.Decode(r.buf[r.start:r.end], r.eof, &r.st)
			isFrame := d.flags&frameBit != 0
			if d.advance < 0 || d.advance > buffered || d.start < 0 || r.st.Discard < 0 || r.st.Scanned < 0 ||
				(isFrame && (d.start > d.end || d.end > buffered || d.advance == 0)) {
				return nil, false, r.fail(errBadDecoder)
			}
			if err != nil {
				return nil, false, r.decodeError(d.advance, err)
			}
			if isFrame {
				frame := r.buf[r.start+d.start : r.start+d.end : r.start+d.end]
				r.consume(d.advance)
				r.lastFrame = d.advance
				if r.srcErr != nil && Classify(r.srcErr) == Temporary {
					// The frame the deadline interrupted is complete after
					// all; the next read meets the deadline again if it
					// still holds.
					r.srcErr = nil
				}
				if x := r.x; x != nil {
					x.frameDone(len(frame))
				}
				return frame, false, nil
			}
			if d.advance > 0 {
				r.consume(d.advance)
				continue
			}
			r.need, r.needExact = d.start, d.flags&needExactBit != 0
			if r.need <= buffered {
				r.need = buffered + 1
			}
			if limit := int64(r.st.Limit); int64(r.need) > 2*limit+1<<20 {
				// Backstop for decoders that do not check the limit
				// (generous: a header may be large, stuffing adds bytes).
				return nil, false, r.decodeError(0, &FrameTooLargeError{Size: -1, Limit: r.st.Limit})
			}
			if into != nil && r.needExact && r.need > len(r.buf) && r.need >= directMin && r.x == nil &&
				r.srcErr == nil && !r.eof {
				switch res, err := r.readDirect(into); {
				case err != nil:
					return nil, false, err
				case res == directDone:
					return nil, true, nil
				case res == directStopped:
					continue // decode what arrived before the source's error
				}
			}
		}
		if r.srcErr == nil && !r.eof && r.roomInFrame() {
			// Nothing to report first: read at once (readMore's and fill's
			// fast path, without the calls; a small frame in small reads
			// comes here two or three times).
			n, err := r.fillTo()
			if err := r.filled(n, err, &emptyReads); err != nil {
				return nil, false, err
			}
			continue
		}
		if err := r.readMore(&emptyReads); err != nil {
			return nil, false, err
		}
	}
}

// dropDiscarded drops the buffered bytes of a frame being skipped.
func (r *Reader) dropDiscarded() {
	if r.st.Discard > 0 {
		n := r.end - r.start
		if int64(n) > r.st.Discard {
			n = int(r.st.Discard)
		}
		r.consume(n)
		r.st.Discard -= int64(n)
	}
}

// readMore is the step of ReadFrame and ReadBody when the buffered bytes
// do not make a frame (or header): it reports the end of the stream or an
// error the source returned, or reads once more. A nil result means decode
// again.
func (r *Reader) readMore(emptyReads *int) error {
	if r.eof {
		return r.endOfStream()
	}
	if err := r.srcErr; err != nil {
		// Everything that arrived with the error has been used.
		r.srcErr = nil
		if Classify(err) == Temporary {
			if r.x != nil {
				r.x.timedOut = r.end > r.start // a frame is left half read
			}
			return err
		}
		if r.x != nil {
			r.x.reject(err)
		}
		return r.fail(err)
	}
	n, err := r.fill()
	return r.filled(n, err, emptyReads)
}

// filled records the outcome of a read that brought n bytes: the end of
// the stream, an error to report once the bytes are used, or a source
// that makes no progress.
func (r *Reader) filled(n int, err error, emptyReads *int) error {
	if err == nil {
		if n == 0 {
			if *emptyReads++; *emptyReads >= maxEmptyReads {
				return r.fail(io.ErrNoProgress)
			}
		}
		return nil
	}
	if err == io.EOF {
		r.eof = true
		return nil
	}
	// Decode what arrived with the error before reporting it.
	r.srcErr = err
	return nil
}

// Detach stops the Reader and returns a copy of the bytes it has received
// but not returned as frames (a partial frame included), so that the
// stream can be read on without framing: they come before whatever the
// source returns next. Bytes of an oversized frame being skipped are not
// included. Later calls return ErrDetached.
func (r *Reader) Detach() []byte {
	rest := append([]byte(nil), r.buf[r.start:r.end]...)
	r.start, r.end = 0, 0
	r.release()
	r.ownBlock, r.ownOff = nil, 0
	if r.x != nil {
		r.x.body = nil
	}
	r.err = ErrDetached
	return rest
}

// ReadFrameInto appends the next frame's payload to dst and returns the
// extended slice, which the caller owns. Errors are as for ReadFrame.
//
// A large frame of a length codec (one whose decoder is a HeaderDecoder)
// that is not yet buffered, and for which dst has room (a buffer reused
// from frame to frame), is read from the source straight into dst, so that
// its payload is copied once; unless Options that watch reads (a guard, a
// budget, Stats) are set. dst is never grown for bytes that have not
// arrived.
func (r *Reader) ReadFrameInto(dst []byte) ([]byte, error) {
	f, direct, err := r.readFrame(&dst)
	if err != nil || direct {
		return dst, err
	}
	return append(dst, f...), nil
}

// The blocks ReadFrameOwned carves small frames from.
const (
	ownedBlock = 4 << 10 // bytes per block
	ownedMax   = 512     // larger frames get an allocation of their own
)

// ReadFrameOwned returns the next frame's payload in memory the caller
// owns, as ReadFrameInto(nil) does: later calls never change it. It is the
// cheaper way to keep many small frames: on a busy stream (at least
// another frame's worth, and 32 bytes, buffered behind a frame), frames of
// up to 512 bytes are carved one after another from 4 KiB blocks, one
// allocation for many frames. Each has a capacity equal to its length, so
// appending to one copies it instead of touching its neighbour; but a
// small frame kept alive keeps its whole block in memory. The Reader lets
// go of its block when it returns the last buffered frame, so a Reader
// idle between frames holds none. Errors are as for ReadFrame.
func (r *Reader) ReadFrameOwned() ([]byte, error) {
	f, err := r.ReadFrame()
	if err != nil {
		return nil, err
	}
	return r.owned(f), nil
}

// owned returns a copy of f in memory the caller owns (see ReadFrameOwned).
func (r *Reader) owned(f []byte) []byte {
	n, off := len(f), int(r.ownOff)
	if blk := r.ownBlock; blk != nil && n <= ownedBlock-off && r.end > r.start {
		// The common case on a busy stream: the next piece of the block
		// (the block pointer is not stored again: that store costs a
		// write barrier while the GC runs).
		b := blk[off : off+n : off+n]
		copy(b, f)
		r.ownOff = uint16(off + n)
		return b
	}
	return r.ownedSlow(f)
}

// ownedSlow is owned for a large frame, a frame that needs a new block, and
// the last frame buffered.
func (r *Reader) ownedSlow(f []byte) []byte {
	n, blk, off := len(f), r.ownBlock, int(r.ownOff)
	behind := r.end - r.start
	if n > ownedMax || ((blk == nil || n > ownedBlock-off) && behind < max(n, inlineSize/2)) {
		// A large frame, or no room left and no sign of a busy stream: a
		// new block is taken only when at least a frame as large as this
		// one, and at least half the inline buffer, is buffered behind it
		// (reads larger than small frames). A trickle (small reads leave
		// a few bytes of the next frame behind most frames, and none
		// behind some) would otherwise take a block every few frames and
		// use little of it.
		if behind == 0 {
			r.ownBlock, r.ownOff = nil, 0
		}
		b := make([]byte, n)
		copy(b, f)
		return b
	}
	if blk == nil || n > ownedBlock-off {
		blk, off = new([ownedBlock]byte), 0
	}
	b := blk[off : off+n : off+n]
	copy(b, f)
	if behind > 0 {
		r.ownBlock, r.ownOff = blk, uint16(off+n)
	} else {
		// Possibly the end of a burst: an idle Reader holds no block.
		r.ownBlock, r.ownOff = nil, 0
	}
	return b
}

// directMin is the smallest frame ReadFrameInto reads straight into the
// caller's memory.
const directMin = 64 << 10

// The outcomes of readDirect.
const (
	directNo      = iota // not possible: read the frame as usual
	directDone           // the frame is in *into
	directStopped        // the source failed: its bytes are in the buffer, decode again
)

// readDirect reads the frame whose exact size is r.need, of which the
// header and r.end-r.start bytes are buffered, straight into the spare
// capacity of *into. It changes nothing (directNo) when that is too small
// or the decoder cannot say where the payload starts. If the source fails
// first, the bytes read are put back in the buffer and the failure is
// recorded as fill records it (directStopped), so that ReadFrame's loop
// decodes them and reports it as if they had been read there: a frame the
// last bytes completed is returned, a deadline can be resumed, an early
// end is an *UnexpectedEOFError.
func (r *Reader) readDirect(into *[]byte) (int, error) {
	hd, ok := r.dec.(HeaderDecoder)
	if !ok {
		return directNo, nil
	}
	buffered := r.end - r.start
	skip, size, need, err := hd.DecodeHeader(r.buf[r.start:r.end], false)
	if err != nil || need != 0 || skip < 0 || skip > buffered || size < 0 || int64(skip)+size != int64(r.need) ||
		size > int64(cap(*into)-len(*into)) {
		return directNo, nil
	}
	dst := *into
	body := dst[len(dst) : len(dst)+int(size)]
	got := copy(body, r.buf[r.start+skip:r.end])
	rd, empty := r.rd, 0
	for got < len(body) {
		n, err := rd.Read(body[got:])
		if n < 0 || n > len(body)-got {
			return directNo, r.fail(errors.New("framing: source returned an invalid count"))
		}
		got += n
		if n == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			direct := body[buffered-skip : got]
			if r.end+len(direct) > len(r.buf) {
				if gerr := r.resize(max(r.end-r.start+len(direct), int(r.initSize))); gerr != nil {
					return directNo, r.fail(gerr)
				}
			}
			r.end += copy(r.buf[r.end:], direct)
			if err == io.EOF {
				r.eof = true
			} else {
				r.srcErr = err
			}
			return directStopped, nil
		}
	}
	r.consume(buffered)
	r.consumed += int64(len(body) - (buffered - skip))
	r.lastFill, r.lastBig = false, false // the reads went into dst: they say nothing of the buffer
	*into = dst[:len(dst)+len(body)]
	return directDone, nil
}

func (r *Reader) consume(n int) {
	r.start += n
	r.consumed += int64(n)
	if n > 0 {
		r.st.Scanned = 0
		r.st.Carry = 0
		r.need = 0
		r.needExact = false
	}
}

func (r *Reader) fail(err error) error {
	r.err = err
	// Nothing more will be read: give the buffer back (to the budget too).
	r.start, r.end = 0, 0
	r.release()
	r.ownBlock, r.ownOff = nil, 0
	return err
}

func (r *Reader) decodeError(advance int, err error) error {
	if ce, ok := err.(*CorruptError); ok {
		// A copy: the decoder may return a shared error value.
		c := *ce
		c.Offset = r.consumed
		err = &c
	}
	r.consume(advance)
	if r.x != nil {
		r.x.reject(err)
	}
	if Classify(err) == Fatal {
		return r.fail(err)
	}
	return err
}

// endOfStream is called when the source is at EOF and the decoder cannot
// make progress with what is buffered.
func (r *Reader) endOfStream() error {
	buffered := r.end - r.start
	if buffered == 0 && r.st.Discard == 0 && !r.st.Skipping {
		return r.fail(io.EOF)
	}
	e := &UnexpectedEOFError{Buffered: buffered, Missing: -1}
	switch {
	case r.st.Discard > 0:
		e.Missing = r.st.Discard
	case r.needExact:
		e.Missing = int64(r.need - buffered)
	}
	return r.fail(e)
}

// roomInFrame reports whether the next read can go straight into the
// buffer's free space: inside a frame, with free space and no option
// watching, there is nothing to release, grow or check first.
func (r *Reader) roomInFrame() bool {
	return r.x == nil && r.start < r.end && r.end < len(r.buf) && r.st.Discard == 0 && (r.pooled != nil || !r.lastBig)
}

// fill reads once from the source into free buffer space, first making
// room for r.need bytes (or at least one).
func (r *Reader) fill() (int, error) {
	if r.roomInFrame() {
		return r.fillTo()
	}
	midFrame := r.end > r.start || r.st.Discard > 0 || r.st.Skipping
	if x := r.x; x != nil {
		if err := x.beforeRead(midFrame); err != nil {
			return 0, err
		}
	}
	if r.start == r.end {
		r.start, r.end = 0, 0
		// At a frame boundary: give a pooled buffer back unless more bytes
		// are likely waiting and the buffer is not oversized for them.
		if r.pooled != nil && (!r.lastFill || (len(r.buf) > 4*int(r.initSize) && r.lastFrame < len(r.buf)/4)) {
			r.release()
		}
	}
	want := r.need
	if r.st.Discard > 0 {
		// Drop skipped bytes through a buffer of the initial size, never
		// larger: they are not kept.
		want = int(r.initSize)
		if r.st.Discard < int64(want) {
			want = int(r.st.Discard)
		}
	}
	buffered := r.end - r.start
	if want <= buffered {
		want = buffered + 1
	}
	if r.st.Discard > 0 && len(r.buf) < want {
		// Nothing is buffered: this only sizes the reads.
		if err := r.grow(want); err != nil {
			return 0, err
		}
	} else if r.pooled == nil && r.lastBig && r.start < r.end && int(r.initSize) > inlineSize &&
		(r.x == nil || r.x.budget == nil) {
		// The last read filled the inline buffer: the stream is busy, so
		// read it in pieces of the initial size, not 64 bytes (small
		// frames would otherwise be read three at a time). A read that
		// only filled its last few bytes says nothing (the source may give
		// no more at a time): taking a buffer then would mean giving it
		// back at the next frame boundary. Only inside a frame (at a
		// boundary the next read may wait for a long time, and an idle
		// connection holds no buffer), and not under a memory budget
		// (frames that fit the inline buffer need none of it).
		if err := r.resize(int(r.initSize)); err != nil {
			return 0, err
		}
	}
	if r.end == len(r.buf) {
		// No free space: on a busy stream that never empties, a buffer
		// grown for a large frame is traded for a smaller one once frames
		// are small again; otherwise move the buffered bytes to the front
		// if that makes room enough, else grow.
		var err error
		if quarter := len(r.buf) / 4; r.pooled != nil && len(r.buf) > 4*int(r.initSize) &&
			r.lastFrame < quarter && want < quarter && buffered < quarter {
			err = r.resize(max(int(r.initSize), 2*max(want, r.lastFrame)))
		} else if r.start > 0 && (want <= len(r.buf) || buffered < len(r.buf)/2) {
			copy(r.buf, r.buf[r.start:r.end])
			r.start, r.end = 0, buffered
		} else {
			err = r.grow(want)
		}
		if err != nil {
			return 0, err
		}
	}
	if r.x == nil {
		return r.fillTo()
	}
	total := 0
	for {
		free := len(r.buf) - r.end
		n, err := r.rd.Read(r.buf[r.end:])
		if n < 0 || n > free {
			return total, errors.New("framing: source returned an invalid count")
		}
		if x := r.x; x != nil {
			err = x.afterRead(n, err, midFrame)
		}
		// A read that filled the buffer suggests more bytes are waiting,
		// unless the buffer ended exactly where the current frame does.
		r.lastFill = n == free && !(r.needExact && r.start+r.need == len(r.buf))
		r.lastBig = r.lastFill && 2*free >= len(r.buf)
		r.end += n
		total += n
		// While the frame's exact size is known and not all of it is
		// here, read on at once: going back through ReadFrame's loop for
		// every small read costs more than the read (a 1 MiB frame in
		// 7-byte reads).
		if err != nil || n == 0 || !r.needExact || r.end-r.start >= r.need || r.end == len(r.buf) {
			return total, err
		}
		midFrame = true
		if x := r.x; x != nil {
			if err := x.beforeRead(true); err != nil {
				return total, err
			}
		}
	}
}

// fillTo is fill's read loop when no option watches the reads: it reads
// until r.need bytes are buffered (the decoder is not called before), the
// buffer is full, or the source returns an error or nothing, keeping its
// state in locals: a frame arriving in small reads makes many calls.
func (r *Reader) fillTo() (int, error) {
	rd, buf, end, target := r.rd, r.buf[:len(r.buf):len(r.buf)], r.end, r.start+r.need
	var n int
	var err error
	for {
		n, err = rd.Read(buf[end:])
		if n < 0 || n > len(buf)-end {
			err = errors.New("framing: source returned an invalid count")
			break
		}
		end += n
		if err != nil || n == 0 || end >= target || end == len(buf) {
			break
		}
	}
	total := end - r.end
	r.end = end
	// A read that filled the buffer suggests more bytes are waiting, unless
	// the buffer ended exactly where the frame does.
	r.lastFill = end == len(buf) && !(r.needExact && target == len(buf))
	r.lastBig = r.lastFill && 2*n >= len(buf) // the last read took all its free space: n of it
	return total, err
}

// grow replaces the buffer by a larger one holding the buffered bytes: at
// most double the current size, or the initial size, or the size of the
// previous frame; and when want is the frame's exact size, no larger than
// want (but at least the initial size), except for the bounded headroom
// below.
func (r *Reader) grow(want int) error {
	size := 2 * len(r.buf)
	if size < int(r.initSize) {
		size = int(r.initSize)
	}
	if r.needExact {
		if size < r.lastFrame {
			// Frames as large as the previous one (bytes this stream did
			// deliver) start in a buffer of that size, so a stream of large
			// frames does not regrow one after each idle-release.
			size = r.lastFrame
		}
		if size >= want {
			// The whole frame fits. Capped at its declared size, but never
			// below the initial size, so that small frames share a buffer
			// and are read many at a time.
			size = max(want, int(r.initSize))
			if want <= maxHeadroom && r.lastFrame >= want/2 && r.lastFill {
				// Headroom: on a busy stream (the last read filled the
				// buffer) of frames a little over the initial size (the
				// previous one, delivered, was at least half this one),
				// room for 3 more like it, so that these too are read
				// several at a time instead of taking a buffer each. At
				// most 4 frames of at most 16 KiB: 64 KiB.
				size = max(4*want, int(r.initSize))
			}
		}
	}
	return r.resize(size)
}

// resize moves the buffered bytes into a new pooled buffer of the given
// size, which must hold them. Under a memory budget, the new buffer is
// drawn from it before the old one is given back (both exist during the
// copy).
func (r *Reader) resize(size int) error {
	var p *[]byte
	if x := r.x; x != nil && x.budget != nil {
		if err := x.take(int64(size)); err != nil {
			return err
		}
		p = allocBudgeted(size)
	} else {
		p = allocBuf(size)
	}
	buffered := copy(*p, r.buf[r.start:r.end])
	r.release()
	r.pooled = p
	r.buf = *p
	r.start, r.end = 0, buffered
	return nil
}

// release gives the pooled buffer back and switches to the inline one. The
// caller has moved or dropped the buffered bytes.
func (r *Reader) release() {
	if r.pooled != nil {
		if x := r.x; x != nil && x.budget != nil {
			x.give(int64(len(*r.pooled)))
			freeBudgeted(r.pooled)
		} else {
			freeBuf(r.pooled)
		}
		r.pooled = nil
	}
	r.buf = r.inline[:]
}
