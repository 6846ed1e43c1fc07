package lengthprefix

import (
	"bytes"
	"errors"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/google/go-cmp/cmp"
)

// TestHostileHeaders: headers a hostile peer can send that the other
// tests do not reach (varints past what the layout holds, a PostgreSQL
// startup of another protocol version) end the stream with a fatal
// *framing.CorruptError at the bad frame's offset, after every frame
// before it, however the stream is cut, and without holding the bytes the
// header claims.
func TestHostileHeaders(t *testing.T) {
	varint, err := NewDecoder(Config{Varint: true}) // up to 10 bytes, the length then the frame
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		dec    framing.Decoder
		good   string // a frame, and the payload a Reader returns for it
		frame  string
		bad    string
		reason string
	}{
		{"varint past 64 bits", varint, "\x03abc", "\x03abc",
			"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", "overflows 64 bits"},
		{"varint of 2^62, over the layout's largest length", varint, "\x03abc", "\x03abc",
			"\x80\x80\x80\x80\x80\x80\x80\x80\x40", "varint length 4611686018427387904 is larger than 4611686018427387903"},
		{"uvarint of 2^64-1", Uvarint, "\x03abc", "abc",
			"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "larger than 2^63-1"},
		{"PostgreSQL startup of protocol 2.0", PostgresFrontend, "", "",
			"\x00\x00\x00\x08\x00\x02\x00\x00", "protocol 2.0: not 3.x"},
	} {
		stream := []byte(tc.good + tc.good + tc.bad)
		var want [][]byte
		for range 2 {
			if tc.good != "" {
				want = append(want, []byte(tc.frame))
			}
		}
		for _, piece := range []int{1, 3, len(stream)} {
			var stats framing.Stats
			frames, errs := readAll(t, tc.dec, stream, piece, &framing.Options{Stats: &stats})
			if diff := cmp.Diff(want, frames); diff != "" {
				t.Errorf("%s in pieces of %d: frames (-want +got):\n%s", tc.name, piece, diff)
			}
			var ce *framing.CorruptError
			if len(errs) != 1 || !errors.As(errs[0], &ce) || framing.Classify(errs[0]) != framing.Fatal ||
				ce.Offset != int64(2*len(tc.good)) || !bytes.Contains([]byte(ce.Reason), []byte(tc.reason)) {
				t.Errorf("%s in pieces of %d: errors %v; want one fatal CorruptError at offset %d saying %q",
					tc.name, piece, errs, 2*len(tc.good), tc.reason)
			}
			if s := stats.Snapshot(); s.Corrupt != 1 {
				t.Errorf("%s in pieces of %d: stats %+v, want 1 corrupt", tc.name, piece, s)
			}
		}
	}
}

// TestResyncVarint: Resync on a varint layout (MQTT's kind of length, with
// a CRC-32C trailer) drops a corrupt frame and the bytes after it up to
// the next frame that parses and checks, including candidates whose
// varint is too long or over the limit. (A candidate that parses is
// decoded as a frame: the frames after the noise are enough bytes for any
// candidate within the limit to be checked, and fail, before the stream
// ends.)
func TestResyncVarint(t *testing.T) {
	c, err := New(Config{Offset: 1, Size: 2, Varint: true, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32C}, Resync: true}})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(p string) []byte {
		f, err := c.AppendFrame(nil, append([]byte{0x30, 0}, p...))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var stream []byte
	stream = append(stream, frame("one")...)
	bad := frame("two, corrupt")
	bad[len(bad)-1] ^= 1
	stream = append(stream, bad...)
	// Noise no header can start in: varints of 3 bytes (Size is 2),
	// varints over the limit, continuation bytes.
	noise := []byte{0x30, 0xff, 0xff, 0xff, 0x30, 0xff, 0x7f, 0x80, 0x81}
	stream = append(stream, noise...)
	want := [][]byte{frame("one")}
	for _, p := range []string{"three", "four", "five", "six", "seven"} {
		stream = append(stream, frame(p)...)
		want = append(want, frame(p))
	}
	for i, f := range want { // the Reader returns frames without their CRC
		want[i] = f[:len(f)-4]
	}
	for _, piece := range []int{1, 2, 7, len(stream)} {
		var stats framing.Stats
		frames, errs := readAll(t, c, stream, piece, &framing.Options{MaxFrameSize: 16, Stats: &stats})
		if diff := cmp.Diff(want, frames); diff != "" {
			t.Errorf("pieces of %d: frames (-want +got):\n%s", piece, diff)
		}
		var dropped int64
		for i, err := range errs {
			var ce *framing.CorruptError
			if !errors.As(err, &ce) || framing.Classify(err) != framing.Rejected {
				t.Fatalf("pieces of %d: error %v, want a Rejected CorruptError", piece, err)
			}
			if i == 0 && ce.Offset != int64(len(want[0])+4) {
				t.Errorf("pieces of %d: first error at offset %d, want %d", piece, ce.Offset, len(want[0])+4)
			}
			dropped += ce.Dropped
		}
		if n := int64(len(bad) + len(noise)); dropped != n || stats.Resynced.Load() != n {
			t.Errorf("pieces of %d: %d errors dropping %d bytes (stats %d), want the %d bytes of the bad frame and the noise",
				piece, len(errs), dropped, stats.Resynced.Load(), n)
		}
	}
}
