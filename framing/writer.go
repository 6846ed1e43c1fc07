package framing

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
)

// BuffersWriter is implemented by destinations that can write several
// buffers as one vectored write (writev). *net.TCPConn and *net.UnixConn are
// used that way without it; other conns (in-memory, wrappers that count or
// proxy) implement it to get the same treatment.
type BuffersWriter interface {
	// WriteBuffers writes the bytes of all of v's buffers, in order, and
	// returns how many bytes it wrote; fewer than all of them only with an
	// error. It may consume v, as net.Buffers.WriteTo does.
	WriteBuffers(v *net.Buffers) (int64, error)
}

const (
	// copyBelow is the payload size under which a payload is copied into
	// the batch buffer; larger payloads are written from the caller's memory.
	copyBelow = 2 << 10
	// flushAt is the amount of buffered output at which BufferFrame
	// writes it out.
	flushAt = 64 << 10
	// keepRunBuf is the largest run buffer kept in the pool for reuse.
	keepRunBuf = 1 << 20
	// keepSpare is the largest buffer a Writer keeps between writes.
	keepSpare = 4 << 10
)

// A Writer writes frames to an io.Writer with an Encoder.
//
// Any number of goroutines may call its methods at once. Frames written
// concurrently never interleave, and are group-committed: while one
// goroutine's write is in the kernel, frames from the others queue up, and
// the next write sends all of them in one vectored write. A goroutine that
// finds nobody else writing and nothing queued encodes and writes its
// frame without taking a lock.
//
// Between writes a Writer keeps one small buffer (up to 4 KiB) for the next
// frame, as a bufio.Writer keeps its own; a Conn gives it back to a shared
// pool whenever its reading side is about to wait for the network, and on
// Close.
//
// A write that fails (a deadline, a reset) may have sent part of a frame,
// so it breaks the Writer: every later call returns a *WriterBrokenError.
type Writer struct {
	w    io.Writer
	enc  Encoder
	wenc WrapEncoder // enc, when it is one

	// state says who may touch the fields below (see the w* bits); the
	// fast paths change it with one compare-and-swap in and one out.
	state       atomic.Uint32
	ends        uint32 // writes ended in the slow world, for Flush to wait on one
	openGen     uint32 // generation of the open run; runs are numbered as they are taken
	inflightGen uint32 // generation of the open run last taken for writing
	callers     int32  // goroutines in the slow world
	// flushAsked: a Conn's reading side found frames buffered while a
	// write was in progress, and did not wait for it (see idle): the
	// goroutine that ends that write writes them too.
	flushAsked bool

	mu    sync.Mutex
	wake  *sync.Cond // on mu, made at the first wait; every wait in the slow world is on it
	open  *frameRun  // frames buffered or queued and not yet taken for writing (wBuf)
	spare *frameRun  // an empty run kept for the next write (wHeld)
	err   error      // sticky (wBroken)
	stats *Stats     // optional counters
}

// The bits of Writer.state. A fast path starts only from a state without
// wBusy, wWriting, wSlow and wBroken. Everything else happens under mu
// with wSlow set: the slow world.
const (
	// wBusy: a fast path owns open, spare and the generations for a
	// moment (encoding, no I/O); the slow world waits for it to end.
	wBusy uint32 = 1 << iota
	// wWriting: a write is in progress; its goroutine owns the run it
	// writes and spare.
	wWriting
	// wSlow: goroutines are in the slow world, or a write that was in
	// progress when they left has not ended: the fast paths are off, and
	// mu's holder owns open and the generations, and spare unless a write
	// is in progress.
	wSlow
	// wBuf: open is set.
	wBuf
	// wHeld: spare is set.
	wHeld
	// wBroken: err is set.
	wBroken
)

