package goframeconn_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/framekit/framekit/framing"
)

// Issue 16: the split codec (encoder with Strip 4, decoder with Strip 0)
// embedded the encoder's DecodeHeader, so ReadFrame gave the frame with its
// header (102,404 bytes) and ReadFrameInto and ReadBody without it
// (102,400). Every read path now asks the decoder alone.
func TestSplitCodecSameFrameOnEveryPath(t *testing.T) {
	codec, err := goframeconn.LengthField(
		goframeconn.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
		goframeconn.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 0})
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("p"), 100<<10)
	stream, err := codec.AppendFrame(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	want := len(payload) + 4 // the decoder keeps the header
	for name, read := range map[string]func(r *framing.Reader) ([]byte, error){
		"ReadFrame":              func(r *framing.Reader) ([]byte, error) { return r.ReadFrame() },
		"ReadFrameInto, no room": func(r *framing.Reader) ([]byte, error) { return r.ReadFrameInto(nil) },
		"ReadFrameInto, room": func(r *framing.Reader) ([]byte, error) {
			return r.ReadFrameInto(make([]byte, 0, 1<<20))
		},
		"ReadFrameOwned": func(r *framing.Reader) ([]byte, error) { return r.ReadFrameOwned() },
		"ReadBody": func(r *framing.Reader) ([]byte, error) {
			_, body, err := r.ReadBody()
			if err != nil {
				return nil, err
			}
			return io.ReadAll(body)
		},
	} {
		for _, piece := range []int{1 << 20, 1500, 7} {
			r := framing.NewReader(&pieces{data: stream, n: piece}, codec, nil)
			f, err := read(r)
			if err != nil || len(f) != want || !bytes.Equal(f[4:], payload) {
				t.Errorf("%s, pieces of %d: %d bytes, %v; want %d", name, piece, len(f), err, want)
			}
		}
	}
}

type pieces struct {
	data []byte
	n    int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), p.n)], p.data)
	p.data = p.data[k:]
	return k, nil
}
