package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// u32Stream encodes payloads with the u32 test codec.
func u32Stream(payloads ...[]byte) []byte {
	var b []byte
	for _, p := range payloads {
		b, _ = u32{}.AppendFrame(b, p)
	}
	return b
}

// pushAll pushes data to d in pieces of the sizes next returns, collecting
// frames (copied) and the first error other than ErrNeedMore.
func pushAll(d *Deframer, data []byte, next func() int) ([][]byte, error) {
	var frames [][]byte
	for len(data) > 0 {
		n := min(next(), len(data))
		d.Push(data[:n])
		data = data[n:]
		for {
			f, err := d.Next()
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				return frames, err
			}
			frames = append(frames, append([]byte{}, f...))
		}
	}
	d.End()
	for {
		f, err := d.Next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, append([]byte{}, f...))
	}
}

// readFrames reads every frame with a Reader, for comparison.
func readFrames(r *Reader) ([][]byte, error) {
	var frames [][]byte
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return frames, err
		}
		frames = append(frames, append([]byte{}, f...))
	}
}

func TestDeframerMatchesReader(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var payloads [][]byte
	for i := 0; i < 300; i++ {
		p := make([]byte, rng.Intn(3000))
		rng.Read(p)
		payloads = append(payloads, p)
	}
	for _, tc := range []struct {
		name string
		dec  Decoder
		data []byte
	}{
		{"u32", u32{}, u32Stream(payloads...)},
		{"nl", nl{}, []byte("a\nbb\n\nccc\n" + string(bytes.Repeat([]byte("x"), 5000)) + "\nlast\n")},
	} {
		want, werr := readFrames(NewReader(bytes.NewReader(tc.data), tc.dec, nil))
		if werr != io.EOF {
			t.Fatalf("%s: reader: %v", tc.name, werr)
		}
		for _, piece := range []int{1, 7, 1500, 65536, -1} {
			next := func() int { return piece }
			if piece < 0 {
				next = func() int { return 1 + rng.Intn(4000) }
			}
			got, err := pushAll(NewDeframer(tc.dec, nil), tc.data, next)
			if err != io.EOF || len(got) != len(want) {
				t.Fatalf("%s, pieces of %d: %d frames, %v; want %d, EOF", tc.name, piece, len(got), err, len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("%s, pieces of %d: frame %d differs", tc.name, piece, i)
				}
			}
		}
	}
}

// A frame that lies whole in the pushed bytes is a view into them; only
// the incomplete tail is copied, and an idle Deframer holds no buffer.
func TestDeframerZeroCopy(t *testing.T) {
	data := u32Stream([]byte("hello"), bytes.Repeat([]byte("y"), 1000), []byte("tail-frame"))
	cut := len(data) - 6 // inside the last frame
	d := NewDeframer(u32{}, nil)
	d.Push(data[:cut])
	for i := 0; i < 2; i++ {
		f, err := d.Next()
		if err != nil {
			t.Fatal(err)
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(f)))
		lo, hi := uintptr(unsafe.Pointer(&data[0])), uintptr(unsafe.Pointer(&data[cut-1]))
		if p < lo || p > hi {
			t.Fatalf("frame %d was copied", i)
		}
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatalf("got %v, want ErrNeedMore", err)
	}
	if got, want := d.Buffered(), cut-(4+5+4+1000); got != want {
		t.Fatalf("buffered %d bytes, want the tail's %d", got, want)
	}
	clear(data[:cut]) // the caller reuses its buffer: the tail was copied
	d.Push(data[cut:])
	f, err := d.Next()
	if err != nil || string(f) != "tail-frame" {
		t.Fatalf("got %q, %v", f, err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatalf("got %v, want ErrNeedMore", err)
	}
	if d.e.pooled != nil || d.Buffered() != 0 {
		t.Fatal("an idle Deframer holds a buffer")
	}
	if d.Offset() != int64(len(data)) {
		t.Fatalf("Offset %d, want %d", d.Offset(), len(data))
	}
}

