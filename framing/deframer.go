package framing

import (
	"errors"
	"io"
)

// inlineSize is the engine's own small buffer. An engine at a frame
// boundary gives its pooled buffer back and waits for the next bytes in
// this one, so an idle connection holds no read buffer; small frames are
// decoded from it directly.
const inlineSize = 64

// Errors of the Deframer (and the Reader built on it).
var (
	// ErrNeedMore is returned by Deframer.Next when the bytes pushed so far
	// hold no further frame: push more and call again. It is Temporary.
	ErrNeedMore = &engineError{"framing: more bytes needed", Temporary}
	// ErrFinal is returned after the codec ended the framed stream with a
	// Final frame; Detach hands over the bytes after it. It matches
	// io.EOF with errors.Is.
	ErrFinal = &engineError{"framing: the framed stream ended with a final frame", Fatal}
	// ErrReleased is returned by a Reader or Deframer used after Release
	// (and by a Conn read after Close released its buffer).
	ErrReleased = &engineError{"framing: used after Release", Fatal}
)

type engineError struct {
	s     string
	class ErrorClass
}

func (e *engineError) Error() string          { return e.s }
func (e *engineError) ErrorClass() ErrorClass { return e.class }
func (e *engineError) Is(target error) bool   { return e == ErrFinal && target == io.EOF }

// errBadDecoder reports a Decoder that broke its contract.
var errBadDecoder = errors.New("framing: decoder returned an out-of-range result")

// maxEmptyReads is how many (0, nil) reads in a row a Reader tolerates
// before it reports io.ErrNoProgress.
const maxEmptyReads = 100

// engine is the sans-I/O core shared by Deframer (pushed bytes) and
// Reader (pulled bytes): it owns the buffer, the DecodeState, the limit and
// fail-or-skip, discarding, the budget and the counters. Its decode step
// works on a window of bytes: the buffer, or (pushed, nothing buffered)
// the caller's own bytes.
type engine struct {
	dec        Decoder
	buf        []byte  // the active buffer: inline[:] or *pooled
	pooled     *[]byte // the pooled buffer in use, nil when inline
	start, end int     // buffered, unconsumed bytes are buf[start:end]
	in         *[]byte // pushed bytes not yet consumed or copied (Deframer only)
	need       int     // do not decode again before the window holds need bytes
	st         DecodeState
	consumed   int64 // stream offset of the window's first byte
	discard    int64 // bytes of a skipped frame still to drop
	loc        located
	err        error      // sticky fatal error
	x          *readerExt // optional features (Options); nil when none is on
	limit      int        // Options.MaxFrameSize
	kind       uint32     // of the last frame
	initSize   uint32
	lastFrame  int  // size of the last frame consumed, for buffer sizing
	skipPolicy bool // Options.Oversize == Skip
	skipping   bool // dropping an oversized frame found by scanning (OverLimit)
	eof        bool // the stream has ended
	lastFill   bool // the last read filled all free space: more is likely waiting
	lastBig    bool // lastFill, and that space was at least half the buffer
	inline     [inlineSize]byte
}

// located is a frame whose bounds a decoder reported with NeedFrame, while
// its bytes arrive: relative to the window's start.
type located struct {
	end, total int64 // total 0: nothing located
	start      int32 // at most a header's size (a NeedFrame's start is buffered or near)
	checked    bool
}

func (e *engine) init(dec Decoder, opts *Options) {
	e.dec = dec
	e.limit = opts.maxFrameSize()
	e.st.Limit = e.limit
	e.skipPolicy = opts.skip()
	e.initSize = uint32(opts.initialBufferSize()) // at most 1 GiB
	e.buf = e.inline[:]
	e.x = newReaderExt(opts)
}

// The outcomes of step besides a frame and an error.
const (
	stepFrame   = iota // a frame is returned
	stepMore           // bytes are needed (e.need says how many)
	stepLocated        // (locate mode) e.loc is a frame whose payload start is buffered
	stepErr
)

