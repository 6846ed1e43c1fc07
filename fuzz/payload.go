package fuzz

import (
	"errors"
	randv1 "math/rand"
	"math/rand/v2"
)

// RandomBytes is the default payload generator: n random bytes.
func RandomBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := i; j < min(i+8, n); j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
	return p
}

// FromV1 adapts a payload generator written for math/rand (v1) to
// Options.Payload, which takes a math/rand/v2 generator: each call gets a
// v1 generator seeded from r, so runs stay reproducible from
// Options.Seed.
func FromV1(gen func(r *randv1.Rand, n int) []byte) func(r *rand.Rand, n int) []byte {
	return func(r *rand.Rand, n int) []byte {
		return gen(randv1.New(randv1.NewSource(r.Int64())), n)
	}
}

// Without returns a payload generator of n random bytes none of which is in
// forbidden, for delimiter codecs that cannot carry their delimiter.
func Without(forbidden ...byte) func(r *rand.Rand, n int) []byte {
	var bad [256]bool
	for _, b := range forbidden {
		bad[b] = true
	}
	var ok []byte
	for i := 0; i < 256; i++ {
		if !bad[i] {
			ok = append(ok, byte(i))
		}
	}
	return func(r *rand.Rand, n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = ok[r.IntN(len(ok))]
		}
		return p
	}
}

// Sized returns a payload generator that always makes size random bytes,
// whatever size was asked, for fixed-size frames.
func Sized(size int) func(r *rand.Rand, n int) []byte {
	return func(r *rand.Rand, _ int) []byte { return RandomBytes(r, size) }
}

// payloads makes n payloads with sizes spread from 0 to max: empty, tiny,
// and random up to max, with max itself included.
func (s *suite) payloads(r *rand.Rand, n, max int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		var size int
		switch i % 8 {
		case 0:
			size = 0
		case 1:
			size = 1 + r.IntN(3)
		case 2:
			size = max
		case 3, 4:
			size = r.IntN(64)
		default:
			size = r.IntN(max + 1)
		}
		ps[i] = s.o.Payload(r, size)
	}
	return ps
}

// oversized makes the payloads of the limit checks: below, at and over a
// limit derived from Options.MaxPayload. It returns the limit to read them
// with (below the longest payload, even for fixed-size frames), or 0 when
// no payload can be over a limit (one-byte frames) and "" or what is
// wrong with the payloads.
func (s *suite) oversized(r *rand.Rand) (ps [][]byte, limit int, msg string) {
	limit = max(s.o.MaxPayload/4, 8)
	sizes := []int{limit / 2, limit + 1, limit, 4 * limit, 0, limit + 1, 3}
	ps = make([][]byte, len(sizes))
	longest := 0
	for i, n := range sizes {
		ps[i] = s.o.Payload(r, n)
		longest = max(longest, len(ps[i]))
	}
	if longest == 0 {
		return nil, 0, "Options.Payload made only empty payloads"
	}
	if longest <= limit {
		limit = longest - 1 // fixed-size frames: every frame is over
	}
	return ps, limit, ""
}

// overStream encodes the payloads of oversized: the stream and the limit
// to read it with; nil when no payload can be over a limit.
func (s *suite) overStream(r *rand.Rand) (*encoded, int, error) {
	ps, limit, msg := s.oversized(r)
	switch {
	case msg != "":
		return nil, 0, errors.New(msg)
	case limit < 1:
		return nil, 0, nil
	}
	e, err := s.encode(ps)
	return e, limit, err
}

func lens(ps [][]byte) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = len(p)
	}
	return out
}
