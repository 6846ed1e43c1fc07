package framing

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestBatchWritesBlocks(t *testing.T) {
	frames := randomFrames(rand.New(rand.NewSource(1)), 5000, 100)
	var rec vecRecorder
	var stats Stats
	w := NewWriter(&rec, u32{}, &Options{Stats: &stats})
	b := w.NewBatch()
	total := 0
	for _, f := range frames {
		if err := b.BufferFrame(f); err != nil {
			t.Fatal(err)
		}
		total += 4 + len(f)
	}
	if rec.calls != total/flushAt {
		t.Fatalf("%d writes before Flush for %d bytes, want one per full 64 KiB", rec.calls, total)
	}
	if err := b.Flush(); err != nil || b.Buffered() != 0 {
		t.Fatal(err, b.Buffered())
	}
	if !bytes.Equal(rec.buf.Bytes(), encodeAll(t, u32{}, frames)) {
		t.Fatal("wrong bytes")
	}
	if s := stats.Snapshot(); s.FramesWritten != int64(len(frames)) {
		t.Fatalf("stats %+v, want %d frames", s, len(frames))
	}
	if err := b.Flush(); err != nil || rec.calls != total/flushAt+1 {
		t.Fatalf("empty Flush: %v, %d calls", err, rec.calls)
	}
}