// step decodes the window win (buf[start:end], or e.in when fromIn) once
// the policy allows it, and applies the policy to what the decoder says.
// It loops over consumed noise, dropped bytes and skipped frames; it
// returns a frame (a view into win), stepMore, stepLocated (when locate
// is set, for a frame located by NeedFrame of which the payload's start is
// buffered; bodyLimit is then its limit) or an error.
func (e *engine) step(fromIn, locate bool, bodyLimit int64) (f []byte, outcome int, err error) {
	for {
		win := e.window(fromIn)
		if e.discard > 0 {
			n := int(min(int64(len(win)), e.discard))
			e.consume(n, fromIn)
			e.discard -= int64(n)
			if e.discard > 0 {
				if e.eof {
					return nil, stepErr, e.endOfStream(e.discard)
				}
				return nil, stepMore, nil
			}
			win = e.window(fromIn)
		}
		if len(win) == 0 {
			if e.eof {
				return nil, stepErr, e.endOfStream(0)
			}
			e.need = 1
			return nil, stepMore, nil
		}
		if l := &e.loc; l.total > 0 {
			if !locate && l.end-int64(l.start) > int64(e.limit) {
				// Located by ReadBody, under its larger limit, and now
				// to be buffered whole.
				return nil, stepErr, e.tooLarge(l.end-int64(l.start), l.total, fromIn)
			}
			if int64(len(win)) >= l.total {
				if !l.checked {
					s, end, t := int(l.start), int(l.end), int(l.total)
					*l = located{}
					return e.frameOut(win, s, end, t, 0, false, fromIn, int64(e.limit))
				}
			} else if locate && !l.checked && len(win) >= int(l.start) {
				return nil, stepLocated, nil
			} else if !e.eof {
				e.need = int(min(l.total, int64(maxInt)))
				if locate && !l.checked {
					e.need = int(l.start)
				}
				return nil, stepMore, nil
			} else {
				return nil, stepErr, e.endOfStream(l.total - int64(len(win)))
			}
		} else if len(win) < e.need && !e.eof {
			return nil, stepMore, nil
		}
		lim := int64(e.limit)
		if locate && bodyLimit > lim {
			lim = bodyLimit // ReadBody's limit
		}
		if !e.skipping {
			e.st.Limit = int(min(lim, int64(maxInt)))
		}
		d, derr := e.dec.Decode(win[:len(win):len(win)], e.eof, &e.st)
		if f, outcome, err, again := e.apply(d, derr, win, fromIn, lim); !again {
			return f, outcome, err
		}
	}
}

// apply carries out what the decoder said about win: it returns a frame,
// stepMore, or an error, or again when the decoder is to be called again
// (bytes were consumed or dropped). lim is the frame size limit.
func (e *engine) apply(d Decoded, derr error, win []byte, fromIn bool, lim int64) (f []byte, outcome int, err error, again bool) {
	st := &e.st
	n := int64(len(win))
	kind := d.flags & kindMask
	if d.advance < 0 || d.start < 0 || st.Scanned < 0 ||
		(kind == kindFrame && (d.start > d.end || d.end > d.advance || d.advance > n || d.advance == 0)) ||
		(kind == kindNeedFrame && (d.start > d.end || d.start > 1<<31-1 || d.end > d.advance || d.advance == 0 ||
			(d.flags&checkedBit != 0 && d.advance <= n && derr == nil))) ||
		(kind != kindNeedFrame && d.advance > n) {
		return nil, stepErr, e.fail(errBadDecoder), false
	}
	if derr != nil {
		adv := d.Advance()
		if kind == kindOverLimit && Classify(derr) == Rejected {
			// A frame rejected before its end was found (a malformed
			// escape): its first adv bytes are dropped, the error is
			// returned, and the rest is skipped as for an oversized
			// frame.
			if !e.skipping {
				err := e.decodeError(adv, derr, fromIn) // its offset: the frame's start
				e.skipping = true
				st.Limit = 0
				return nil, stepErr, err, false
			}
			if adv == 0 {
				f, outcome, err = e.more(len(win) + 1)
				return f, outcome, err, false
			}
			e.consume(adv, fromIn)
			return nil, 0, nil, true
		}
		if e.skipping && Classify(derr) == Rejected {
			// The end of the frame being skipped, misread as a frame
			// of its own: drop it; its error was already returned.
			e.endSkip(adv, fromIn)
			return nil, 0, nil, true
		}
		return nil, stepErr, e.decodeError(adv, derr, fromIn), false
	}
	switch kind {
	case kindFrame:
		if e.skipping {
			e.endSkip(int(d.advance), fromIn)
			return nil, 0, nil, true
		}
		f, outcome, err = e.frameOut(win, int(d.start), int(d.end), int(d.advance), d.Kind(), d.flags&finalBit != 0, fromIn, lim)
		return f, outcome, err, false
	case kindNeedFrame:
		size := d.end - d.start
		if e.skipping {
			// A frame located inside the bytes of the one being
			// skipped: it is part of it, and dropped with it.
			e.endSkip(0, fromIn)
			e.discard = d.advance
			return nil, 0, nil, true
		}
		if size > lim {
			return nil, stepErr, e.tooLarge(size, d.advance, fromIn), false
		}
		if d.advance <= n && d.flags&checkedBit == 0 {
			f, outcome, err = e.frameOut(win, int(d.start), int(d.end), int(d.advance), 0, false, fromIn, lim)
			return f, outcome, err, false
		}
		e.loc = located{start: int32(d.start), end: d.end, total: d.advance, checked: d.flags&checkedBit != 0}
		return nil, 0, nil, true // the located branch decides
	case kindOverLimit:
		if e.skipping {
			if d.advance == 0 {
				f, outcome, err = e.more(len(win) + 1)
				return f, outcome, err, false
			}
			e.consume(int(d.advance), fromIn)
			return nil, 0, nil, true
		}
		return nil, stepErr, e.overLimit(int(d.advance), fromIn), false
	}
	if d.advance > 0 { // Consume
		e.consume(int(d.advance), fromIn)
		if e.skipping {
			e.endSkip(0, fromIn)
		}
		return nil, 0, nil, true
	}
	// Need.
	if e.eof {
		return nil, stepErr, e.endOfStream(-1), false
	}
	e.need = max(int(d.start), len(win)+1)
	if int64(e.need) > 2*int64(e.limit)+1<<20 {
		// Backstop for a decoder that never reports its frame over
		// the limit (generous: a header may be large, stuffing adds
		// bytes).
		return nil, stepErr, e.decodeError(0, &FrameTooLargeError{Size: -1, Limit: e.limit}, fromIn), false
	}
	return nil, stepMore, nil, false
}

