package fuzz_test

import (
	"testing"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// textCodecMark is the first config byte that picks a text codec in
// codecFrom; the second picks which.
const textCodecMark = 0xF1

// textCodecFrom returns the text codec cfg picks (issue 19), or a nil
// decoder when cfg does not start with textCodecMark. The RESP and JSON
// encoders take only one well-formed value and Chunked no empty payload,
// so fuzzer payloads round-trip only through the codecs that take any
// bytes.
func textCodecFrom(cfg []byte) (dec framing.Decoder, codec framing.Codec, roundTrip bool) {
	if len(cfg) < 2 || cfg[0] != textCodecMark {
		return nil, nil, false
	}
	keep, _ := textframe.NewContentLength(textframe.ContentLengthConfig{KeepHeaders: true, MaxHeader: 256})
	codecs := []struct {
		c  framing.Codec
		rt bool
	}{
		{textframe.LSP, true},
		{keep, false},
		{textframe.JSONStream, false},
		{textframe.JSONArrayElements, false},
		{textframe.Netstring, true},
		{textframe.OctetCounting, true},
		{textframe.PktLine, true},
		{textframe.HTTPChunked, false},
		{textframe.Redis, false},
		{delimiter.LinesAtEOF, false},
		{textframe.STOMP12, false},
	}
	c := codecs[int(cfg[1])%len(codecs)]
	return c.c, c.c, c.rt
}

// addTextSeeds adds a seed per text codec to FuzzDecode.
func addTextSeeds(f *testing.F) {
	seeds := []string{
		"Content-Length: 2\r\n\r\n{}",
		"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}",
		`{"a":"}\""} [1,2] 3 "s"`,
		`[1,{"a":[2]},"x"]`,
		"5:hello,0:,",
		"3 abc<13>line\n",
		"0006a\n000000010002",
		"3\r\nabc\r\n0\r\nX: y\r\n\r\nrest",
		"*2\r\n$1\r\na\r\n>1\r\n:1\r\nPING\r\n",
		"a\nb",
		"\nSEND\ncontent-length:1\n\n\x00\x00MESSAGE\n\nhi\x00",
	}
	for i, s := range seeds {
		f.Add([]byte{textCodecMark, byte(i)}, []byte(s))
	}
}
