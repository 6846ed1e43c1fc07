package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// isTarget is an error whose Is method matches target.
type isTarget struct{ target error }

func (e isTarget) Error() string         { return "is " + e.target.Error() }
func (e isTarget) Is(target error) bool  { return target == e.target }
func (e uncomparable) Error() string     { return "uncomparable" }
func (e uncomparable) Unwrap() error     { return e.inner[0] }
func (e *chainNil) Error() string        { return "chain to nil" }
func (e *chainNil) Unwrap() error        { return nil }
func (e *chainNil) Is(target error) bool { return false }

type uncomparable struct{ inner []error }
type chainNil struct{}

// TestIsOneOfIsErrorsIs: isOneOf answers what errors.Is asked of each
// target answers, on chains, trees, Is methods and framing's own errors.
func TestIsOneOfIsErrorsIs(t *testing.T) {
	other := errors.New("other")
	errs := []error{
		nil, io.EOF, io.ErrUnexpectedEOF, other, framing.ErrCorrupt, framing.ErrFrameTooLarge, framing.ErrPayload,
		framing.ErrBudget, &framing.CorruptError{Reason: "x"}, &framing.FrameTooLargeError{Size: 9, Limit: 1},
		&framing.PayloadError{}, &framing.UnexpectedEOFError{}, &chainNil{},
		fmt.Errorf("wrapped: %w", io.EOF), fmt.Errorf("wrapped: %w", other),
		fmt.Errorf("two: %w, %w", other, framing.ErrCorrupt), fmt.Errorf("two: %w, %w", other, other),
		errors.Join(other, fmt.Errorf("deep: %w", &framing.CorruptError{})), errors.Join(other, &chainNil{}),
		isTarget{io.EOF}, isTarget{other}, fmt.Errorf("is: %w", isTarget{framing.ErrPayload}),
		uncomparable{[]error{other}}, uncomparable{[]error{io.ErrUnexpectedEOF}},
	}
	for _, err := range errs {
		want := false
		for _, target := range codecErrors {
			want = want || errors.Is(err, target)
		}
		if got := isOneOf(err, codecErrors[:]); got != want {
			t.Errorf("isOneOf(%v (%T)) = %v; errors.Is on each kind says %v", err, err, got, want)
		}
	}
}