// more asks for n bytes in the window, or at the end of the stream
// reports it.
func (e *engine) more(n int) ([]byte, int, error) {
	if e.eof {
		return nil, stepErr, e.endOfStream(-1)
	}
	e.need = n
	return nil, stepMore, nil
}

// window returns the bytes the next Decode call sees.
func (e *engine) window(fromIn bool) []byte {
	if fromIn {
		return *e.in
	}
	return e.buf[e.start:e.end]
}

// frameOut returns the frame win[s:end], consuming advance bytes, after
// the limit check every frame gets.
func (e *engine) frameOut(win []byte, s, end, advance int, kind uint32, final, fromIn bool, lim int64) ([]byte, int, error) {
	if int64(end-s) > lim {
		return nil, stepErr, e.tooLarge(int64(end-s), int64(advance), fromIn)
	}
	f := win[s:end:end]
	e.consume(advance, fromIn)
	e.lastFrame = advance
	e.kind = kind
	if final {
		e.err = ErrFinal
	}
	if x := e.x; x != nil {
		x.frameDone(len(f))
	}
	return f, stepFrame, nil
}

// endSkip ends the skipping of a frame found by scanning: n more bytes of
// it are dropped.
func (e *engine) endSkip(n int, fromIn bool) {
	e.consume(n, fromIn)
	e.skipping = false
	e.st.Limit = e.limit
}

// consume drops n bytes from the front of the window.
func (e *engine) consume(n int, fromIn bool) {
	if n == 0 {
		return
	}
	if fromIn {
		*e.in = (*e.in)[n:]
	} else {
		e.start += n
	}
	e.consumed += int64(n)
	e.st.Scanned = 0
	e.st.Carry = 0
	e.need = 0
	e.loc = located{}
}

// tooLarge applies the policy to a frame of size payload bytes (-1:
// unknown) spanning total bytes from the window's start.
func (e *engine) tooLarge(size, total int64, fromIn bool) error {
	err := &FrameTooLargeError{Size: size, Limit: e.limit}
	if e.skipPolicy {
		err.Skipped = true
		e.discard = total
		e.loc = located{}
	}
	return e.decodeError(0, err, fromIn)
}

