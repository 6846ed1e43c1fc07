package delimiter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

// readAll reads every frame of data in pieces of 1 to maxChunk bytes and
// returns the frames and errors as strings, up to the first fatal error.
func readAll(t *testing.T, dec framing.Decoder, data []byte, opts *framing.Options, rng *rand.Rand, maxChunk int) []string {
	t.Helper()
	r := framing.NewReader(fuzz.NewReader(bytes.NewReader(bytes.Clone(data)), fuzz.CutRandom(rng.Int63(), maxChunk)), dec, opts)
	var got []string
	for n := 0; n <= len(data)+10; n++ {
		f, err := r.ReadFrame()
		switch {
		case err == nil:
			got = append(got, fmt.Sprintf("%q", f))
		case err == io.EOF:
			return got
		case framing.Classify(err) == framing.Fatal:
			var ue *framing.UnexpectedEOFError
			if errors.As(err, &ue) {
				return append(got, "unexpected EOF")
			}
			return append(got, fmt.Sprintf("fatal %T", err))
		default:
			got = append(got, fmt.Sprintf("rejected %T", err))
		}
	}
	t.Fatalf("no end after %d reads", len(data)+10)
	return nil
}

// The lines fast path reads exactly as the general search does with the
// same delimiters, under any cutting, limit and policy.
func TestLinesFastPathMatchesGeneral(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	for _, fast := range []*Codec{Lines, CRLFLines, mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n"), []byte("\n")}, KeepDelimiter: true})} {
		if !fast.lines {
			t.Fatalf("%q: fast path not taken", fast.delims)
		}
		general := *fast
		general.lines = false
		for i := 0; i < 500; i++ {
			data := make([]byte, rng.Intn(60))
			for j := range data {
				data[j] = "ab\r\n"[rng.Intn(4)]
			}
			opts := &framing.Options{MaxFrameSize: 1 + rng.Intn(12)}
			if rng.Intn(2) == 0 {
				opts.Oversize = framing.Skip
			}
			chunk := 1 + rng.Intn(8)
			seed := rng.Int63()
			want := readAll(t, &general, data, opts, rand.New(rand.NewSource(seed)), chunk)
			got := readAll(t, fast, data, opts, rand.New(rand.NewSource(seed)), chunk)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%q, limit %d, policy %v (seed %d) (-general +fast):\n%s", data, opts.MaxFrameSize, opts.Oversize, s, diff)
			}
		}
	}
}

// Whatever the delimiters, a sequence of payloads the encoder accepts is
// read back exactly, however the stream is cut.
func TestEncoderAcceptsOnlyWhatReadsBack(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	configs := [][]string{{"\n", "\r\n"}, {"\r\n", "\n"}, {"\r\n\r\n"}, {"\r\n\r\n", "\r\n"}, {"\r\n", "\r\n\r\n"},
		{"ab", "ba"}, {"aba", "b"}, {"abc", "bc", "c"}, {"aa"}, {"aab", "ab"}, {"b", "aab"}}
	for _, ds := range configs {
		var cfg Config
		for _, d := range ds {
			cfg.Delimiters = append(cfg.Delimiters, []byte(d))
		}
		for _, keep := range []bool{false, true} {
			cfg.KeepDelimiter = keep
			codec := mustCodec(t, cfg)
			for i := 0; i < 200; i++ {
				var stream []byte
				var want []string
				for k := rng.Intn(6); k >= 0; k-- {
					p := make([]byte, rng.Intn(6))
					for j := range p {
						p[j] = "abc\r\n"[rng.Intn(5)]
					}
					out, err := codec.AppendFrame(stream, p)
					if err != nil {
						if !errors.Is(err, framing.ErrPayload) || !bytes.Equal(out, stream) {
							t.Fatalf("%q: %v, appended %q", p, err, out[len(stream):])
						}
						if _, _, herr := codec.AppendHeader(nil, p); herr == nil {
							t.Fatalf("%q: AppendFrame refuses, AppendHeader accepts", p)
						}
						continue
					}
					stream = out
					if keep {
						p = append(p, cfg.Delimiters[0]...)
					}
					want = append(want, fmt.Sprintf("%q", p))
				}
				for _, chunk := range []int{1, 3, len(stream) + 1} {
					got := readAll(t, codec, stream, nil, rng, chunk)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("%q keep %v, stream %q in pieces up to %d (seed %d) (-want +got):\n%s", ds, keep, stream, chunk, s, diff)
					}
				}
			}
		}
	}
}

