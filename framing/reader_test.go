package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// randomFrames returns payloads with log-uniform sizes up to max, some
// empty.
func randomFrames(rng *rand.Rand, n, max int) [][]byte {
	frames := make([][]byte, n)
	for i := range frames {
		var size int
		switch {
		case i%17 == 0:
			size = 0
		default:
			size = int(float64(max) * (1 / (1 + rng.ExpFloat64()*6)) * rng.Float64())
		}
		f := make([]byte, size)
		rng.Read(f)
		frames[i] = f
	}
	return frames
}

func encodeAll(t testing.TB, enc Encoder, frames [][]byte) []byte {
	t.Helper()
	var out []byte
	for _, f := range frames {
		var err error
		out, err = enc.AppendFrame(out, f)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func readAll(t testing.TB, r *Reader) [][]byte {
	t.Helper()
	var got [][]byte
	for {
		f, err := r.ReadFrameInto(nil)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(got), err)
		}
		if f == nil {
			f = []byte{}
		}
		got = append(got, f)
	}
}

func TestReaderRoundTripChunkings(t *testing.T) {
	seed := int64(rand.Uint32())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	frames := randomFrames(rng, 400, 256<<10)
	lines := make([][]byte, len(frames))
	for i, f := range frames {
		lines[i] = bytes.ReplaceAll(f, []byte{'\n'}, []byte{'x'})
	}
	for _, c := range []struct {
		name   string
		dec    Codec
		frames [][]byte
	}{{"u32", u32{}, frames}, {"nl", nl{}, lines}} {
		stream := encodeAll(t, c.dec, c.frames)
		cuts := []struct {
			name string
			r    func() io.Reader
		}{
			{"1-byte", func() io.Reader { return fixedChunks(stream[:min(len(stream), 1<<20)], 1) }},
			{"7-byte", func() io.Reader { return fixedChunks(stream, 7) }},
			{"random", func() io.Reader { return randomChunks(stream, rng, 100000) }},
			{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		}
		for _, cut := range cuts {
			t.Run(c.name+"/"+cut.name, func(t *testing.T) {
				want := c.frames
				r := NewReader(cut.r(), c.dec, nil)
				if cut.name == "1-byte" {
					// Only the first MiB is sent: compare the complete
					// frames in it, then expect an unexpected EOF.
					var got [][]byte
					for {
						f, err := r.ReadFrameInto([]byte{})
						if err != nil {
							if !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
								t.Fatal(err)
							}
							break
						}
						got = append(got, f)
					}
					want = want[:len(got)]
					if len(got) < 10 {
						t.Fatalf("only %d frames in the first MiB", len(got))
					}
					if diff := diffFrames(want, got); diff != "" {
						t.Fatalf("seed %d: frames differ (-want +got):\n%s", seed, diff)
					}
					return
				}
				got := readAll(t, r)
				if diff := diffFrames(want, got); diff != "" {
					t.Fatalf("seed %d: frames differ (-want +got):\n%s", seed, diff)
				}
			})
		}
	}
}

func TestReaderEOF(t *testing.T) {
	frame := encodeAll(t, u32{}, [][]byte{[]byte("hello, world")})
	cases := []struct {
		name    string
		stream  []byte
		missing int64
	}{
		{"boundary", frame, 0},
		{"in header", append(frame, 0, 0), -1},
		{"in payload", append(frame, frame[:9]...), 7},
		{"after header", append(frame, frame[:4]...), 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(fixedChunks(c.stream, 3), u32{}, nil)
			if f, err := r.ReadFrame(); err != nil || string(f) != "hello, world" {
				t.Fatalf("first frame: %q, %v", f, err)
			}
			_, err := r.ReadFrame()
			if c.name == "boundary" {
				if err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
				return
			}
			var ue *UnexpectedEOFError
			if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &ue) {
				t.Fatalf("got %v, want unexpected EOF", err)
			}
			if ue.Missing != c.missing {
				t.Errorf("missing = %d, want %d", ue.Missing, c.missing)
			}
			if Classify(err) != Fatal {
				t.Errorf("class %v", Classify(err))
			}
			if _, err2 := r.ReadFrame(); err2 != err {
				t.Errorf("not sticky: %v", err2)
			}
		})
	}
}