// overLimit applies the policy to a frame found over the limit while
// scanning, of which n bytes may be dropped.
func (e *engine) overLimit(n int, fromIn bool) error {
	err := &FrameTooLargeError{Size: -1, Limit: e.limit}
	if e.skipPolicy {
		err.Skipped = true
		e.consume(n, fromIn)
		e.skipping = true
		e.st.Limit = 0
	}
	return e.decodeError(0, err, fromIn)
}

func (e *engine) fail(err error) error {
	e.err = err
	// Nothing more will be decoded: give the buffer back (to the budget too).
	e.start, e.end = 0, 0
	e.dropPushed()
	e.release()
	e.giveHeld()
	return err
}

// pushed returns the pushed bytes not yet consumed or copied.
func (e *engine) pushed() []byte {
	if e.in == nil {
		return nil
	}
	return *e.in
}

// dropPushed forgets the pushed bytes.
func (e *engine) dropPushed() {
	if e.in != nil {
		*e.in = nil
	}
}

func (e *engine) decodeError(advance int, err error, fromIn bool) error {
	if ce, ok := err.(*CorruptError); ok {
		// A copy: the decoder may return a shared error value.
		c := *ce
		c.Offset = e.consumed
		err = &c
	}
	e.consume(advance, fromIn)
	if e.x != nil {
		e.x.reject(err)
	}
	if Classify(err) == Fatal {
		return e.fail(err)
	}
	return err
}

// endOfStream reports the end of the stream with the window's bytes
// undecodable: missing is the bytes known to be missing (-1: unknown).
func (e *engine) endOfStream(missing int64) error {
	buffered := e.end - e.start + len(e.pushed())
	if buffered == 0 && e.discard == 0 && !e.skipping && e.loc.total == 0 {
		return e.fail(io.EOF)
	}
	if e.discard > 0 {
		missing = e.discard
	}
	return e.fail(&UnexpectedEOFError{Buffered: buffered, Missing: missing})
}

// growSize is the buffer policy for growth: the size of the buffer to hold
// want bytes (the window's bytes and what the next read should bring)
// when the current buffer of size cur cannot. exact says want is the
// frame's exact size. It grows at most by doubling (or to the initial
// size), never past an exact size (but never below the initial size, so
// small frames share a buffer), and goes straight to an exact size once a
// doubling step would reach half of it: a frame of size S is never given
// more than 1.5 S. lastFrame (bytes the stream did deliver) lets a stream
// of large frames start each in a buffer of that size; busy adds headroom
// for frames a little over the initial size. A frame whose size is not
// known (found by scanning) is not grown past soft by a doubling step: a
// little over the size limit, where a scanning decoder can tell the frame
// is over it, so a refused frame is not given twice the limit.
func growSize(cur, want int, exact bool, initSize, lastFrame int, busy bool, soft int) int {
	size := max(2*cur, initSize)
	if !exact {
		if cur < soft && size > soft {
			size = max(soft, want)
		}
		return size
	}
	size = max(size, min(lastFrame, want))
	if 2*size >= want {
		size = max(want, initSize)
		if want <= maxHeadroom && lastFrame >= want/2 && busy {
			// Headroom on a busy stream of frames a little over the
			// initial size: room for 3 more like it. At most 64 KiB.
			size = max(4*want, initSize)
		}
	}
	return size
}

// maxHeadroom is the largest frame whose buffer may be grown with room for
// the frames that follow it (see growSize).
const maxHeadroom = 16 << 10

// shrinkAtBoundary is the buffer policy at a frame boundary (nothing
// buffered): whether to give the pooled buffer back. It is kept only when
// more bytes are likely waiting and it is not oversized for the frames
// being read.
func shrinkAtBoundary(size int, lastFill bool, initSize, lastFrame int) bool {
	return !lastFill || (size > 4*initSize && lastFrame < size/4)
}