func TestNewLines(t *testing.T) {
	for _, c := range []struct {
		crlf bool
		want string
	}{{false, "x\n"}, {true, "x\r\n"}} {
		out, err := NewLines(c.crlf).AppendFrame(nil, []byte("x"))
		if err != nil || string(out) != c.want {
			t.Errorf("NewLines(%v): %q, %v", c.crlf, out, err)
		}
		if got := readStrings(t, NewLines(c.crlf), "a\nb\r\n", 1); !cmp.Equal(got, []string{"a", "b"}) {
			t.Errorf("NewLines(%v) read %q", c.crlf, got)
		}
	}
}

// Empty COBS and SLIP frames: a 0x00 or END with nothing before it is
// ignored (line noise, resynchronisation); COBS sends an empty payload as
// 01 00.
func TestStuffedEmptyFrames(t *testing.T) {
	cases := []struct {
		codec framing.Codec
		wire  []byte
		want  []string
	}{
		{COBS, []byte{0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x41, 0x00}, []string{"", "A"}},
		{SLIP, []byte{0xC0, 0xC0, 0x41, 0xC0, 0xC0, 0xC0, 0x42, 0xC0}, []string{"A", "B"}},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 2, len(c.wire)} {
			if got := readStrings(t, c.codec, string(c.wire), chunk); !cmp.Equal(got, c.want) {
				t.Errorf("%T % x in %d-byte reads: %q, want %q", c.codec, c.wire, chunk, got, c.want)
			}
		}
	}
}

// Every delimited codec: a stream that stops without a delimiter is an
// unexpected EOF with the missing count unknown; a fixed-size frame cut
// short knows what is missing.
func TestUnterminatedAtEOFAllCodecs(t *testing.T) {
	crlf2 := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n")}})
	fixed, _ := Fixed(10)
	cases := []struct {
		codec   framing.Codec
		good    []byte
		tail    string
		missing int64
	}{
		{crlf2, []byte("x"), "abc\r\n\r", -1},
		{CRLF, []byte("x"), "abc\r", -1},
		{COBS, []byte("x"), "\x03ab", -1},
		{COBS, []byte("x"), "\x05ab", -1},
		{SLIP, []byte("x"), "ab\xdb", -1},
		{fixed, []byte("0123456789"), "abc", 7},
	}
	for _, c := range cases {
		stream, err := c.codec.AppendFrame(nil, c.good)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, c.tail...)
		for _, chunk := range []int{1, len(stream)} {
			r := framing.NewReader(fuzz.NewReader(bytes.NewReader(stream), fuzz.CutEvery(chunk)), c.codec, nil)
			if f, err := r.ReadFrame(); err != nil || !bytes.Equal(f, c.good) {
				t.Fatalf("%T: first frame %q, %v", c.codec, f, err)
			}
			_, err := r.ReadFrame()
			var ue *framing.UnexpectedEOFError
			if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &ue) || ue.Missing != c.missing || ue.Buffered != len(c.tail) {
				t.Errorf("%T %q: %v, want unexpected EOF, %d buffered, %d missing", c.codec, c.tail, err, len(c.tail), c.missing)
			}
		}
	}
}

