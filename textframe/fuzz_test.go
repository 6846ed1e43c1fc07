package textframe_test

import (
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/textframe"
)

// fuzzCodecs are the codecs FuzzText picks from with its first byte, and
// whether any payload bytes round-trip through them.
var fuzzCodecs = []struct {
	c        framing.Codec
	anyBytes bool
}{
	{textframe.LSP, true},
	{textframe.MustContentLength(textframe.ContentLengthConfig{KeepHeaders: true, MaxHeader: 64}), false},
	{textframe.JSONStream, false},
	{textframe.JSONArrayElements, false},
	{textframe.Netstring, true},
	{textframe.OctetCounting, true},
	{textframe.PktLine, true},
	{textframe.HTTPChunked, false},
	{must(textframe.NewRESP(textframe.RESPConfig{MaxDepth: 4, MaxElements: 64})), false},
	{textframe.STOMP12, false},
	{textframe.MustChunked(textframe.ChunkedConfig{KeepExtensions: true, MaxLine: 64}), false},
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// FuzzText: arbitrary bytes, cut at the fuzzer's points, into each text
// decoder: no panic, no frame over the limit, the same frames and errors
// however the bytes are cut and whichever engine reads them (fuzz.Decode,
// fuzz.Push); payloads round-trip through the codecs that take any bytes.
func FuzzText(f *testing.F) {
	seeds := []string{
		"Content-Length: 2\r\n\r\n{}Content-Length: 0\r\n\r\n",
		"content-length: 3\r\nX: y\r\n\r\nabc",
		` {"a":"}\"{"} [1,[2]] "x\\" 12 true`,
		`[1, {"a":[2]} ,"s\"]",[],  true]{"b":1}`,
		"5:hello,0:,3:a,b,",
		"11 <34>1 hi\n x<13>legacy line\n3 abc",
		"000ahello\n00000001000200040006a\n",
		"5;ext=1\r\nhello\r\n0\r\nExpires: never\r\n\r\nrest",
		"*2\r\n$1\r\na\r\n%1\r\n+k\r\n|1\r\n+a\r\n:1\r\n:2\r\n>1\r\n_\r\nPING\r\n",
		"\nSEND\ncontent-length:3\n\na\x00b\x00MESSAGE\nk\\c:v\\\\\n\nhi\x00",
		"5;a=1;b=\"x\\\"y\"\r\nhello\r\n0;z\r\nA: b\r\n\r\nrest",
	}
	for i, s := range seeds {
		f.Add(byte(i), []byte(s), []byte{3, 1, 7})
	}
	f.Fuzz(func(t *testing.T, pick byte, data, cuts []byte) {
		c := fuzzCodecs[int(pick)%len(fuzzCodecs)]
		fuzz.Decode(t, c.c, data)
		fuzz.Push(t, c.c, data, fuzz.CutBytes(cuts))
		if c.anyBytes {
			fuzz.RoundTrip(t, c.c, fuzz.SplitPayloads(data), fuzz.CutBytes(cuts))
		}
	})
}