// A frameRun is a run of encoded frames written together: bytes copied into
// buf, plus large payloads referenced in place. Runs belong to one Writer
// at a time and go back to runPool when it no longer needs them; they
// hold nothing but buffers.
type frameRun struct {
	buf  []byte
	segs []segment // set once a payload is referenced in place
	mark int       // start of the part of buf not yet in segs
	iov  net.Buffers
	wv   net.Buffers // what a vectored write consumes
	// committed: a goroutine waits in commit for this run to be written,
	// and takes it for writing as soon as no write is in progress; a
	// Conn's reading side leaves it to that goroutine (see flushForRead).
	committed bool
}

// A segment is either buf[off:end] or ext.
type segment struct {
	ext      []byte
	off, end int
}

var runPool = sync.Pool{New: func() any { return new(frameRun) }}

// NewWriter returns a Writer that writes frames to w with enc. opts may be
// nil; a Writer uses only its Stats.
func NewWriter(w io.Writer, enc Encoder, opts *Options) *Writer {
	wr := &Writer{}
	wr.init(w, enc, opts)
	return wr
}

func (w *Writer) init(dst io.Writer, enc Encoder, opts *Options) {
	w.w = dst
	w.enc = enc
	w.wenc, _ = enc.(WrapEncoder)
	w.openGen = 1
	if opts != nil {
		w.stats = opts.Stats
	}
}

// WriteFrame writes p as one frame, together with any frames buffered or
// queued by other goroutines, and returns once its frame was handed to the
// destination, or with the error. A payload the encoder cannot represent is
// refused with a *PayloadError and nothing is written. p is not modified
// and not retained after WriteFrame returns.
func (w *Writer) WriteFrame(p []byte) error {
	if s := w.state.Load(); s&^wHeld == 0 && w.state.CompareAndSwap(s, s|wWriting) {
		return w.writeAlone(s|wWriting, p)
	}
	return w.writeFrameSlow(p)
}

// writeAlone is WriteFrame's fast path: nothing is buffered and nobody else
// is writing, so the frame is encoded into the spare run and written
// without a lock. Goroutines arriving meanwhile queue in the slow world; the
// next write takes their frames.
func (w *Writer) writeAlone(from uint32, p []byte) error {
	b := w.takeSpare()
	if err := w.encode(b, p, false); err != nil {
		_ = w.endWrite(from, b, nil)
		return err
	}
	return w.endWrite(from, b, w.writeRun(b))
}

func (w *Writer) writeFrameSlow(p []byte) error {
	w.enter()
	defer w.leave()
	if w.err != nil {
		return w.err
	}
	if err := w.queue(p, false); err != nil {
		return err
	}
	return w.commit(w.openGen)
}

// WriteFrames writes each of ps as a frame, in order, with one vectored
// write where the destination allows. If any payload cannot be represented
// none is written.
func (w *Writer) WriteFrames(ps [][]byte) error {
	if len(ps) == 0 {
		return nil
	}
	if s := w.state.Load(); s&^wHeld == 0 && w.state.CompareAndSwap(s, s|wWriting) {
		b := w.takeSpare()
		for _, p := range ps {
			if err := w.encode(b, p, false); err != nil {
				_ = w.endWrite(s|wWriting, b, nil)
				return err
			}
		}
		return w.endWrite(s|wWriting, b, w.writeRun(b))
	}
	w.enter()
	defer w.leave()
	if w.err != nil {
		return w.err
	}
	b := w.openSlow()
	bufLen, segLen, mark := len(b.buf), len(b.segs), b.mark
	for _, p := range ps {
		if err := w.encode(b, p, false); err != nil {
			b.truncate(bufLen, segLen, mark)
			w.closeIfEmpty()
			return err
		}
	}
	return w.commit(w.openGen)
}

// BufferFrame encodes p into the Writer's buffer without writing it; p may
// be reused as soon as it returns. Buffered frames go out with the next
// Flush or WriteFrame, or when the buffer reaches 64 KiB (then BufferFrame
// writes, and blocks like WriteFrame); a Conn also writes them before it
// reads from the network (when another goroutine's write is in progress,
// the Conn reads without waiting for it, and that goroutine writes them
// when its write ends). A payload of 64 KiB or more is not copied: it
// goes out at once, after the frames buffered before it, in one vectored
// write.
func (w *Writer) BufferFrame(p []byte) error {
	if s := w.state.Load(); s&^(wBuf|wHeld) == 0 && w.state.CompareAndSwap(s, s|wBusy) {
		return w.bufferAlone(s|wBusy, p)
	}
	return w.bufferSlow(p)
}

