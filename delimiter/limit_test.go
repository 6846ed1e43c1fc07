package delimiter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

// What the decoders say, call by call: a found delimiter is a Frame
// whatever its size (the engine checks it); scanning reports OverLimit
// once the bytes certainly in the frame are over the limit (0 while the
// engine skips), never OverLimit(0); a fixed-size frame is located at once.
func TestDecodeResults(t *testing.T) {
	fixed, _ := Fixed(4)
	keepCRLF := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n")}, KeepDelimiter: true})
	keepLines := mustCodec(t, Config{Delimiters: [][]byte{[]byte("\n"), []byte("\r\n")}, KeepDelimiter: true})
	badCOBS := []byte{0x37, 0xfb, 0xcc, 0x24, 0x90, 0xe7, 0x09, 0xc5, 0x95, 0xb5, 0x44, 0x7e, 0x7d, 0x62, 0x0c, 0x00}
	badSLIP := append(append([]byte{0xDB, 'x'}, bytes.Repeat([]byte{'a'}, 18)...), 0xC0)
	for _, tc := range []struct {
		name  string
		dec   framing.Decoder
		in    string
		limit int
		want  framing.Decoded
	}{
		{"line within", Lines, "abcd", 3, framing.Need(5)}, // "d" may start "\r\n"
		{"line over", Lines, "abcde", 3, framing.OverLimit(4)},
		{"line found, over", Lines, "abcdefgh\r\nx", 3, framing.Frame(0, 8, 10)},
		{"general search found, over", general(Lines), "abcdefgh\r\nx", 3, framing.Frame(0, 8, 10)},
		{"kept delimiter counts", keepCRLF, "abcd\r", 5, framing.OverLimit(4)},
		{"kept delimiter, within", keepCRLF, "abc\r", 5, framing.Need(5)},
		{"kept line ending counts", keepLines, "abcdef", 5, framing.OverLimit(5)},
		{"kept line ending, within", keepLines, "abcde", 5, framing.Need(6)},
		{"kept, found", keepCRLF, "abcd\r\n", 5, framing.Frame(0, 6, 6)},
		{"skipping, one byte", Lines, "x", 0, framing.Need(2)},
		{"skipping, kept, one byte", keepLines, "x", 0, framing.Need(2)},
		{"skipping", Lines, "xyz", 0, framing.OverLimit(2)},
		{"skipping ends at the delimiter", Lines, "xy\nz", 0, framing.Frame(0, 2, 3)},
		{"fixed", fixed, "", 10, framing.NeedFrame(0, 4, 4)},
		{"fixed, over the limit", fixed, "abcdef", 2, framing.NeedFrame(0, 4, 4)},
		{"cobs noise", COBS, "\x00\x03ab\x00", 10, framing.Consume(1)},
		{"cobs skipping ends at buf[0]", COBS, "\x00\x03ab\x00", 0, framing.Consume(1)},
		{"slip skipping ends at buf[0]", SLIP, "\xc0ab\xc0", 0, framing.Consume(1)},
		{"cobs skipping", COBS, "\x03ab", 0, framing.OverLimit(3)},
		{"cobs, 12 bytes within 11", COBS, string(badCOBS[:12]), 11, framing.Need(13)},
		{"cobs, an incomplete block is not counted", COBS, string(badCOBS[:13]), 11, framing.Need(14)},
		{"malformed cobs, its block cut by the delimiter", COBS, string(badCOBS), 11, framing.Consume(16)},
		{"cobs, complete blocks over", COBS, "\x05abcd\x05efgh", 7, framing.OverLimit(10)},
		{"cobs, complete blocks within", COBS, "\x05abcd\x04efg", 8, framing.Need(10)},
		{"cobs, a run of empty blocks is bounded", COBS, "\x01\x01\x01\x01\x01", 3, framing.OverLimit(5)},
		{"malformed slip: rejected at its first defect", SLIP, string(badSLIP), 11, framing.Consume(21)},
		{"malformed slip, no END yet: rejected, skipped to its end", SLIP, string(badSLIP[:5]), 11, framing.OverLimit(5)},
		{"slip, over before a later defect", SLIP, "aaaaaaaa\xdbx", 3, framing.OverLimit(10)},
		{"slip pairs decode to one byte", SLIP, "\xdb\xdc\xdb\xdd\xdb\xdc\xdb", 3, framing.Need(8)},
		{"slip pairs over", SLIP, "\xdb\xdc\xdb\xdd\xdb\xdc\xdb\xdd\xdb", 3, framing.OverLimit(9)},
		{"slip ESC ESC is malformed", SLIP, "\xdb\xdb\xdb\xdb", 3, framing.OverLimit(4)},
		{"slip ESC at the end: a pair may follow", SLIP, "a\xdb", 3, framing.Need(3)},
	} {
		st := framing.DecodeState{Limit: tc.limit}
		buf := []byte(tc.in)
		d, err := tc.dec.Decode(buf[:len(buf):len(buf)], false, &st)
		wantErr := strings.Contains(tc.name, "malformed")
		if (err != nil) != wantErr || (err != nil && framing.Classify(err) != framing.Rejected) || d != tc.want {
			t.Errorf("%s: Decode(%q) with limit %d: %v, %v; want %v (an error: %v)", tc.name, tc.in, tc.limit, d, err, tc.want, wantErr)
		}
	}
}