// allocatedBytes runs f and returns the bytes it allocated.
func allocatedBytes(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileLengthAllocatesNothing(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}
	var err error
	n := allocatedBytes(func() {
		r := NewReader(bytes.NewReader(huge), u32{}, nil)
		_, err = r.ReadFrame()
	})
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Size != 1<<32-1 || tl.Limit != DefaultMaxFrameSize {
		t.Fatalf("got %v, want frame too large", err)
	}
	if n >= 64<<10 {
		t.Fatalf("allocated %d bytes for a 4 GiB header", n)
	}
	t.Logf("allocated %d bytes", n)
}

func TestDeclaredButTruncatedAllocatesLittle(t *testing.T) {
	stream := binary.BigEndian.AppendUint32(nil, 8<<20)
	stream = append(stream, make([]byte, 10)...)
	var err error
	n := allocatedBytes(func() {
		r := NewReader(fixedChunks(stream, 5), u32{}, nil)
		_, err = r.ReadFrame()
	})
	var ue *UnexpectedEOFError
	if !errors.As(err, &ue) || ue.Missing != 8<<20-10 {
		t.Fatalf("got %v, want unexpected EOF missing %d", err, 8<<20-10)
	}
	if n >= 64<<10 {
		t.Fatalf("allocated %d bytes for 14 bytes received", n)
	}
	t.Logf("allocated %d bytes", n)
}

func TestBufferGrowsWithBytesReceived(t *testing.T) {
	// 1 MiB declared, 300 KiB delivered: the buffer must stay within twice
	// what arrived.
	stream := binary.BigEndian.AppendUint32(nil, 1<<20)
	stream = append(stream, make([]byte, 300<<10)...)
	r := NewReader(fixedChunks(stream, 1000), u32{}, nil)
	_, err := r.ReadFrame()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	if c := len(r.e.buf); c > 2*len(stream) {
		t.Fatalf("buffer of %d bytes for %d received", c, len(stream))
	}
}