// bufferAlone is BufferFrame's fast path, which owns the open run for the
// time it takes to encode p.
func (w *Writer) bufferAlone(from uint32, p []byte) error {
	if w.open == nil {
		w.open = w.takeSpare()
	}
	large := len(p) >= flushAt
	if err := w.encode(w.open, p, !large); err != nil {
		if w.open.empty() {
			w.keep(w.open)
			w.open = nil
		}
		w.move(from, w.bits())
		return err
	}
	if large || len(w.open.buf) >= flushAt {
		return w.writeOpen(from)
	}
	w.move(from, w.bits())
	return nil
}

func (w *Writer) bufferSlow(p []byte) error {
	w.enter()
	defer w.leave()
	if w.err != nil {
		return w.err
	}
	large := len(p) >= flushAt
	if err := w.queue(p, !large); err != nil {
		return err
	}
	if large || len(w.open.buf) >= flushAt {
		return w.commit(w.openGen)
	}
	return nil
}

// Flush writes every frame buffered or queued before it, and returns once
// they were handed to the destination.
func (w *Writer) Flush() error {
	s := w.state.Load()
	if s&^wHeld == 0 {
		return nil // nothing buffered, nothing being written
	}
	if s&^wHeld == wBuf && w.state.CompareAndSwap(s, s|wBusy) {
		return w.writeOpen(s | wBusy)
	}
	w.enter()
	defer w.leave()
	if w.open != nil {
		return w.commit(w.openGen)
	}
	if w.state.Load()&wWriting != 0 {
		// Nothing open: the write in progress may hold frames queued
		// before this call. Its end is counted in the slow world, since
		// this goroutine is in it.
		for e := w.ends; w.ends == e; {
			w.wait()
		}
	}
	return w.err
}

// flushForRead is idle's Flush: it writes the open run unless a write is
// in progress, and then asks that write's goroutine to (flushAsked), or
// another goroutine waits to write the run (a WriteFrame, WriteFrames or
// Flush that queued into it): a reading side never writes a frame that
// another goroutine is committed to writing, since that write may block
// until the peer reads, and the peer may be waiting for this side to read.
// (commitMode with asked also clears the request once the run is taken.)
func (w *Writer) flushForRead() {
	s := w.state.Load()
	if s&^wHeld == wBuf && w.state.CompareAndSwap(s, s|wBusy) {
		_ = w.writeOpen(s | wBusy)
		return
	}
	w.enter() // waits only for a fast path's encoding (wBusy), never for I/O
	defer w.leave()
	if w.open != nil && w.err == nil {
		_ = w.commitMode(w.openGen, true) // leaves a committed run alone
	}
}

// Buffered returns the number of encoded bytes waiting to be written.
func (w *Writer) Buffered() int {
	if w.state.Load()&wBuf == 0 {
		return 0
	}
	w.enter()
	defer w.leave()
	if w.open == nil {
		return 0
	}
	n := len(w.open.buf)
	for _, s := range w.open.segs {
		n += len(s.ext)
	}
	return n
}

// writeBlock writes frames a Batch encoded, after the frames queued before
// them, from the Batch's memory (it reuses it only once this returns), and
// counts them.
func (w *Writer) writeBlock(enc []byte, frames, bytes int64) error {
	if s := w.state.Load(); s&^wHeld == 0 && w.state.CompareAndSwap(s, s|wWriting) {
		w.countBlock(frames, bytes)
		err := w.writeAll(enc)
		if err == nil && w.state.CompareAndSwap(s|wWriting, s) {
			return nil
		}
		return w.endSlow(s|wWriting, s, err)
	}
	w.enter()
	defer w.leave()
	if w.err != nil {
		return w.err
	}
	w.openSlow().addExt(enc)
	w.countBlock(frames, bytes)
	return w.commit(w.openGen)
}

