package loopcore

import (
	"sync"
	"unsafe"
)

const (
	// copyBelow is the payload size under which a buffered frame's
	// payload is copied into the batch; larger payloads are referenced
	// and go out from where they are.
	copyBelow = 2 << 10
	// flushAt is the batch size (copied bytes or referenced payloads) at
	// which it is written before the round ends.
	flushAt = 64 << 10
	// MaxSegs bounds a vectored write's buffers (IOV_MAX is 1024).
	MaxSegs = 512
)

// Batch is the frames a round's callbacks buffered: headers, trailers and
// small payloads copied into b, larger payloads referenced (they are
// views valid until the round ends), written with one vectored write.
type Batch struct {
	b     []byte
	segs  []seg
	iov   [][]byte
	bytes int // payload bytes referenced
}

// seg is b[off:end], or p when p is set.
type seg struct {
	off, end int
	p        []byte
}

var batches = sync.Pool{New: func() any { return &Batch{b: make([]byte, 0, 4<<10)} }}

// NewBatch returns an empty Batch, from a pool.
func NewBatch() *Batch { return batches.Get().(*Batch) }

// Add appends p's frame. data is the bytes the round decoded (nil if
// none), unchanged until the batch is written. A payload under copyBelow
// bytes is copied (the caller may change it once Add returns); a larger
// one that lies in data is referenced, as the adapters document (it must
// stay unchanged until the round ends), and when its frame is already in
// data around it, as the codec would encode it (a frame passed on as it
// came), the whole frame is referenced, joined to the segment before it
// when that ends where it begins: a relay of large frames goes out from
// the round's bytes, copied by nobody.
func (t *Batch) Add(e *Encoder, p, data []byte) error {
	if e.wrap == nil || len(p) < copyBelow || !Within(p, data) {
		return t.copy(e, p)
	}
	mark := len(t.b)
	b, skip, h, f, ok, err := e.around(t.b, p, data)
	if err != nil {
		return err
	}
	if ok {
		t.b = b[:mark]
		t.ref(f)
		return nil
	}
	t.copied(b[:mark+h])
	t.ref(p[skip:])
	t.copied(b) // the trailer, after the header in t.b
	return nil
}

// copy appends p's frame, encoded, to t.b.
func (t *Batch) copy(e *Encoder, p []byte) error {
	b, err := e.codec.AppendFrame(t.b, p)
	if err != nil {
		return err
	}
	t.copied(b)
	return nil
}

// ref appends a segment that references p, joined to the segment before
// it when that is a reference ending where p begins in the same array.
func (t *Batch) ref(p []byte) {
	t.bytes += len(p)
	if n := len(t.segs); n > 0 && len(p) > 0 {
		if q := t.segs[n-1].p; q != nil && cap(q)-len(q) >= len(p) && unsafe.SliceData(q[len(q):cap(q)]) == unsafe.SliceData(p) {
			t.segs[n-1].p = q[:len(q)+len(p)]
			return
		}
	}
	t.segs = append(t.segs, seg{p: p})
}

// copied records that t.b grew to b.
func (t *Batch) copied(b []byte) {
	if len(b) == len(t.b) {
		t.b = b
		return
	}
	if n := len(t.segs); n > 0 && t.segs[n-1].p == nil && t.segs[n-1].end == len(t.b) {
		t.segs[n-1].end = len(b)
	} else {
		t.segs = append(t.segs, seg{off: len(t.b), end: len(b)})
	}
	t.b = b
}

// Full reports whether the batch should be written now.
func (t *Batch) Full() bool {
	return len(t.b)+t.bytes >= flushAt || len(t.segs) >= MaxSegs
}

// Send writes the batch with writev, in vectors of at most MaxSegs
// buffers, and gives it back.
func (t *Batch) Send(writev func([][]byte) (int, error)) error {
	t.iov = t.iov[:0]
	for _, s := range t.segs {
		if s.p != nil {
			t.iov = append(t.iov, s.p)
		} else {
			t.iov = append(t.iov, t.b[s.off:s.end])
		}
	}
	var err error
	for iov := t.iov; len(iov) > 0 && err == nil; {
		n := min(len(iov), MaxSegs)
		_, err = writev(iov[:n])
		iov = iov[n:]
	}
	t.free()
	return err
}

// free empties the batch and gives it back.
func (t *Batch) free() {
	clear(t.iov)
	clear(t.segs) // drop the references to payloads
	if cap(t.b) > 2*flushAt || cap(t.segs) > MaxSegs+8 {
		return
	}
	t.b, t.segs, t.iov, t.bytes = t.b[:0], t.segs[:0], t.iov[:0], 0
	batches.Put(t)
}
