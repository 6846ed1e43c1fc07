package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// WriteFrames whose FIRST payload is unrepresentable, on a fresh writer.
func TestWriteFramesFirstBadPanics(t *testing.T) {
	var rec recorder
	w := NewWriter(&rec, nl{}, nil)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	err := w.WriteFrames([][]byte{[]byte("bad\n")})
	if !errors.Is(err, ErrPayload) {
		t.Fatalf("got %v", err)
	}
}

// Conn.Read: an empty frame followed by EOF; Read says EOF, then
// ReadFrame returns a frame.
func TestConnReadEmptyFrameThenEOF(t *testing.T) {
	a, b := net.Pipe()
	rc := NewConn(b, u32{}, nil)
	go func() {
		a.Write([]byte{0, 0, 0, 0})
		a.Close()
	}()
	buf := make([]byte, 10)
	n, err := rc.Read(buf)
	if n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v", n, err)
	}
	f, err := rc.ReadFrame()
	if err != io.EOF {
		t.Fatalf("after io.EOF, ReadFrame = %q, %v (fatal error not sticky)", f, err)
	}
}

// Conn.Close blocks forever flushing buffered frames to a peer that
// does not read.
func TestCloseBlocksOnFlush(t *testing.T) {
	for _, callerDeadline := range []bool{false, true} {
		a, _ := net.Pipe() // the peer never reads
		c := NewConn(a, u32{}, nil)
		if err := c.BufferFrame([]byte("x")); err != nil {
			t.Fatal(err)
		}
		wait := closeFlushTimeout
		if callerDeadline {
			wait = 50 * time.Millisecond
			c.SetWriteDeadline(time.Now().Add(wait))
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- c.Close() }()
		select {
		case err := <-done:
			// The frame could not be written: Close says so.
			if !errors.Is(err, ErrWriterBroken) {
				t.Fatalf("Close = %v, want the flush failure", err)
			}
			if callerDeadline && time.Since(start) > closeFlushTimeout/2 {
				t.Fatalf("Close ignored the caller's earlier deadline: %v", time.Since(start))
			}
		case <-time.After(wait + 3*time.Second):
			t.Fatal("Close blocked on a peer that does not read")
		}
	}
}

// After a medium frame whose last read exactly filled the buffer, the
// Reader goes into its next (blocking) read still holding a pooled buffer.
type timeoutErr2 struct{}

func (timeoutErr2) Error() string { return "timeout" }
func (timeoutErr2) Timeout() bool { return true }

type seqReader struct{ chunks [][]byte }

func (s *seqReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, timeoutErr2{} // stands for "blocked until a deadline"
	}
	n := copy(p, s.chunks[0])
	s.chunks[0] = s.chunks[0][n:]
	if len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

func TestIdleReaderHoldsBuffer(t *testing.T) {
	// 60: a frame of exactly 64 bytes, which fills the inline buffer in
	// one read (a busy stream would move to a pooled buffer; an idle one
	// must not).
	for _, size := range []int{1000, 60} {
		frame := encodeAll(t, u32{}, [][]byte{make([]byte, size)})
		r := NewReader(&seqReader{chunks: [][]byte{frame}}, u32{}, nil)
		if f, err := r.ReadFrame(); err != nil || len(f) != size {
			t.Fatal(len(f), err)
		}
		if _, err := r.ReadFrame(); Classify(err) != Temporary {
			t.Fatal(err)
		}
		if r.e.pooled != nil {
			t.Fatalf("%d-byte frame: idle Reader (blocked in read, nothing buffered) holds a %d-byte pooled buffer", size, cap(*r.e.pooled))
		}
	}
}

// Steady-state allocations: one frame per read (request/response).
type oneFramePerRead struct {
	frame []byte
	off   int
}

func (o *oneFramePerRead) Read(p []byte) (int, error) {
	n := copy(p, o.frame[o.off:])
	o.off += n
	if o.off == len(o.frame) {
		o.off = 0
	}
	return n, nil
}

func TestSteadyAllocsOneFramePerRead(t *testing.T) {
	if raceEnabled {
		t.Skip()
	}
	for _, size := range []int{100, 1000, 5000, 10000, 100000} {
		frame := encodeAll(t, u32{}, [][]byte{make([]byte, size)})
		r := NewReader(&oneFramePerRead{frame: frame}, u32{}, nil)
		for i := 0; i < 10; i++ {
			r.ReadFrame()
		}
		a := testing.AllocsPerRun(1000, func() {
			if _, err := r.ReadFrame(); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("size %d: %v allocs/frame", size, a)
		if a != 0 {
			t.Errorf("size %d: %v allocs/frame", size, a)
		}
	}
}

// Decoder returning a shared *CorruptError: the Reader writes Offset into it.
var sharedCorrupt = &CorruptError{Reason: "shared"}

type sharedErrDecoder struct{}

func (sharedErrDecoder) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	return Decoded{}, sharedCorrupt
}

func TestSharedErrorRace(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := NewReader(bytes.NewReader(make([]byte, 10)), sharedErrDecoder{}, nil)
			r.e.consumed = int64(i) // different offsets
			r.ReadFrame()
		}(i)
	}
	wg.Wait()
}

// A decoder that never reports its frame over the limit: the engine's
// backstop bounds the buffer.
type negDiscard struct{}

func (negDiscard) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	return Need(len(buf) + 1), nil
}

type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	clear(p[:n])
	z.n -= n
	return n, nil
}

func TestNegativeDiscard(t *testing.T) {
	r := NewReader(&zeros{n: 64 << 20}, negDiscard{}, &Options{MaxFrameSize: 1000})
	_, err := r.ReadFrame()
	t.Logf("err=%v buf=%d", err, len(r.e.buf))
	if len(r.e.buf) > 1<<20 {
		t.Fatalf("buffered %d bytes with a 1000-byte limit", len(r.e.buf))
	}
}

var _ = binary.BigEndian