func TestBatchRefusesWithoutBuffering(t *testing.T) {
	var rec recorder
	b := NewWriter(&rec, nl{}, nil).NewBatch()
	if err := b.BufferFrame([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	var pe *PayloadError
	if err := b.BufferFrame([]byte("two\nlines")); !errors.As(err, &pe) {
		t.Fatalf("got %v", err)
	}
	if err := b.Flush(); err != nil || rec.buf.String() != "ok\n" {
		t.Fatalf("%v, wrote %q", err, rec.buf.String())
	}
}

func TestBatchLargePayloadNotCopied(t *testing.T) {
	var rec vecRecorder
	b := NewWriter(&rec, u32{}, nil).NewBatch()
	if err := b.BufferFrame([]byte("small")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 1<<20)
	if err := b.BufferFrame(big); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range rec.iovs {
		found = found || (len(v) == len(big) && unsafe.SliceData(v) == unsafe.SliceData(big))
	}
	if !found {
		t.Fatal("the large payload was copied")
	}
	if !bytes.Equal(rec.buf.Bytes(), encodeAll(t, u32{}, [][]byte{[]byte("small"), big})) {
		t.Fatal("wrong bytes or order")
	}
}

func TestBatchBrokenWriter(t *testing.T) {
	w := NewWriter(&failWriter{after: 10}, u32{}, nil)
	b := w.NewBatch()
	for i := 0; i < 10; i++ {
		if err := b.BufferFrame([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); !errors.Is(err, ErrWriterBroken) {
		t.Fatalf("got %v", err)
	}
	if err := w.WriteFrame([]byte("x")); !errors.Is(err, ErrWriterBroken) {
		t.Fatalf("Writer after a failed block: %v", err)
	}
	if err := b.BufferFrame([]byte("x")); err != nil {
		t.Fatal(err) // buffered only: the error comes with the hand-over
	}
	if err := b.Flush(); !errors.Is(err, ErrWriterBroken) {
		t.Fatalf("got %v", err)
	}
}

// A Batch's goroutine and WriteFrame callers share the Writer: every frame
// arrives intact, each source's in order.
func TestBatchWithConcurrentWriters(t *testing.T) {
	var rec recorder
	var mu sync.Mutex
	w := NewWriter(lockedWriter{&mu, &rec}, u32{}, nil)
	const perSource = 3000
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			var b *Batch
			if s == 0 {
				b = w.NewBatch()
			}
			for i := 0; i < perSource; i++ {
				p := []byte(fmt.Sprintf("%d:%d:%s", s, i, bytes.Repeat([]byte{'x'}, i%50)))
				var err error
				if b != nil {
					err = b.BufferFrame(p)
				} else {
					err = w.WriteFrame(p)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			if b != nil {
				if err := b.Flush(); err != nil {
					t.Error(err)
				}
			}
		}(s)
	}
	wg.Wait()
	next := make([]int, 4)
	r := NewReader(bytes.NewReader(rec.buf.Bytes()), u32{}, nil)
	for _, f := range readAll(t, r) {
		var s, i int
		parts := strings.SplitN(string(f), ":", 3)
		if len(parts) != 3 {
			t.Fatalf("frame %q", f)
		}
		if _, err := fmt.Sscanf(parts[0]+" "+parts[1], "%d %d", &s, &i); err != nil || s < 0 || s >= len(next) {
			t.Fatalf("frame %q: %v", f, err)
		}
		rest := parts[2]
		if i != next[s] || len(rest) != i%50 {
			t.Fatalf("source %d: frame %d (%d bytes of x), want frame %d", s, i, len(rest), next[s])
		}
		next[s]++
	}
	for s, n := range next {
		if n != perSource {
			t.Fatalf("source %d: %d frames", s, n)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *recorder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBatchZeroAllocs(t *testing.T) {
	var rec recorder
	b := NewWriter(&rec, u32{}, nil).NewBatch()
	p := make([]byte, 16)
	for i := 0; i < 10000; i++ { // grow the buffer first
		_ = b.BufferFrame(p)
	}
	rec.buf = bytes.Buffer{}
	if n := testing.AllocsPerRun(10000, func() {
		if err := b.BufferFrame(p); err != nil {
			t.Fatal(err)
		}
		if rec.buf.Len() > 1<<20 {
			rec.buf.Reset()
		}
	}); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

// gateWriter blocks every Write until gate is closed, after telling
// entered.
type gateWriter struct {
	entered chan struct{}
	gate    chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// writingFirst returns a Writer whose first frame's write is in progress,
// held in g until g.gate is closed; first gets that WriteFrame's result.
func writingFirst(enc Encoder) (w *Writer, g *gateWriter, first chan error) {
	g = &gateWriter{entered: make(chan struct{}, 4), gate: make(chan struct{})}
	w = NewWriter(g, enc, nil)
	first = make(chan error, 1)
	go func() { first <- w.WriteFrame([]byte("first")) }()
	<-g.entered
	return w, g, first
}

// Breaking a Writer from outside (Detach) while a write is in the kernel:
// stop waits for that write, the frames queued behind it are dropped with
// the error, and nothing is written afterwards. (Found by review: callers,
// a Batch's Flush among them, could return while their memory was still
// being written.)
func TestStopWaitsForWriteInProgress(t *testing.T) {
	w, g, first := writingFirst(u32{}) // the first frame's write is in progress
	second := make(chan error, 1)
	go func() { second <- w.WriteFrame([]byte("second")) }()
	for { // wait until the second frame is queued behind it
		w.mu.Lock()
		queued := w.open != nil
		w.mu.Unlock()
		if queued {
			break
		}
		runtime.Gosched()
	}
	stopped := make(chan struct{})
	go func() { w.stop(ErrDetached); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a write was in progress")
	case err := <-second:
		t.Fatalf("a queued caller returned (%v) while a write was in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-stopped
	if err := <-first; err != nil {
		t.Fatalf("the frame being written: %v", err)
	}
	if err := <-second; !errors.Is(err, ErrDetached) {
		t.Fatalf("the queued frame: %v", err)
	}
	if err := w.WriteFrame([]byte("third")); !errors.Is(err, ErrDetached) {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if want := encodeAll(t, u32{}, [][]byte{[]byte("first")}); !bytes.Equal(g.buf.Bytes(), want) {
		t.Fatalf("wrote %q", g.buf.Bytes())
	}
}

// Flush with nothing open waits for the batch being written (it waits on
// that batch, not on the open one).
func TestFlushWaitsForWriteInProgress(t *testing.T) {
	w, g, first := writingFirst(u32{})
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush() }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) while the write was in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// yieldWriter records writes and yields in each, so that writers pile up
// behind it.
type yieldWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (y *yieldWriter) Write(p []byte) (int, error) {
	runtime.Gosched()
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.buf.Write(p)
}

// Several Writers share the pool of batches, and a batch's waiters wait on
// a Cond whose lock is its Writer's mutex: a batch must not go to another
// Writer while a goroutine woken from it has not yet taken that mutex
// back. Many Writers with many writers each, every frame checked.
func TestWritersShareBatchesSafely(t *testing.T) {
	const writers, perWriter, frames = 6, 8, 200
	dsts := make([]*yieldWriter, writers)
	var wg sync.WaitGroup
	for i := range dsts {
		dsts[i] = &yieldWriter{}
		w := NewWriter(dsts[i], u32{}, nil)
		for g := 0; g < perWriter; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for k := 0; k < frames; k++ {
					var err error
					p := []byte(fmt.Sprintf("%d:%d", g, k))
					if k%50 == 49 {
						err = w.Flush()
					} else {
						err = w.WriteFrame(p)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}(g)
		}
	}
	wg.Wait()
	for i, d := range dsts {
		next := make([]int, perWriter)
		r := NewReader(bytes.NewReader(d.buf.Bytes()), u32{}, nil)
		for _, f := range readAll(t, r) {
			var g, k int
			if _, err := fmt.Sscanf(string(f), "%d:%d", &g, &k); err != nil || g < 0 || g >= perWriter {
				t.Fatalf("writer %d: frame %q", i, f)
			}
			for next[g]%50 == 49 {
				next[g]++ // the Flush calls wrote no frame
			}
			if k != next[g] {
				t.Fatalf("writer %d, goroutine %d: frame %d, want %d", i, g, k, next[g])
			}
			next[g]++
		}
	}
}

// emptyOK encodes an empty payload as no bytes at all and refuses "bad".
type emptyOK struct{}

func (emptyOK) AppendFrame(dst, p []byte) ([]byte, error) {
	if string(p) == "bad" {
		return dst, &PayloadError{Size: len(p), Reason: "bad"}
	}
	return append(dst, p...), nil
}

// A refused frame rolled back out of a batch that holds only a frame of no
// bytes, whose caller waits on it: the caller still returns. (Found by
// review: the empty batch was dropped and its caller never woken.)
func TestRollbackKeepsWaitedBatch(t *testing.T) {
	w, g, first := writingFirst(emptyOK{})
	empty := make(chan error, 1)
	go func() { empty <- w.WriteFrame(nil) }()
	for { // wait until the empty frame's caller waits on the open batch
		w.mu.Lock()
		waiting := w.open != nil && w.callers > 0 // the empty frame's caller waits for the open run
		w.mu.Unlock()
		if waiting {
			break
		}
		runtime.Gosched()
	}
	var pe *PayloadError
	if err := w.WriteFrame([]byte("bad")); !errors.As(err, &pe) {
		t.Fatal(err)
	}
	close(g.gate)
	for _, c := range []chan error{first, empty} {
		select {
		case err := <-c:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a caller was never woken")
		}
	}
}
