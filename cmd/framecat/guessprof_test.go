package main

import (
	"crypto/rand"
	"testing"
)

func BenchmarkGuessRandom(b *testing.B) {
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		if ps := guessStreams([][]byte{buf}, guessOptions{max: 8 << 20}); len(ps) > 0 {
			b.Fatalf("proposed %s for random bytes", ps[0].spec)
		}
	}
}