func TestDeframerEndResetRelease(t *testing.T) {
	budget := NewBudget(1 << 20)
	d := NewDeframer(u32{}, &Options{Budget: budget})
	data := u32Stream(bytes.Repeat([]byte("z"), 500))
	d.Push(data[:100])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if budget.InUse() == 0 {
		t.Fatal("a partial frame of 100 bytes drew nothing from the budget")
	}
	d.End()
	_, err := d.Next()
	var ue *UnexpectedEOFError
	if !errors.As(err, &ue) || ue.Missing != int64(len(data)-100) {
		t.Fatalf("got %v, want an unexpected EOF missing %d bytes", err, len(data)-100)
	}
	if budget.InUse() != 0 {
		t.Fatalf("budget holds %d after the stream ended", budget.InUse())
	}
	// Reset after a gap: decoding starts afresh at the given offset.
	d.Reset(1000)
	d.Push(u32Stream([]byte("after")))
	f, err := d.Next()
	if err != nil || string(f) != "after" || d.Offset() != 1009 {
		t.Fatalf("after Reset: %q, %v, offset %d", f, err, d.Offset())
	}
	d.Push(data[:50])
	d.Next()
	d.Release()
	if budget.InUse() != 0 {
		t.Fatalf("budget holds %d after Release", budget.InUse())
	}
	if _, err := d.Next(); err != ErrReleased {
		t.Fatalf("after Release: %v", err)
	}
}

func TestDeframerSkipPolicy(t *testing.T) {
	for _, dec := range []Decoder{u32{}, nl{}} {
		big := bytes.Repeat([]byte("b"), 300)
		var data []byte
		if _, ok := dec.(u32); ok {
			data = u32Stream([]byte("one"), big, []byte("two"))
		} else {
			data = []byte("one\n" + string(big) + "\ntwo\n")
		}
		for _, piece := range []int{1, 5, 100, 1000} {
			d := NewDeframer(dec, &Options{MaxFrameSize: 100, Oversize: Skip})
			var got []string
			var errs []error
			for off := 0; off < len(data); off += piece {
				d.Push(data[off:min(off+piece, len(data))])
				for {
					f, err := d.Next()
					if err == ErrNeedMore {
						break
					}
					if err != nil {
						errs = append(errs, err)
						continue
					}
					got = append(got, string(f))
				}
			}
			if len(got) != 2 || got[0] != "one" || got[1] != "two" || len(errs) != 1 || Classify(errs[0]) != Rejected {
				t.Errorf("%T, pieces of %d: frames %q, errors %v", dec, piece, got, errs)
			}
		}
	}
}