// room makes the buffer hold at least min bytes from the window's start
// (counting those buffered), moving or replacing it as the policy says;
// target is the size the frame is known (exact) or thought to need.
func (e *engine) room(min, target int, exact bool) error {
	buffered := e.end - e.start
	if e.start+min <= len(e.buf) {
		return nil
	}
	if quarter := len(e.buf) / 4; e.pooled != nil && len(e.buf) > 4*int(e.initSize) &&
		e.lastFrame < quarter && target < quarter && buffered < quarter {
		// A buffer grown for a large frame on a stream that never empties:
		// traded for a smaller one once frames are small again.
		return e.resize(max(int(e.initSize), 2*max(target, e.lastFrame), min))
	}
	if e.start > 0 && (target <= len(e.buf) || buffered < len(e.buf)/2) {
		copy(e.buf, e.buf[e.start:e.end])
		e.start, e.end = 0, buffered
		if min <= len(e.buf) {
			return nil
		}
	}
	soft := e.st.Limit + e.st.Limit/8 + 64<<10
	return e.resize(max(growSize(len(e.buf), target, exact, int(e.initSize), e.lastFrame, e.lastFill, soft), min))
}

// resize moves the buffered bytes into a new pooled buffer of the given
// size, which must hold them. Under a memory budget, the new buffer is
// drawn from it before the old one is given back.
func (e *engine) resize(size int) error {
	var p *[]byte
	if x := e.x; x != nil && x.budget != nil {
		if err := x.take(int64(size)); err != nil {
			return err
		}
		p = allocBudgeted(size)
	} else {
		p = allocBuf(size)
	}
	buffered := copy(*p, e.buf[e.start:e.end])
	e.release()
	e.pooled = p
	e.buf = *p
	e.start, e.end = 0, buffered
	return nil
}

// release gives the pooled buffer back and switches to the inline one. The
// caller has moved or dropped the buffered bytes.
func (e *engine) release() {
	if e.pooled != nil {
		if x := e.x; x != nil && x.budget != nil {
			x.give(int64(len(*e.pooled)))
			freeBudgeted(e.pooled)
		} else {
			freeBuf(e.pooled)
		}
		e.pooled = nil
	}
	e.buf = e.inline[:]
}

// releaseAll gives back every buffer and ends the engine with err.
func (e *engine) releaseAll(err error) {
	e.start, e.end = 0, 0
	e.dropPushed()
	e.release()
	e.giveHeld()
	e.discard, e.loc, e.skipping = 0, located{}, false
	e.err = err
}

// detach returns a copy of the bytes received but not returned as frames.
func (e *engine) detach() []byte {
	rest := append([]byte(nil), e.buf[e.start:e.end]...)
	rest = append(rest, e.pushed()...)
	e.releaseAll(ErrDetached)
	return rest
}

// A Deframer finds frames in bytes pushed to it: the sans-I/O engine that a
// Reader drives by reading, for callers that already have the bytes (an
// event loop's buffer, a TCP reassembler reading a packet capture). It
// applies the same policy as a Reader with the same Options: the size
// limit and fail-or-skip, the memory budget, Stats and OnReject (the
// slow-peer guard and MaxBodySize are the Reader's).
//
// Push hands it bytes, and Next returns the frames in them one by one:
//
//	d.Push(p)
//	for {
//		f, err := d.Next()
//		if err == framing.ErrNeedMore {
//			break // p may be reused now
//		}
//		...
//	}
//
// A frame that lies whole in pushed bytes is returned as a view into
// them, not copied; only a frame left incomplete at the end of a push is
// copied into the Deframer's buffer (its bytes so far, then from the next
// pushes the bytes it still needs: exactly those when the codec knows the
// frame's size). A frame returned by Next is valid until the next call to
// Push or Next. Pushed bytes must stay unchanged until Next returns
// ErrNeedMore (or an error).
//
// Only one goroutine may use a Deframer at a time.
type Deframer struct {
	e         engine
	in        []byte // e.in points here
	ended     bool
	hold      bool  // the caller keeps an incomplete frame's bytes (Hold)
	frameBase int64 // stream offset where the guard's frame began (Guard)
	gap       int   // Push copies fewer bytes than this itself (see needMore)
}

// NewDeframer returns a Deframer that decodes with dec. opts may be nil.
func NewDeframer(dec Decoder, opts *Options) *Deframer {
	d := &Deframer{}
	d.e.init(dec, opts)
	d.e.in = &d.in
	return d
}

// Push adds p to the stream. Bytes of an earlier push that Next has not
// yet consumed are copied into the buffer first.
func (d *Deframer) Push(p []byte) {
	if len(p) < d.gap {
		// A located frame still misses more than p, and the buffer has
		// room: p is copied in at once, and Next will need more.
		e := &d.e
		d.gap -= copy(e.buf[e.end:], p)
		e.end += len(p)
		return
	}
	d.push(p)
}