// slipPrefixes decodes every prefix of in with SLIP, as the engine calls
// it while bytes arrive one by one (st carried along, nothing consumed),
// and returns the results.
func slipPrefixes(in []byte, limit int) []framing.Decoded {
	st := framing.DecodeState{Limit: limit}
	var out []framing.Decoded
	for k := 1; k <= len(in); k++ {
		d, _ := SLIP.Decode(bytes.Clone(in[:k:k]), false, &st)
		out = append(out, d)
		if d.IsOverLimit() {
			break
		}
	}
	return out
}

// The SLIP escape count in Carry: resuming gives what a fresh scan of the
// same bytes gives; once over the limit a frame stays over it (with its
// END too, before unstuffing); a well-formed frame is over it exactly when
// its payload is.
func TestSLIPCarry(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	for i := 0; i < 2000; i++ {
		var in []byte
		if i%2 == 0 {
			in = make([]byte, rng.Intn(40))
			for j := range in {
				in[j] = "\xdb\xdc\xdda"[rng.Intn(4)]
			}
		} else {
			p := make([]byte, rng.Intn(30))
			for j := range p {
				p[j] = "\xdb\xc0a"[rng.Intn(3)]
			}
			if len(p) == 0 {
				continue
			}
			wire, _ := SLIP.AppendFrame(nil, p)
			in = wire[:len(wire)-1]
			limit := len(p) - rng.Intn(2)
			d, err := SLIP.Decode(bytes.Clone(wire), false, &framing.DecodeState{Limit: limit})
			if want := len(p) > limit; err != nil || d.IsOverLimit() != want {
				t.Fatalf("% x, limit %d: %v, %v; want over the limit: %v", wire, limit, d, err, want)
			}
			if !d.IsOverLimit() {
				if start, end, ok := d.Frame(); !ok || end-start != len(p) {
					t.Fatalf("% x: %v", wire, d)
				}
			}
		}
		limit := rng.Intn(20)
		got := slipPrefixes(in, limit)
		over, bad := -1, false // the first prefix found over the limit or malformed, and which
		for k := 1; k <= len(in); k++ {
			fresh, ferr := SLIP.Decode(bytes.Clone(in[:k:k]), false, &framing.DecodeState{Limit: limit})
			if k <= len(got) && got[k-1] != fresh {
				t.Fatalf("% x, limit %d (seed %d): %d bytes resumed give %v, fresh %v", in, limit, s, k, got[k-1], fresh)
			}
			if over < 0 && fresh.IsOverLimit() {
				over, bad = k, ferr != nil
			}
			if over >= 0 && (!fresh.IsOverLimit() || (ferr != nil) != bad) {
				t.Fatalf("% x, limit %d (seed %d): at %d bytes %v (malformed %v), at %d %v, %v", in, limit, s, over, over >= 0, bad, k, fresh, ferr)
			}
			// The whole frame (END after these bytes) gets the same
			// verdict when one was reached: over the limit, or malformed.
			withEnd := append(bytes.Clone(in[:k]), slipEnd)
			d, err := SLIP.Decode(withEnd, false, &framing.DecodeState{Limit: limit})
			if over >= 0 && (bad != (err != nil) || (!bad && !d.IsOverLimit())) {
				t.Fatalf("% x, limit %d (seed %d): %d bytes over: %v (malformed %v), with their END: %v, %v", in, limit, s, k, over >= 0, bad, d, err)
			}
			if over < 0 && d.IsOverLimit() {
				t.Fatalf("% x, limit %d (seed %d): %d bytes within, with their END: %v", in, limit, s, k, d)
			}
		}
	}
}

// events reads data and describes what came out: frames, and errors by
// class and type (not by message: a frame refused while scanning has an
// unknown size, the same frame refused whole a known one).
type events func(dec framing.Decoder, data []byte, opts *framing.Options) []string

func describe(f []byte, err error) (string, bool) {
	var ue *framing.UnexpectedEOFError
	switch {
	case err == nil:
		return fmt.Sprintf("%q", f), false
	case err == io.EOF:
		return "", true
	case errors.As(err, &ue):
		return "unexpected EOF", true
	case framing.Classify(err) == framing.Fatal:
		return fmt.Sprintf("fatal %T", err), true
	}
	return fmt.Sprintf("%v %T", framing.Classify(err), err), false
}

