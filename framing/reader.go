package framing

import (
	"errors"
	"io"
	"runtime"
	"time"
)

// errBadCount reports a source that returned an impossible byte count.
var errBadCount = errors.New("framing: source returned an invalid count")

// A Reader reads frames from an io.Reader with a Decoder: the engine of a
// Deframer, fed by one read site.
//
// Only one goroutine may use a Reader at a time.
type Reader struct {
	e        engine
	rd       io.Reader
	srcErr   error             // an error the source returned with data, reported once the data is used
	ownBlock *[ownedBlock]byte // ReadFrameOwned's block, of which ownOff bytes are handed out
	ownOff   uint16
	empties  uint16 // (0, nil) reads in a row
}

// NewReader returns a Reader that reads frames from rd with dec. opts may be
// nil.
func NewReader(rd io.Reader, dec Decoder, opts *Options) *Reader {
	r := &Reader{}
	r.init(rd, dec, opts)
	if x := r.e.x; x != nil && x.budget != nil {
		reclaim(r, x)
	}
	return r
}

// reclaim gives the budget back what a Reader dropped without Release
// (or a Conn without Close) still held, once the garbage collector finds
// it unreachable.
func reclaim[T any](owner *T, x *readerExt) {
	c := x.charge
	runtime.SetFinalizer(owner, func(*T) { c.giveAll() })
}

func (r *Reader) init(rd io.Reader, dec Decoder, opts *Options) {
	r.rd = rd
	r.e.init(dec, opts)
}

// ReadFrame returns the next frame's payload. The returned slice points into
// the Reader's buffer and is valid only until the next call on the Reader;
// use ReadFrameInto or ReadFrameOwned to keep a copy.
//
// At a clean end of stream between frames it returns io.EOF; a stream that
// ends inside a frame gives an *UnexpectedEOFError. Errors are classified
// by Classify: after a Temporary error (a deadline) call again to resume the
// same frame; after a Rejected one the next call returns the next frame;
// a Fatal one is returned by every later call.
func (r *Reader) ReadFrame() ([]byte, error) {
	f, _, err := r.readFast(false) // a call the compiler inlines
	return f, err
}

// readFast is ReadFrame's short path for the common states: a frame
// located by its header filling up, or bytes to decode, with no option,
// error, frame to drop or deadline to report; for anything else it goes on
// with readFrame. With into set (ReadFrameInto), it returns done false
// instead, and for a large located frame too, which may be read straight
// into the caller's memory. Whatever the decoder says that is not
// a plain frame or need goes to the engine's apply, as in step.
func (r *Reader) readFast(into bool) (f []byte, done bool, err error) {
	e := &r.e
	r.empties = 0
	for e.x == nil && e.err == nil && e.discard == 0 && !e.skipping && r.srcErr == nil && !e.eof {
		buffered := e.end - e.start
		if l := e.loc; l.total > 0 {
			if l.checked || (into && l.total >= directMin) {
				break
			}
			if int64(buffered) >= l.total { // its limit was checked when it was located
				return e.fastOut(e.buf[e.start:e.end], int64(l.start), l.end, l.total, false), true, nil
			}
		} else if buffered > 0 && buffered >= e.need {
			win := e.buf[e.start:e.end:e.end]
			d, derr := e.dec.Decode(win, false, &e.st)
			start, end, total, flags := d.start, d.end, d.advance, d.flags
			switch {
			case derr == nil && d.plain(e.limit):
				if total <= int64(buffered) {
					return e.fastOut(win, start, end, total, false), true, nil
				}
				if flags == kindNeedFrame && start <= 1<<31-1 {
					e.loc = located{start: int32(start), end: end, total: total}
					e.need = int(min(total, int64(maxInt)))
					continue // read on (or directly, for ReadFrameInto)
				}
			case derr == nil && flags == kindNeed && total == 0 && end == 0 && 0 <= start && start <= 2*int64(e.limit)+1<<20:
				e.need = max(int(start), buffered+1) // a lower bound, within the backstop (see apply)
				goto read
			}
			f, outcome, err, again := e.apply(d, derr, win, false, int64(e.limit))
			switch {
			case again:
				continue
			case outcome == stepFrame:
				return f, true, nil
			case outcome == stepErr:
				return nil, true, err
			}
		}
	read:
		var err error
		if e.start < e.end && e.end < len(e.buf) && (e.pooled != nil || !e.lastBig) {
			// fill's own short path, with readInto's work inline: a line
			// or frame arriving in small reads comes here for each.
			buf, exact := e.buf[:len(e.buf):len(e.buf)], e.loc.total > 0
			target := e.start + max(e.need, e.end-e.start+1)
			var n, last int
			n, last, err = r.readAtLeast(buf[e.end:], target-e.end, true)
			e.end += n
			e.lastFill = e.end == len(buf) && !(exact && target == len(buf))
			e.lastBig = e.lastFill && 2*last >= len(buf)
		} else {
			_, err = r.fill()
		}
		if err != nil {
			if err := r.filled(err); err != nil {
				return nil, true, err
			}
		}
	}
	if into {
		return nil, false, nil
	}
	f, _, err = r.readFrame(nil)
	return f, true, err
}

