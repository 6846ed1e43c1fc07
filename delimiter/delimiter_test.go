package delimiter

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var seedFlag = flag.Int64("delimiter.seed", 0, "seed for the random tests (0: random)")

func seed(t *testing.T) int64 {
	s := *seedFlag
	if s == 0 {
		s = rand.Int63()
	}
	t.Logf("seed %d (rerun with -delimiter.seed=%d)", s, s)
	return s
}

func mustCodec(t *testing.T, c Config) *Codec {
	t.Helper()
	cd, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return cd
}

// payloads returns random payloads over alphabet: sizes log-uniform, most
// under 4 KiB, some up to 64 KiB, some empty.
func payloads(rng *rand.Rand, n int, alphabet string, size func(i int) int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		sz := size(i)
		p := make([]byte, sz)
		for j := range p {
			p[j] = alphabet[rng.Intn(len(alphabet))]
		}
		out[i] = p
	}
	return out
}

func logUniform(rng *rand.Rand) func(int) int {
	return func(i int) int {
		if i%11 == 0 {
			return 0
		}
		return int(float64(64<<10) * rng.Float64() * rng.Float64() * rng.Float64() * rng.Float64())
	}
}

func TestRoundTrip(t *testing.T) {
	s := seed(t)
	fixed, err := Fixed(100)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		codec    framing.Codec
		alphabet string
		keep     []byte // the delimiter a kept frame ends with
		size     func(rng *rand.Rand) func(int) int
	}{
		{"single byte", mustCodec(t, Config{Delimiters: [][]byte{{0}}}), "abc\r\n\x01\xff", nil, logUniform},
		{"crlfcrlf", mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n")}}), strings.Repeat("abcdefgh", 4) + "\r\n", nil, logUniform},
		{"lines", Lines, "ab\r \t", nil, logUniform},
		{"lines, general search", general(Lines), "ab\r \t", nil, logUniform},
		{"crlfcrlf and crlf", mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte("\r\n")}}), strings.Repeat("abcdefgh", 8) + "\r\n", nil, logUniform},
		{"crlf lines", CRLFLines, "ab \t", nil, logUniform},
		{"crlf", CRLF, "ab\n", nil, logUniform},
		{"keep", mustCodec(t, Config{Delimiters: [][]byte{[]byte("END")}, KeepDelimiter: true}), strings.Repeat("abcdefgh", 4) + "END", []byte("END"), logUniform},
		{"cobs", COBS, "\x00\x00\x00\x01\xff", nil, logUniform},
		{"cobs long runs", COBS, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x00", nil, logUniform},
		{"slip", SLIP, "\xc0\xdb\xdc\xdd\x00", nil, logUniform},
		{"fixed", fixed, "\x00\n\r", nil, func(*rand.Rand) func(int) int { return func(int) int { return 100 } }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(s))
			var want, in [][]byte
			for _, p := range payloads(rng, 300, c.alphabet, c.size(rng)) {
				// Drop what the encoder rightly refuses (the alphabet can
				// spell a delimiter).
				if _, err := c.codec.AppendFrame(nil, p); err != nil {
					if !errors.Is(err, framing.ErrPayload) {
						t.Fatal(err)
					}
					continue
				}
				in = append(in, p)
				want = append(want, append(bytes.Clone(p), c.keep...))
			}
			if len(in) < 100 {
				t.Fatalf("only %d encodable payloads", len(in))
			}
			var stream bytes.Buffer
			if err := framing.NewWriter(&stream, c.codec, nil).WriteFrames(in); err != nil {
				t.Fatal(err)
			}
			data := stream.Bytes()
			for _, cut := range []struct {
				name string
				src  io.Reader
				all  bool
			}{
				{"1-byte", fuzz.NewReader(bytes.NewReader(data[:min(len(data), 1<<20)]), fuzz.CutEvery(1)), len(data) <= 1<<20},
				{"7-byte", fuzz.NewReader(bytes.NewReader(data), fuzz.CutEvery(7)), true},
				{"random", fuzz.NewReader(bytes.NewReader(data), fuzz.CutRandom(rng.Int63(), 30000)), true},
				{"whole", bytes.NewReader(data), true},
			} {
				r := framing.NewReader(cut.src, c.codec, nil)
				var got [][]byte
				var err error
				for {
					var f []byte
					if f, err = r.ReadFrameInto(nil); err != nil {
						break
					}
					got = append(got, f)
				}
				exp := want
				if cut.all {
					if err != io.EOF {
						t.Fatalf("%s: after %d frames: %v", cut.name, len(got), err)
					}
				} else {
					if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) == 0 {
						t.Fatalf("%s: %d frames, %v", cut.name, len(got), err)
					}
					exp = want[:len(got)]
				}
				if !equalFrames(exp, got) {
					t.Fatalf("%s (seed %d): frames differ:\n%s", cut.name, s, cmp.Diff(exp, got, cmpopts.EquateEmpty()))
				}
			}
		})
	}
}

