package goframeconn_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

var (
	be = binary.BigEndian
	le = binary.LittleEndian
)

// TestLengthFieldWire checks the bytes the conn writes against what
// goframe's (and Netty's LengthFieldPrepender's) rules give, and that the
// matching decoder configuration reads them back, one byte at a time.
func TestLengthFieldWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  goframeconn.EncoderConfig
		dec  goframeconn.DecoderConfig
		wire []byte // for the payload "hi"
	}{
		{"u8", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 1},
			goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 1, InitialBytesToStrip: 1},
			[]byte{2, 'h', 'i'}},
		{"u8 without a byte order", goframeconn.EncoderConfig{LengthFieldLength: 1},
			goframeconn.DecoderConfig{LengthFieldLength: 1, InitialBytesToStrip: 1},
			[]byte{2, 'h', 'i'}},
		{"u16 native", goframeconn.EncoderConfig{ByteOrder: binary.NativeEndian, LengthFieldLength: 2},
			goframeconn.DecoderConfig{ByteOrder: binary.NativeEndian, LengthFieldLength: 2, InitialBytesToStrip: 2},
			append(binary.NativeEndian.AppendUint16(nil, 2), 'h', 'i')},
		{"u16le includes", goframeconn.EncoderConfig{ByteOrder: le, LengthFieldLength: 2, LengthIncludesLengthFieldLength: true},
			goframeconn.DecoderConfig{ByteOrder: le, LengthFieldLength: 2, LengthAdjustment: -2, InitialBytesToStrip: 2},
			[]byte{4, 0, 'h', 'i'}},
		{"u16be adjusted", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 2, LengthAdjustment: 3},
			goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 2, LengthAdjustment: -3, InitialBytesToStrip: 2},
			[]byte{0, 5, 'h', 'i'}},
		{"u24be", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 3},
			goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 3, InitialBytesToStrip: 3},
			[]byte{0, 0, 2, 'h', 'i'}},
		{"u32be", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 4},
			goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 4, InitialBytesToStrip: 4},
			[]byte{0, 0, 0, 2, 'h', 'i'}},
		{"u64le includes adjusted", goframeconn.EncoderConfig{ByteOrder: le, LengthFieldLength: 8, LengthAdjustment: 1, LengthIncludesLengthFieldLength: true},
			goframeconn.DecoderConfig{ByteOrder: le, LengthFieldLength: 8, LengthAdjustment: -9, InitialBytesToStrip: 8},
			[]byte{11, 0, 0, 0, 0, 0, 0, 0, 'h', 'i'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(1)})
			w, err := goframeconn.NewLengthFieldBasedFrameConn(tc.enc, tc.dec, a)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.WriteFrame([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			raw := make([]byte, len(tc.wire))
			for n := 0; n < len(raw); {
				k, err := b.Read(raw[n:])
				if err != nil {
					t.Fatal(err)
				}
				n += k
			}
			if diff := cmp.Diff(tc.wire, raw); diff != "" {
				t.Fatalf("wire bytes (-want +got):\n%s", diff)
			}

			r, err := goframeconn.NewLengthFieldBasedFrameConn(tc.enc, tc.dec, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrame([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadFrame()
			if err != nil || string(got) != "hello" {
				t.Fatalf("ReadFrame = %q, %v; want \"hello\"", got, err)
			}
		})
	}
}

// TestSplitLayouts: goframe lets a conn write one layout and read another;
// here frames are written with a 4-byte prefix and read with the header kept.
func TestSplitLayouts(t *testing.T) {
	enc := goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 4}
	keep := goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 4}
	strip := goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 4, InitialBytesToStrip: 4}
	a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(3)})
	w, err := goframeconn.NewLengthFieldBasedFrameConn(enc, strip, a)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := goframeconn.NewLengthFieldBasedFrameConn(enc, keep, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0, 0, 0, 3, 'a', 'b', 'c'}, got); diff != "" {
		t.Fatalf("frame with its header (-want +got):\n%s", diff)
	}
	// The splitting codec still sends a large payload from the caller's
	// memory: it is a framing.WrapEncoder.
	codec, err := goframeconn.LengthField(enc, keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(framing.WrapEncoder); !ok {
		t.Fatalf("%T is not a framing.WrapEncoder", codec)
	}
}

// TestReadFrameOwned: goframe code keeps the frames it reads, so each must
// survive later reads.
func TestReadFrameOwned(t *testing.T) {
	a, b := fuzz.Pipe(nil)
	w := goframeconn.New(a, delimiter.Lines, nil)
	r := goframeconn.New(b, delimiter.Lines, nil)
	defer w.Close()
	payloads := [][]byte{[]byte("first"), {}, []byte("third")}
	for _, p := range payloads {
		if err := w.WriteFrame(p); err != nil {
			t.Fatal(err)
		}
	}
	var kept [][]byte
	for range payloads {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			t.Fatal("ReadFrame returned a nil frame without an error")
		}
		kept = append(kept, p)
	}
	if diff := cmp.Diff(payloads, kept); diff != "" {
		t.Fatalf("kept frames (-want +got):\n%s", diff)
	}
	if r.Conn() != b {
		t.Fatal("Conn does not return the underlying connection")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 4, InitialBytesToStrip: 4}
	for _, tc := range []struct {
		name string
		enc  goframeconn.EncoderConfig
		dec  goframeconn.DecoderConfig
	}{
		{"nil byte order", goframeconn.EncoderConfig{LengthFieldLength: 4}, ok},
		{"mixed byte order", goframeconn.EncoderConfig{ByteOrder: middleEndian{}, LengthFieldLength: 4}, ok},
		{"field of 5 bytes", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 5}, ok},
		{"decoder strips past the header", goframeconn.EncoderConfig{ByteOrder: be, LengthFieldLength: 4},
			goframeconn.DecoderConfig{ByteOrder: be, LengthFieldLength: 4, InitialBytesToStrip: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := fuzz.Pipe(nil)
			_, err := goframeconn.NewLengthFieldBasedFrameConn(tc.enc, tc.dec, a)
			var ce *framing.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *framing.ConfigError", err)
			}
		})
	}
}

// middleEndian is a binary.ByteOrder that is neither big- nor
// little-endian (the PDP-11's for 32 bits).
type middleEndian struct{}

func (middleEndian) Uint16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func (middleEndian) Uint32(b []byte) uint32 {
	return uint32(binary.LittleEndian.Uint16(b))<<16 | uint32(binary.LittleEndian.Uint16(b[2:]))
}
func (middleEndian) Uint64(b []byte) uint64       { return binary.LittleEndian.Uint64(b) }
func (middleEndian) PutUint16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
func (middleEndian) PutUint32(b []byte, v uint32) {
	binary.LittleEndian.PutUint16(b, uint16(v>>16))
	binary.LittleEndian.PutUint16(b[2:], uint16(v))
}
func (middleEndian) PutUint64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }
func (middleEndian) String() string               { return "middleEndian" }

func ExampleNewLengthFieldBasedFrameConn() {
	a, b := fuzz.Pipe(nil)
	enc := goframeconn.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4}
	dec := goframeconn.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4}
	w, _ := goframeconn.NewLengthFieldBasedFrameConn(enc, dec, a)
	r, _ := goframeconn.NewLengthFieldBasedFrameConn(enc, dec, b)
	w.WriteFrame([]byte("hello"))
	frame, _ := r.ReadFrame()
	fmt.Printf("%s\n", frame)
	// Output: hello
}