func TestSkipOversized(t *testing.T) {
	big := bytes.Repeat([]byte{'b'}, 100_000)
	stream := encodeAll(t, u32{}, [][]byte{[]byte("first"), big, []byte("second")})
	opts := &Options{MaxFrameSize: 1000, Oversize: Skip}
	for _, chunk := range []int{1, 7, 4096, len(stream)} {
		r := NewReader(fixedChunks(stream, chunk), u32{}, opts)
		f, err := r.ReadFrame()
		if err != nil || string(f) != "first" {
			t.Fatalf("chunk %d: %q %v", chunk, f, err)
		}
		_, err = r.ReadFrame()
		var tl *FrameTooLargeError
		if !errors.As(err, &tl) || !tl.Skipped || tl.Size != int64(len(big)) || Classify(err) != Rejected {
			t.Fatalf("chunk %d: got %v, want a skipped frame-too-large", chunk, err)
		}
		f, err = r.ReadFrame()
		if err != nil || string(f) != "second" {
			t.Fatalf("chunk %d: after skip: %q %v", chunk, f, err)
		}
		if cap(r.e.buf) > DefaultInitialBufferSize {
			t.Fatalf("chunk %d: buffered the skipped frame: buffer %d", chunk, cap(r.e.buf))
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
	}
	// Skipped bytes are read in buffer-sized reads, not in the small
	// inline buffer.
	cr := &countReader{r: bytes.NewReader(stream)}
	r := NewReader(cr, u32{}, opts)
	for {
		if _, err := r.ReadFrame(); err == io.EOF {
			break
		} else if err != nil && Classify(err) != Rejected {
			t.Fatal(err)
		}
	}
	if max := len(stream)/DefaultInitialBufferSize + 5; cr.reads > max {
		t.Fatalf("%d reads to skip %d bytes, want at most %d", cr.reads, len(big), max)
	}
}

type countReader struct {
	r     io.Reader
	reads int
}

func (c *countReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

func TestFailOversizedIsSticky(t *testing.T) {
	stream := encodeAll(t, u32{}, [][]byte{make([]byte, 2000), []byte("next")})
	r := NewReader(bytes.NewReader(stream), u32{}, &Options{MaxFrameSize: 1000})
	_, err := r.ReadFrame()
	if !errors.Is(err, ErrFrameTooLarge) || Classify(err) != Fatal {
		t.Fatalf("got %v", err)
	}
	if _, err2 := r.ReadFrame(); err2 != err {
		t.Fatalf("not sticky: %v", err2)
	}
}

func TestScanningDecoder(t *testing.T) {
	long := strings.Repeat("x", 5000)
	stream := "one\n" + long + "\nBAD\ntwo\n" + long + "\nthree\n"
	opts := &Options{MaxFrameSize: 100, Oversize: Skip}
	for _, chunk := range []int{1, 3, 64, 1000, len(stream)} {
		r := NewReader(fixedChunks([]byte(stream), chunk), nl{}, opts)
		var got []string
		for {
			f, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				if Classify(err) != Rejected {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				got = append(got, "error:"+errClass(err))
				continue
			}
			got = append(got, string(f))
		}
		want := []string{"one", "error:too-large", "error:corrupt", "two", "error:too-large", "three"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("chunk %d (-want +got):\n%s", chunk, diff)
		}
		if cap(r.e.buf) > 2*DefaultInitialBufferSize {
			t.Fatalf("chunk %d: skipped line was buffered: %d", chunk, cap(r.e.buf))
		}
	}
}

func errClass(err error) string {
	switch {
	case errors.Is(err, ErrFrameTooLarge):
		return "too-large"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	}
	return err.Error()
}

// linearReader counts the bytes a decoder is shown, to prove nothing is
// rescanned.
type countingDecoder struct {
	Decoder
	seen *int
}

func (c countingDecoder) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	*c.seen += len(buf) - st.Scanned
	return c.Decoder.Decode(buf, atEOF, st)
}

func TestScanCostIsLinear(t *testing.T) {
	line := append(bytes.Repeat([]byte{'a'}, 1<<20), '\n')
	seen := 0
	r := NewReader(fixedChunks(line, 7), countingDecoder{nl{}, &seen}, nil)
	f, err := r.ReadFrame()
	if err != nil || len(f) != 1<<20 {
		t.Fatal(len(f), err)
	}
	if seen > 2*len(line) {
		t.Fatalf("decoder examined %d bytes for a %d-byte line", seen, len(line))
	}
}

type badDecoder struct{ d Decoded }

func (b badDecoder) Decode([]byte, bool, *DecodeState) (Decoded, error) { return b.d, nil }

func TestMisbehavingDecoderDoesNotPanic(t *testing.T) {
	for _, d := range []Decoded{
		Consume(100),
		Frame(2, 1, 3),
		Frame(0, 100, 3),
		Frame(0, 0, 0),
		Frame(-1, 2, 3),
		Consume(-1),
		Need(-5),
		NeedFrame(0, -1, 5),
		NeedFrame(3, 2, 5),
		NeedFrame(0, 6, 5),
		NeedFrame(0, 1, 0),
		NeedFrame(0, 1, 2).Checked(), // all bytes buffered: must be Frame
		OverLimit(100),
	} {
		r := NewReader(strings.NewReader("abcdef"), badDecoder{d}, nil)
		if _, err := r.ReadFrame(); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want ErrorClass
	}{
		{&FrameTooLargeError{Skipped: true}, Rejected},
		{&FrameTooLargeError{}, Fatal},
		{&CorruptError{}, Fatal},
		{&CorruptError{Rejected: true}, Rejected},
		{&UnexpectedEOFError{}, Fatal},
		{&PayloadError{}, Rejected},
		{&WriterBrokenError{Err: timeoutErr{}}, Fatal},
		{timeoutErr{}, Temporary},
		{io.EOF, Fatal},
		{errors.New("other"), Fatal},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// stallReader returns its data, then a timeout error until more is added.
type stallReader struct{ data []byte }

func (s *stallReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, timeoutErr{}
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

func TestTimeoutResumesFrame(t *testing.T) {
	frame := encodeAll(t, u32{}, [][]byte{bytes.Repeat([]byte("z"), 10000)})
	for _, cut := range []int{2, 4, 5, 9000} {
		src := &stallReader{data: frame[:cut]}
		r := NewReader(src, u32{}, nil)
		_, err := r.ReadFrame()
		if Classify(err) != Temporary {
			t.Fatalf("cut %d: %v", cut, err)
		}
		src.data = frame[cut:]
		f, err := r.ReadFrame()
		if err != nil || !bytes.Equal(f, frame[4:]) {
			t.Fatalf("cut %d: resumed frame wrong: %d bytes, %v", cut, len(f), err)
		}
	}
}

func TestReadFrameZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are checked without -race")
	}
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = make([]byte, 256)
	}
	stream := encodeAll(t, u32{}, frames)
	src := bytes.NewReader(stream)
	r := NewReader(src, u32{}, nil)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(stream)
		for range frames {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run of %d frames", allocs, len(frames))
	}
}

// diffFrames compares frames quickly, and with cmp only when they differ
// (cmp walks byte slices element by element).
func diffFrames(want, got [][]byte) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			if !bytes.Equal(want[i], got[i]) {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

func TestBufferShrinksAfterLargeFrame(t *testing.T) {
	frames := [][]byte{make([]byte, 1<<20)}
	for i := 0; i < 10; i++ {
		frames = append(frames, []byte("small frame"))
	}
	stream := encodeAll(t, u32{}, frames)
	for _, chunk := range []int{7, 64 << 10, len(stream)} {
		r := NewReader(fixedChunks(stream, chunk), u32{}, nil)
		for i := range frames {
			f, err := r.ReadFrame()
			if err != nil || len(f) != len(frames[i]) {
				t.Fatalf("chunk %d frame %d: %d bytes, %v", chunk, i, len(f), err)
			}
			if i == 0 && len(r.e.buf) < 1<<20 {
				t.Fatalf("chunk %d: large frame read from a %d-byte buffer", chunk, len(r.e.buf))
			}
		}
		// The buffer is given back when empty, before the next read.
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatal(err)
		}
		if len(r.e.buf) > DefaultInitialBufferSize {
			t.Errorf("chunk %d: buffer still %d bytes after small frames", chunk, len(r.e.buf))
		}
	}
}

func TestBufferShrinksOnBusyStream(t *testing.T) {
	// A long line grows the buffer by doubling (a scanning decoder's need
	// is only a lower bound), then small lines whose reads straddle line
	// ends: the buffer never empties (reads end at multiples of 100, lines
	// at odd offsets), yet must not stay large.
	frames := [][]byte{bytes.Repeat([]byte{'x'}, 1<<20)}
	for i := 0; i < 40000; i++ {
		frames = append(frames, []byte("thirty bytes of small payload"))
	}
	stream := encodeAll(t, nl{}, frames)
	r := NewReader(fixedChunks(stream, 100), nl{}, &Options{MaxFrameSize: 2 << 20})
	grown := 0
	for i := range frames {
		f, err := r.ReadFrame()
		if err != nil || len(f) != len(frames[i]) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(f), err)
		}
		grown = max(grown, len(r.e.buf))
	}
	if grown < 1<<20 {
		t.Fatalf("the long line was read from a %d-byte buffer", grown)
	}
	if len(r.e.buf) > 4*DefaultInitialBufferSize {
		t.Fatalf("buffer still %d bytes after %d small frames", len(r.e.buf), len(frames)-1)
	}
}