// general returns a copy of c that does not take the lines fast path.
func general(c *Codec) *Codec {
	g := *c
	g.lines = false
	return &g
}

func equalFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func readStrings(t *testing.T, c framing.Decoder, in string, chunk int) []string {
	t.Helper()
	r := framing.NewReader(fuzz.NewReader(bytes.NewReader([]byte(in)), fuzz.CutEvery(chunk)), c, nil)
	var got []string
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		got = append(got, string(f))
	}
}

// Netty's rule: the delimiter that yields the shortest frame wins; between
// delimiters that yield the same frame, the one listed first.
func TestShortestFrameRule(t *testing.T) {
	nlCRLF := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\n"), []byte("\r\n")}})
	long1st := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte("\r\n")}})
	short1st := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n"), []byte("\r\n\r\n")}})
	overlap := mustCodec(t, Config{Delimiters: [][]byte{[]byte("ab"), []byte("ba")}})
	cases := []struct {
		codec *Codec
		in    string
		want  []string
	}{
		{nlCRLF, "ABC\nDEF\r\n", []string{"ABC", "DEF"}},
		{nlCRLF, "A\rB\n\r\n", []string{"A\rB", ""}},
		{long1st, "a\r\n\r\nb\r\nc\r\n\r\n", []string{"a", "b", "c"}},
		{short1st, "a\r\n\r\nb\r\n", []string{"a", "", "b"}},
		{overlap, "xxbabyab", []string{"xx", "by"}},
		{overlap, "aba", []string{"", "a"}[:1]},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 2, 3, 100} {
			got := readStringsEOF(t, c.codec, c.in, chunk)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("%q in %d-byte reads (-want +got):\n%s", c.in, chunk, diff)
			}
		}
	}
}

// TestShortestFrameRuleWhileSkipping: skipping an oversized frame ends at
// the delimiter the rule picks, not at the first one that completes in the
// buffer, or the rest of the winning delimiter would start the next frame.
// (Found by the fuzz conformance suite, with "E" and "END".)
func TestShortestFrameRuleWhileSkipping(t *testing.T) {
	c := mustCodec(t, Config{Delimiters: [][]byte{[]byte("END"), []byte("E")}})
	in := "0123456789" + "END" + "ok" + "END"
	for _, chunk := range []int{1, 2, 11, 100} {
		r := framing.NewReader(fuzz.NewReader(bytes.NewReader([]byte(in)), fuzz.CutEvery(chunk)), c,
			&framing.Options{MaxFrameSize: 4, Oversize: framing.Skip})
		if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) {
			t.Fatalf("%d-byte reads: first ReadFrame: %v, want the frame skipped", chunk, err)
		}
		f, err := r.ReadFrame()
		if err != nil || string(f) != "ok" {
			t.Fatalf("%d-byte reads: frame after the skipped one: %q, %v; want \"ok\"", chunk, f, err)
		}
	}
}

// readStringsEOF is readStrings that stops at any end of stream.
func readStringsEOF(t *testing.T, c framing.Decoder, in string, chunk int) []string {
	t.Helper()
	r := framing.NewReader(fuzz.NewReader(bytes.NewReader([]byte(in)), fuzz.CutEvery(chunk)), c, nil)
	var got []string
	for {
		f, err := r.ReadFrame()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return got
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		got = append(got, string(f))
	}
}

