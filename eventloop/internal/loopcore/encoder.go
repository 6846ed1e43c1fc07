package loopcore

import (
	"bytes"
	"sync"
	"unsafe"

	"github.com/framekit/framekit/framing"
)

// Encoder frames payloads for writing, and counts them in Stats.
type Encoder struct {
	codec framing.Codec
	wrap  framing.WrapEncoder // nil if the codec's framing is not a header and trailer
	stats *framing.Stats
}

// Scratch is a write's header and trailer and its vector, pooled so that
// a write allocates nothing.
type Scratch struct {
	b   []byte
	iov [3][]byte
}

var scratches = sync.Pool{New: func() any { return &Scratch{b: make([]byte, 0, 64)} }}

// NewScratch returns a Scratch from a pool; Free gives it back.
func NewScratch() *Scratch { return scratches.Get().(*Scratch) }

// Free gives s back to the pool, once the vector Encode returned is
// written.
func (s *Scratch) Free() {
	s.iov = [3][]byte{}
	scratches.Put(s)
}

// Encode frames p into s: header, payload (not copied) and trailer for a
// WrapEncoder (an empty trailer left out), else the whole frame as one
// buffer (it has one buffer exactly when the whole frame is in it).
func (e *Encoder) Encode(s *Scratch, p []byte) ([][]byte, error) {
	if e.wrap == nil {
		b, err := e.codec.AppendFrame(s.b[:0], p)
		if err != nil {
			return nil, err
		}
		s.b = b
		s.iov[0] = b
		return s.iov[:1], nil
	}
	hdr, skip, err := e.wrap.AppendHeader(s.b[:0], p)
	if err != nil {
		return nil, err
	}
	n := len(hdr)
	b := e.wrap.AppendTrailer(hdr, p)
	s.b = b
	s.iov[0], s.iov[1], s.iov[2] = b[:n:n], p[skip:], b[n:]
	if n == len(b) {
		return s.iov[:2], nil
	}
	return s.iov[:], nil
}

// InPlace returns p's frame as it lies in data, when p lies in data with
// the header before it and the trailer after it exactly as the codec
// encodes them (a frame passed on as it came): a caller can then write
// those bytes instead of encoding it. ok is false otherwise, and for a
// codec that is not a header and trailer; err is the codec's refusal of
// p. s is scratch space.
func (e *Encoder) InPlace(s *Scratch, p, data []byte) (frame []byte, ok bool, err error) {
	if e.wrap == nil || !Within(p, data) {
		return nil, false, nil
	}
	s.b, _, _, frame, ok, err = e.around(s.b[:0], p, data)
	return frame, ok, err
}

// around appends p's header and trailer to dst (b; h is the header's
// length, skip as AppendHeader returned) and looks for p's frame as so
// encoded around p in data (frame, ok). p must lie in data and e be a
// WrapEncoder's.
func (e *Encoder) around(dst, p, data []byte) (b []byte, skip, h int, frame []byte, ok bool, err error) {
	b, skip, err = e.wrap.AppendHeader(dst, p)
	if err != nil {
		return dst, 0, 0, nil, false, err
	}
	h = len(b) - len(dst)
	b = e.wrap.AppendTrailer(b, p)
	frame, ok = placed(data, offset(p, data), p, skip, b[len(dst):], h)
	return b, skip, h, frame, ok, nil
}

// placed returns p's frame in data if it is there as encoded: at is where
// p begins in data, enc the frame's header (h bytes) and trailer, skip as
// AppendHeader returned.
func placed(data []byte, at int, p []byte, skip int, enc []byte, h int) ([]byte, bool) {
	lo, hi := at+skip-h, at+len(p)+len(enc)-h
	if lo < 0 || hi > len(data) ||
		!bytes.Equal(data[lo:lo+h], enc[:h]) || !bytes.Equal(data[hi-(len(enc)-h):hi], enc[h:]) {
		return nil, false
	}
	return data[lo:hi], true
}

// Wrote counts a frame written with payload p in Stats.
func (e *Encoder) Wrote(p []byte) {
	if e.stats != nil {
		e.stats.FramesWritten.Add(1)
		e.stats.BytesWritten.Add(int64(len(p)))
	}
}

// Within reports whether p lies inside buf (so that it lives as long).
func Within(p, buf []byte) bool {
	if len(p) == 0 || len(buf) == 0 {
		return false
	}
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return a >= b && a+uintptr(len(p)) <= b+uintptr(len(buf))
}

// offset returns where p begins in buf; Within(p, buf) must hold.
func offset(p, buf []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(p))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
}
