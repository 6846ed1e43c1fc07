package framing

import (
	"errors"
	"testing"
)

type dataThenErr struct {
	data []byte
	err  error
}

func (d *dataThenErr) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	if len(d.data) == 0 {
		return n, d.err
	}
	return n, nil
}

// io.Reader: "Callers should always process the n > 0 bytes returned before
// considering the error". Complete frames delivered with a reset are lost.
func TestFramesBeforeFatalReadErrorAreLost(t *testing.T) {
	stream := encodeAll(t, u32{}, [][]byte{[]byte("one"), []byte("two")})
	reset := errors.New("connection reset by peer")
	r := NewReader(&dataThenErr{data: stream, err: reset}, u32{}, nil)
	f, err := r.ReadFrame()
	if err != nil || string(f) != "one" {
		t.Fatalf("first frame: %q, %v (complete frame lost)", f, err)
	}
}
