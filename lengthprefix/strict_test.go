package lengthprefix

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

// TestStrictVarint: the strict decoder refuses non-minimal varints and
// varints longer than the limit needs, without waiting for their end; the
// lenient one reads them; the encoder is minimal either way.
func TestStrictVarint(t *testing.T) {
	cases := []struct {
		name   string
		in     []byte
		limit  int
		strict error // nil: a frame
	}{
		{"minimal", []byte{0x03, 'a', 'b', 'c'}, 100, nil},
		{"zero as two bytes", []byte{0x80, 0x00}, 100, framing.ErrCorrupt},
		{"three as three bytes", []byte{0x83, 0x80, 0x00, 'a', 'b', 'c'}, 100, framing.ErrCorrupt},
		{"3 bytes, over a limit that needs 3", []byte{0xff, 0xff, 0x7f}, 2<<20 - 2, framing.ErrFrameTooLarge},
		{"4 bytes under a 2 MiB limit", []byte{0x80, 0x80, 0x80, 0x01}, 2<<20 - 1, framing.ErrCorrupt},
		{"10-byte prefix under the default limit", bytes.Repeat([]byte{0xff}, 10), framing.DefaultMaxFrameSize, framing.ErrCorrupt},
	}
	for _, c := range cases {
		for _, strict := range []bool{false, true} {
			codec := Uvarint
			if strict {
				codec = UvarintStrict
			}
			// One byte at a time, with no end: a strict refusal must not
			// wait for bytes that would only make the prefix longer.
			a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(1)})
			a.Write(c.in)
			if c.strict == nil {
				a.CloseWrite()
			}
			r := framing.NewReader(b, codec, &framing.Options{MaxFrameSize: c.limit})
			done := make(chan error, 1)
			go func() { _, err := r.ReadFrame(); done <- err }()
			var err error
			if strict && c.strict != nil {
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					t.Fatalf("%s, strict: still waiting for bytes", c.name)
				}
				if !errors.Is(err, c.strict) {
					t.Errorf("%s, strict: %v, want %v", c.name, err, c.strict)
				}
			} else if !strict && c.strict == framing.ErrCorrupt && c.name != "10-byte prefix under the default limit" {
				// Lenient: a non-minimal or long varint is read like any
				// other; the stream then waits for the payload or ends.
				a.CloseWrite()
				err = <-done
				if errors.Is(err, framing.ErrCorrupt) {
					t.Errorf("%s, lenient: %v", c.name, err)
				}
			} else {
				a.CloseWrite()
				<-done
			}
			a.Close()
			b.Close()
		}
	}
	// The encoder writes minimal varints, strict or not.
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 20} {
		out, _ := UvarintStrict.AppendFrame(nil, make([]byte, n))
		if hdr := len(out) - n; hdr != varintLen(uint64(n)) {
			t.Errorf("length %d encoded in %d bytes, want %d", n, hdr, varintLen(uint64(n)))
		}
	}
}