// fastOut is frameOut for the short paths of ReadFrame and Next: the frame
// win[s:end], advance bytes consumed from the buffer or (fromIn) the
// push, with no option to count it.
func (e *engine) fastOut(win []byte, s, end, advance int64, fromIn bool) []byte {
	f := win[s:end:end]
	if fromIn {
		*e.in = (*e.in)[advance:]
	} else {
		e.start += int(advance)
	}
	e.consumed += advance
	e.st.Scanned, e.st.Carry, e.need, e.loc = 0, 0, 0, located{}
	e.lastFrame = int(advance)
	e.kind = 0
	return f
}

// readFrame is ReadFrame. With into set (ReadFrameInto), a large frame
// located by its header may be read straight into *into instead of the
// buffer: then direct is set and *into holds it.
func (r *Reader) readFrame(into *[]byte) (f []byte, direct bool, err error) {
	e := &r.e
	if e.err != nil {
		return nil, false, e.err
	}
	if x := e.x; x != nil && x.body != nil {
		x.endBody(r)
	}
	locate := into != nil
	for {
		f, outcome, err := e.step(false, locate, 0)
		switch outcome {
		case stepFrame:
			if r.srcErr != nil && Classify(r.srcErr) == Temporary {
				// The frame the deadline interrupted is complete after
				// all; the next read meets the deadline again if it
				// still holds.
				r.srcErr = nil
			}
			return f, false, nil
		case stepErr:
			return nil, false, err
		case stepLocated:
			locate = false
			if r.srcErr == nil {
				switch ok, err := r.readDirect(into); {
				case err != nil:
					return nil, false, err
				case ok:
					return nil, true, nil
				}
			}
			continue
		}
		if err := r.readMore(); err != nil {
			return nil, false, err
		}
	}
}

// readMore is the step of ReadFrame and ReadBody when the buffered bytes
// do not make a frame: it reports an error the source returned, or reads
// once more.
func (r *Reader) readMore() error {
	e := &r.e
	if e.eof {
		return e.endOfStream(-1) // unreachable: the decode step reports the end
	}
	if err := r.srcErr; err != nil {
		// Everything that arrived with the error has been used.
		r.srcErr = nil
		if Classify(err) == Temporary {
			if x := e.x; x != nil {
				x.pause(e.end > e.start || e.discard > 0 || e.skipping) // a frame is left half read
			}
			return err
		}
		if e.x != nil {
			e.x.reject(err)
		}
		return e.fail(err)
	}
	if _, err := r.fill(); err != nil {
		return r.filled(err)
	}
	return nil
}

// filled records what ended a read: the end of the stream, an error of
// the source (reported once the bytes before it are decoded), or an error
// of the read site's own.
func (r *Reader) filled(err error) error {
	e := &r.e
	if err == io.EOF {
		e.eof = true
		return nil
	}
	if re, ok := err.(readErr); ok {
		// Decode what arrived with the error before reporting it.
		r.srcErr = re.error
		return nil
	}
	// The read site's own failure (the guard, the budget, a broken
	// source): at once.
	if Classify(err) == Temporary { // a budget wait that met the deadline
		if x := e.x; x != nil {
			x.pause(e.end > e.start)
		}
		return err
	}
	if e.x != nil {
		e.x.reject(err)
	}
	return e.fail(err)
}