// Decode on a complete frame and AppendFrame into a buffer with room
// allocate nothing, for every codec.
func TestCodecZeroAllocs(t *testing.T) {
	fixed, _ := Fixed(64)
	crlf2 := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte(";")}, KeepDelimiter: true})
	payload := bytes.Repeat([]byte("p"), 64)
	binary := bytes.Repeat([]byte{0, 0xC0, 0xDB, 1}, 16)
	for _, c := range []struct {
		codec   framing.Codec
		payload []byte
	}{{Lines, payload}, {CRLFLines, payload}, {CRLF, payload}, {crlf2, payload}, {COBS, binary}, {SLIP, binary}, {fixed, payload}} {
		wire, err := c.codec.AppendFrame(nil, c.payload)
		if err != nil {
			t.Fatal(err)
		}
		work := make([]byte, len(wire))
		dst := make([]byte, 0, 2*len(wire))
		st := new(framing.DecodeState) // the Reader's, not Decode's
		a := testing.AllocsPerRun(100, func() {
			copy(work, wire) // stuffed codecs decode in place
			*st = framing.DecodeState{Limit: 1 << 20}
			if d, err := c.codec.Decode(work, false, st); err != nil || frameSize(d) != len(wire) {
				t.Fatalf("%T: %+v, %v", c.codec, d, err)
			}
			if _, err := c.codec.AppendFrame(dst, c.payload); err != nil {
				t.Fatal(err)
			}
		})
		if a != 0 {
			t.Errorf("%T: %v allocations per decode and encode", c.codec, a)
		}
	}
}

// The reader's memory stays bounded all through a 100 MiB line with no
// delimiter, under both policies.
func TestLongLineMemory(t *testing.T) {
	const size = 100 << 20
	for _, policy := range []framing.OversizePolicy{framing.Fail, framing.Skip} {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.TotalAlloc
		var peak uint64
		src := &sampled{endless: endless{n: size, tail: []byte("\ngood\n")}, every: 4 << 20, sample: func() {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.TotalAlloc-base)
		}}
		r := framing.NewReader(src, Lines, &framing.Options{MaxFrameSize: 64 << 10, Oversize: policy})
		var got []string
		for {
			f, err := r.ReadFrame()
			if err != nil {
				if framing.Classify(err) == framing.Rejected {
					got = append(got, "rejected")
					continue
				}
				if !errors.Is(err, framing.ErrFrameTooLarge) && err != io.EOF {
					t.Fatal(err)
				}
				break
			}
			got = append(got, string(f))
		}
		src.sample()
		var want []string
		if policy == framing.Skip {
			want = []string{"rejected", "good"}
		}
		if !cmp.Equal(got, want) {
			t.Errorf("policy %v: got %q, want %q", policy, got, want)
		}
		if peak > 1<<20 {
			t.Errorf("policy %v: %d bytes allocated while reading", policy, peak)
		}
	}
}

// sampled is endless calling sample after every `every` bytes served.
type sampled struct {
	endless
	every, since int
	sample       func()
}

func (s *sampled) Read(p []byte) (int, error) {
	n, err := s.endless.Read(p)
	if s.since += n; s.since >= s.every {
		s.since = 0
		s.sample()
	}
	return n, err
}

// Zero values (not made by New or Fixed) return errors instead of
// panicking.
func TestZeroValuesDoNotPanic(t *testing.T) {
	for _, c := range []interface {
		framing.Codec
		framing.WrapEncoder
	}{&Codec{}, &FixedCodec{}} {
		st := &framing.DecodeState{Limit: 10}
		if _, err := c.Decode([]byte("ab\ncd"), false, st); err == nil {
			t.Errorf("%T: Decode accepted", c)
		}
		if _, err := c.AppendFrame(nil, []byte("x")); err == nil {
			t.Errorf("%T: AppendFrame accepted", c)
		}
		if _, _, err := c.AppendHeader(nil, []byte("x")); err == nil {
			t.Errorf("%T: AppendHeader accepted", c)
		}
		_ = c.AppendTrailer(nil, nil)
	}
}

// frameSize returns the bytes of the frame d reports, complete (Frame) or
// located (NeedFrame); 0 for anything else.
func frameSize(d framing.Decoded) int {
	if _, _, total, ok := d.Located(); ok {
		return int(total)
	}
	if _, _, ok := d.Frame(); ok {
		return d.Advance()
	}
	return 0
}
