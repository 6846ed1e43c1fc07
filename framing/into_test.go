package framing

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// ReadFrameInto reads large frames straight into the caller's buffer: the
// frames are right, in order with small ones, and the Reader's buffer
// never grows to a large frame's size.
func TestReadFrameIntoLargeFramesDirect(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var frames [][]byte
	for i := 0; i < 12; i++ {
		n := 10
		if i%3 != 2 {
			n = directMin + rng.Intn(1<<20)
		}
		f := make([]byte, n)
		rng.Read(f)
		frames = append(frames, f)
	}
	stream := encodeAll(t, u32{}, frames)
	for _, chunk := range []int{7, 1000, 1 << 20} {
		r := NewReader(fixedChunks(stream, chunk), u32{}, nil)
		var dst []byte
		for i, want := range frames {
			var err error
			dst, err = r.ReadFrameInto(dst[:0])
			if err != nil || !bytes.Equal(dst, want) {
				t.Fatalf("chunks of %d, frame %d: %d bytes, %v", chunk, i, len(dst), err)
			}
			if len(r.buf) >= directMin {
				t.Fatalf("chunks of %d, frame %d: the Reader's buffer grew to %d", chunk, i, len(r.buf))
			}
		}
		if _, err := r.ReadFrameInto(nil); err != io.EOF {
			t.Fatalf("chunks of %d: at the end %v", chunk, err)
		}
		if r.consumed != int64(len(stream)) {
			t.Fatalf("chunks of %d: offset %d, stream %d", chunk, r.consumed, len(stream))
		}
	}
}

// A deadline in the middle of a frame read straight into dst: the call
// fails with the Temporary error, the next one resumes the frame (with a
// different dst, even), and dst is returned unchanged on error.
func TestReadFrameIntoDirectResumes(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789"), 20000)
	frame := encodeAll(t, u32{}, [][]byte{payload, []byte("next")})
	for _, cut := range []int{100, 150000, 4 + len(payload) - 1} {
		src := &stallReader{data: frame[:cut]}
		r := NewReader(src, u32{}, nil)
		prefix := []byte("keep:")
		got, err := r.ReadFrameInto(prefix)
		if Classify(err) != Temporary || !bytes.Equal(got, prefix) {
			t.Fatalf("cut %d: %q..., %v", cut, got[:min(len(got), 10)], err)
		}
		src.data = frame[cut:]
		got, err = r.ReadFrameInto(prefix)
		if err != nil || !bytes.Equal(got, append(prefix, payload...)) {
			t.Fatalf("cut %d: resumed frame wrong: %d bytes, %v", cut, len(got), err)
		}
		if f, err := r.ReadFrame(); err != nil || string(f) != "next" {
			t.Fatalf("cut %d: next frame %q, %v", cut, f, err)
		}
	}
}

// A stream that ends inside a frame read straight into dst is an
// *UnexpectedEOFError that counts the missing bytes.
func TestReadFrameIntoDirectTruncated(t *testing.T) {
	frame := encodeAll(t, u32{}, [][]byte{make([]byte, 200000)})
	r := NewReader(fixedChunks(frame[:150000], 4096), u32{}, nil)
	_, err := r.ReadFrameInto(nil)
	var ue *UnexpectedEOFError
	if !errors.As(err, &ue) || ue.Missing != int64(len(frame)-150000) || ue.Buffered != 150000 {
		t.Fatalf("got %v (%+v)", err, ue)
	}
}