// readErr marks an error the source returned, as opposed to one of the
// read site's own.
type readErr struct{ error }

// readAtLeast is the one place a Reader calls its source's Read: it reads
// into p until at least min bytes arrived, p is full, or the source
// returns an error or nothing. It checks the counts, counts empty reads,
// and runs the slow-peer guard around each read (midFrame says whether
// part of a frame is buffered or being dropped). It returns the bytes
// read, the size of the last read, and an error: one the source returned
// comes back wrapped in readErr (io.EOF as is); any other is the read
// site's own.
func (r *Reader) readAtLeast(p []byte, min int, midFrame bool) (got, last int, err error) {
	rd, x := r.rd, r.e.x
	for {
		if x != nil {
			if err := x.beforeRead(midFrame); err != nil {
				return got, last, err
			}
		}
		last, err = rd.Read(p[got:])
		if last < 0 || last > len(p)-got {
			return got, 0, errBadCount
		}
		if x != nil {
			err = x.afterRead(last, err, midFrame)
		}
		got += last
		midFrame = true
		if err != nil {
			if _, slow := err.(*SlowPeerError); !slow && err != io.EOF {
				err = readErr{err}
			}
			return got, last, err
		}
		if last == 0 {
			if r.empties++; r.empties >= maxEmptyReads {
				return got, 0, io.ErrNoProgress
			}
			return got, 0, nil
		}
		if got >= min || got == len(p) {
			return got, last, nil
		}
	}
}

// fill reads from the source into free buffer space, first making room
// for the bytes the decoder needs (or at least one), and reads on while
// the frame's size is known and not all of it is here.
func (r *Reader) fill() (int, error) {
	e := &r.e
	if e.x == nil && e.start < e.end && e.end < len(e.buf) && e.discard == 0 && (e.pooled != nil || !e.lastBig) {
		// Inside a frame with free space and no option watching: nothing
		// to release, grow or check first.
		return r.readInto(max(e.need, e.end-e.start+1), e.loc.total > 0, true)
	}
	midFrame := e.end > e.start || e.discard > 0 || e.skipping || e.loc.total > 0
	if e.start == e.end {
		e.start, e.end = 0, 0
		if e.pooled != nil && !r.busy() && shrinkAtBoundary(len(e.buf), e.lastFill, int(e.initSize), e.lastFrame) {
			e.release()
		}
	}
	buffered := e.end - e.start
	want, exact := max(e.need, buffered+1), e.loc.total > 0
	busy := r.busy() // before the inline buffer is traded below
	if e.discard > 0 {
		// Drop skipped bytes through a buffer of the initial size, never
		// larger: they are not kept.
		want, exact = int(min(int64(e.initSize), e.discard)), false
		if err := e.room(want, want, false); err != nil {
			return 0, err
		}
	} else if e.pooled == nil && e.lastBig && buffered > 0 && int(e.initSize) > inlineSize &&
		(e.x == nil || e.x.budget == nil) {
		// The last read filled the inline buffer: the stream is busy, so
		// read it in pieces of the initial size, not 64 bytes. Only inside
		// a frame (an idle connection holds no buffer), and not under a
		// memory budget (frames that fit the inline buffer need none).
		if err := e.resize(int(e.initSize)); err != nil {
			return 0, err
		}
	}
	if busy && e.discard == 0 && want <= len(e.buf)/2 {
		// A busy stream of small frames: read it in pieces of up to
		// busyReadSize, as a bufio.Reader of that size would, so that a
		// server answering each read makes that many fewer system calls.
		if len(e.buf) < busyReadSize {
			if err := e.resize(min(2*len(e.buf), busyReadSize)); err != nil {
				return 0, err
			}
		} else if e.start+want > len(e.buf) {
			copy(e.buf, e.buf[e.start:e.end])
			e.start, e.end = 0, buffered
		}
	}
	if err := e.room(buffered+1, want, exact); err != nil {
		return 0, err
	}
	return r.readInto(want, exact, midFrame)
}

// busyReadSize is the largest read buffer a busy stream of small frames
// grows to (see busy).
const busyReadSize = 64 << 10

