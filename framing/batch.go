package framing

// A Batch encodes frames for one goroutine into a buffer of its own,
// without taking the Writer's lock for each frame, and hands them to the
// Writer as one block: when 64 KiB are buffered, and on Flush. The block
// goes out in one write (with the Writer's other frames when they are
// combined), never interleaved with frames of other goroutines.
//
// A Batch is for a goroutine that writes many small frames in a row (a
// producer, a pipeline): a Writer's BufferFrame does the same job safely
// for any number of goroutines, at the cost of a lock per frame, which for
// small frames is most of the cost. Only one goroutine may use a Batch at a
// time; other goroutines may use the Writer meanwhile.
//
// The Writer's errors (a broken Writer, a write error) are returned by the
// call that hands frames over: Flush, or BufferFrame when the buffer fills.
// The frames of a block that could not be written are lost with it, as
// with the Writer's own buffer.
type Batch struct {
	w      *Writer
	buf    []byte
	frames int64 // frames in buf, for the Writer's Stats
	bytes  int64 // their payload bytes
}

// NewBatch returns a Batch that writes through w.
func (w *Writer) NewBatch() *Batch {
	return &Batch{w: w}
}

// BufferFrame encodes p into the Batch's buffer; p may be reused as soon as
// it returns. A payload the encoder cannot represent is refused with a
// *PayloadError and nothing is buffered. When the buffer reaches 64 KiB it
// is handed to the Writer, and BufferFrame blocks until it was written. A
// payload of 64 KiB or more is not copied: the frames buffered before it
// are handed over, then it is written with the Writer's WriteFrame.
func (b *Batch) BufferFrame(p []byte) error {
	if len(p) >= flushAt {
		if err := b.Flush(); err != nil {
			return err
		}
		return b.w.WriteFrame(p)
	}
	out, err := b.w.enc.AppendFrame(b.buf, p)
	if err != nil {
		return err
	}
	b.buf = out
	b.frames++
	b.bytes += int64(len(p))
	if len(b.buf) >= flushAt {
		return b.Flush()
	}
	return nil
}

// Flush hands the buffered frames to the Writer and returns once they were
// written, or with the error.
func (b *Batch) Flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	err := b.w.writeBlock(b.buf, b.frames, b.bytes)
	b.frames, b.bytes = 0, 0
	b.buf = b.buf[:0]
	if cap(b.buf) > keepRunBuf {
		b.buf = nil
	}
	return err
}

// Buffered returns the number of encoded bytes in the Batch's buffer.
func (b *Batch) Buffered() int { return len(b.buf) }
