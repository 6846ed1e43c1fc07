package framing

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
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
	// keepBatchBuf is the largest batch buffer kept for reuse.
	keepBatchBuf = 1 << 20
)

// A Writer writes frames to an io.Writer with an Encoder.
//
// Any number of goroutines may call its methods at once. Frames written
// concurrently never interleave, and are group-committed: while one
// goroutine's write is in the kernel, frames from the others queue up, and
// the next write sends all of them in one vectored write.
//
// A write that fails (a deadline, a reset) may have sent part of a frame,
// so it breaks the Writer: every later call returns a *WriterBrokenError.
type Writer struct {
	w    io.Writer
	enc  Encoder
	wenc WrapEncoder // enc, when it is one

	mu       sync.Mutex
	open     *batch // frames queued and not yet taken by a writing goroutine
	inflight *batch // the batch being written, generation openGen-1
	openGen  uint64 // generation of the open batch; batches are numbered from 1
	doneGen  uint64 // every batch up to this generation has been written
	err      error  // sticky *WriterBrokenError
	stats    *Stats // optional counters
	callers  int32  // goroutines waiting for their frames to be written
	writing  bool   // a goroutine is writing a batch
}

// A batch is a run of encoded frames: bytes copied into buf, plus large
// payloads referenced in place.
type batch struct {
	// done is where the callers whose frames are in the batch wait, with
	// the Writer's mutex: they are woken when it has been written (or
	// dropped), and one of them is woken earlier to write it.
	done    sync.Cond
	waiters int  // goroutines inside done.Wait
	retired bool // written or dropped while waiters were inside done.Wait
	buf     []byte
	segs    []segment // set once a payload is referenced in place
	mark    int       // start of the part of buf not yet in segs
	iov     net.Buffers
	wv      net.Buffers // what a vectored write consumes
}

// A segment is either buf[off:end] or ext.
type segment struct {
	ext      []byte
	off, end int
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// NewWriter returns a Writer that writes frames to w with enc.
func NewWriter(w io.Writer, enc Encoder) *Writer {
	wr := &Writer{}
	wr.init(w, enc)
	return wr
}

func (w *Writer) init(dst io.Writer, enc Encoder) {
	w.w = dst
	w.enc = enc
	w.wenc, _ = enc.(WrapEncoder)
	w.openGen = 1
}

// WriteFrame writes p as one frame, together with any frames buffered or
// queued by other goroutines, and returns once its frame was handed to the
// destination, or with the error. A payload the encoder cannot represent is
// refused with a *PayloadError and nothing is written. p is not modified
// and not retained after WriteFrame returns.
func (w *Writer) WriteFrame(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
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
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if len(ps) == 0 {
		return nil
	}
	b := w.openBatch()
	bufLen, segLen, mark := len(b.buf), len(b.segs), b.mark
	for _, p := range ps {
		if err := w.queue(p, false); err != nil {
			w.rollback(bufLen, segLen, mark)
			return err
		}
	}
	return w.commit(w.openGen)
}

// BufferFrame encodes p into the Writer's buffer without writing it; p may
// be reused as soon as it returns. Buffered frames go out with the next
// Flush or WriteFrame, or when the buffer reaches 64 KiB (then BufferFrame
// writes, and blocks like WriteFrame). A payload of 64 KiB or more is not
// copied: it goes out at once, after the frames buffered before it, in one
// vectored write.
func (w *Writer) BufferFrame(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
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
	w.mu.Lock()
	defer w.mu.Unlock()
	gen := w.openGen
	if w.open == nil {
		gen-- // nothing open: wait for the batch being written, if any
	}
	return w.commit(gen)
}

// Buffered returns the number of encoded bytes waiting to be written.
func (w *Writer) Buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.open == nil {
		return 0
	}
	n := len(w.open.buf)
	for _, s := range w.open.segs {
		n += len(s.ext)
	}
	return n
}

func (w *Writer) openBatch() *batch {
	if w.open == nil {
		w.open = batchPool.Get().(*batch)
		w.open.done.L = &w.mu
	}
	return w.open
}

// queue encodes p into the open batch; on error the batch is as before.
func (w *Writer) queue(p []byte, copyAll bool) error {
	b := w.openBatch()
	bufLen, segLen, mark := len(b.buf), len(b.segs), b.mark
	if w.wenc == nil {
		out, err := w.enc.AppendFrame(b.buf, p)
		if err != nil {
			w.rollback(bufLen, segLen, mark)
			return err
		}
		b.buf = out
		w.count(p)
		return nil
	}
	out, skip, err := w.wenc.AppendHeader(b.buf, p)
	if err != nil {
		w.rollback(bufLen, segLen, mark)
		return err
	}
	b.buf = out
	body := p[skip:]
	if len(body) < copyBelow || copyAll {
		b.buf = append(b.buf, body...)
	} else {
		b.addExt(body)
	}
	b.buf = w.wenc.AppendTrailer(b.buf, p)
	w.count(p)
	return nil
}

// addExt appends p to the batch by reference: it is written from the
// caller's memory, after the bytes copied into buf so far.
func (b *batch) addExt(p []byte) {
	if len(b.buf) > b.mark {
		b.segs = append(b.segs, segment{off: b.mark, end: len(b.buf)})
	}
	b.segs = append(b.segs, segment{ext: p})
	b.mark = len(b.buf)
}

// writeBlock writes frames a Batch encoded, after the frames queued before
// them, from the Batch's memory (it reuses it only once this returns), and
// counts them.
func (w *Writer) writeBlock(enc []byte, frames, bytes int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.openBatch().addExt(enc)
	if w.stats != nil {
		w.stats.FramesWritten.Add(frames)
		w.stats.BytesWritten.Add(bytes)
	}
	return w.commit(w.openGen)
}