func TestDeframerSteadyStateAllocs(t *testing.T) {
	data := u32Stream(bytes.Repeat([]byte("q"), 16), bytes.Repeat([]byte("r"), 16))
	d := NewDeframer(u32{}, nil)
	allocs := testing.AllocsPerRun(1000, func() {
		for off := 0; off < len(data); off += 7 {
			d.Push(data[off:min(off+7, len(data))])
			for {
				if _, err := d.Next(); err != nil {
					break
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}

func TestGrowSize(t *testing.T) {
	const init = 4096
	for _, tc := range []struct {
		cur, want int
		exact     bool
		lastFrame int
		busy      bool
		size      int
	}{
		{64, 100, false, 0, false, init},               // first step: the initial size
		{init, 10000, false, 0, false, 2 * init},       // doubling, for a lower bound
		{init, 20000, true, 0, false, 2 * init},        // doubling: 8 KiB is under half of 20000
		{8192, 15000, true, 0, false, 15000},           // the doubling step reaches half: exact
		{init, 5000, true, 0, false, 5000},             // exact, never beyond it
		{64, 100, true, 0, false, init},                // never below the initial size
		{init, 1 << 20, true, 1 << 20, false, 1 << 20}, // a stream of large frames
		{init, 6000, true, 6000, true, 24000},          // headroom on a busy stream
	} {
		if got := growSize(tc.cur, tc.want, tc.exact, init, tc.lastFrame, tc.busy, 1<<30); got != tc.size {
			t.Errorf("growSize(%d, %d, %v, lastFrame %d, busy %v) = %d, want %d", tc.cur, tc.want, tc.exact, tc.lastFrame, tc.busy, got, tc.size)
		}
	}
	// Every exact growth path to a frame of size S stays within 1.5 S.
	for s := 1; s < 1<<22; s = s*3/2 + 1 {
		cur, peak := inlineSize, 0
		for cur < s {
			cur = growSize(cur, s, true, init, 0, false, 0)
			peak = max(peak, cur)
		}
		if s > init && 2*peak > 3*s {
			t.Fatalf("a frame of %d bytes was given a buffer of %d", s, peak)
		}
	}
	// A frame found by scanning is not grown far past the limit.
	if got := growSize(8<<20, 8<<20+1, false, init, 0, false, 9<<20); got != 9<<20 {
		t.Errorf("scanning past an 8 MiB buffer towards a 9 MiB soft cap: %d", got)
	}
	if got := growSize(9<<20, 9<<20+1, false, init, 0, false, 9<<20); got != 18<<20 {
		t.Errorf("past the soft cap: %d, want doubling", got)
	}
	if !shrinkAtBoundary(8192, false, init, 100) || shrinkAtBoundary(8192, true, init, 100) ||
		!shrinkAtBoundary(1<<20, true, init, 100) {
		t.Fatal("shrinkAtBoundary")
	}
}

// Defect 1 of issue 16: a deadline interrupts a frame (the Reader keeps
// its buffer to resume), the handler closes the Conn; the budget must get
// its memory back.
func TestBudgetBackAfterTimeoutThenClose(t *testing.T) {
	budget := NewBudget(64 << 20)
	opts := &Options{Budget: budget}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 8; i++ {
		cl, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		cl.Write(append(binary.BigEndian.AppendUint32(nil, 1<<20), make([]byte, 100<<10)...))
		c := NewConn(sc, u32{}, opts)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.ReadFrame(); Classify(err) != Temporary {
			t.Fatalf("want a timeout, got %v", err)
		}
		if budget.InUse() == 0 {
			t.Fatal("the partial frame holds nothing of the budget")
		}
		c.Close()
		if in := budget.InUse(); in != 0 {
			t.Fatalf("Close left %d bytes charged", in)
		}
		if _, err := c.ReadFrame(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
	}
}

// Close from another goroutine while a read is blocked: the buffer goes
// back when the read returns, not under it.
func TestBudgetBackAfterCloseDuringRead(t *testing.T) {
	budget := NewBudget(64 << 20)
	cl, sc := net.Pipe()
	defer cl.Close()
	c := NewConn(sc, u32{}, &Options{Budget: budget})
	go cl.Write(append(binary.BigEndian.AppendUint32(nil, 1<<20), make([]byte, 10<<10)...))
	done := make(chan error)
	go func() { _, err := c.ReadFrame(); done <- err }()
	for budget.InUse() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	if err := <-done; err == nil {
		t.Fatal("read returned no error after Close")
	}
	if in := budget.InUse(); in != 0 {
		t.Fatalf("%d bytes still charged after the read returned", in)
	}
}

// A Reader dropped mid-frame without Release is reclaimed by the garbage
// collector: its budget comes back.
func TestBudgetReclaimedFromDroppedReader(t *testing.T) {
	budget := NewBudget(64 << 20)
	func() {
		data := append(binary.BigEndian.AppendUint32(nil, 1<<20), make([]byte, 50<<10)...)
		r := NewReader(&chunkReader{data: data, next: func() int { return 4096 }, err: timeoutErr{}}, u32{}, &Options{Budget: budget})
		if _, err := r.ReadFrame(); Classify(err) != Temporary {
			t.Fatalf("got %v", err)
		}
	}()
	if budget.InUse() == 0 {
		t.Fatal("nothing charged")
	}
	for i := 0; i < 50 && budget.InUse() != 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if in := budget.InUse(); in != 0 {
		t.Fatalf("%d bytes still charged after the Reader became garbage", in)
	}
}

// Defect 2 of issue 16: time the application spends away from ReadFrame
// is not the peer's.
func TestGuardIgnoresTimeAway(t *testing.T) {
	for _, conn := range []bool{true, false} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cl, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := l.Accept()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		opts := &Options{FrameTimeout: 300 * time.Millisecond}
		var read func() ([]byte, error)
		setDL := sc.SetReadDeadline
		if conn {
			c := NewConn(sc, u32{}, opts)
			read, setDL = c.ReadFrame, c.SetReadDeadline
		} else {
			read = NewReader(sc, u32{}, opts).ReadFrame
		}
		go func() {
			cl.Write(append(binary.BigEndian.AppendUint32(nil, 10), "hello"...))
			time.Sleep(100 * time.Millisecond)
			cl.Write([]byte("world"))
		}()
		setDL(time.Now().Add(50 * time.Millisecond))
		if _, err := read(); Classify(err) != Temporary {
			t.Fatalf("conn %v: first call: %v", conn, err)
		}
		time.Sleep(600 * time.Millisecond) // the application is busy elsewhere
		setDL(time.Time{})
		if f, err := read(); err != nil || string(f) != "helloworld" {
			t.Errorf("conn %v: resumed call: %q, %v", conn, f, err)
		}
		cl.Close()
		sc.Close()
	}
}

// Defect 3 of issue 16: ReadBody of a frame whose payload starts beyond
// the length field (Netty's Size 2, Adjust 2, Strip 4), bytes arriving
// one at a time.
type stripBeyond struct{}

func (stripBeyond) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if len(buf) < 2 {
		return Need(2), nil
	}
	n := int64(binary.BigEndian.Uint16(buf))
	return NeedFrame(4, 4+n, 4+n), nil
}

func TestReadBodyPayloadBeyondHeader(t *testing.T) {
	data := []byte{0, 5, 0xAA, 0xBB, 'h', 'e', 'l', 'l', 'o', 0, 2, 1, 2, 'o', 'k'}
	for _, piece := range []int{1, 2, 3, 100} {
		r := NewReader(fixedChunks(data, piece), stripBeyond{}, nil)
		for _, want := range []string{"hello", "ok"} {
			n, body, err := r.ReadBody()
			if err != nil || n != int64(len(want)) {
				t.Fatalf("pieces of %d: ReadBody = %d, %v", piece, n, err)
			}
			got, err := io.ReadAll(body)
			if err != nil || string(got) != want {
				t.Fatalf("pieces of %d: body %q, %v", piece, got, err)
			}
		}
		if _, _, err := r.ReadBody(); err != io.EOF {
			t.Fatalf("pieces of %d: at the end: %v", piece, err)
		}
	}
}

// ReadBody works for codecs that find frames by scanning: the frame is
// buffered, then read from memory.
func TestReadBodyScanningCodec(t *testing.T) {
	r := NewReader(fixedChunks([]byte("first\nsecond\n"), 3), nl{}, nil)
	for _, want := range []string{"first", "second"} {
		_, body, err := r.ReadBody()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(body); string(got) != want {
			t.Fatalf("got %q", got)
		}
	}
}

// Kind and Final travel from the decoder to the caller.
type kinded struct{}

func (kinded) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if len(buf) < 2 {
		return Need(2), nil
	}
	n := int(buf[1])
	if len(buf) < 2+n {
		return Need(2 + n), nil
	}
	d := Frame(2, 2+n, 2+n).WithKind(uint32(buf[0]))
	if buf[0] == 0xFF {
		d = d.Final()
	}
	st.Stream++ // frames seen on this stream
	return d, nil
}

func TestKindFinalAndStreamState(t *testing.T) {
	r := NewReader(bytes.NewReader([]byte{1, 1, 'a', 7, 2, 'b', 'c', 0xFF, 0, 'r', 'e', 's', 't'}), kinded{}, nil)
	for _, want := range []uint32{1, 7, 0xFF} {
		if _, err := r.ReadFrame(); err != nil || r.Kind() != want {
			t.Fatalf("kind %d, %v; want %d", r.Kind(), err, want)
		}
	}
	if r.e.st.Stream != 3 {
		t.Fatalf("stream state %d, want 3", r.e.st.Stream)
	}
	if _, err := r.ReadFrame(); err != ErrFinal || !errors.Is(err, io.EOF) {
		t.Fatalf("after the final frame: %v", err)
	}
	if rest := r.Detach(); string(rest) != "rest" {
		t.Fatalf("Detach = %q, want the bytes after the final frame", rest)
	}
}

// A Checked frame is handed to the decoder once more when complete, and
// the decoder's verdict stands.
type trailerChecked struct{}

func (trailerChecked) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if len(buf) < 1 {
		return Need(1), nil
	}
	n := int(buf[0])
	if len(buf) < n+2 {
		return NeedFrame(1, int64(1+n), int64(n+2)).Checked(), nil
	}
	if buf[n+1] != '!' {
		return Consume(n + 2), &CorruptError{Reason: "no '!'", Rejected: true}
	}
	return Frame(1, 1+n, n+2), nil
}

func TestCheckedFrame(t *testing.T) {
	data := []byte{3, 'a', 'b', 'c', '!', 2, 'x', 'y', '?', 1, 'z', '!'}
	for _, piece := range []int{1, 2, 100} {
		r := NewReader(fixedChunks(data, piece), trailerChecked{}, nil)
		f, err := r.ReadFrame()
		if err != nil || string(f) != "abc" {
			t.Fatalf("%q, %v", f, err)
		}
		if _, err := r.ReadFrame(); !errors.Is(err, ErrCorrupt) || Classify(err) != Rejected {
			t.Fatalf("bad trailer: %v", err)
		}
		f, err = r.ReadFrame()
		if err != nil || string(f) != "z" {
			t.Fatalf("%q, %v", f, err)
		}
		// ReadFrameInto with room never reads a checked frame around
		// the check.
		r = NewReader(fixedChunks(data, piece), trailerChecked{}, nil)
		r.ReadFrameInto(make([]byte, 0, 1<<20))
		if _, err := r.ReadFrameInto(make([]byte, 0, 1<<20)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ReadFrameInto: %v", err)
		}
	}
}

// bang is nl, except that a line starting with '!' is malformed, which the
// decoder sees at its first byte: it rejects the line at once and the
// engine skips the rest of it, whatever the cut.
type bang struct{}

func (bang) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if buf[0] == '!' && st.Limit > 0 {
		bad := &CorruptError{Reason: "'!' line", Rejected: true}
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return Consume(i + 1), bad
		}
		return OverLimit(len(buf)), bad
	}
	return nl{}.Decode(buf, atEOF, st)
}