func (w *Writer) countBlock(frames, bytes int64) {
	if w.stats != nil {
		w.stats.FramesWritten.Add(frames)
		w.stats.BytesWritten.Add(bytes)
	}
}

func (w *Writer) count(p []byte) {
	if w.stats != nil {
		w.stats.FramesWritten.Add(1)
		w.stats.BytesWritten.Add(int64(len(p)))
	}
}

// encode appends p's frame to b; on error b is as before.
func (w *Writer) encode(b *frameRun, p []byte, copyAll bool) error {
	if w.wenc == nil {
		out, err := w.enc.AppendFrame(b.buf, p)
		if err != nil {
			return err
		}
		b.buf = out
		w.count(p)
		return nil
	}
	out, skip, err := w.wenc.AppendHeader(b.buf, p)
	if err != nil {
		return err
	}
	body := p[skip:]
	if len(body) < copyBelow || copyAll {
		out = append(out, body...)
	} else {
		b.buf = out
		b.addExt(body)
		out = b.buf
	}
	b.buf = w.wenc.AppendTrailer(out, p)
	w.count(p)
	return nil
}

// takeSpare returns the spare run, or one from the pool; the caller owns
// spare (wBusy or wWriting) and sets wHeld when it is done.
func (w *Writer) takeSpare() *frameRun {
	b := w.spare
	if b == nil {
		return runPool.Get().(*frameRun)
	}
	w.spare = nil
	return b
}

// keep empties a run that was written or is not needed, and keeps it as
// the spare if it is small and there is none, or gives it back to the pool.
// The caller owns spare.
func (w *Writer) keep(b *frameRun) {
	if b.reset() && w.spare == nil {
		w.spare = b
		return
	}
	runPool.Put(b)
}

// bits returns wBuf and wHeld as open and spare are.
func (w *Writer) bits() uint32 {
	var s uint32
	if w.open != nil {
		s |= wBuf
	}
	if w.spare != nil {
		s |= wHeld
	}
	return s
}

// move changes the state of a fast path from from to to. If the slow world
// has been entered meanwhile (wSlow, the only bit others set while a fast
// path holds wBusy), it changes the bits under mu and wakes it.
func (w *Writer) move(from, to uint32) {
	if !w.state.CompareAndSwap(from, to) {
		_ = w.endSlow(from, to, nil)
	}
}

// writeOpen writes the open run from the fast path of BufferFrame or Flush
// (from holds wBusy): it takes the run as the next generation, lets the
// slow world in (wWriting instead of wBusy), and writes.
func (w *Writer) writeOpen(from uint32) error {
	b := w.open
	w.open = nil
	w.inflightGen = w.openGen
	w.openGen++
	to := wWriting | w.bits()
	w.move(from, to)
	return w.endWrite(to, b, w.writeRun(b))
}

// endWrite ends a write begun on a fast path (from holds wWriting): it
// keeps or gives back b, and leaves the state as it found it. A write
// error breaks the Writer.
func (w *Writer) endWrite(from uint32, b *frameRun, werr error) error {
	w.keep(b)
	var to uint32
	if w.spare != nil {
		to = wHeld
	}
	if werr == nil && w.state.CompareAndSwap(from, to) {
		return nil
	}
	return w.endSlow(from, to, werr)
}

// endSlow is the end of a fast path when the slow world has been entered
// meanwhile or the write failed: under mu, it clears the bits of from that
// to has not and sets those to has (the others may have changed), records
// a write error, and wakes the slow world. At the end of a write, it also
// writes the frames a reader asked for meanwhile (flushAsked), unless
// another write is in progress.
func (w *Writer) endSlow(from, to uint32, werr error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if werr != nil {
		err = w.breakWith(werr)
	}
	w.clearBits(from &^ to)
	w.setBits(to &^ from)
	if from&wWriting != 0 {
		w.ends++
	}
	w.broadcast()
	if from&wWriting != 0 && w.mustFlush() {
		// A reader asked for the frames buffered during this write: they
		// are written now, unless another write is in progress (whose
		// end writes them).
		w.callers++
		w.setBits(wSlow)
		_ = w.commitMode(w.openGen, true) // a failure breaks the Writer: the next call says so
		w.callers--
	} else if !w.mustFlush() {
		w.flushAsked = false
	}
	w.settle()
	return err
}