func TestEncoderRefusals(t *testing.T) {
	crlf2 := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n")}})
	fixed, _ := Fixed(4)
	cases := []struct {
		name  string
		codec framing.Encoder
		p     string
	}{
		{"contains delimiter", Lines, "a\nb"},
		{"lines ending in CR", Lines, "abc\r"},
		{"contains CRLF", CRLF, "a\r\nb"},
		{"end plus delimiter matches early", crlf2, "a\r\n"},
		{"contains \\r\\n\\r\\n", crlf2, "x\r\n\r\ny"},
		{"fixed too short", fixed, "abc"},
		{"fixed too long", fixed, "abcde"},
	}
	for _, c := range cases {
		dst := []byte("keep")
		out, err := c.codec.AppendFrame(dst, []byte(c.p))
		if !errors.Is(err, framing.ErrPayload) || framing.Classify(err) != framing.Rejected {
			t.Errorf("%s: got %v, want a payload error", c.name, err)
		}
		if string(out) != "keep" {
			t.Errorf("%s: appended %q", c.name, out)
		}
		var rec bytes.Buffer
		if err := framing.NewWriter(&rec, c.codec, nil).WriteFrame([]byte(c.p)); !errors.Is(err, framing.ErrPayload) || rec.Len() != 0 {
			t.Errorf("%s: Writer: %v, %d bytes written", c.name, err, rec.Len())
		}
	}
	// What does come back intact is accepted.
	for _, p := range []string{"a\r", "\n\r\n", "a\r\n\r"} {
		if _, err := crlf2.AppendFrame(nil, []byte(p)); err == nil {
			got := readStrings(t, crlf2, p+"\r\n\r\n", 1)
			if len(got) != 1 || got[0] != p {
				t.Errorf("%q accepted but read back as %q", p, got)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Delimiters: [][]byte{{}}},
		{Delimiters: [][]byte{[]byte("x"), []byte("x")}},
	} {
		var ce *framing.ConfigError
		if _, err := New(c); !errors.As(err, &ce) {
			t.Errorf("%+v: got %v", c, err)
		}
	}
	for _, n := range []int{0, -1} {
		var ce *framing.ConfigError
		if _, err := Fixed(n); !errors.As(err, &ce) {
			t.Errorf("Fixed(%d): got %v", n, err)
		}
	}
}

func TestUnterminatedAtEOF(t *testing.T) {
	for _, in := range []string{"one\ntwo", "one\ntwo\r"} {
		r := framing.NewReader(strings.NewReader(in), Lines, nil)
		if f, err := r.ReadFrame(); err != nil || string(f) != "one" {
			t.Fatalf("%q, %v", f, err)
		}
		_, err := r.ReadFrame()
		var ue *framing.UnexpectedEOFError
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &ue) || ue.Missing != -1 {
			t.Fatalf("%q: got %v, want unexpected EOF with missing unknown", in, err)
		}
	}
}

// endless serves n filler bytes without a delimiter, then tail.
type endless struct {
	n    int64
	tail []byte
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 0 {
		k := int(min(int64(len(p)), e.n))
		for i := range p[:k] {
			p[i] = 'x'
		}
		e.n -= int64(k)
		return k, nil
	}
	if len(e.tail) == 0 {
		return 0, io.EOF
	}
	k := copy(p, e.tail)
	e.tail = e.tail[k:]
	return k, nil
}

func TestLongLineLimit(t *testing.T) {
	const size = 100 << 20
	opts := func(p framing.OversizePolicy) *framing.Options {
		return &framing.Options{MaxFrameSize: 64 << 10, Oversize: p}
	}
	t.Run("fail", func(t *testing.T) {
		src := &endless{n: size, tail: []byte("\ngood\n")}
		r := framing.NewReader(src, Lines, opts(framing.Fail))
		_, err := r.ReadFrame()
		if !errors.Is(err, framing.ErrFrameTooLarge) || framing.Classify(err) != framing.Fatal {
			t.Fatalf("got %v", err)
		}
		if read := size - src.n; read > 1<<20 {
			t.Fatalf("read %d bytes before failing", read)
		}
	})
	t.Run("skip", func(t *testing.T) {
		src := &endless{n: size, tail: []byte("\ngood\n")}
		var got []string
		var errs int
		var peak uint64
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		r := framing.NewReader(src, Lines, opts(framing.Skip))
		for reads := 0; ; reads++ {
			f, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				if framing.Classify(err) != framing.Rejected {
					t.Fatal(err)
				}
				errs++
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				continue
			}
			got = append(got, string(f))
		}
		if errs != 1 || len(got) != 1 || got[0] != "good" {
			t.Fatalf("%d errors, frames %q", errs, got)
		}
		if peak > base && peak-base > 1<<20 {
			t.Fatalf("heap grew by %d bytes", peak-base)
		}
		// The Reader itself holds a buffer below 1 MiB.
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.HeapInuse > base && after.HeapInuse-base > 1<<20 {
			t.Fatalf("heap in use grew by %d bytes", after.HeapInuse-base)
		}
	})
}