// pushed reads data through a Deframer, pushed in pieces of chunk bytes
// (0: all at once).
func pushed(chunk int) events {
	return func(dec framing.Decoder, data []byte, opts *framing.Options) []string {
		d := framing.NewDeframer(dec, opts)
		var got []string
		data = bytes.Clone(data)
		for len(data) > 0 || chunk >= 0 {
			if len(data) == 0 {
				d.End()
				chunk = -1
			} else {
				n := len(data)
				if chunk > 0 {
					n = min(n, chunk)
				}
				d.Push(data[:n])
				data = data[n:]
			}
			for len(got) < 1000 {
				f, err := d.Next()
				if err == framing.ErrNeedMore {
					break
				}
				s, end := describe(f, err)
				if s != "" {
					got = append(got, s)
				}
				if end {
					return got
				}
			}
		}
		return append(got, "no end")
	}
}

// pulled reads data through a Reader whose reads return chunk bytes.
func pulled(chunk int) events {
	return func(dec framing.Decoder, data []byte, opts *framing.Options) []string {
		r := framing.NewReader(fuzz.NewReader(bytes.NewReader(bytes.Clone(data)), fuzz.CutEvery(chunk)), dec, opts)
		var got []string
		for len(got) < len(data)+10 {
			f, err := r.ReadFrame()
			s, end := describe(f, err)
			if s != "" {
				got = append(got, s)
			}
			if end {
				return got
			}
		}
		return append(got, "no end")
	}
}

// sameWhateverTheCut checks that data gives the same frames and errors
// pushed whole, pushed in pieces and read in pieces of 1 to 20 bytes, and
// returns them.
func sameWhateverTheCut(t *testing.T, dec framing.Decoder, data []byte, opts *framing.Options) []string {
	t.Helper()
	whole := pushed(0)(dec, data, opts)
	for k := 1; k <= 20; k++ {
		for name, read := range map[string]events{"pushed": pushed(k), "read": pulled(k)} {
			if got := read(dec, data, opts); !cmp.Equal(whole, got) {
				t.Fatalf("%T % x, limit %d, policy %v: %s in %d-byte pieces (-whole +cut):\n%s",
					dec, data, opts.MaxFrameSize, opts.Oversize, name, k, cmp.Diff(whole, got))
			}
		}
	}
	return whole
}

// Defect 4: a malformed COBS or SLIP frame longer than the limit gave a
// Rejected CorruptError when read whole and a Fatal FrameTooLargeError when
// cut before its delimiter, losing the next frame. Its defect comes before
// anything that shows it over the limit (COBS: its one block is cut by the
// delimiter, and an incomplete block is not counted; SLIP: its second
// byte), so it is a Rejected CorruptError under either policy, whatever
// the cut, and the frame after it is read.
func TestMalformedStuffedOverLimitWhateverTheCut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codec     framing.Decoder
		bad, good []byte
	}{
		// COBS: a block code 0x37 (54 bytes) in a 15-byte frame.
		{"cobs", COBS, []byte{0x37, 0xfb, 0xcc, 0x24, 0x90, 0xe7, 0x09, 0xc5, 0x95, 0xb5, 0x44, 0x7e, 0x7d, 0x62, 0x0c, 0x00},
			[]byte{0x03, 'o', 'k', 0x00}},
		// SLIP: ESC followed by 'x', 20 bytes.
		{"slip", SLIP, append(append([]byte{0xDB, 'x'}, bytes.Repeat([]byte{'a'}, 18)...), 0xC0), []byte{'o', 'k', 0xC0}},
	} {
		stream := append(bytes.Clone(tc.bad), tc.good...)
		for _, p := range []struct {
			policy framing.OversizePolicy
			want   []string
		}{
			{framing.Fail, []string{"rejected *framing.CorruptError", `"ok"`}},
			{framing.Skip, []string{"rejected *framing.CorruptError", `"ok"`}},
		} {
			got := sameWhateverTheCut(t, tc.codec, stream, &framing.Options{MaxFrameSize: 11, Oversize: p.policy})
			if !cmp.Equal(p.want, got) {
				t.Errorf("%s, policy %v: %q, want %q", tc.name, p.policy, got, p.want)
			}
		}
		// Within the limit, the malformed frame is rejected as corrupt, and
		// the next one read.
		got := sameWhateverTheCut(t, tc.codec, stream, &framing.Options{MaxFrameSize: 100})
		if want := []string{"rejected *framing.CorruptError", `"ok"`}; !cmp.Equal(want, got) {
			t.Errorf("%s, within the limit: %q, want %q", tc.name, got, want)
		}
	}
}