// busy reports whether the last read filled at least half of a pooled
// buffer of at most busyReadSize, so that more bytes are likely waiting:
// then the buffer is kept at frame boundaries and grows, doubling, up to
// busyReadSize. A read that does not fill it ends that (the buffer is
// given back at the next boundary). Not under a memory budget, which
// frames that fit a small buffer should not be charged for.
func (r *Reader) busy() bool {
	e := &r.e
	return e.pooled != nil && e.lastBig && len(e.buf) <= busyReadSize && (e.x == nil || e.x.budget == nil)
}

// readInto is fill's read loop: it reads into the free space until want
// bytes are buffered (the decoder is not called before), the buffer is
// full, or the source returns an error or nothing.
func (r *Reader) readInto(want int, exact, midFrame bool) (int, error) {
	e := &r.e
	// While the frame's size is known and not all of it is here, read on
	// at once: going back through the decode loop for every small read
	// costs more than the read.
	buf, target := e.buf[:len(e.buf):len(e.buf)], e.start+want
	total, n, err := r.readAtLeast(buf[e.end:], target-e.end, midFrame)
	e.end += total
	end := e.end
	// A read that filled the buffer suggests more bytes are waiting, unless
	// the buffer ended exactly where the frame does.
	e.lastFill = end == len(buf) && !(exact && target == len(buf))
	e.lastBig = e.lastFill && 2*n >= len(buf)
	return total, err
}

// Detach stops the Reader and returns a copy of the bytes it has received
// but not returned as frames (a partial frame included), so that the
// stream can be read on without framing: they come before whatever the
// source returns next. Bytes of an oversized frame being skipped are not
// included. Later calls return ErrDetached.
func (r *Reader) Detach() []byte {
	r.ownBlock, r.ownOff = nil, 0
	if x := r.e.x; x != nil {
		x.body = nil
	}
	return r.e.detach()
}

// Release gives the Reader's buffers back (to the memory budget too) and
// ends it: later calls return ErrReleased. Call it when a Reader is done
// with before its stream ended (a Conn does on Close); a Reader that
// returned a Fatal error has already given everything back. It is safe to
// call more than once, but not while another goroutine uses the Reader.
func (r *Reader) Release() {
	r.ownBlock, r.ownOff = nil, 0
	if x := r.e.x; x != nil {
		x.body = nil
	}
	r.e.releaseAll(ErrReleased)
}

// Reset discards everything the Reader holds and makes it read frames from
// src, with the same Decoder and Options, as a new Reader would: the
// buffers go back (to the memory budget too, before anything is read from
// src), and the buffered bytes, a partial or skipped frame, the decoder's
// state, the slow-peer guard's clock, an error the old source returned and
// a sticky error (Fatal, ErrFinal, ErrDetached, ErrReleased) are dropped;
// Offset starts again at 0. A Reader that was Released or Detached may be
// Reset: that is how a pool reuses Readers (Release when a connection ends,
// Reset when the next begins). Stats, shared counters, are neither cleared
// nor charged with the dropped bytes. A Body from ReadBody is done (its
// reads fail). Reset allocates nothing.
func (r *Reader) Reset(src io.Reader) {
	r.Release()
	r.e.reset(0)
	r.rd, r.srcErr, r.empties = src, nil, 0
	if x := r.e.x; x != nil {
		x.frameStart, x.frameBytes, x.awayFrom, x.guardAt, x.timedOut = time.Time{}, 0, time.Time{}, time.Time{}, false
	}
}

// Offset returns the stream offset of the next frame's first byte: the
// bytes consumed so far as frames, skipped frames and noise.
func (r *Reader) Offset() int64 { return r.e.consumed + r.e.discard }

// Kind returns the kind the decoder attached to the last frame (see
// Decoded.WithKind), 0 if none.
func (r *Reader) Kind() uint32 { return r.e.kind }