func TestRejectedWhileScanning(t *testing.T) {
	data := []byte("one\n!" + strings.Repeat("x", 500) + "\ntwo\n")
	for _, policy := range []OversizePolicy{Fail, Skip} {
		for _, piece := range []int{1, 3, 64, 1000} {
			r := NewReader(fixedChunks(data, piece), bang{}, &Options{MaxFrameSize: 100, Oversize: policy})
			var got []string
			var errs []error
			for {
				f, err := r.ReadFrame()
				if err == io.EOF {
					break
				}
				if err != nil {
					errs = append(errs, err)
					if Classify(err) == Fatal {
						break
					}
					continue
				}
				got = append(got, string(f))
			}
			if strings.Join(got, ",") != "one,two" || len(errs) != 1 || !errors.Is(errs[0], ErrCorrupt) || Classify(errs[0]) != Rejected {
				t.Errorf("policy %v, pieces of %d: frames %q, errors %v", policy, piece, got, errs)
			}
		}
	}
}

// trailer2 is u32 with a 2-byte trailer after the payload, not checked.
type trailer2 struct{}

func (trailer2) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if len(buf) < 4 {
		return Need(4), nil
	}
	n := int64(binary.BigEndian.Uint32(buf))
	return NeedFrame(4, 4+n, 4+n+2), nil
}