func TestFramesOverInitialSizeShareReads(t *testing.T) {
	// 5 KiB frames, over the 4 KiB initial buffer: after the first, each
	// buffer holds several, so there are far fewer reads than frames (one
	// buffer per frame meant two reads each: the inline buffer, the rest).
	frames := make([][]byte, 200)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i)}, 5<<10)
	}
	src := &countReader{r: bytes.NewReader(encodeAll(t, u32{}, frames))}
	r := NewReader(src, u32{}, nil)
	largest := 0
	for i, want := range frames {
		f, err := r.ReadFrame()
		if err != nil || !bytes.Equal(f, want) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(f), err)
		}
		largest = max(largest, len(r.e.buf))
	}
	if src.reads > len(frames)/2 {
		t.Fatalf("%d reads for %d frames", src.reads, len(frames))
	}
	// The room is bounded: a few frames' worth, or on this busy stream (every
	// read fills the buffer) the busy read size, not a growing buffer.
	if largest > max(4*(4+5<<10), busyReadSize) {
		t.Fatalf("buffer of %d bytes for frames of %d", largest, 4+5<<10)
	}
}

// The headroom of frames a little over the initial size is bounded: none
// before a frame of that size was delivered, at most 4 frames of at most
// 16 KiB after; a larger frame's buffer is its declared size.
func TestHeadroomIsBounded(t *testing.T) {
	for _, tc := range []struct {
		first, declared, received int
		max                       int
	}{
		{0, 12 << 10, 9000, 4 + 12<<10},                 // nothing delivered yet
		{8 << 10, 12 << 10, 9000, 4 * (4 + 12<<10)},     // after a delivered 8 KiB frame
		{16 << 10, 20 << 10, 17000, 4 + 20<<10},         // over maxHeadroom
		{8 << 10, 64 << 10, 40000, 2 * (4 + 8<<10) * 4}, // doubling from a small buffer
	} {
		var wire []byte
		if tc.first > 0 {
			wire = encodeAll(t, u32{}, [][]byte{make([]byte, tc.first)})
		}
		wire = binary.BigEndian.AppendUint32(wire, uint32(tc.declared))
		wire = append(wire, make([]byte, tc.received)...)
		r := NewReader(&stallReader{data: wire}, u32{}, nil)
		if tc.first > 0 {
			if f, err := r.ReadFrame(); err != nil || len(f) != tc.first {
				t.Fatalf("%+v: first frame %d bytes, %v", tc, len(f), err)
			}
		}
		if _, err := r.ReadFrame(); Classify(err) != Temporary || r.e.end-r.e.start != 4+tc.received {
			t.Fatalf("%+v: %v with %d bytes buffered", tc, err, r.e.end-r.e.start)
		}
		if len(r.e.buf) > tc.max {
			t.Errorf("%+v: buffer of %d bytes", tc, len(r.e.buf))
		}
	}
}

