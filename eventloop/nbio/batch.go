package nbioframe

import (
	"sync"

	"github.com/framekit/framekit/framing"
)

const (
	// copyBelow is the payload size under which a buffered frame's
	// payload is copied into the batch; larger payloads are referenced
	// and go out from where they are.
	copyBelow = 2 << 10
	// flushAt is the batch size (copied bytes or referenced payloads) at
	// which it is written before the round ends.
	flushAt = 64 << 10
	// maxSegs bounds a vectored write's buffers (IOV_MAX is 1024).
	maxSegs = 512
)

// batch is the frames a round's callbacks buffered: headers, trailers and
// small payloads copied into b, larger payloads referenced (they are
// views valid until the round ends), written with one vectored write.
type batch struct {
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

var batches = sync.Pool{New: func() any { return &batch{b: make([]byte, 0, 4<<10)} }}

// add appends p's frame; ref says p may be referenced rather than copied.
func (t *batch) add(enc framing.Encoder, wenc framing.WrapEncoder, p []byte, ref bool) error {
	if wenc == nil || len(p) < copyBelow || !ref {
		b, err := enc.AppendFrame(t.b, p)
		if err != nil {
			return err
		}
		t.copied(b)
		return nil
	}
	b, skip, err := wenc.AppendHeader(t.b, p)
	if err != nil {
		return err
	}
	t.copied(b)
	t.segs = append(t.segs, seg{p: p[skip:]})
	t.bytes += len(p) - skip
	t.copied(wenc.AppendTrailer(t.b, p))
	return nil
}

// copied records that t.b grew to b.
func (t *batch) copied(b []byte) {
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

// full reports whether the batch should be written now.
func (t *batch) full() bool {
	return len(t.b)+t.bytes >= flushAt || len(t.segs) >= maxSegs
}

// vector returns the batch as buffers for one vectored write.
func (t *batch) vector() [][]byte {
	t.iov = t.iov[:0]
	for _, s := range t.segs {
		if s.p != nil {
			t.iov = append(t.iov, s.p)
		} else {
			t.iov = append(t.iov, t.b[s.off:s.end])
		}
	}
	return t.iov
}

// free empties the batch and gives it back.
func (t *batch) free() {
	clear(t.iov)
	clear(t.segs) // drop the references to payloads
	if cap(t.b) > 2*flushAt || cap(t.segs) > maxSegs+8 {
		return
	}
	t.b, t.segs, t.iov, t.bytes = t.b[:0], t.segs[:0], t.iov[:0], 0
	batches.Put(t)
}
