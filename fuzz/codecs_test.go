package fuzz_test

import (
	"math/rand/v2"
	"testing"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// upTo caps the generated payload size, for length fields that cannot
// express more.
func upTo(max int, gen func(*rand.Rand, int) []byte) func(*rand.Rand, int) []byte {
	return func(r *rand.Rand, n int) []byte { return gen(r, min(n, max)) }
}

// withHeader makes whole frames for a length layout whose encoder takes the
// header as part of the payload (Strip 0): random bytes with the length
// field set to what the encoder will write, so the frame read back is the
// frame written.
func withHeader(c lengthprefix.Config, maxBody int) func(*rand.Rand, int) []byte {
	return func(r *rand.Rand, n int) []byte {
		hdr := c.Offset + c.Size
		body := min(n, maxBody)
		if c.Adjust > 0 {
			body = max(body, c.Adjust)
		}
		p := fuzz.RandomBytes(r, hdr+body)
		v := uint64(body - c.Adjust)
		if c.IncludesHeader {
			v += uint64(hdr)
		}
		for i := 0; i < c.Size; i++ {
			shift := 8 * uint(c.Size-1-i)
			if c.Order == lengthprefix.LittleEndian {
				shift = 8 * uint(i)
			}
			p[c.Offset+i] = byte(v >> shift)
		}
		return p
	}
}

func mustLen(t *testing.T, c lengthprefix.Config) framing.Codec {
	t.Helper()
	codec, err := lengthprefix.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func mustDelim(t *testing.T, delims ...string) framing.Codec {
	t.Helper()
	var ds [][]byte
	for _, d := range delims {
		ds = append(ds, []byte(d))
	}
	codec, err := delimiter.New(delimiter.Config{Delimiters: ds})
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

func mustFixed(t *testing.T, n int) framing.Codec {
	t.Helper()
	codec, err := delimiter.Fixed(n)
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

// TestEveryCodecConforms runs every codec framekit ships (every preset, the
// Netty layouts, every delimiter form) through the whole suite.
func TestEveryCodecConforms(t *testing.T) {
	noLines := fuzz.Without('\n', '\r')
	tls := lengthprefix.Config{Offset: 3, Size: 2}
	typed := lengthprefix.Config{Offset: 2, Size: 3, Order: lengthprefix.LittleEndian, Adjust: 4}
	incl := lengthprefix.Config{Size: 4, IncludesHeader: true}
	tests := []struct {
		name  string
		codec func(t *testing.T) framing.Codec
		opts  fuzz.Options
	}{
		{"U8", func(*testing.T) framing.Codec { return lengthprefix.U8 }, fuzz.Options{Payload: upTo(255, fuzz.RandomBytes), MaxPayload: 255, HeaderBytes: 1}},
		{"U16BE", func(*testing.T) framing.Codec { return lengthprefix.U16BE }, fuzz.Options{Payload: upTo(65535, fuzz.RandomBytes)}},
		{"U16LE", func(*testing.T) framing.Codec { return lengthprefix.U16LE }, fuzz.Options{Payload: upTo(65535, fuzz.RandomBytes)}},
		{"U24BE", func(*testing.T) framing.Codec { return lengthprefix.U24BE }, fuzz.Options{}},
		{"U32BE", func(*testing.T) framing.Codec { return lengthprefix.U32BE }, fuzz.Options{}},
		{"U32LE", func(*testing.T) framing.Codec { return lengthprefix.U32LE }, fuzz.Options{}},
		{"U64BE", func(*testing.T) framing.Codec { return lengthprefix.U64BE }, fuzz.Options{}},
		{"Uvarint", func(*testing.T) framing.Codec { return lengthprefix.Uvarint }, fuzz.Options{MaxPayload: 20000}},
		{"DNSOverTCP", func(*testing.T) framing.Codec { return lengthprefix.DNSOverTCP }, fuzz.Options{Payload: upTo(65535, fuzz.RandomBytes)}},
		{"Kafka", func(*testing.T) framing.Codec { return lengthprefix.Kafka }, fuzz.Options{}},
		{"TLSRecord", func(*testing.T) framing.Codec { return lengthprefix.TLSRecord }, fuzz.Options{Payload: withHeader(tls, 65535)}},
		{"len:offset=2,size=3,order=le,adjust=4,strip=0", func(t *testing.T) framing.Codec {
			c := typed
			return mustLen(t, c)
		}, fuzz.Options{Payload: withHeader(typed, 1<<24-1)}},
		{"len:size=4,includes=true,strip=0", func(t *testing.T) framing.Codec { return mustLen(t, incl) },
			fuzz.Options{Payload: withHeader(incl, 1<<30)}},
		{"len:size=4,includes=true", func(t *testing.T) framing.Codec {
			return mustLen(t, lengthprefix.Config{Size: 4, IncludesHeader: true, Strip: 4})
		}, fuzz.Options{}},
		{"len:size=2,adjust=-2", func(t *testing.T) framing.Codec {
			return mustLen(t, lengthprefix.Config{Size: 2, Adjust: -2, Strip: 2})
		}, fuzz.Options{Payload: upTo(65533, fuzz.RandomBytes)}},
		{"Lines", func(*testing.T) framing.Codec { return delimiter.Lines }, fuzz.Options{Payload: noLines}},
		{"CRLFLines", func(*testing.T) framing.Codec { return delimiter.CRLFLines }, fuzz.Options{Payload: noLines}},
		{"CRLF", func(*testing.T) framing.Codec { return delimiter.CRLF }, fuzz.Options{Payload: noLines}},
		{`delim:\r\n\r\n`, func(t *testing.T) framing.Codec { return mustDelim(t, "\r\n\r\n") }, fuzz.Options{Payload: noLines}},
		{`delim:END,\x00`, func(t *testing.T) framing.Codec { return mustDelim(t, "END", "\x00") }, fuzz.Options{Payload: fuzz.Without('E', 0)}},
		{"COBS", func(*testing.T) framing.Codec { return delimiter.COBS }, fuzz.Options{}},
		// SLIP refuses empty payloads (RFC 1055 receivers drop empty frames).
		{"SLIP", func(*testing.T) framing.Codec { return delimiter.SLIP }, fuzz.Options{Payload: func(r *rand.Rand, n int) []byte {
			return fuzz.RandomBytes(r, max(n, 1))
		}}},
		{"Fixed(1)", func(t *testing.T) framing.Codec { return mustFixed(t, 1) }, fuzz.Options{Payload: fuzz.Sized(1)}},
		{"Fixed(13)", func(t *testing.T) framing.Codec { return mustFixed(t, 13) }, fuzz.Options{Payload: fuzz.Sized(13)}},
		{"Fixed(300)", func(t *testing.T) framing.Codec { return mustFixed(t, 300) }, fuzz.Options{Payload: fuzz.Sized(300)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			fuzz.Conformance(t, tt.codec(t), &opts)
		})
	}
}
