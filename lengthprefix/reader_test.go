package lengthprefix

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math/rand"
	"runtime"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

var streamSeed = flag.Int64("lengthprefix.streamseed", 0, "seed for TestStreamRoundTrip (0: random)")

// wireFrame builds one frame of layout c by hand, independently of the
// encoders: head is the Offset bytes before the field, body the bytes after
// it. It returns the frame and what the decoder must return.
func wireFrame(c Config, head, body []byte) (wire, want []byte) {
	adjust := int64(c.Adjust)
	if c.IncludesHeader {
		adjust = -int64(c.Offset + c.Size)
	}
	l := uint64(int64(len(body)) - adjust)
	field := make([]byte, c.Size)
	for i := range field {
		shift := 8 * i
		if c.Order == BigEndian {
			shift = 8 * (c.Size - 1 - i)
		}
		field[i] = byte(l >> shift)
	}
	wire = append(append(append([]byte{}, head...), field...), body...)
	return wire, wire[c.Strip:]
}

// maxBody is the largest body (bytes after the field) the field can
// describe, capped at capAt.
func maxBody(c Config, capAt int64) int64 {
	var maxLen int64
	switch {
	case c.Size == 8:
		return capAt
	case c.Signed:
		maxLen = 1<<(8*c.Size-1) - 1
	default:
		maxLen = 1<<(8*c.Size) - 1
	}
	adjust := int64(c.Adjust)
	if c.IncludesHeader {
		adjust = -int64(c.Offset + c.Size)
	}
	return min(maxLen+adjust, capAt)
}

type streamCase struct {
	name string
	cfg  Config
	dec  framing.Decoder
	enc  framing.Encoder // nil for decode-only layouts
}

func streamCases(t *testing.T) []streamCase {
	cases := []streamCase{
		{"U8", U8.Config(), U8, U8},
		{"U16BE", U16BE.Config(), U16BE, U16BE},
		{"U16LE", U16LE.Config(), U16LE, U16LE},
		{"U24BE", U24BE.Config(), U24BE, U24BE},
		{"U32BE", U32BE.Config(), U32BE, U32BE},
		{"U32LE", U32LE.Config(), U32LE, U32LE},
		{"U64BE", U64BE.Config(), U64BE, U64BE},
		{"DNSOverTCP", DNSOverTCP.Config(), DNSOverTCP, DNSOverTCP},
		{"Kafka", Kafka.Config(), Kafka, Kafka},
		{"TLSRecord", TLSRecord.Config(), TLSRecord, TLSRecord},
	}
	for _, ex := range nettyExamples {
		d, err := NewDecoder(ex.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := streamCase{name: "netty " + ex.name, cfg: ex.cfg, dec: d}
		if ex.enc != nil {
			if c.enc, err = New(ex.cfg); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestStreamRoundTrip sends random frames of every preset and every Netty
// example through framing's Writer and Reader, cut into 1-byte reads (the
// first MiB), 7-byte reads, random reads and one piece.
func TestStreamRoundTrip(t *testing.T) {
	seed := *streamSeed
	if seed == 0 {
		seed = rand.Int63()
	}
	t.Logf("seed %d (rerun with -lengthprefix.streamseed=%d)", seed, seed)
	for _, c := range streamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			lo := int64(max(c.cfg.Adjust, 0))
			hi := maxBody(c.cfg, 256<<10)
			var stream []byte
			var want, inputs [][]byte
			for i := 0; i < 160; i++ {
				n := lo
				if i%13 != 0 { // every 13th frame is the shortest possible
					n = lo + int64(float64(hi-lo)*rng.Float64()*rng.Float64()*rng.Float64())
				}
				head := make([]byte, c.cfg.Offset)
				body := make([]byte, n)
				rng.Read(head)
				rng.Read(body)
				wire, payload := wireFrame(c.cfg, head, body)
				stream = append(stream, wire...)
				want = append(want, payload)
				if c.cfg.Strip == 0 {
					// The encoder takes the whole frame; the length bytes
					// it is given do not matter.
					in := append([]byte{}, wire...)
					rng.Read(in[c.cfg.Offset : c.cfg.Offset+c.cfg.Size])
					inputs = append(inputs, in)
				} else {
					inputs = append(inputs, body)
				}
			}
			if len(stream) > 32<<20 {
				t.Fatalf("stream of %d bytes: keep it under 32 MiB", len(stream))
			}
			if c.enc != nil {
				var out bytes.Buffer
				if err := framing.NewWriter(&out, c.enc, nil).WriteFrames(inputs); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), stream) {
					t.Fatal("the Writer's stream differs from the hand-built one")
				}
			}
			cuts := []struct {
				name string
				src  io.Reader
				all  bool
			}{
				{"1-byte", fuzz.NewReader(bytes.NewReader(stream[:min(len(stream), 1<<20)]), fuzz.CutEvery(1)), false},
				{"7-byte", fuzz.NewReader(bytes.NewReader(stream), fuzz.CutEvery(7)), true},
				{"random", fuzz.NewReader(bytes.NewReader(stream), fuzz.CutRandom(rng.Int63(), 70000)), true},
				{"whole", bytes.NewReader(stream), true},
			}
			for _, cut := range cuts {
				r := framing.NewReader(cut.src, c.dec, nil)
				var got [][]byte
				var err error
				for {
					var f []byte
					if f, err = r.ReadFrameInto(nil); err != nil {
						break
					}
					got = append(got, f)
				}
				if cut.all && err != io.EOF {
					t.Fatalf("%s: after %d frames: %v", cut.name, len(got), err)
				}
				if !cut.all {
					if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("%s: %v", cut.name, err)
					}
				}
				exp := want
				if !cut.all {
					if len(got) == 0 {
						t.Fatalf("%s: no frame decoded", cut.name)
					}
					exp = want[:len(got)]
				}
				if d := framesDiff(exp, got); d != "" {
					t.Fatalf("%s (seed %d): frames differ:\n%s", cut.name, seed, d)
				}
			}
		})
	}
}

// allocated returns the bytes f allocated.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReaderHostileLengths checks, through framing's Reader, that a length
// field claiming 4 GiB, or 8 MiB of which 10 bytes arrive, costs no memory.
func TestReaderHostileLengths(t *testing.T) {
	for _, c := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"4 GiB", []byte{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3}, framing.ErrFrameTooLarge},
		{"8 MiB then EOF", append([]byte{0x00, 0x80, 0x00, 0x00}, make([]byte, 10)...), io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			n := allocated(func() {
				_, err = framing.NewReader(fuzz.NewReader(bytes.NewReader(c.stream), fuzz.CutEvery(3)), U32BE, nil).ReadFrame()
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if n >= 64<<10 {
				t.Fatalf("allocated %d bytes", n)
			}
			t.Logf("allocated %d bytes", n)
		})
	}
	t.Run("8-byte field on this platform", func(t *testing.T) {
		stream := []byte{0, 0, 0, 1, 0, 0, 0, 0, 'x'} // 2^32 bytes declared
		_, err := framing.NewReader(bytes.NewReader(stream), U64BE, &framing.Options{Oversize: framing.Skip}).ReadFrame()
		var tl *framing.FrameTooLargeError
		if !errors.As(err, &tl) || tl.Size != 1<<32 || !tl.Skipped {
			t.Fatalf("got %v", err)
		}
	})
}
