package lengthprefix

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

var seedFlag = flag.Int64("lengthprefix.seed", 0, "seed for the randomized tests (0: from the clock)")

func testRand(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with: go test ./lengthprefix -run '^%s$' -lengthprefix.seed=%d", t.Name(), seed)
		}
	})
	return rand.New(rand.NewSource(seed))
}

// randomEncodable returns a random valid Config that has an encoder.
func randomEncodable(rng *rand.Rand) Config {
	for {
		c := Config{
			Size:   []int{1, 2, 3, 4, 8}[rng.Intn(5)],
			Order:  ByteOrder(rng.Intn(2)),
			Signed: rng.Intn(3) == 0,
		}
		if rng.Intn(2) == 0 {
			c.Offset = rng.Intn(6) // whole frame passed to the encoder
		} else {
			c.Strip = c.Size // body passed to the encoder
		}
		switch rng.Intn(4) {
		case 0:
			c.IncludesHeader = true
		case 1:
			c.Adjust = rng.Intn(2*(c.Offset+c.Size)+8) - (c.Offset + c.Size) - 4
		case 2:
			c.Adjust = rng.Intn(6)
		}
		if _, err := New(c); err == nil {
			return c
		}
	}
}

// oracle computes, independently of the package, the field value for n
// bytes after the length field, and whether it is representable.
func oracle(c Config, n int) (uint64, bool) {
	adjust := c.Adjust
	if c.IncludesHeader {
		adjust = -(c.Offset + c.Size)
	}
	l := int64(n) - int64(adjust)
	max := uint64(1)<<(8*c.Size) - 1
	if c.Signed || c.Size == 8 {
		max = uint64(1)<<(8*c.Size-1) - 1
	}
	return uint64(l), l >= 0 && uint64(l) <= max
}

func readField(c Config, b []byte) uint64 {
	var v uint64
	for i := 0; i < c.Size; i++ {
		j := i
		if c.Order == LittleEndian {
			j = c.Size - 1 - i
		}
		v = v<<8 | uint64(b[c.Offset+j])
	}
	return v
}

