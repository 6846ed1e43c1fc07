package framing

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Frames from ReadFrameOwned stay as they were while the Reader reads on:
// every frame of a stream is kept and compared at the end, in every
// chunking, for sizes around the block carving's limits (0, 512, 513, a
// block's worth).
func TestReadFrameOwnedKeepsFrames(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	var frames [][]byte
	for _, n := range []int{0, 1, 16, ownedMax, ownedMax + 1, ownedBlock - 1, ownedBlock, 3} {
		f := make([]byte, n)
		rng.Read(f)
		frames = append(frames, f)
	}
	frames = append(frames, randomFrames(rng, 2000, 600)...)
	stream := encodeAll(t, u32{}, frames)
	for _, chunk := range []int{1, 7, 100, 4096, len(stream)} {
		r := NewReader(fixedChunks(stream, chunk), u32{}, nil)
		var got [][]byte
		for {
			f, err := r.ReadFrameOwned()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunks of %d, frame %d: %v", chunk, len(got), err)
			}
			if f == nil || cap(f) != len(f) {
				t.Fatalf("chunks of %d, frame %d: len %d, cap %d, nil %v", chunk, len(got), len(f), cap(f), f == nil)
			}
			got = append(got, f)
		}
		if diff := cmp.Diff(frames, got); diff != "" {
			t.Fatalf("chunks of %d: frames differ (-want +got):\n%s", chunk, diff)
		}
	}
}

// Appending to an owned frame cannot change the frame after it, even when
// both were carved from one block.
func TestReadFrameOwnedAppendCopies(t *testing.T) {
	frames := [][]byte{[]byte("first"), []byte("second")}
	for i := 0; i < 8; i++ { // enough behind them for a block (a busy stream)
		frames = append(frames, []byte("more frames"))
	}
	r := NewReader(bytes.NewReader(encodeAll(t, u32{}, frames)), u32{}, nil)
	a, err := r.ReadFrameOwned()
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.ReadFrameOwned()
	if err != nil {
		t.Fatal(err)
	}
	if &a[:1][0] == &b[:1][0] || r.ownBlock == nil {
		t.Fatal("the frames were not carved from one block; the test proves nothing")
	}
	a = append(a, "XXXXXXXX"...)
	if string(a) != "firstXXXXXXXX" || string(b) != "second" {
		t.Fatalf("after an append: %q, %q", a, b)
	}
}

// On a busy stream small owned frames cost far less than an allocation
// each; the Reader lets go of its block with the last buffered frame, so
// an idle Reader holds none.
func TestReadFrameOwnedBlocks(t *testing.T) {
	frame := encodeAll(t, u32{}, [][]byte{bytes.Repeat([]byte("x"), 16)})
	stream := bytes.Repeat(frame, 10000)
	r := NewReader(bytes.NewReader(stream), u32{}, &Options{InitialBufferSize: 64 << 10})
	allocs := testing.AllocsPerRun(9000, func() {
		if _, err := r.ReadFrameOwned(); err != nil {
			t.Fatal(err)
		}
	})
	// 20-byte frames, 16 B kept: 4096/16 = 256 frames per block, plus the
	// Reader's buffer for the first read.
	if allocs > 0.02 {
		t.Fatalf("%.3f allocations per frame", allocs)
	}
	for {
		if _, err := r.ReadFrameOwned(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		if r.e.end == r.e.start && r.ownBlock != nil {
			t.Fatal("the Reader kept its block after the last buffered frame")
		}
	}

	// One frame per read (request and response): an allocation of the
	// frame's size each, no block.
	r = NewReader(fixedChunks(bytes.Repeat(frame, 100), len(frame)), u32{}, nil)
	got := allocatedBytes(func() {
		for i := 0; i < 100; i++ {
			if _, err := r.ReadFrameOwned(); err != nil {
				t.Fatal(err)
			}
			if r.ownBlock != nil {
				t.Fatalf("frame %d: a block was kept for one frame per read", i)
			}
		}
	})
	if got > 100*64 {
		t.Fatalf("%d bytes allocated for 100 frames of 16 bytes, one per read", got)
	}

	// A trickle: 7-byte reads leave a few bytes of the next frame behind
	// most frames, and none behind one in seven. That is no busy stream:
	// no block is taken to be dropped a few frames later (it was, at 4 KiB
	// per 7 frames).
	r = NewReader(fixedChunks(bytes.Repeat(frame, 700), 7), u32{}, nil)
	got = allocatedBytes(func() {
		for i := 0; i < 700; i++ {
			if _, err := r.ReadFrameOwned(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if got > 700*64 {
		t.Fatalf("%d bytes allocated for 700 frames of 16 bytes in 7-byte reads (%d a frame)", got, got/700)
	}
}

// Errors come back with a nil frame, and a Conn hands out the rest of a
// frame that Read returned in part as an owned frame.
func TestReadFrameOwnedErrorsAndConn(t *testing.T) {
	r := NewReader(bytes.NewReader([]byte{0, 0, 0, 9, 1}), u32{}, nil)
	f, err := r.ReadFrameOwned()
	var ue *UnexpectedEOFError
	if f != nil || !errors.As(err, &ue) {
		t.Fatalf("%q, %v; want nil and an *UnexpectedEOFError", f, err)
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		w := NewWriter(a, u32{}, nil)
		_ = w.WriteFrame([]byte("hello, world"))
		_ = w.WriteFrame([]byte("next"))
	}()
	c := NewConn(b, u32{}, nil)
	head := make([]byte, 5)
	if n, err := c.Read(head); err != nil || string(head[:n]) != "hello" {
		t.Fatalf("Read: %q, %v", head[:n], err)
	}
	rest, err := c.ReadFrameOwned()
	if err != nil || string(rest) != ", world" {
		t.Fatalf("rest: %q, %v", rest, err)
	}
	next, err := c.ReadFrameOwned()
	if err != nil || string(next) != "next" || string(rest) != ", world" {
		t.Fatalf("next: %q, %v (rest now %q)", next, err, rest)
	}
}

// A Reader that waits for the next frame after a burst of owned frames
// holds neither a read buffer nor a block, and the burst's frames stay as
// they were.
func TestReadFrameOwnedIdleAfterBurst(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 16)
	burst := bytes.Repeat(encodeAll(t, u32{}, [][]byte{payload}), 1000)
	src := &burstThenWait{data: burst, waiting: make(chan struct{}), release: make(chan struct{})}
	r := NewReader(src, u32{}, nil)
	kept := make([][]byte, 0, 1000)
	for i := 0; i < 1000; i++ {
		f, err := r.ReadFrameOwned()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		kept = append(kept, f)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.ReadFrameOwned()
		done <- err
	}()
	<-src.waiting // the Reader is in its source's Read, waiting for bytes
	pooled, block := r.e.pooled != nil, r.ownBlock != nil
	close(src.release)
	if err := <-done; err != io.EOF {
		t.Fatalf("after the burst: %v, want io.EOF", err)
	}
	if pooled || block {
		t.Fatalf("waiting between frames, the Reader holds a buffer (%v) or a block (%v)", pooled, block)
	}
	for i, f := range kept {
		if !bytes.Equal(f, payload) {
			t.Fatalf("kept frame %d changed: %q", i, f)
		}
	}
}

// burstThenWait returns data as fast as asked, then blocks in Read (after
// saying so on waiting) until release is closed, then reports io.EOF.
type burstThenWait struct {
	data             []byte
	waiting, release chan struct{}
}

func (s *burstThenWait) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	close(s.waiting)
	<-s.release
	return 0, io.EOF
}
