package main

import (
	crand "crypto/rand"
	"testing"
)

// BenchmarkGuessRandom measures guess on 1 MiB of random bytes (the
// worst case: every candidate is tried, the preamble search too).
func BenchmarkGuessRandom(b *testing.B) {
	buf := make([]byte, 1<<20)
	crand.Read(buf)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if ps := guessStreams([][]byte{buf}, guessOptions{max: 8 << 20}); len(ps) > 0 {
			b.Fatalf("proposed %s for random bytes", ps[0].spec)
		}
	}
}
