package framing

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// resetStream is what a Reset Reader reads next: it must give exactly a
// new Reader's frames, offsets and end.
var resetStream = u32Stream([]byte("one"), bytes.Repeat([]byte("2"), 600), nil, []byte("four"))

// checkFresh reads resetStream (in 7-byte reads) from r after Reset and
// compares with a new Reader.
func checkFresh(t *testing.T, name string, r *Reader) {
	t.Helper()
	if r.Offset() != 0 {
		t.Fatalf("%s: Offset %d after Reset, want 0", name, r.Offset())
	}
	r.Reset(fixedChunks(resetStream, 7))
	want, werr := readFrames(NewReader(bytes.NewReader(resetStream), u32{}, nil))
	got, err := readFrames(r)
	if err != werr || len(got) != len(want) {
		t.Fatalf("%s: %d frames, %v; want %d, %v", name, len(got), err, len(want), werr)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: frame %d differs", name, i)
		}
	}
	if r.Offset() != int64(len(resetStream)) {
		t.Fatalf("%s: Offset %d, want %d", name, r.Offset(), len(resetStream))
	}
}

// TestReaderReset: a Reader Reset after EOF, after an error of each class,
// mid-frame, with a source error pending, after Release and Detach, reads
// the next stream as a new Reader does; its budget is back to 0 first;
// Stats are left alone; a Body is done.
func TestReaderReset(t *testing.T) {
	big := u32Stream(bytes.Repeat([]byte("b"), 5000))
	corrupt := []byte{0x80, 0, 0, 0, 1} // u32 rejects a length with the top bit set
	cases := []struct {
		name  string
		src   io.Reader
		opts  *Options
		reads int   // ReadFrame calls before Reset
		class error // the error of the last of them (nil: a frame)
	}{
		{"eof", bytes.NewReader(u32Stream([]byte("x"))), nil, 2, io.EOF},
		{"temporary mid-frame", &stallReader{data: big[:100]}, nil, 1, timeoutErr{}},
		{"rejected", bytes.NewReader(big), &Options{MaxFrameSize: 1000, Oversize: Skip}, 1, ErrFrameTooLarge},
		{"fatal too large", bytes.NewReader(big), &Options{MaxFrameSize: 1000}, 1, ErrFrameTooLarge},
		{"fatal corrupt", bytes.NewReader(corrupt), nil, 1, ErrCorrupt},
		{"unexpected eof", bytes.NewReader(big[:50]), nil, 1, io.ErrUnexpectedEOF},
		{"source error pending", &errWithData{u32Stream([]byte("a"), []byte("b"))}, nil, 1, nil},
		{"frame buffered behind", bytes.NewReader(u32Stream([]byte("a"), []byte("b"))), nil, 1, nil},
	}
	for _, tc := range cases {
		r := NewReader(tc.src, u32{}, tc.opts)
		var err error
		for i := 0; i < tc.reads; i++ {
			_, err = r.ReadFrame()
		}
		if (tc.class == nil) != (err == nil) || (tc.class != nil && !errors.Is(err, tc.class) && Classify(err) != Classify(tc.class)) {
			t.Fatalf("%s: got %v before Reset, want %v", tc.name, err, tc.class)
		}
		r.Reset(nil)
		checkFresh(t, tc.name, r)
	}

	// Release and Detach end a Reader; Reset revives it.
	r := NewReader(bytes.NewReader(big[:100]), u32{}, nil)
	r.ReadFrame()
	r.Release()
	r.Reset(nil)
	checkFresh(t, "released", r)
	r = NewReader(bytes.NewReader(big), u32{}, nil)
	r.ReadFrame()
	r.Detach()
	r.Reset(nil)
	checkFresh(t, "detached", r)

	// A budget: everything back at Reset, before the new source is read.
	budget := NewBudget(1 << 20)
	st := &Stats{}
	r = NewReader(&stallReader{data: big[:3000]}, u32{}, &Options{Budget: budget, Stats: st})
	if _, err := r.ReadFrame(); Classify(err) != Temporary || budget.InUse() == 0 {
		t.Fatalf("mid-frame: %v, budget %d", err, budget.InUse())
	}
	r.Reset(nil)
	if budget.InUse() != 0 {
		t.Fatalf("budget holds %d after Reset", budget.InUse())
	}
	if st.FramesRead.Load() != 0 || st.BytesRead.Load() != 0 {
		t.Fatalf("Reset counted the dropped bytes: %v", st.Snapshot())
	}
	checkFresh(t, "budget", r)
	if budget.InUse() != 0 || st.FramesRead.Load() != 4 {
		t.Fatalf("after the new stream: budget %d, %d frames counted", budget.InUse(), st.FramesRead.Load())
	}

	// A Body being read is done.
	r = NewReader(bytes.NewReader(big), u32{}, &Options{MaxBodySize: 1 << 20})
	_, body, err := r.ReadBody()
	if err != nil {
		t.Fatal(err)
	}
	r.Reset(bytes.NewReader(resetStream))
	if _, err := body.Read(make([]byte, 10)); err == nil {
		t.Fatal("a Body read after Reset succeeded")
	}
	if f, err := r.ReadFrame(); err != nil || string(f) != "one" {
		t.Fatalf("after Reset: %q, %v", f, err)
	}
}

// TestReaderResetAllocs: a pooled Reader's Reset and read loop allocates
// nothing once warm.
func TestReaderResetAllocs(t *testing.T) {
	src := bytes.NewReader(nil)
	r := NewReader(src, u32{}, &Options{Budget: NewBudget(1 << 20)})
	allocs := testing.AllocsPerRun(200, func() {
		src.Reset(resetStream)
		r.Reset(src)
		for {
			if _, err := r.ReadFrame(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Reset and stream", allocs)
	}
}

// errWithData returns all its data with io.ErrClosedPipe in one Read.
type errWithData struct{ data []byte }

func (s *errWithData) Read(p []byte) (int, error) {
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, io.ErrClosedPipe
}
