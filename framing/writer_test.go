package framing

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// recorder records write calls; with vectored set it also implements
// BuffersWriter (see vecRecorder).
type recorder struct {
	calls int
	buf   bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.calls++
	return r.buf.Write(p)
}

type vecRecorder struct {
	recorder
	iovs [][]byte // the last vectored write's buffers
}

func (v *vecRecorder) WriteBuffers(b *net.Buffers) (int64, error) {
	v.calls++
	v.iovs = append(v.iovs[:0], *b...)
	var n int64
	for _, p := range *b {
		v.buf.Write(p)
		n += int64(len(p))
	}
	*b = nil
	return n, nil
}

func TestWriteFramesOneCall(t *testing.T) {
	var frames [][]byte
	for i := 0; i < 100; i++ {
		frames = append(frames, bytes.Repeat([]byte{byte(i)}, i))
	}
	var rec recorder
	w := NewWriter(&rec, u32{}, nil)
	if err := w.WriteFrames(frames); err != nil {
		t.Fatal(err)
	}
	if rec.calls != 1 {
		t.Fatalf("%d write calls, want 1", rec.calls)
	}
	if !bytes.Equal(rec.buf.Bytes(), encodeAll(t, u32{}, frames)) {
		t.Fatal("wrong bytes")
	}
}

func TestLargePayloadIsNotCopied(t *testing.T) {
	payload := make([]byte, 1<<20)
	var rec vecRecorder
	w := NewWriter(&rec, u32{}, nil)
	if err := w.WriteFrames([][]byte{[]byte("small"), payload, []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if rec.calls != 1 || len(rec.iovs) != 3 {
		t.Fatalf("%d calls, %d buffers; want 1 vectored write of 3", rec.calls, len(rec.iovs))
	}
	if &rec.iovs[1][0] != &payload[0] || len(rec.iovs[1]) != len(payload) {
		t.Fatal("the large payload was copied")
	}
	want := encodeAll(t, u32{}, [][]byte{[]byte("small"), payload, []byte("after")})
	if !bytes.Equal(rec.buf.Bytes(), want) {
		t.Fatal("wrong bytes")
	}
	// Without vectored writes: the payload still goes out from the caller's
	// memory, in order.
	var plain recorder
	w = NewWriter(&plain, u32{}, nil)
	if err := w.WriteFrames([][]byte{[]byte("small"), payload, []byte("after")}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.buf.Bytes(), want) || plain.calls != 3 {
		t.Fatalf("plain writer: %d calls", plain.calls)
	}
}

func TestUnrepresentablePayloadWritesNothing(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, nl{}, nil)
	err := w.WriteFrames([][]byte{[]byte("ok"), []byte("bad\nline")})
	var pe *PayloadError
	if !errors.As(err, &pe) || !errors.Is(err, ErrPayload) || Classify(err) != Rejected {
		t.Fatalf("got %v", err)
	}
	if rec.calls != 0 || w.Buffered() != 0 {
		t.Fatalf("something was written or kept: %d calls, %d buffered", rec.calls, w.Buffered())
	}
	if err := w.WriteFrame([]byte("fine")); err != nil {
		t.Fatal(err)
	}
	if rec.buf.String() != "fine\n" {
		t.Fatalf("got %q", rec.buf.String())
	}
}

func TestBufferedMode(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, u32{}, nil)
	payload := make([]byte, 16)
	const n = 20000 // 400,000 bytes of output
	for i := 0; i < n; i++ {
		if err := w.BufferFrame(payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if rec.buf.Len() != n*20 {
		t.Fatalf("%d bytes written", rec.buf.Len())
	}
	if max := n*20/flushAt + 1; rec.calls > max {
		t.Fatalf("%d write calls for %d bytes, want at most %d", rec.calls, rec.buf.Len(), max)
	}
	if err := w.Flush(); err != nil || rec.calls > n*20/flushAt+1 {
		t.Fatalf("empty flush: %v, %d calls", err, rec.calls)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errors.New("connection reset")
	}
	f.after -= len(p)
	return len(p), nil
}

func TestPartialWriteBreaksWriter(t *testing.T) {
	w := NewWriter(&failWriter{after: 30}, u32{}, nil)
	if err := w.WriteFrame(make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	err := w.WriteFrame(make([]byte, 20))
	if !errors.Is(err, ErrWriterBroken) {
		t.Fatalf("got %v", err)
	}
	for _, f := range []func() error{
		func() error { return w.WriteFrame(nil) },
		func() error { return w.WriteFrames([][]byte{{1}}) },
		func() error { return w.BufferFrame([]byte{1}) },
		w.Flush,
	} {
		if err := f(); !errors.Is(err, ErrWriterBroken) {
			t.Fatalf("after failure: %v", err)
		}
	}
}

func TestWritePathZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are checked without -race")
	}
	small := make([]byte, 256)
	large := make([]byte, 1<<20)
	var vec vecRecorder
	w := NewWriter(&vec, u32{}, nil)
	check := func(name string, f func()) {
		t.Helper()
		f() // warm up pools
		vec.buf.Reset()
		if a := testing.AllocsPerRun(100, func() { f(); vec.buf.Reset() }); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
	check("small", func() { _ = w.WriteFrame(small) })
	check("large", func() { _ = w.WriteFrame(large) })
	batch := [][]byte{small, small, small}
	check("batch", func() { _ = w.WriteFrames(batch) })
	check("buffered", func() { _ = w.BufferFrame(small); _ = w.Flush() })
}

// TestBufferFrameLargeGoesOutAtOnce: a payload of 64 KiB or more given to
// BufferFrame is not copied into the buffer but written at once, after the
// frames buffered before it.
func TestBufferFrameLargeGoesOutAtOnce(t *testing.T) {
	var dst bytes.Buffer
	w := NewWriter(&dst, u32{}, nil)
	if err := w.BufferFrame([]byte("small")); err != nil || dst.Len() != 0 {
		t.Fatalf("small frame: %v, %d bytes written before Flush", err, dst.Len())
	}
	large := bytes.Repeat([]byte{7}, 100<<10)
	if err := w.BufferFrame(large); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0, 0, 0, 5}, "small"...), append([]byte{0, 1, 0x90, 0}, large...)...)
	if !bytes.Equal(dst.Bytes(), want) || w.Buffered() != 0 {
		t.Fatalf("after a large BufferFrame: %d bytes written, %d buffered; want both frames written", dst.Len(), w.Buffered())
	}
	if raceEnabled {
		return // the race detector drops pooled batches at random
	}
	if n := testing.AllocsPerRun(20, func() { w.BufferFrame(large); dst.Reset() }); n != 0 {
		t.Fatalf("%v allocations per large BufferFrame", n)
	}
}