func (d *Deframer) push(p []byte) {
	e := &d.e
	d.gap = 0
	switch {
	case d.hold:
		d.pushHeld(p)
	case e.err != nil || d.ended:
	case len(d.in) == 0:
		d.in = p
	case e.absorb(len(d.in), false) == nil:
		d.in = p
	}
}

// End marks the end of the stream: Next returns the frames still
// buffered, then io.EOF, or an *UnexpectedEOFError if the stream ends
// inside a frame.
func (d *Deframer) End() { d.ended, d.gap = true, 0 }

// Next returns the next frame, ErrNeedMore when the bytes pushed so far
// hold no further frame, or an error classified as for Reader.ReadFrame.
func (d *Deframer) Next() ([]byte, error) {
	if d.gap > 0 {
		return nil, ErrNeedMore // Push copied its bytes into a frame still incomplete
	}
	return d.next()
}

func (d *Deframer) next() ([]byte, error) {
	e := &d.e
	if e.err != nil {
		return nil, e.err
	}
	for e.x == nil && e.discard == 0 && !e.skipping && !d.ended {
		// The short path, as the Reader's: a frame whole in the push is
		// decoded in place; a frame cut by the end of a push is completed
		// in the buffer from the next pushes, with exactly the bytes it
		// misses once its size is known (in hold mode, the general path
		// leaves it with the caller).
		in, buffered := d.in, e.end-e.start
		fromIn, win := buffered == 0, in[:len(in):len(in)]
		if !fromIn {
			win = e.buf[e.start:e.end:e.end]
		}
		if l := e.loc; l.total > 0 {
			if l.checked {
				break
			}
			if int64(len(win)) >= l.total { // its limit was checked when it was located
				return e.fastOut(win, int64(l.start), l.end, l.total, fromIn), nil
			}
		} else if len(win) > 0 && len(win) >= e.need {
			dd, derr := e.dec.Decode(win, false, &e.st)
			start, end, total, flags := dd.start, dd.end, dd.advance, dd.flags
			switch {
			case derr == nil && dd.plain(e.limit):
				if total <= int64(len(win)) {
					return e.fastOut(win, start, end, total, fromIn), nil
				}
				if flags == kindNeedFrame && start <= 1<<31-1 {
					e.loc = located{start: int32(start), end: end, total: total}
					e.need = int(min(total, int64(maxInt)))
					continue
				}
			case derr == nil && flags == kindNeed && total == 0 && end == 0 && 0 <= start && start <= 2*int64(e.limit)+1<<20:
				e.need = max(int(start), len(win)+1) // a lower bound, within the backstop (see apply)
				goto take
			}
			f, outcome, err, again := e.apply(dd, derr, win, fromIn, int64(e.limit))
			switch {
			case again:
				continue
			case outcome == stepFrame:
				return f, nil
			case outcome == stepErr:
				return nil, err
			}
		}
	take:
		switch {
		case d.hold:
			// An incomplete frame stays with the caller: the general path.
		case len(in) == 0 && fromIn:
			// At a frame boundary: the general path gives the buffer back.
		case len(in) == 0:
			return nil, d.needMore()
		case fromIn && len(in) <= len(e.buf):
			// The push's incomplete tail.
			e.start, e.end = 0, copy(e.buf, in)
			d.in = nil
			return nil, d.needMore()
		case !fromIn:
			// Exactly what a located frame misses, else as much again as
			// is buffered, so that the frames after it are mostly decoded
			// in place.
			n := max(e.need-buffered, buffered, inlineSize)
			if e.loc.total > 0 {
				n = int(min(e.loc.total-int64(buffered), int64(maxInt)))
			}
			n = min(n, len(in))
			if e.end+n <= len(e.buf) {
				e.end += copy(e.buf[e.end:], in[:n])
				d.in = in[n:]
				continue
			}
		}
		break // the general path: buffer growth, a located frame's start in a push
	}
	for {
		fromIn := e.start == e.end
		if fromIn && e.pooled != nil {
			e.start, e.end = 0, 0
			e.release() // nothing buffered: an idle Deframer holds no buffer
		}
		e.eof = d.ended && (fromIn || len(d.in) == 0)
		f, outcome, err := e.step(fromIn, false, 0)
		switch {
		case outcome == stepFrame:
			return f, nil
		case outcome == stepErr:
			return nil, err
		case len(d.in) == 0:
			if d.hold {
				return nil, d.keepTail()
			}
			return nil, d.needMore()
		case fromIn:
			// The incomplete tail of the push is copied (or, in hold
			// mode, left with the caller); then more is needed.
			return nil, d.keepTail()
		}
		// A partial frame is buffered: move what it needs from the push
		// (exactly that when its size is known, else as much again as is
		// buffered, so that the frames after it are mostly decoded in
		// place).
		buffered := e.end - e.start
		want, exact := e.need-buffered, e.loc.total > 0
		if !exact {
			want = max(want, buffered, inlineSize)
		}
		if err := e.absorb(min(want, len(d.in)), exact); err != nil {
			return nil, err
		}
	}
}