// Found in review: ReadFrameInto's direct read, entered with the payload
// and part of the trailer already buffered, dropped the buffered trailer
// bytes twice, eating the next frame's first bytes.
func TestDirectReadWithTrailerBuffered(t *testing.T) {
	enc := func(p []byte) []byte {
		return append(append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...), 'Z', 'Z')
	}
	f2 := enc(bytes.Repeat([]byte("b"), 70000))
	stream := append(append(enc(bytes.Repeat([]byte("a"), 100)), f2...), enc([]byte("third"))...)
	cut := 106 + len(f2) - 1 // the first part ends one byte before frame 2 does
	src := io.MultiReader(bytes.NewReader(stream[:cut]), bytes.NewReader(stream[cut:]))
	r := NewReader(src, trailer2{}, &Options{InitialBufferSize: 256 << 10, MaxFrameSize: 1 << 20})
	if f, err := r.ReadFrame(); err != nil || len(f) != 100 {
		t.Fatalf("frame 1: %d bytes, %v", len(f), err)
	}
	if f, err := r.ReadFrameInto(make([]byte, 0, 1<<20)); err != nil || len(f) != 70000 {
		t.Fatalf("frame 2: %d bytes, %v", len(f), err)
	}
	if f, err := r.ReadFrame(); err != nil || string(f) != "third" {
		t.Fatalf("frame 3: %q, %v", f, err)
	}
}