// mustFlush reports whether a reader asked for the open run to be written
// (flushAsked) and it still needs to be (under mu).
func (w *Writer) mustFlush() bool {
	return w.flushAsked && w.open != nil && w.err == nil
}

// setBits and clearBits change bits of the state that the caller owns
// (atomic.Uint32.Or and And are newer than the Go this module supports).
func (w *Writer) setBits(bits uint32) {
	for {
		s := w.state.Load()
		if s&bits == bits || w.state.CompareAndSwap(s, s|bits) {
			return
		}
	}
}

func (w *Writer) clearBits(bits uint32) {
	for {
		s := w.state.Load()
		if s&bits == 0 || w.state.CompareAndSwap(s, s&^bits) {
			return
		}
	}
}

// enter takes mu and enters the slow world, turning the fast paths off, and
// waits for one that owns the Writer's fields to let go.
func (w *Writer) enter() {
	w.mu.Lock()
	w.callers++
	w.setBits(wSlow)
	for w.state.Load()&wBusy != 0 {
		w.wait()
	}
}

// leave leaves the slow world and releases mu.
func (w *Writer) leave() {
	w.callers--
	w.settle()
	w.mu.Unlock()
}

// settle turns the fast paths back on when nobody is left in the slow
// world and no write is in progress (one in progress ends through endSlow,
// which settles again).
func (w *Writer) settle() {
	if w.callers == 0 && w.state.Load()&wWriting == 0 {
		w.clearBits(wSlow)
	}
}

// wait waits, in the slow world, for a write to end or a fast path to let
// go; it releases mu meanwhile.
func (w *Writer) wait() {
	if w.wake == nil {
		w.wake = sync.NewCond(&w.mu)
	}
	w.wake.Wait()
}

func (w *Writer) broadcast() {
	if w.wake != nil {
		w.wake.Broadcast()
	}
}

// openSlow returns the open run, opening one (in the slow world).
func (w *Writer) openSlow() *frameRun {
	if w.open == nil {
		if w.state.Load()&wWriting == 0 && w.spare != nil {
			w.open, w.spare = w.spare, nil
			w.clearBits(wHeld)
		} else {
			w.open = runPool.Get().(*frameRun)
		}
		w.setBits(wBuf)
	}
	return w.open
}

// queue encodes p into the open run (in the slow world).
func (w *Writer) queue(p []byte, copyAll bool) error {
	if err := w.encode(w.openSlow(), p, copyAll); err != nil {
		w.closeIfEmpty()
		return err
	}
	return nil
}

// closeIfEmpty closes an open run that a refused payload left empty (in
// the slow world). A caller waiting for its generation (its frame encoded
// to no bytes) finds it written: see written.
func (w *Writer) closeIfEmpty() {
	b := w.open
	if b == nil || !b.empty() {
		return
	}
	w.open = nil
	w.clearBits(wBuf)
	if w.state.Load()&wWriting == 0 {
		w.keep(b)
		if w.spare != nil {
			w.setBits(wHeld)
		}
	} else {
		b.reset()
		runPool.Put(b)
	}
	w.broadcast()
}

// written reports whether the frames of generation gen have been handed to
// the destination (in the slow world).
func (w *Writer) written(gen uint32) bool {
	if int32(w.openGen-gen) > 0 {
		// Taken for writing: written unless that write is in progress
		// (after a write that held no generation, inflightGen may name
		// an older one: then this waits for that write to end, no more).
		return w.state.Load()&wWriting == 0 || w.inflightGen != gen
	}
	// Still open: written only if it holds nothing (a frame encoded to no
	// bytes, the rest refused) and was not dropped by a failure.
	return gen == w.openGen && w.open == nil && w.err == nil
}