// counting wraps a decoder and adds up the bytes it is shown beyond what it
// had already scanned.
type counting struct {
	framing.Decoder
	seen int
}

func (c *counting) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	c.seen += len(buf) - st.Scanned
	return c.Decoder.Decode(buf, atEOF, st)
}

func TestNoRescanning(t *testing.T) {
	line := append(bytes.Repeat([]byte("y"), 4<<20), "\r\n"...)
	for _, codec := range []*Codec{Lines, CRLF, mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte("\n")}})} {
		c := &counting{Decoder: codec}
		r := framing.NewReader(fuzz.NewReader(bytes.NewReader(line), fuzz.CutEvery(7)), c, &framing.Options{MaxFrameSize: 8 << 20})
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if c.seen > 2*len(line) {
			t.Fatalf("decoder examined %d bytes for a %d-byte line", c.seen, len(line))
		}
	}
}

func TestFixedLimit(t *testing.T) {
	fixed, _ := Fixed(1000)
	stream := bytes.Repeat([]byte("z"), 3000)
	r := framing.NewReader(bytes.NewReader(stream), fixed, &framing.Options{MaxFrameSize: 500, Oversize: framing.Skip})
	for i := 0; i < 3; i++ {
		if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) || framing.Classify(err) != framing.Rejected {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatal(err)
	}
}

func TestLinesZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are checked without -race (sync.Pool drops items under it)")
	}
	line := append(bytes.Repeat([]byte("l"), 64), '\n')
	stream := bytes.Repeat(line, 64)
	src := bytes.NewReader(stream)
	r := framing.NewReader(src, Lines, nil)
	a := testing.AllocsPerRun(100, func() {
		src.Reset(stream)
		for i := 0; i < 64; i++ {
			if f, err := r.ReadFrame(); err != nil || len(f) != 64 {
				t.Fatal(len(f), err)
			}
		}
	})
	if a != 0 {
		t.Fatalf("%v allocations per 64 lines", a)
	}
}

// The frames found must not depend on how the stream is cut, even where
// delimiters overlap.
func TestCutIndependence(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	configs := [][]string{{"\n", "\r\n"}, {"\r\n\r\n", "\r\n"}, {"\r\n", "\r\n\r\n"}, {"ab", "ba"}, {"aba", "b"}, {"abc", "bc", "c"}}
	for _, ds := range configs {
		var cfg Config
		for _, d := range ds {
			cfg.Delimiters = append(cfg.Delimiters, []byte(d))
		}
		codec := mustCodec(t, cfg)
		for i := 0; i < 300; i++ {
			b := make([]byte, 1+rng.Intn(40))
			for j := range b {
				b[j] = "abc\r\n"[rng.Intn(5)]
			}
			whole := readStringsEOF(t, codec, string(b), len(b))
			for _, chunk := range []int{1, 2, 3} {
				if got := readStringsEOF(t, codec, string(b), chunk); !cmp.Equal(whole, got) {
					t.Fatalf("%q with %q (seed %d): whole %q, %d-byte reads %q", ds, b, s, whole, chunk, got)
				}
			}
		}
	}
}