// Found in review: a Body's reads were not reads in flight for Conn.Close,
// which released the buffers under them (a data race under -race).
func TestCloseDuringBodyRead(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewConn(a, u32{}, &Options{Budget: NewBudget(1 << 20)})
	go b.Write(append(binary.BigEndian.AppendUint32(nil, 100000), make([]byte, 100)...))
	_, body, err := c.ReadBody()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		p := make([]byte, 4096)
		for {
			if _, err := body.Read(p); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; err == nil {
		t.Fatal("the body read on after Close")
	}
	if _, err := body.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("body read after Close: %v", err)
	}
}

// TestDeframerFillingFrame: while a located frame fills up, Push copies
// small pushes into the buffer itself and Next answers ErrNeedMore at once
// (d.gap); everything that ends or changes the stream in that state
// (End, Release, Detach, Reset, the guard, a push that completes the
// frame) is seen by the next call.
func TestDeframerFillingFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("p"), 4096)
	data := u32Stream(payload, []byte("next"))
	const cut = 4 + 100 + 7
	filling := func(opts *Options) *Deframer {
		t.Helper()
		d := NewDeframer(u32{}, opts)
		d.Push(data[:104])
		if _, err := d.Next(); err != ErrNeedMore {
			t.Fatal(err)
		}
		d.Push(data[104:cut])
		if d.gap == 0 || d.Buffered() != cut {
			t.Fatalf("gap %d, buffered %d: the push was not copied by Push", d.gap, d.Buffered())
		}
		if _, err := d.Next(); err != ErrNeedMore {
			t.Fatal(err)
		}
		return d
	}

	d := filling(nil)
	rest := data[cut:]
	clear(data[:cut]) // copied: the caller may reuse its bytes
	d.Push(rest[:7])
	d.Push(rest[7:20]) // twice before Next
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	d.Push(rest[20:])
	f, err := d.Next()
	if err != nil || !bytes.Equal(f, payload) {
		t.Fatalf("frame of %d bytes, %v", len(f), err)
	}
	if f, err = d.Next(); err != nil || string(f) != "next" {
		t.Fatalf("%q, %v", f, err)
	}
	data = u32Stream(payload, []byte("next"))

	d = filling(nil)
	d.End()
	var ue *UnexpectedEOFError
	if _, err := d.Next(); !errors.As(err, &ue) || ue.Buffered != cut {
		t.Fatalf("after End: %v, want an unexpected EOF with %d bytes", err, cut)
	}

	budget := NewBudget(1 << 20)
	d = filling(&Options{Budget: budget})
	d.Release()
	d.Push(data[cut : cut+7])
	if _, err := d.Next(); err != ErrReleased || budget.InUse() != 0 {
		t.Fatalf("after Release: %v, budget %d", err, budget.InUse())
	}

	d = filling(nil)
	if got := d.Detach(); !bytes.Equal(got, data[:cut]) {
		t.Fatalf("Detach returned %d bytes, want %d", len(got), cut)
	}
	if _, err := d.Next(); err != ErrDetached {
		t.Fatalf("after Detach: %v", err)
	}

	d = filling(nil)
	d.Reset(0)
	d.Push(data[:3])
	if _, err := d.Next(); err != ErrNeedMore || d.Buffered() != 3 {
		t.Fatalf("after Reset: %v, %d buffered", err, d.Buffered())
	}

	d = filling(&Options{FrameTimeout: time.Second})
	t0 := time.Unix(1000, 0)
	if _, _, err := d.Guard(t0); err != nil {
		t.Fatal(err)
	}
	var se *SlowPeerError
	if _, _, err := d.Guard(t0.Add(2 * time.Second)); !errors.As(err, &se) {
		t.Fatalf("guard: %v", err)
	}
	d.Push(data[cut : cut+7])
	if _, err := d.Next(); !errors.As(err, &se) {
		t.Fatalf("Next after the guard: %v, want the *SlowPeerError", err)
	}
}
