package lengthprefix

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

var hello = []byte("HELLO, WORLD")

// The seven examples of Netty's LengthFieldBasedFrameDecoder documentation,
// byte for byte.
var nettyExamples = []struct {
	name string
	cfg  Config
	wire []byte // the frame on the wire
	want []byte // what the decoder returns
	enc  []byte // what the encoder takes; nil for decode-only layouts
}{
	{
		name: "1 offset 0 size 2 header kept",
		cfg:  Config{Size: 2},
		wire: cat([]byte{0x00, 0x0C}, hello),
		want: cat([]byte{0x00, 0x0C}, hello),
		enc:  cat([]byte{0x00, 0x00}, hello),
	},
	{
		name: "2 offset 0 size 2 header stripped",
		cfg:  Config{Size: 2, Strip: 2},
		wire: cat([]byte{0x00, 0x0C}, hello),
		want: hello,
		enc:  hello,
	},
	{
		name: "3 length counts the whole frame",
		cfg:  Config{Size: 2, Adjust: -2},
		wire: cat([]byte{0x00, 0x0E}, hello),
		want: cat([]byte{0x00, 0x0E}, hello),
		enc:  cat([]byte{0xFF, 0xFF}, hello),
	},
	{
		name: "3 with IncludesHeader",
		cfg:  Config{Size: 2, IncludesHeader: true},
		wire: cat([]byte{0x00, 0x0E}, hello),
		want: cat([]byte{0x00, 0x0E}, hello),
		enc:  cat([]byte{0x12, 0x34}, hello),
	},
	{
		name: "4 header before a 3-byte length",
		cfg:  Config{Offset: 2, Size: 3},
		wire: cat([]byte{0xCA, 0xFE, 0x00, 0x00, 0x0C}, hello),
		want: cat([]byte{0xCA, 0xFE, 0x00, 0x00, 0x0C}, hello),
		enc:  cat([]byte{0xCA, 0xFE, 0x00, 0x00, 0x00}, hello),
	},
	{
		name: "5 header after a 3-byte length",
		cfg:  Config{Size: 3, Adjust: 2},
		wire: cat([]byte{0x00, 0x00, 0x0C, 0xCA, 0xFE}, hello),
		want: cat([]byte{0x00, 0x00, 0x0C, 0xCA, 0xFE}, hello),
		enc:  cat([]byte{0x00, 0x00, 0x00, 0xCA, 0xFE}, hello),
	},
	{
		name: "6 length in the middle, first header bytes stripped",
		cfg:  Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3},
		wire: cat([]byte{0xCA, 0x00, 0x0C, 0xFE}, hello),
		want: cat([]byte{0xFE}, hello),
	},
	{
		name: "7 length counts the whole frame, first header bytes stripped",
		cfg:  Config{Offset: 1, Size: 2, Adjust: -3, Strip: 3},
		wire: cat([]byte{0xCA, 0x00, 0x10, 0xFE}, hello),
		want: cat([]byte{0xFE}, hello),
	},
}

func TestNettyExamplesDecode(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range nettyExamples {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := NewDecoder(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeOne(t, dec, tc.wire); !bytes.Equal(got, tc.want) {
				t.Fatalf("decoded % x, want % x", got, tc.want)
			}
			// Three frames glued together, cut at random.
			stream := cat(tc.wire, tc.wire, tc.wire)
			for i := 0; i < 20; i++ {
				res := feed(t, dec, stream, 1<<20, randomChunks(rng))
				want := [][]byte{tc.want, tc.want, tc.want}
				if diff := framesDiff(want, res.frames()); diff != "" || res.fatal != nil || res.leftover != 0 {
					t.Fatalf("frames (-want +got):\n%s\nresult %+v", diff, res)
				}
			}
			// Every proper prefix is incomplete: a frame is never returned early.
			for n := 1; n < len(tc.wire); n++ {
				res := feed(t, dec, tc.wire[:n], 1<<20, all)
				if len(res.events) != 0 || res.leftover != n {
					t.Fatalf("%d of %d bytes: %+v", n, len(tc.wire), res)
				}
			}
		})
	}
}

func TestNettyExamplesEncode(t *testing.T) {
	for _, tc := range nettyExamples {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.enc == nil {
				var ce *framing.ConfigError
				if !errors.As(err, &ce) || c != nil {
					t.Fatalf("New of a decode-only layout: %v, %v; want a *framing.ConfigError", c, err)
				}
				t.Logf("New: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in := bytes.Clone(tc.enc)
			got, err := c.AppendFrame([]byte("prefix"), in)
			if err != nil {
				t.Fatal(err)
			}
			if want := cat([]byte("prefix"), tc.wire); !bytes.Equal(got, want) {
				t.Fatalf("AppendFrame: % x, want % x", got, want)
			}
			hdr, skip, err := c.AppendHeader(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AppendTrailer(cat(hdr, in[skip:]), in); !bytes.Equal(got, tc.wire) {
				t.Fatalf("AppendHeader+body+AppendTrailer: % x, want % x", got, tc.wire)
			}
			if !bytes.Equal(in, tc.enc) {
				t.Fatalf("the encoder modified its input: % x", in)
			}
			// The encoder's output decodes to the original input's frame.
			if got := decodeOne(t, c, tc.wire); !bytes.Equal(got, tc.want) {
				t.Fatalf("decoded % x, want % x", got, tc.want)
			}
		})
	}
}