// Every codec, random bytes, small limits, both policies: the same frames
// and the same errors, of the same classes, whole or cut every 1 to 20
// bytes, pushed or read.
func TestSameErrorsWhateverTheCut(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewSource(s))
	fixed, _ := Fixed(5)
	codecs := []framing.Decoder{Lines, general(Lines), CRLF, COBS, SLIP, fixed,
		mustCodec(t, Config{Delimiters: [][]byte{[]byte("ab"), []byte("ba"), []byte("\xc0\x00")}, KeepDelimiter: true}),
		mustCodec(t, Config{Delimiters: [][]byte{[]byte("\n"), []byte("\r\n")}, KeepDelimiter: true}),
		mustCodec(t, Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte("\n")}})}
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := 0; i < n; i++ {
		data := make([]byte, rng.Intn(120))
		for j := range data {
			data[j] = "ab\r\n\x00\xc0\xdb\xdc\xdd\x01\xffxy"[rng.Intn(13)]
		}
		for _, c := range codecs {
			opts := &framing.Options{MaxFrameSize: 1 + rng.Intn(30)}
			if rng.Intn(2) == 0 {
				opts.Oversize = framing.Skip
			}
			sameWhateverTheCut(t, c, data, opts)
		}
	}
}

// run serves n bytes of fill, then tail, in reads of at most 64 KiB, and
// samples the heap in use every 16 reads.
type run struct {
	fill       byte
	n          int64
	tail       []byte
	reads      int
	served     int64
	base, peak uint64
}

func (r *run) Read(p []byte) (int, error) {
	if r.reads++; r.reads%16 == 0 {
		r.sample()
	}
	p = p[:min(len(p), 64<<10)]
	if r.n > 0 {
		k := int(min(int64(len(p)), r.n))
		for i := range p[:k] {
			p[i] = r.fill
		}
		r.n -= int64(k)
		r.served += int64(k)
		return k, nil
	}
	if len(r.tail) == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.tail)
	r.tail = r.tail[k:]
	r.served += int64(k)
	return k, nil
}

func (r *run) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > r.base {
		r.peak = max(r.peak, ms.HeapInuse-r.base)
	}
}

// Defect 5: a SLIP frame of ESC bytes escaped the limit (the decoded size
// was counted as 0), so one connection buffered up to the engine's
// backstop, and the frame was fatal even under Skip. A run of ESC bytes is
// now bounded as a run of plain bytes is: 32 MiB of ESC at the default
// limit is refused once a little over the limit is read, with no more heap
// than the plain run takes, and skipped under Skip, the next frame read.
func TestSLIPEscapeRunBounded(t *testing.T) {
	const limit = framing.DefaultMaxFrameSize
	for _, policy := range []framing.OversizePolicy{framing.Fail, framing.Skip} {
		var plainPeak uint64
		for _, fill := range []byte{'a', 0xDB} {
			src := &run{fill: fill, n: 32 << 20, tail: []byte{slipEnd, 'o', 'k', slipEnd}}
			runtime.GC()
			runtime.GC() // buffers pooled by the runs before are freed too
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			src.base = ms.HeapInuse
			r := framing.NewReader(src, SLIP, &framing.Options{Oversize: policy})
			var got []string
			for len(got) < 10 {
				f, err := r.ReadFrame()
				if len(got) == 0 {
					// What was read to find the frame over the limit.
					if read := src.served; read > limit+1<<20 {
						t.Errorf("fill %#x, policy %v: %d bytes read before the frame was refused (limit %d)", fill, policy, read, limit)
					}
				}
				s, end := describe(f, err)
				if s != "" {
					got = append(got, s)
				}
				if end {
					break
				}
			}
			src.sample()
			r.Release()
			want := []string{"fatal *framing.FrameTooLargeError"}
			switch {
			case fill == slipEsc:
				// ESC ESC: malformed at its second byte, whatever the policy.
				want = []string{"rejected *framing.CorruptError", `"ok"`}
			case policy == framing.Skip:
				want = []string{"rejected *framing.FrameTooLargeError", `"ok"`}
			}
			if !cmp.Equal(want, got) {
				t.Errorf("fill %#x, policy %v: %q, want %q", fill, policy, got, want)
			}
			// The buffers of the growth towards the limit stay pooled
			// until the next GC: up to 16+8+4+... MiB.
			t.Logf("fill %#x, policy %v: peak heap %.1f MiB above the start (limit %d MiB)", fill, policy, float64(src.peak)/(1<<20), limit>>20)
			if fill == 'a' {
				plainPeak = src.peak
			} else if src.peak > plainPeak+limit/2 || src.peak > 4*limit {
				t.Errorf("policy %v: heap grew by %.1f MiB for a run of ESC, %.1f MiB for plain bytes (limit %d MiB)",
					policy, float64(src.peak)/(1<<20), float64(plainPeak)/(1<<20), limit>>20)
			}
		}
	}
}
