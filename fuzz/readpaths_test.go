package fuzz_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// layoutFrame builds one frame of the length layout c whose field is
// followed by after bytes (random, as are the header bytes before the
// field), for layouts that have no encoder.
func layoutFrame(c lengthprefix.Config, r *rand.Rand, after int) []byte {
	hdr := c.Offset + c.Size
	f := fuzz.RandomBytes(r, hdr+after)
	v := uint64(after - c.Adjust)
	if c.IncludesHeader {
		v = uint64(hdr + after)
	}
	for i := 0; i < c.Size; i++ {
		shift := 8 * uint(c.Size-1-i)
		if c.Order == lengthprefix.LittleEndian {
			shift = 8 * uint(i)
		}
		f[c.Offset+i] = byte(v >> shift)
	}
	return f
}

// layoutFrames makes frames of layout c for the readpaths test: about n
// bytes after the field, within what the field and the layout allow.
func layoutFrames(c lengthprefix.Config) func(r *rand.Rand, n int) []byte {
	hdr := c.Offset + c.Size
	maxV := uint64(1)<<(8*uint(min(c.Size, 7))) - 1
	if c.Signed || c.Size == 8 {
		maxV >>= 1
	}
	return func(r *rand.Rand, n int) []byte {
		lo := max(0, c.Adjust, c.Strip-hdr)
		if c.IncludesHeader {
			lo = max(0, c.Strip-hdr)
		}
		hi := int(min(maxV, 1<<20)) + c.Adjust
		if c.IncludesHeader {
			hi = int(min(maxV, 1<<20)) - hdr
		}
		return layoutFrame(c, r, max(lo, min(n, hi)))
	}
}

// encoded makes frames with a codec's encoder: payloads from gen (random
// bytes when nil), n bytes or as near as gen makes them.
func encoded(enc framing.Encoder, gen func(*rand.Rand, int) []byte) func(r *rand.Rand, n int) []byte {
	if gen == nil {
		gen = fuzz.RandomBytes
	}
	return func(r *rand.Rand, n int) []byte {
		f, err := enc.AppendFrame(nil, gen(r, n))
		if err != nil {
			panic(err)
		}
		return f
	}
}

