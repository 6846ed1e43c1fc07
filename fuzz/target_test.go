package fuzz

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// panicsFrom5 is U32BE whose decoder panics when it is given 5 bytes or more.
type panicsFrom5 struct{ *lengthprefix.Codec }

func (p panicsFrom5) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) >= 5 {
		panic("five")
	}
	return p.Codec.Decode(buf, atEOF, st)
}

// decodeOutcome runs Decode's eight runs of data with d and returns what
// each gave: the verdict and every read's result.
func decodeOutcome(d *decodeRun, dec framing.Decoder, data []byte) []string {
	var seed int64
	for _, b := range data[:min(len(data), 8)] {
		seed = seed<<8 | int64(b)
	}
	rec := d.recorder(len(data)+3, len(data))
	var out []string
	for run, c := range decodeConfigs(seed) {
		msg := d.once(run, rec, dec, data, c)
		out = append(out, fmt.Sprintf("run %d (limit %d, skip %v, %v): verdict %q", run, c.limit, c.skip, c.cut, msg))
		for _, r := range rec.res {
			out = append(out, "  "+r.String())
		}
	}
	return out
}

// TestDecodeReusedRunsMatchFresh: Decode's pooled per-run objects (a
// framing.Reader per run, Reset for each exec, the recorder) give every
// exec the results a fresh set gives, whatever the exec before left in
// them: a partial frame, a frame being skipped, a sticky error, a grown
// buffer, a decoder that panicked.
func TestDecodeReusedRunsMatchFresh(t *testing.T) {
	frame := func(n int, fill byte) []byte {
		return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, bytes.Repeat([]byte{fill}, n)...)
	}
	u32 := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		dec  framing.Decoder
		data []byte
	}{
		{"u32 over the small limit, then a frame, then a truncated one", lengthprefix.U32BE,
			u32(frame(100, 'x'), frame(2, 'h'), []byte{0, 0, 0, 10, 1, 2, 3})},
		{"u32 claiming 2 GiB", lengthprefix.U32BE, []byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6}},
		{"u32 frames of 0 to 40 bytes", lengthprefix.U32BE, u32(frame(0, 0), frame(40, 'a'), frame(7, 'b'))},
		{"a line over the small limit, a line with no end", delimiter.Lines,
			append(append([]byte("a\n"), bytes.Repeat([]byte{'x'}, 100)...), "\nb\nc"...)},
		{"COBS, good then malformed", delimiter.COBS, []byte{3, 'h', 'i', 0, 5, 'a', 0, 0}},
		{"a decoder that panics", panicsFrom5{lengthprefix.U32BE}, u32(frame(1, 'p'), frame(3, 'q'))},
		{"u16", lengthprefix.U16BE, []byte{0, 3, 'a', 'b', 'c', 0}},
	}
	reused := decodeRuns.New().(*decodeRun)
	for round := 0; round < 2; round++ {
		for i, c := range cases {
			want := decodeOutcome(decodeRuns.New().(*decodeRun), c.dec, c.data)
			before := reused.readers
			got := decodeOutcome(reused, c.dec, c.data)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round %d, %s (after %s): a reused decodeRun differs from a fresh one (-fresh +reused):\n%s",
					round, c.name, cases[(i+len(cases)-1)%len(cases)].name, diff)
			}
			if round == 0 && i == 0 {
				continue // no Reader to reuse yet
			}
			_, panics := c.dec.(panicsFrom5)
			for run, r := range reused.readers {
				switch {
				case panics && r != nil:
					t.Errorf("%s: run %d kept the Reader whose decoder panicked", c.name, run)
				case !panics && before[run] != nil && r != before[run]:
					t.Errorf("%s: run %d built a new Reader instead of reusing one", c.name, run)
				}
			}
		}
	}
}