// needMore returns ErrNeedMore once the pushed bytes are used up. While a
// located frame still misses bytes for which the buffer has room, Push
// copies them in itself (gap).
func (d *Deframer) needMore() error {
	e := &d.e
	if l := e.loc; l.total > 0 && e.err == nil && e.discard == 0 && !d.hold && !d.ended && len(d.in) == 0 {
		d.gap = int(min(l.total-int64(e.end-e.start), int64(len(e.buf)-e.end)))
	}
	return ErrNeedMore
}

// keepTail keeps the incomplete tail of the push once Next found no
// further frame in it: copied into the buffer, or in hold mode left with
// the caller and charged to the budget. It returns ErrNeedMore or the
// error that ended the Deframer.
func (d *Deframer) keepTail() error {
	e := &d.e
	if d.hold {
		if err := e.chargeHeld(len(d.in)); err != nil {
			return err
		}
		return ErrNeedMore
	}
	if err := e.absorb(len(d.in), e.loc.total > 0); err != nil {
		return err
	}
	return d.needMore()
}

// absorb copies the first n pushed bytes into the buffer.
func (e *engine) absorb(n int, exact bool) error {
	buffered := e.end - e.start
	if err := e.room(buffered+n, max(e.need, buffered+n), exact); err != nil {
		if e.x != nil {
			e.x.reject(err)
		}
		return e.fail(err)
	}
	if e.end+n > len(e.buf) {
		return e.fail(errBadDecoder) // unreachable: room made space
	}
	in := *e.in
	copy(e.buf[e.end:], in[:n])
	e.end += n
	*e.in = in[n:]
	return nil
}

// Offset returns the stream offset of the next frame's first byte: the
// number of bytes consumed so far as frames, skipped frames and noise.
func (d *Deframer) Offset() int64 { return d.e.consumed + d.e.discard }

// Kind returns the kind the decoder attached to the last frame (see
// Decoded.WithKind), 0 if none.
func (d *Deframer) Kind() uint32 { return d.e.kind }

// Buffered returns how many bytes the Deframer holds in its own buffer.
func (d *Deframer) Buffered() int { return d.e.end - d.e.start }

// Reset forgets every buffered or pushed byte, the decoder's state (its
// Stream state too), a frame being skipped and a sticky error, as after a
// gap in the stream: the next byte pushed is at stream offset offset and
// starts a frame.
func (d *Deframer) Reset(offset int64) {
	d.e.reset(offset)
	d.ended, d.gap = false, 0
}

// reset gives every buffer back (to the budget too) and forgets the
// stream: buffered and pushed bytes, the decoder's state, a frame being
// located or skipped, a sticky error, the buffer sizing hints. The next
// byte is at stream offset offset.
func (e *engine) reset(offset int64) {
	e.releaseAll(nil)
	e.st = DecodeState{Limit: e.limit}
	e.need, e.eof, e.consumed, e.kind = 0, false, offset, 0
	e.lastFrame, e.lastFill, e.lastBig = 0, false, false
}

// Release gives every buffer back (to the memory budget too). Later calls
// return ErrReleased. It is safe to call more than once.
func (d *Deframer) Release() { d.gap = 0; d.e.releaseAll(ErrReleased) }

// Detach stops the Deframer and returns a copy of the bytes it holds or
// was pushed but did not return as frames (after a Final frame: the bytes
// that follow it). Later calls return ErrDetached.
func (d *Deframer) Detach() []byte { d.gap = 0; return d.e.detach() }