// TestReadPaths runs the readpaths check (fuzz.ReadPaths) on every codec
// in the tree, decode-only layouts and compat/goframeconn's split codec
// included: streams of frames of many sizes (a 100 KiB one among them),
// under the default limit and one of 64 bytes (so that frames are refused
// or skipped), truncated streams, the streams of known defects, and random
// bytes, each read through every read path under every cutting.
func TestReadPaths(t *testing.T) {
	noLines := fuzz.Without('\n', '\r')
	upTo := func(n int, gen func(*rand.Rand, int) []byte) func(*rand.Rand, int) []byte {
		return func(r *rand.Rand, k int) []byte { return gen(r, min(k, n)) }
	}
	must := func(c framing.Codec, err error) framing.Codec {
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mustDec := func(c lengthprefix.Config) framing.Decoder {
		d, err := lengthprefix.NewDecoder(c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	delims := func(keep bool, ds ...string) framing.Codec {
		var bs [][]byte
		for _, d := range ds {
			bs = append(bs, []byte(d))
		}
		return must(delimiter.New(delimiter.Config{Delimiters: bs, KeepDelimiter: keep}))
	}
	fixed := func(n int) framing.Codec { return must(delimiter.Fixed(n)) }
	gfc := must(goframeconn.LengthField(
		goframeconn.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
		goframeconn.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 0}))
	stripBeyond := lengthprefix.Config{Size: 2, Adjust: 2, Strip: 4}
	type tc struct {
		name   string
		dec    framing.Decoder
		frame  func(r *rand.Rand, n int) []byte // one frame of about n payload bytes
		extra  [][]byte                         // streams of known defects
		limits []int                            // for extra (default: 64 and the default limit)
	}
	tests := []tc{
		{name: "U8", dec: lengthprefix.U8, frame: encoded(lengthprefix.U8, upTo(255, fuzz.RandomBytes))},
		{name: "U16BE", dec: lengthprefix.U16BE, frame: encoded(lengthprefix.U16BE, upTo(65535, fuzz.RandomBytes))},
		{name: "U16LE", dec: lengthprefix.U16LE, frame: encoded(lengthprefix.U16LE, upTo(65535, fuzz.RandomBytes))},
		{name: "U24BE", dec: lengthprefix.U24BE, frame: encoded(lengthprefix.U24BE, nil)},
		{name: "U32BE", dec: lengthprefix.U32BE, frame: encoded(lengthprefix.U32BE, nil)},
		{name: "U32LE", dec: lengthprefix.U32LE, frame: encoded(lengthprefix.U32LE, nil)},
		{name: "U64BE", dec: lengthprefix.U64BE, frame: encoded(lengthprefix.U64BE, nil),
			extra: [][]byte{{0x80, 0, 0, 0, 0, 0, 0, 0, 1}, {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}}},
		{name: "Uvarint", dec: lengthprefix.Uvarint, frame: encoded(lengthprefix.Uvarint, nil),
			extra: [][]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, {0x80, 0x00}}},
		// Defect 3 of issue 16: ReadFrame gave a CorruptError, ReadBody
		// an unexpected EOF.
		{name: "UvarintStrict", dec: lengthprefix.UvarintStrict, frame: encoded(lengthprefix.UvarintStrict, nil),
			extra: [][]byte{{0xd2, 0xb0}, {0x05, 'h', 'e', 'l', 'l', 'o', 0xd2, 0xb0}, {0x80, 0x00}}, limits: []int{193, 64, framing.DefaultMaxFrameSize}},
		{name: "DNSOverTCP", dec: lengthprefix.DNSOverTCP, frame: encoded(lengthprefix.DNSOverTCP, upTo(65535, fuzz.RandomBytes))},
		{name: "Kafka", dec: lengthprefix.Kafka, frame: encoded(lengthprefix.Kafka, nil),
			extra: [][]byte{{0xff, 0xff, 0xff, 0xfe, 1, 2}}},
		{name: "TLSRecord", dec: lengthprefix.TLSRecord, frame: layoutFrames(lengthprefix.Config{Offset: 3, Size: 2})},
		// Defect 3 of issue 16: ReadBody failed this layout with an
		// untyped error when bytes arrived one at a time.
		{name: "len:size=2,adjust=2,strip=4 (decode-only)", dec: mustDec(stripBeyond), frame: layoutFrames(stripBeyond),
			extra: [][]byte{{0x00, 0x03, 0xAA, 0xBB, 1, 2, 3}, {0x00, 0x03, 0xAA, 0xBB, 1, 2, 3, 0x00, 0x00, 0xCC, 0xDD}}},
	}
	// The seven worked examples of Netty's LengthFieldBasedFrameDecoder
	// documentation, decode-only ones included.
	for _, c := range []lengthprefix.Config{
		{Size: 2}, {Size: 2, Strip: 2}, {Size: 2, Adjust: -2}, {Size: 2, IncludesHeader: true},
		{Offset: 2, Size: 3}, {Size: 3, Adjust: 2}, {Offset: 1, Size: 2, Adjust: 1, Strip: 3},
		{Offset: 1, Size: 2, Adjust: -3, Strip: 3},
		{Offset: 2, Size: 3, Order: lengthprefix.LittleEndian, Adjust: 4},
		{Size: 4, IncludesHeader: true, Strip: 4}, {Size: 4, Signed: true, Strip: 4},
	} {
		tests = append(tests, tc{name: fmt.Sprintf("len:%+v", c), dec: mustDec(c), frame: layoutFrames(c)})
	}
	tests = append(tests,
		tc{name: "goframeconn LengthField(enc{Size: 4}, dec{Size: 4, Strip: 0})", dec: gfc, frame: encoded(gfc, nil)},
		tc{name: "Lines", dec: delimiter.Lines, frame: encoded(delimiter.Lines, noLines),
			extra: [][]byte{[]byte("a\r\nb\n\r\n\n\r"), append(bytes.Repeat([]byte{'x'}, 100), "\nok\n"...)}},
		tc{name: "CRLFLines", dec: delimiter.CRLFLines, frame: encoded(delimiter.CRLFLines, noLines)},
		tc{name: "CRLF", dec: delimiter.CRLF, frame: encoded(delimiter.CRLF, noLines), extra: [][]byte{[]byte("ab\r\r\r\ncd\r")}},
		tc{name: `delim:\r\n\r\n`, dec: delims(false, "\r\n\r\n"), frame: encoded(delims(false, "\r\n\r\n"), noLines),
			extra: [][]byte{[]byte("a\r\n\r\r\n\r\n\r\n\r\nb\r\n\r")}},
		tc{name: `delim:\r\n\r\n,keep`, dec: delims(true, "\r\n\r\n"), frame: encoded(delims(true, "\r\n\r\n"), noLines),
			extra: [][]byte{append(bytes.Repeat([]byte("x"), 100), "\r\n\r"...)}},
		tc{name: `delim:END,\x00`, dec: delims(false, "END", "\x00"), frame: encoded(delims(false, "END", "\x00"), fuzz.Without('E', 0)),
			extra: [][]byte{[]byte("abEN\x00cdEND\x00EEND"), append(bytes.Repeat([]byte("EN"), 80), "END"...)}},
		tc{name: `delim:ab,b,keep`, dec: delims(true, "ab", "b"), frame: encoded(delims(true, "ab", "b"), fuzz.Without('a', 'b')),
			extra: [][]byte{[]byte("xxabyybzzaab"), append(bytes.Repeat([]byte("a"), 100), 'b')}},
		// Defect 4 of issue 16: a malformed stuffed frame over the limit
		// was Rejected read whole and Fatal cut every 13 bytes.
		tc{name: "COBS", dec: delimiter.COBS, frame: encoded(delimiter.COBS, nil),
			extra:  [][]byte{{0x37, 0xfb, 0xcc, 0x24, 0x90, 0xe7, 0x09, 0xc5, 0x95, 0xb5, 0x44, 0x7e, 0x7d, 0x62, 0x0c, 0x00, 0x03, 'o', 'k', 0x00}},
			limits: []int{11, 64, framing.DefaultMaxFrameSize}},
		// Defects 4 and 5: a malformed SLIP frame; a frame of escapes.
		tc{name: "SLIP", dec: delimiter.SLIP, frame: encoded(delimiter.SLIP, func(r *rand.Rand, n int) []byte { return fuzz.RandomBytes(r, max(n, 1)) }),
			extra: [][]byte{
				append(append(append([]byte{0xDB, 'x'}, bytes.Repeat([]byte{'a'}, 18)...), 0xC0), 'o', 'k', 0xC0),
				append(bytes.Repeat([]byte{0xDB}, 300), 0xC0, 'o', 'k', 0xC0),
				append(bytes.Repeat([]byte{0xDB, 0xDC}, 100), 0xC0, 'o', 'k', 0xC0),
			}, limits: []int{11, 64, framing.DefaultMaxFrameSize}},
		tc{name: "Fixed(1)", dec: fixed(1), frame: encoded(fixed(1), fuzz.Sized(1))},
		tc{name: "Fixed(13)", dec: fixed(13), frame: encoded(fixed(13), fuzz.Sized(13))},
		tc{name: "Fixed(300)", dec: fixed(300), frame: encoded(fixed(300), fuzz.Sized(300))},
	)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(i)+1, 0))
			run := func(what string, stream []byte, limits ...int) {
				for _, limit := range limits {
					for _, f := range fuzz.ReadPaths(tt.dec, stream, limit, &fuzz.Options{Seed: int64(i) + 1}) {
						t.Errorf("%s: %v", what, f)
					}
				}
			}
			small := []int{64, framing.DefaultMaxFrameSize}
			var frames []byte
			var ends []int
			for _, n := range []int{0, 1, 5, 60, 200, 3000, 17, 65, 2} {
				frames = append(frames, tt.frame(r, n)...)
				ends = append(ends, len(frames))
			}
			run("frames", frames, small...)
			run("frames truncated", frames[:len(frames)-1], framing.DefaultMaxFrameSize)
			run("frames truncated in a header", frames[:ends[3]+1], framing.DefaultMaxFrameSize)
			big := append(append(tt.frame(r, 5), tt.frame(r, 100<<10)...), tt.frame(r, 7)...)
			run("a large frame", big, framing.DefaultMaxFrameSize, 64<<10)
			limits := tt.limits
			if limits == nil {
				limits = small
			}
			for _, x := range tt.extra {
				run("known stream", x, limits...)
			}
			for k := 0; k < 3; k++ {
				run("random bytes", fuzz.RandomBytes(r, 1+r.IntN(512)), small...)
			}
		})
	}
}