// Small frames: a busy source (reads that fill the inline buffer) moves the
// Reader to a buffer of the initial size, read in large pieces; a source
// that gives a few bytes at a time leaves it in the inline buffer, instead
// of taking a pooled buffer and giving it back at every frame boundary.
func TestSmallFramesBufferChoice(t *testing.T) {
	frames := make([][]byte, 500)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i)}, 16)
	}
	stream := encodeAll(t, u32{}, frames)
	for _, tc := range []struct {
		chunk  int
		pooled bool
	}{{7, false}, {len(stream), true}} {
		src := &countReader{r: fixedChunks(stream, tc.chunk)}
		r := NewReader(src, u32{}, nil)
		everPooled := false
		for i, want := range frames {
			f, err := r.ReadFrame()
			if err != nil || !bytes.Equal(f, want) {
				t.Fatalf("chunks of %d, frame %d: %q, %v", tc.chunk, i, f, err)
			}
			everPooled = everPooled || r.e.pooled != nil
		}
		if everPooled != tc.pooled {
			t.Errorf("chunks of %d: pooled buffer taken: %v, want %v", tc.chunk, everPooled, tc.pooled)
		}
		if tc.pooled && src.reads > len(stream)/int(DefaultInitialBufferSize)+3 {
			t.Errorf("chunks of %d: %d reads for %d bytes", tc.chunk, src.reads, len(stream))
		}
	}
}

// Found by review of the inline-to-pooled switch: an initial size under the
// inline buffer's must not lose buffered bytes; under a memory budget,
// frames that fit the inline buffer need none of it. (A connection idle
// after exactly 64 bytes: TestIdleReaderHoldsBuffer.)
func TestInlineSwitchEdges(t *testing.T) {
	t.Run("small initial size", func(t *testing.T) {
		frames := [][]byte{bytes.Repeat([]byte("a"), 100), []byte("b"), bytes.Repeat([]byte("c"), 300)}
		stream := encodeAll(t, u32{}, frames)
		for _, chunk := range []int{64, 100, len(stream)} {
			r := NewReader(fixedChunks(stream, chunk), u32{}, &Options{InitialBufferSize: 16})
			if d := diffFrames(frames, readAll(t, r)); d != "" {
				t.Fatalf("chunks of %d: %s", chunk, d)
			}
		}
	})
	t.Run("budget", func(t *testing.T) {
		frames := make([][]byte, 300)
		for i := range frames {
			frames[i] = []byte("sixteen bytes!!!")
		}
		b := NewBudget(1)
		r := NewReader(bytes.NewReader(encodeAll(t, u32{}, frames)), u32{}, &Options{Budget: b})
		if d := diffFrames(frames, readAll(t, r)); d != "" {
			t.Fatal(d)
		}
		if n := b.InUse(); n != 0 {
			t.Fatalf("budget in use: %d", n)
		}
	})
}