func TestStuffingVectors(t *testing.T) {
	cases := []struct {
		codec   framing.Codec
		payload []byte
		wire    []byte
	}{
		{COBS, []byte{}, []byte{0x01, 0x00}},
		{COBS, []byte{0x00}, []byte{0x01, 0x01, 0x00}},
		{COBS, []byte{0x11, 0x22, 0x00, 0x33}, []byte{0x03, 0x11, 0x22, 0x02, 0x33, 0x00}},
		{COBS, []byte{0x11, 0x00, 0x00, 0x00}, []byte{0x02, 0x11, 0x01, 0x01, 0x01, 0x00}},
		{SLIP, []byte{0x01, 0xC0, 0x02, 0xDB}, []byte{0x01, 0xDB, 0xDC, 0x02, 0xDB, 0xDD, 0xC0}},
	}
	for _, c := range cases {
		got, err := c.codec.AppendFrame(nil, c.payload)
		if err != nil || !bytes.Equal(got, c.wire) {
			t.Errorf("encode % x: got % x, %v; want % x", c.payload, got, err, c.wire)
		}
		f, err := framing.NewReader(bytes.NewReader(c.wire), c.codec, nil).ReadFrame()
		if err != nil || !bytes.Equal(f, c.payload) {
			t.Errorf("decode % x: got % x, %v", c.wire, f, err)
		}
	}
	// Blocks of 254 non-zero bytes (the canonical encoding: no empty block
	// after a full one that ends the payload).
	seq := func(from, to int) []byte { // the bytes from..to
		var b []byte
		for i := from; i <= to; i++ {
			b = append(b, byte(i))
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, c := range []struct{ payload, wire []byte }{
		{seq(1, 254), cat([]byte{0xFF}, seq(1, 254), []byte{0})},
		{seq(0, 254), cat([]byte{0x01, 0xFF}, seq(1, 254), []byte{0})},
		{seq(1, 255), cat([]byte{0xFF}, seq(1, 254), []byte{0x02, 0xFF, 0})},
		{cat(seq(2, 255), []byte{0}), cat([]byte{0xFF}, seq(2, 255), []byte{0x01, 0x01, 0})},
		{cat(seq(3, 255), []byte{0, 1}), cat([]byte{0xFE}, seq(3, 255), []byte{0x02, 0x01, 0})},
	} {
		got, _ := COBS.AppendFrame(nil, c.payload)
		if !bytes.Equal(got, c.wire) {
			t.Errorf("COBS of %d bytes: got % x, want % x", len(c.payload), got, c.wire)
		}
		f, err := framing.NewReader(bytes.NewReader(c.wire), COBS, nil).ReadFrame()
		if err != nil || !bytes.Equal(f, c.payload) {
			t.Errorf("COBS decode of %d bytes: % x, %v", len(c.payload), f, err)
		}
	}
	// The form with an empty block after a full one is read too.
	f, err := framing.NewReader(bytes.NewReader(cat([]byte{0xFF}, seq(1, 254), []byte{0x01, 0})), COBS, nil).ReadFrame()
	if err != nil || !bytes.Equal(f, seq(1, 254)) {
		t.Errorf("FF block then 01: % x, %v", f, err)
	}
	if _, err := SLIP.AppendFrame(nil, nil); !errors.Is(err, framing.ErrPayload) {
		t.Errorf("empty SLIP payload: %v", err)
	}
}

func TestCorruptStuffedFrameResyncs(t *testing.T) {
	cases := []struct {
		codec framing.Codec
		bad   []byte
	}{
		{COBS, []byte{0x05, 0x11, 0x00}},       // block runs past the frame
		{SLIP, []byte{0x01, 0xDB, 0x02, 0xC0}}, // ESC then a bad byte
		{SLIP, []byte{0x01, 0xDB, 0xC0}},       // ESC at the end
	}
	for _, c := range cases {
		var stream []byte
		stream, _ = c.codec.AppendFrame(stream, []byte("one"))
		stream = append(stream, c.bad...)
		stream, _ = c.codec.AppendFrame(stream, []byte("two"))
		for _, chunk := range []int{1, 3, len(stream)} {
			r := framing.NewReader(fuzz.NewReader(bytes.NewReader(stream), fuzz.CutEvery(chunk)), c.codec, nil)
			var got []string
			for {
				f, err := r.ReadFrame()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !errors.Is(err, framing.ErrCorrupt) || framing.Classify(err) != framing.Rejected {
						t.Fatalf("% x: %v", c.bad, err)
					}
					got = append(got, "corrupt")
					continue
				}
				got = append(got, string(f))
			}
			if diff := cmp.Diff([]string{"one", "corrupt", "two"}, got); diff != "" {
				t.Errorf("% x, %d-byte reads (-want +got):\n%s", c.bad, chunk, diff)
			}
		}
	}
}

func TestStuffedLimit(t *testing.T) {
	for _, codec := range []framing.Codec{COBS, SLIP} {
		big := bytes.Repeat([]byte{0xC0, 0x00, 0xDB}, 1000)
		var stream []byte
		stream, _ = codec.AppendFrame(stream, []byte("a"))
		stream, _ = codec.AppendFrame(stream, big)
		stream, _ = codec.AppendFrame(stream, []byte("b"))
		r := framing.NewReader(fuzz.NewReader(bytes.NewReader(stream), fuzz.CutEvery(7)), codec, &framing.Options{MaxFrameSize: 2999, Oversize: framing.Skip})
		var got []string
		for {
			f, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, framing.ErrFrameTooLarge) {
					t.Fatal(err)
				}
				got = append(got, "too large")
				continue
			}
			got = append(got, string(f))
		}
		if diff := cmp.Diff([]string{"a", "too large", "b"}, got); diff != "" {
			t.Errorf("%T (-want +got):\n%s", codec, diff)
		}
		// A limit of exactly the payload size admits it.
		r = framing.NewReader(bytes.NewReader(stream), codec, &framing.Options{MaxFrameSize: 3000})
		for i := 0; i < 3; i++ {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatalf("%T: frame %d: %v", codec, i, err)
			}
		}
	}
}