func (w *Writer) count(p []byte) {
	if w.stats != nil {
		w.stats.FramesWritten.Add(1)
		w.stats.BytesWritten.Add(int64(len(p)))
	}
}

// SetStats makes the Writer count the frames it accepts (and their payload
// bytes) in s; nil stops counting. A Conn does this with Options.Stats.
func (w *Writer) SetStats(s *Stats) {
	w.mu.Lock()
	w.stats = s
	w.mu.Unlock()
}

// errWriterState reports a Writer found waiting for a batch that neither is
// open nor being written: it cannot happen.
var errWriterState = errors.New("framing: internal error: writer waits for no batch")

// stop breaks the Writer with err (Detach): it waits for a write in
// progress to end and drops the frames not yet written, so that nothing is
// written and no caller's memory is referenced after it returns.
func (w *Writer) stop(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
	for w.writing {
		w.wait(w.inflight)
	}
	w.dropOpen()
}

// dropOpen drops the open batch, which will never be written (the Writer
// is broken): its callers are woken to return the error, and the
// references to their payloads are dropped now.
func (w *Writer) dropOpen() {
	if b := w.open; b != nil {
		w.open = nil
		b.done.Broadcast()
		w.retire(b)
	}
}

// wait waits on b.done. b goes back to the pool only once every goroutine
// woken from its Wait has come out of it: Wait takes done.L again on its
// way out, and a batch taken from the pool by another Writer would by then
// point it at that Writer's mutex.
func (w *Writer) wait(b *batch) {
	b.waiters++
	b.done.Wait()
	b.waiters--
	if b.retired && b.waiters == 0 {
		b.retired = false
		batchPool.Put(b)
	}
}

// retire empties a batch that was written or dropped (its callers woken)
// and gives it back to the pool, or leaves that to the last goroutine to
// come out of its Wait.
func (w *Writer) retire(b *batch) {
	b.reset()
	if b.waiters > 0 {
		b.retired = true
		return
	}
	batchPool.Put(b)
}

func (w *Writer) rollback(bufLen, segLen, mark int) {
	b := w.open
	if b == nil {
		return // an inner rollback already emptied and released it
	}
	b.buf = b.buf[:bufLen]
	clear(b.segs[segLen:])
	b.segs = b.segs[:segLen]
	b.mark = mark
	if len(b.buf) == 0 && len(b.segs) == 0 && b.waiters == 0 {
		// Empty and nobody waits on it (a frame may encode to no bytes:
		// its caller waits on the batch, which then stays open).
		w.open = nil
		w.retire(b)
	}
}

// commit returns once batch gen has been written, or with the error that
// broke the Writer. It is called with w.mu held and may release it while
// writing: the goroutine that finds no write in progress writes the open
// batch, whoever queued it; the others wait.
func (w *Writer) commit(gen uint64) error {
	w.callers++
	defer func() { w.callers-- }()
	yielded := false
	for {
		if w.doneGen >= gen {
			return nil
		}
		if w.err != nil {
			if w.writing {
				// Broken from outside (Detach) while a batch, maybe
				// holding this caller's frame, is still being written:
				// its memory may be in use until that write ends.
				w.wait(w.inflight)
				continue
			}
			return w.err
		}
		if !w.writing && w.open != nil {
			if w.callers > 1 && !yielded {
				// Others are writing too: let runnable writers queue
				// their frames before this batch is taken, so that one
				// system call carries them all.
				yielded = true
				w.mu.Unlock()
				runtime.Gosched()
				w.mu.Lock()
				continue
			}
			b, g := w.open, w.openGen
			w.open = nil
			w.openGen++
			w.writing = true
			w.inflight = b
			w.mu.Unlock()
			err := w.writeBatch(b)
			w.mu.Lock()
			w.writing = false
			w.inflight = nil
			if err != nil {
				w.err = &WriterBrokenError{Err: err}
				w.dropOpen()
			} else {
				w.doneGen = g
				if w.open != nil {
					// The frames queued meanwhile: one of their callers
					// writes them (only the callers of a batch are woken,
					// not every waiting goroutine).
					w.open.done.Signal()
				}
			}
			b.done.Broadcast()
			w.retire(b)
			continue
		}
		// Wait on the batch that holds gen: the open one, or the one
		// being written (a Flush with nothing open). Nothing else is
		// pending here: no write in progress and nothing open means gen
		// was written, and a broken Writer returned above.
		switch {
		case gen == w.openGen && w.open != nil:
			w.wait(w.open)
		case w.inflight != nil:
			w.wait(w.inflight)
		default:
			return errWriterState
		}
	}
}

// writeBatch sends a batch with as few write calls as the destination
// allows: one vectored write, or one Write per run of copied bytes and per
// payload referenced in place.
func (w *Writer) writeBatch(b *batch) error {
	if len(b.segs) == 0 {
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
	// of the header so that b.iov keeps its capacity for the next batch.
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

func (s segment) bytes(buf []byte) []byte {
	if s.ext != nil {
		return s.ext
	}
	return buf[s.off:s.end]
}

// reset empties a written batch, dropping references to callers' payloads
// and an oversized buffer.
func (b *batch) reset() {
	if cap(b.buf) > keepBatchBuf {
		b.buf = nil
	}
	b.buf = b.buf[:0]
	clear(b.segs)
	b.segs = b.segs[:0]
	clear(b.iov[:cap(b.iov)])
	b.iov = b.iov[:0]
	b.wv = nil
	b.mark = 0
}
