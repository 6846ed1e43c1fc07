package fuzz_test

import (
	"bytes"
	randv1 "math/rand"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// TestSuiteReportsWhatTheUserMustFix: what a newcomer's first failures
// say. A payload the encoder refuses is reported as that refusal (not as
// the io.EOF the reader then sees); the big-frame check sizes its frame to
// what the encoder takes (a u16 length); and a skip-policy failure says
// what the framer must do.
func TestSuiteReportsWhatTheUserMustFix(t *testing.T) {
	t.Run("refusal", func(t *testing.T) {
		// A framer on a u8 length, with payloads up to 1 KiB: the encoder
		// refuses those over 255 bytes.
		nf := func(c net.Conn, l fuzz.Limits) fuzz.Framer {
			return framing.NewConn(c, lengthprefix.U8, &framing.Options{MaxFrameSize: l.MaxFrameSize})
		}
		var msg string
		for _, f := range fuzz.CheckFramer(nf, &fuzz.Options{NoSkip: true, Timeout: 2 * time.Second}) {
			if f.Check == "stream" {
				msg = f.Error()
			}
		}
		if !strings.Contains(msg, "WriteFrame refused payload") || !strings.Contains(msg, "255") {
			t.Errorf("the stream check does not report the refusal: %q", msg)
		}
	})
	t.Run("bigframe", func(t *testing.T) {
		for _, f := range fuzz.Check(lengthprefix.U16BE, &fuzz.Options{MaxPayload: 1000}) {
			if f.Check == "bigframe" {
				t.Errorf("the big-frame check asks a u16 length for more than it carries: %v", f)
			}
		}
	})
	t.Run("skip hint", func(t *testing.T) {
		// The u32 framer of framer_test.go has no skip policy.
		var msg string
		for _, f := range fuzz.CheckFramer(framer(func(*u32Framer) {}), &fuzz.Options{Seed: 7, Timeout: 2 * time.Second}) {
			if f.Check == "limits/skip" {
				msg = f.Error()
			}
		}
		if !strings.Contains(msg, "returns one error for an oversized frame, drops its bytes") {
			t.Errorf("the limits/skip failure does not say what to do: %q", msg)
		}
	})
}

// TestPayloadGenerators: Options.Payload takes a math/rand/v2 generator;
// the same seed gives the same payloads, and FromV1 adapts a math/rand
// generator reproducibly.
func TestPayloadGenerators(t *testing.T) {
	gen := func(r *rand.Rand, n int) []byte { return fuzz.RandomBytes(r, n) }
	a := gen(rand.New(rand.NewPCG(1, 2)), 33)
	b := gen(rand.New(rand.NewPCG(1, 2)), 33)
	c := gen(rand.New(rand.NewPCG(1, 3)), 33)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != 33 {
		t.Errorf("RandomBytes: same seed %x %x, other seed %x", a, b, c)
	}
	v1 := fuzz.FromV1(func(r *randv1.Rand, n int) []byte { p := make([]byte, n); r.Read(p); return p })
	if x, y := v1(rand.New(rand.NewPCG(5, 5)), 16), v1(rand.New(rand.NewPCG(5, 5)), 16); !bytes.Equal(x, y) || len(x) != 16 {
		t.Errorf("FromV1 is not reproducible: %x %x", x, y)
	}
	if p := fuzz.Without('a', 'b')(rand.New(rand.NewPCG(1, 1)), 4096); bytes.ContainsAny(p, "ab") {
		t.Errorf("Without('a', 'b') made a payload holding them")
	}
	// A v1 generator runs the suite through FromV1.
	lines := fuzz.FromV1(func(r *randv1.Rand, n int) []byte { return bytes.Repeat([]byte{'x'}, n) })
	for _, f := range fuzz.Check(lengthprefix.U32BE, &fuzz.Options{Payload: lines, MaxPayload: 64}) {
		t.Error(f)
	}
}
