package interop

import (
	"math/rand"
	"testing"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// fixedSize is the frame size of the fixed-length configuration; the
// Netty peer uses the same.
const fixedSize = 1021

var crlf2 = []byte("\r\n\r\n")

// A spec is one framing configuration as framekit sees it: the codec, and
// payloads it can carry (as WriteFrame takes them).
type spec struct {
	name  string
	codec framing.Codec
	gen   func(r *rand.Rand) []byte
	// strip is how many header bytes Netty's maxFrameLength counts that
	// framekit's MaxFrameSize does not.
	strip int
}

func mustCodec(t testing.TB, c framing.Codec, err error) framing.Codec {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func binaryUpTo(max int) func(*rand.Rand) []byte {
	return func(r *rand.Rand) []byte { return randomBytes(r, sizeOf(r, max)) }
}

// nettySpecs are the configurations the Netty peer runs, by the names it
// knows them by.
func nettySpecs(t testing.TB) []spec {
	incl, err := lengthprefix.New(lengthprefix.Config{Size: 4, Strip: 4, IncludesHeader: true})
	off2, err2 := lengthprefix.New(lengthprefix.Config{Offset: 2, Size: 2, Adjust: 1})
	crlf2Codec, err3 := delimiter.New(delimiter.Config{Delimiters: [][]byte{crlf2}})
	fixed, err4 := delimiter.Fixed(fixedSize)
	return []spec{
		{name: "u32be", codec: lengthprefix.U32BE, gen: binaryUpTo(64 << 10), strip: 4},
		{name: "u16le", codec: lengthprefix.U16LE, gen: binaryUpTo(65535), strip: 2},
		{name: "incl", codec: mustCodec(t, incl, err), gen: binaryUpTo(64 << 10), strip: 4},
		{name: "off2", codec: mustCodec(t, off2, err2), gen: off2Frame},
		{name: "varint", codec: lengthprefix.Uvarint, gen: binaryUpTo(64 << 10)},
		{name: "lines", codec: delimiter.Lines, gen: func(r *rand.Rand) []byte { return lineBytes(r, sizeOf(r, 64<<10)) }},
		{name: "crlf2", codec: mustCodec(t, crlf2Codec, err3), gen: func(r *rand.Rand) []byte { return delimitedBytes(r, sizeOf(r, 64<<10), crlf2) }},
		{name: "fixed", codec: mustCodec(t, fixed, err4), gen: func(r *rand.Rand) []byte { return randomBytes(r, fixedSize) }},
	}
}

// off2Frame is a whole frame of the off2 layout: 2 type bytes, a 2-byte
// big-endian body length, a flags byte, the body.
func off2Frame(r *rand.Rand) []byte {
	n := sizeOf(r, 65535)
	f := randomBytes(r, n+5)
	f[2], f[3] = byte(n>>8), byte(n)
	return f
}