func TestPropertyRoundTrip(t *testing.T) {
	rng := testRand(t)
	for iter := 0; iter < 400; iter++ {
		c := randomEncodable(rng)
		codec, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		whole := c.Strip == 0
		hdr := c.Offset + c.Size
		var stream, wrapped []byte
		var want [][]byte
		for f := rng.Intn(12); f > 0; f-- {
			n := rng.Intn(300) // bytes after the length field
			if rng.Intn(4) == 0 {
				n = rng.Intn(8)
			}
			in := make([]byte, n)
			if whole {
				in = make([]byte, hdr+n)
			}
			rng.Read(in)
			orig := bytes.Clone(in)
			v, ok := oracle(c, n)
			before := len(stream)
			stream, err = codec.AppendFrame(stream, in)
			if !ok {
				if !errors.Is(err, framing.ErrPayload) || len(stream) != before {
					t.Fatalf("%+v, %d bytes: got %v (%d bytes appended), want a PayloadError", c, len(in), err, len(stream)-before)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%+v, %d bytes: %v", c, len(in), err)
			}
			if !bytes.Equal(in, orig) {
				t.Fatalf("%+v: input modified", c)
			}
			frame := stream[before:]
			if whole {
				if len(frame) != len(in) || readField(c, frame) != v ||
					!bytes.Equal(frame[:c.Offset], in[:c.Offset]) || !bytes.Equal(frame[hdr:], in[hdr:]) {
					t.Fatalf("%+v: % x encoded as % x, want field %d", c, in, frame, v)
				}
				want = append(want, bytes.Clone(frame))
			} else {
				if len(frame) != c.Size+len(in) || readField(c, frame) != v || !bytes.Equal(frame[c.Size:], in) {
					t.Fatalf("%+v: % x encoded as % x, want field %d", c, in, frame, v)
				}
				want = append(want, in)
			}
			h, skip, err := codec.AppendHeader(wrapped, in)
			if err != nil {
				t.Fatal(err)
			}
			wrapped = codec.AppendTrailer(append(h, in[skip:]...), in)
		}
		if !bytes.Equal(stream, wrapped) {
			t.Fatalf("%+v: AppendFrame and AppendHeader+body+AppendTrailer differ", c)
		}
		for k := 0; k < 3; k++ {
			res := feed(t, codec, stream, math.MaxInt, randomChunks(rng))
			if diff := framesDiff(want, res.frames()); diff != "" || res.fatal != nil || res.leftover != 0 {
				t.Fatalf("%+v (-want +got):\n%s\n%+v", c, diff, res)
			}
		}
	}
}

func TestPropertyVarint(t *testing.T) {
	rng := testRand(t)
	for iter := 0; iter < 100; iter++ {
		var stream []byte
		var want [][]byte
		for f := rng.Intn(10); f > 0; f-- {
			n := []int{rng.Intn(4), rng.Intn(200), rng.Intn(40000)}[rng.Intn(3)]
			p := make([]byte, n)
			rng.Read(p)
			stream, _ = Uvarint.AppendFrame(stream, p)
			want = append(want, p)
		}
		res := feed(t, Uvarint, stream, math.MaxInt, randomChunks(rng))
		if diff := framesDiff(want, res.frames()); diff != "" || res.fatal != nil || res.leftover != 0 {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	}
}

// randomConfig returns any Config, valid or not, with small fields.
func randomConfig(rng *rand.Rand) Config {
	return Config{
		Offset:         rng.Intn(6) - 1,
		Size:           rng.Intn(10),
		Order:          ByteOrder(rng.Intn(3)),
		Adjust:         rng.Intn(40) - 20,
		IncludesHeader: rng.Intn(4) == 0,
		Strip:          rng.Intn(12) - 1,
		Signed:         rng.Intn(2) == 0,
	}
}

// Hostile input never panics and never breaks the Decoder contract (feed
// checks it), whatever the layout and limit, nor makes a Reader misbehave
// under either policy.
func TestHostileInput(t *testing.T) {
	rng := testRand(t)
	for iter := 0; iter < 3000; iter++ {
		c := randomConfig(rng)
		var dec framing.Decoder = Uvarint
		if iter%5 != 0 {
			d, err := NewDecoder(c)
			if err != nil {
				var ce *framing.ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("%+v: %v", c, err)
				}
				continue
			}
			dec = d
		}
		in := make([]byte, rng.Intn(64))
		rng.Read(in)
		if rng.Intn(2) == 0 {
			for i := range in { // mostly high bytes: long varints, negative and huge lengths
				in[i] |= 0x80
			}
		}
		limit := rng.Intn(100)
		feed(t, dec, in, limit, randomChunks(rng))
		opts := &framing.Options{MaxFrameSize: limit}
		if rng.Intn(2) == 0 {
			opts.Oversize = framing.Skip
		}
		read(t, dec, in, opts, fuzz.CutRandom(rng.Int63(), 8))
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(0, 2, false, 0, false, 2, false, []byte{0x00, 0x0C, 'H', 'E', 'L', 'L', 'O'}, 100, false)
	f.Add(1, 2, false, -3, false, 3, false, []byte{0xCA, 0x00, 0x10, 0xFE}, 10, true)
	f.Add(0, 4, false, 0, false, 4, true, []byte{0xFF, 0xFF, 0xFF, 0xFF}, 8<<20, false)
	f.Add(0, 8, true, 0, false, 8, false, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, 8<<20, true)
	f.Add(-1, 0, false, 0, false, 0, false, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 8<<20, true)
	f.Fuzz(func(t *testing.T, off, size int, little bool, adjust int, includes bool, strip int, signed bool, in []byte, limit int, skip bool) {
		var dec framing.Decoder = Uvarint
		if off >= 0 {
			order := BigEndian
			if little {
				order = LittleEndian
			}
			d, err := NewDecoder(Config{Offset: off, Size: size, Order: order, Adjust: adjust, IncludesHeader: includes, Strip: strip, Signed: signed})
			if err != nil {
				return
			}
			dec = d
		}
		feed(t, dec, in, max(limit, 0), ones)
		feed(t, dec, in, max(limit, 0), all)
		opts := &framing.Options{MaxFrameSize: limit}
		if skip {
			opts.Oversize = framing.Skip
		}
		read(t, dec, in, opts, fuzz.CutEvery(1))
	})
}
