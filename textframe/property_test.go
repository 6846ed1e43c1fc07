package textframe_test

import (
	"math/rand/v2"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/textframe"
)

// TestReadPathsSmallAlphabet feeds each decoder short random streams over
// the bytes its format gives meaning to, so that headers, lengths,
// brackets and terminators meet in every combination, and requires every
// read path and cutting to agree with ReadFrame on the whole stream, under
// small limits and both policies (fuzz.ReadPaths).
func TestReadPathsSmallAlphabet(t *testing.T) {
	cases := []struct {
		name  string
		dec   framing.Decoder
		alpha string
	}{
		{"resp", textframe.Redis, "$*%|>+:-\r\n0123456789?_~.;abc"},
		{"json", textframe.JSONStream, "{}[]\"\\ ,:\n1ta"},
		{"json-elements", textframe.JSONArrayElements, "{}[]\"\\ ,:\n1ta"},
		{"lsp", textframe.LSP, "Content-Length: 0123\r\n"},
		{"chunked", textframe.HTTPChunked, "0123af;=x: \r\n"},
		{"netstring", textframe.Netstring, "0123:,a"},
		{"octetcounting", textframe.OctetCounting, "0123 \na<"},
		{"pktline", textframe.PktLine, "0123456789abcdefx"},
		{"stomp", textframe.STOMP12, "SEND\n\r\x00:content-length12 "},
		{"stomp-escapes", textframe.STOMP12, "SEND\n\\rct:\x00"},
		{"chunked-keepext", textframe.MustChunked(textframe.ChunkedConfig{KeepExtensions: true}), "013;=x\" \\\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(300) {
				r := rand.New(rand.NewPCG(seed, 2))
				b := make([]byte, 5+r.IntN(60))
				for i := range b {
					b[i] = c.alpha[r.IntN(len(c.alpha))]
				}
				for _, lim := range []int{4, 64} {
					if fs := fuzz.ReadPaths(c.dec, b, lim, &fuzz.Options{Seed: int64(seed)}); len(fs) > 0 {
						t.Fatalf("seed %d, stream %q, limit %d: %v", seed, b, lim, fs[0])
					}
				}
			}
		})
	}
}