// FrameBuffered reports whether a complete frame is buffered, so that the
// next ReadFrame returns it without reading from the source. It asks the
// decoder about the buffered bytes without changing the Reader; when it
// cannot tell cheaply (a frame being skipped or streamed, a frame over
// the limit, a failed Reader) it reports false.
func (r *Reader) FrameBuffered() bool {
	e := &r.e
	n := e.end - e.start
	if e.err != nil || e.discard > 0 || e.skipping || n == 0 || (e.x != nil && e.x.body != nil) {
		return false
	}
	if l := e.loc; l.total > 0 {
		return int64(n) >= l.total
	}
	if n < e.need {
		return false
	}
	st := e.st // decoders keep their state there only: a copy leaves the Reader as it was
	d, err := e.dec.Decode(e.buf[e.start:e.end:e.end], false, &st)
	k := d.flags & kindMask
	return err == nil && (k == kindFrame || k == kindNeedFrame) && 0 < d.advance && d.advance <= int64(n) &&
		0 <= d.start && d.start <= d.end && d.end-d.start <= int64(e.limit)
}

// ReadFrameInto appends the next frame's payload to dst and returns the
// extended slice, which the caller owns. Errors are as for ReadFrame.
//
// A large frame located by its header (a length codec) that is not yet
// buffered, and for which dst has room (a buffer reused from frame to
// frame), is read from the source straight into dst, so that its payload
// is copied once. dst is never grown for bytes that have not arrived.
func (r *Reader) ReadFrameInto(dst []byte) ([]byte, error) {
	f, done, err := r.readFast(cap(dst)-len(dst) >= directMin)
	if done {
		if err != nil {
			return dst, err
		}
		return append(dst, f...), nil
	}
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
	if blk := r.ownBlock; blk != nil && n <= ownedBlock-off && r.e.end > r.e.start {
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
	behind := r.e.end - r.e.start
	if n > ownedMax || ((blk == nil || n > ownedBlock-off) && behind < max(n, inlineSize/2)) {
		// A large frame, or no room left and no sign of a busy stream: a
		// new block is taken only when at least a frame as large as this
		// one, and at least half the inline buffer, is buffered behind it.
		// A trickle would otherwise take a block every few frames and use
		// little of it.
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

// readDirect reads the located frame, of which the payload's start is
// buffered, straight into the spare capacity of *into. It changes nothing
// (false) when the frame is small or that is too small. If the source
// fails first, the bytes read are put back in the buffer and the failure
// is recorded as fill records it, so that ReadFrame's loop decodes them
// and reports it as if they had been read there: a frame the last bytes
// completed is returned, a deadline can be resumed, an early end is an
// *UnexpectedEOFError.
func (r *Reader) readDirect(into *[]byte) (bool, error) {
	e := &r.e
	l := e.loc
	buffered := e.end - e.start
	size := l.end - int64(l.start)
	if l.total < directMin || size > int64(cap(*into)-len(*into)) || e.eof || int64(buffered) >= l.end {
		// Small, no room, or the payload is already buffered (perhaps with
		// part of a trailer): read it as usual.
		return false, nil
	}
	dst := *into
	body := dst[len(dst) : len(dst)+int(size)]
	start := int(l.start)
	got := copy(body, e.buf[e.start+start:e.end])
	for got < len(body) {
		n, _, err := r.readAtLeast(body[got:], len(body)-got, true)
		got += n
		if err != nil {
			// Put what arrived back in the buffer, after what is there.
			direct := body[buffered-start : got]
			if err := e.room(buffered+len(direct), int(min(l.total, int64(maxInt))), true); err != nil {
				return false, e.fail(err)
			}
			e.end += copy(e.buf[e.end:], direct)
			re, isRead := err.(readErr)
			switch {
			case err == io.EOF:
				e.eof = true
			case isRead:
				r.srcErr = re.error
			default:
				if e.x != nil {
					e.x.reject(err)
				}
				return false, e.fail(err)
			}
			return false, nil
		}
	}
	// The payload is in dst; drop the buffered header and payload, and
	// the trailer as it arrives.
	e.consume(buffered, false)
	e.consumed += int64(len(body) - (buffered - start))
	e.discard = l.total - l.end
	e.lastFill, e.lastBig = false, false // the reads went into dst: they say nothing of the buffer
	e.lastFrame = int(min(l.total, int64(maxInt)))
	e.kind = 0
	if x := e.x; x != nil {
		x.frameDone(len(body))
	}
	*into = dst[:len(dst)+len(body)]
	return true, nil
}