// commit returns once generation gen has been written, or with the error
// that broke the Writer (in the slow world). It releases mu while it
// writes or waits: the goroutine that finds no write in progress writes
// the open run, whoever queued it; the others wait.
func (w *Writer) commit(gen uint32) error { return w.commitMode(gen, false) }

// commitMode is commit; asked, it never waits for a write in progress
// (another goroutine's, maybe blocked until the peer reads): it leaves
// flushAsked set for that write's goroutine and returns nil; nor does it
// write a run another goroutine waits in commit to write.
func (w *Writer) commitMode(gen uint32, asked bool) error {
	yielded, ended := false, false // ended: this goroutine ended a write
	if !asked && gen == w.openGen && w.open != nil {
		w.open.committed = true
	}
	for {
		s := w.state.Load()
		if w.written(gen) {
			// Done; but a goroutine that ended a write, or wrote on a
			// reader's behalf, writes what a reader asked for meanwhile,
			// unless another write is in progress (its end will).
			if !(ended || asked) || !w.mustFlush() || s&wWriting != 0 {
				if !w.mustFlush() {
					w.flushAsked = false
				}
				return nil
			}
		}
		if asked {
			if w.open != nil && w.open.committed {
				return nil // its committer writes it, clearing flushAsked
			}
			if s&wWriting != 0 {
				w.flushAsked = w.open != nil
				return nil
			}
		}
		if w.err != nil {
			if s&wWriting != 0 {
				// Broken from outside (Detach) while a run, maybe holding
				// this caller's frame, is still being written: its memory
				// may be in use until that write ends.
				w.wait()
				continue
			}
			return w.err
		}
		if s&wWriting == 0 && w.open != nil {
			if w.callers > 1 && !yielded {
				// Others are writing too: let runnable writers queue
				// their frames before this run is taken, so that one
				// system call carries them all.
				yielded = true
				w.mu.Unlock()
				runtime.Gosched()
				w.mu.Lock()
				continue
			}
			b := w.open
			w.open = nil
			w.flushAsked = false
			w.inflightGen = w.openGen
			w.openGen++
			w.clearBits(wBuf)
			w.setBits(wWriting)
			w.mu.Unlock()
			err := w.writeRun(b)
			w.mu.Lock()
			if err != nil {
				_ = w.breakWith(err)
			}
			w.keep(b)
			if w.spare != nil {
				w.setBits(wHeld)
			}
			w.clearBits(wWriting)
			w.ends++
			ended = true
			w.broadcast()
			continue
		}
		w.wait()
	}
}

// breakWith breaks the Writer after a failed write (under mu): the open
// run will never be written, and its callers are woken to return the
// error.
func (w *Writer) breakWith(err error) error {
	if w.err == nil {
		w.err = &WriterBrokenError{Err: err}
		w.setBits(wBroken)
	}
	w.dropOpen()
	return w.err
}

// stop breaks the Writer with err (Detach): it waits for a write in
// progress to end and drops the frames not yet written, so that nothing is
// written and no caller's memory is referenced after it returns.
func (w *Writer) stop(err error) {
	w.enter()
	defer w.leave()
	if w.err == nil {
		w.err = err
		w.setBits(wBroken)
	}
	for w.state.Load()&wWriting != 0 {
		w.wait()
	}
	w.dropOpen()
	w.dropSpare()
}

// dropOpen drops the open run (under mu, the Writer broken).
func (w *Writer) dropOpen() {
	if b := w.open; b != nil {
		w.open = nil
		w.clearBits(wBuf)
		b.reset()
		runPool.Put(b)
		w.broadcast()
	}
}

// dropSpare gives the spare run back to the pool (in the slow world, no
// write in progress).
func (w *Writer) dropSpare() {
	if b := w.spare; b != nil {
		w.spare = nil
		w.clearBits(wHeld)
		runPool.Put(b)
	}
}