func TestStuffedNoRescanning(t *testing.T) {
	payload := bytes.Repeat([]byte{1, 0xDB, 2, 0xC0, 0}, 800<<10) // 4 MB
	for _, codec := range []framing.Codec{COBS, SLIP} {
		wire, _ := codec.AppendFrame(nil, payload)
		c := &counting{Decoder: codec}
		r := framing.NewReader(fuzz.NewReader(bytes.NewReader(wire), fuzz.CutEvery(7)), c, &framing.Options{MaxFrameSize: 8 << 20})
		f, err := r.ReadFrame()
		if err != nil || !bytes.Equal(f, payload) {
			t.Fatalf("%T: %d bytes, %v", codec, len(f), err)
		}
		if c.seen > 2*len(wire) {
			t.Fatalf("%T: decoder examined %d bytes for a %d-byte frame", codec, c.seen, len(wire))
		}
	}
}

// Random bytes through every codec, with small limits and both policies:
// no panic, and every read ends in a frame, a typed error or EOF.
func TestHostileInput(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	fixed, _ := Fixed(5)
	multi := mustCodec(t, Config{Delimiters: [][]byte{[]byte("ab"), []byte("ba"), []byte("\xc0\x00")}, KeepDelimiter: true})
	codecs := []framing.Decoder{Lines, CRLF, multi, COBS, SLIP, fixed}
	for i := 0; i < 400; i++ {
		data := make([]byte, rng.Intn(300))
		for j := range data {
			data[j] = "ab\r\n\x00\xc0\xdb\xdc\xdd\x01\xff"[rng.Intn(11)]
		}
		for _, c := range codecs {
			opts := &framing.Options{MaxFrameSize: 1 + rng.Intn(40)}
			if rng.Intn(2) == 0 {
				opts.Oversize = framing.Skip
			}
			r := framing.NewReader(fuzz.NewReader(bytes.NewReader(bytes.Clone(data)), fuzz.CutRandom(rng.Int63(), 7)), c, opts)
			for n := 0; ; n++ {
				if n > len(data)+10 {
					t.Fatalf("%T (seed %d): no end after %d reads", c, s, n)
				}
				f, err := r.ReadFrame()
				if err == nil {
					if len(f) > opts.MaxFrameSize { // a kept delimiter counts
						t.Fatalf("%T (seed %d): %d-byte frame over a limit of %d", c, s, len(f), opts.MaxFrameSize)
					}
					continue
				}
				if framing.Classify(err) == framing.Fatal {
					break
				}
			}
		}
	}
}
