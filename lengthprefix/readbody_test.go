package lengthprefix_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// Issue 16, defect 3: ReadBody with a payload that starts beyond the length
// field (Size 2, Adjust 2, Strip 4) failed with an untyped fatal error when
// the reads ended inside the header, and ignored UvarintStrict's "no
// longer than the limit needs" rule. ReadBody now consumes the frame the
// decoder located, as every other read path does.
func TestReadBodyAgreesWithReadFrame(t *testing.T) {
	dec, err := lengthprefix.NewDecoder(lengthprefix.Config{Size: 2, Adjust: 2, Strip: 4})
	if err != nil {
		t.Fatal(err)
	}
	stream := []byte{0x00, 0x03, 0xAA, 0xBB, 1, 2, 3, 0x00, 0x00, 0xCC, 0xDD}
	for _, oneByte := range []bool{false, true} {
		var src io.Reader = bytes.NewReader(stream)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		r := framing.NewReader(src, dec, nil)
		for _, want := range [][]byte{{1, 2, 3}, {}} {
			size, body, err := r.ReadBody()
			if err != nil || size != int64(len(want)) {
				t.Fatalf("one byte at a time %v: ReadBody = %d, %v", oneByte, size, err)
			}
			if got, err := io.ReadAll(body); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("one byte at a time %v: body %x, %v; want %x", oneByte, got, err, want)
			}
		}
		if _, _, err := r.ReadBody(); err != io.EOF {
			t.Fatalf("one byte at a time %v: at the end %v", oneByte, err)
		}
	}

	// UvarintStrict under a 193-byte limit: d2 b0 is already longer than
	// any length up to 193 needs, for every read path.
	opts := &framing.Options{MaxFrameSize: 193}
	for name, read := range map[string]func(*framing.Reader) error{
		"ReadFrame": func(r *framing.Reader) error { _, err := r.ReadFrame(); return err },
		"ReadBody":  func(r *framing.Reader) error { _, _, err := r.ReadBody(); return err },
	} {
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader([]byte{0xd2, 0xb0})
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			err := read(framing.NewReader(src, lengthprefix.UvarintStrict, opts))
			if !errors.Is(err, framing.ErrCorrupt) {
				t.Errorf("%s, one byte at a time %v: %v, want a corrupt varint", name, oneByte, err)
			}
		}
	}
}