// idle is called by a Conn before its reading side reads from the network:
// it writes the frames still buffered (a failure breaks the Writer, and
// the next write call returns it) and gives the spare run back. It never
// waits for a write in progress: that write may be blocked until the peer
// reads, and the peer may be waiting, in its own idle, for this side to
// read (both sides writing large frames: a deadlock). The goroutine
// writing then writes the buffered frames when its write ends.
func (w *Writer) idle() {
	s := w.state.Load()
	if s&wBuf != 0 {
		w.flushForRead()
		s = w.state.Load()
	}
	if s == wHeld {
		w.releaseSpare()
	}
}

// releaseSpare gives the spare run back to the pool if the Writer is idle.
func (w *Writer) releaseSpare() {
	if w.state.CompareAndSwap(wHeld, wBusy) {
		b := w.spare
		w.spare = nil
		runPool.Put(b)
		w.move(wBusy, 0)
	}
}

// writeRun sends a run with as few write calls as the destination allows:
// one vectored write, or one Write per run of copied bytes and per payload
// referenced in place.
func (w *Writer) writeRun(b *frameRun) error {
	if len(b.segs) == 0 {
		if len(b.buf) == 0 {
			return nil // frames of no bytes
		}
		return w.writeAll(b.buf)
	}
	if len(b.buf) > b.mark {
		b.segs = append(b.segs, segment{off: b.mark, end: len(b.buf)})
		b.mark = len(b.buf)
	}
	b.iov = b.iov[:0]
	var total int64
	for _, s := range b.segs {
		p := s.bytes(b.buf)
		b.iov = append(b.iov, p)
		total += int64(len(p))
	}
	// Vectored writes consume the slice they are given: hand them a copy
	// of the header so that b.iov keeps its capacity for the next run.
	b.wv = b.iov
	var n int64
	var err error
	switch d := w.w.(type) {
	case BuffersWriter:
		n, err = d.WriteBuffers(&b.wv)
	case *net.TCPConn:
		n, err = b.wv.WriteTo(d)
	case *net.UnixConn:
		n, err = b.wv.WriteTo(d)
	default:
		for _, s := range b.segs {
			if err := w.writeAll(s.bytes(b.buf)); err != nil {
				return err
			}
		}
		return nil
	}
	if err == nil && n != total {
		err = io.ErrShortWrite
	}
	return err
}

func (w *Writer) writeAll(p []byte) error {
	n, err := w.w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// addExt appends p to the run by reference: it is written from the
// caller's memory, after the bytes copied into buf so far.
func (b *frameRun) addExt(p []byte) {
	if len(b.buf) > b.mark {
		b.segs = append(b.segs, segment{off: b.mark, end: len(b.buf)})
	}
	b.segs = append(b.segs, segment{ext: p})
	b.mark = len(b.buf)
}

func (b *frameRun) empty() bool { return len(b.buf) == 0 && len(b.segs) == 0 }

// truncate takes the run back to an earlier length.
func (b *frameRun) truncate(bufLen, segLen, mark int) {
	b.buf = b.buf[:bufLen]
	clear(b.segs[segLen:])
	b.segs = b.segs[:segLen]
	b.mark = mark
}

func (s segment) bytes(buf []byte) []byte {
	if s.ext != nil {
		return s.ext
	}
	return buf[s.off:s.end]
}

// reset empties a run, dropping references to callers' payloads and an
// oversized buffer. It reports whether the run is worth keeping as a
// Writer's spare: its buffer is small and it referenced no payload (runs
// that did go back to the pool, so that an idle Writer holds little).
func (b *frameRun) reset() (small bool) {
	small = len(b.segs) == 0 && cap(b.buf) <= keepSpare
	if cap(b.buf) > keepRunBuf {
		b.buf = nil
	}
	b.buf = b.buf[:0]
	if len(b.segs) > 0 || b.wv != nil {
		clear(b.segs)
		b.segs = b.segs[:0]
		clear(b.iov[:cap(b.iov)])
		b.iov = b.iov[:0]
		b.wv = nil
	}
	b.mark = 0
	b.committed = false
	return small
}
