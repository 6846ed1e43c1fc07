package framing

import (
	"bytes"
	"encoding/binary"
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
		dst := make([]byte, 0, 2<<20) // reused: the direct path needs its room
		for i, want := range frames {
			var err error
			dst, err = r.ReadFrameInto(dst[:0])
			if err != nil || !bytes.Equal(dst, want) {
				t.Fatalf("chunks of %d, frame %d: %d bytes, %v", chunk, i, len(dst), err)
			}
			if len(r.e.buf) >= directMin {
				t.Fatalf("chunks of %d, frame %d: the Reader's buffer grew to %d", chunk, i, len(r.e.buf))
			}
		}
		if _, err := r.ReadFrameInto(nil); err != io.EOF {
			t.Fatalf("chunks of %d: at the end %v", chunk, err)
		}
		if r.e.consumed != int64(len(stream)) {
			t.Fatalf("chunks of %d: offset %d, stream %d", chunk, r.e.consumed, len(stream))
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
		prefix := append(make([]byte, 0, 300000), "keep:"...)
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
	_, err := r.ReadFrameInto(make([]byte, 0, 300000))
	var ue *UnexpectedEOFError
	if !errors.As(err, &ue) || ue.Missing != int64(len(frame)-150000) || ue.Buffered != 150000 {
		t.Fatalf("got %v (%+v)", err, ue)
	}
}

// The last bytes of a large frame arrive with an error: the frame is
// returned, as ReadFrame returns it, and the error comes with the next
// call. (Found by review: the direct path reported the error first.)
func TestReadFrameIntoLastBytesWithError(t *testing.T) {
	payload := bytes.Repeat([]byte{'p'}, 100<<10)
	wire := encodeAll(t, u32{}, [][]byte{payload})
	reset := errors.New("connection reset")
	for _, tc := range []struct {
		err, next error
	}{{io.EOF, io.EOF}, {timeoutErr{}, timeoutErr{}}, {reset, reset}} {
		for _, room := range []int{0, 200 << 10} {
			r := NewReader(&dataThenErr{data: wire, err: tc.err}, u32{}, nil)
			f, err := r.ReadFrameInto(make([]byte, 0, room))
			if err != nil || !bytes.Equal(f, payload) {
				t.Fatalf("%v, dst room %d: %d bytes, %v", tc.err, room, len(f), err)
			}
			if _, err := r.ReadFrameInto(nil); err != tc.next {
				t.Fatalf("%v, dst room %d: next call %v", tc.err, room, err)
			}
		}
	}
}

// A bare header declaring a frame just under the limit, then nothing:
// ReadFrameInto allocates nothing for the declared size, whatever dst.
func TestReadFrameIntoHostileHeaderAllocatesLittle(t *testing.T) {
	hdr := binary.BigEndian.AppendUint32(nil, DefaultMaxFrameSize-16)
	for _, dst := range [][]byte{nil, make([]byte, 0, 100)} {
		n := allocatedBytes(func() {
			r := NewReader(&stallReader{data: bytes.Clone(hdr)}, u32{}, nil)
			if _, err := r.ReadFrameInto(dst); Classify(err) != Temporary {
				t.Fatalf("got %v, want a timeout", err)
			}
		})
		if n > 64<<10 {
			t.Fatalf("dst cap %d: %d bytes allocated for a 4-byte header", cap(dst), n)
		}
	}
}
