package framing

import (
	"bytes"
	"io"
	"testing"
)

// phasedReader serves data, first in reads as large as asked (a busy
// peer: bytes always waiting), then, from quietAt on, one frame of size
// frame per read (a peer that sends and waits). It records each read's
// buffer size.
type phasedReader struct {
	data    []byte
	quietAt int
	frame   int
	sizes   []int // each read's buffer size
	busy    int   // reads in the busy part
}

func (p *phasedReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	p.sizes = append(p.sizes, len(b))
	n := len(b)
	if len(p.data) <= p.quietAt {
		n = min(n, p.frame)
	} else {
		p.busy++
		n = min(n, len(p.data)-p.quietAt)
	}
	n = copy(b, p.data[:min(n, len(p.data))])
	p.data = p.data[n:]
	return n, nil
}

// A busy stream of small frames is read in pieces of up to busyReadSize,
// as a 64 KiB bufio.Reader would (issue 17: the echo server answering
// each read made 16 times the system calls of the hand-written loop with
// 4 KiB reads); once the peer goes quiet the buffer goes back at the next
// frame boundary, and under a memory budget reads stay at the initial
// size.
func TestBusyStreamReadsLarge(t *testing.T) {
	payload := bytes.Repeat([]byte{'x'}, 64)
	const busyFrames, quietFrames = 50_000, 20
	var frames [][]byte
	for range busyFrames + quietFrames {
		frames = append(frames, payload)
	}
	stream := u32Stream(frames...)
	frameLen := len(stream) / len(frames)
	busyBytes := busyFrames * frameLen

	for _, tc := range []struct {
		name    string
		opts    *Options
		maxRead int
	}{
		{"no budget", nil, busyReadSize},
		{"budget", &Options{Budget: NewBudget(1 << 20)}, DefaultInitialBufferSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// quietAt counts the bytes left: the busy part comes first.
			src := &phasedReader{data: stream, quietAt: len(stream) - busyBytes, frame: frameLen}
			r := NewReader(src, u32{}, tc.opts)
			for i := range len(frames) {
				f, err := r.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(f, payload) {
					t.Fatalf("frame %d differs", i)
				}
				if i == busyFrames+quietFrames/2 {
					// Quiet for a while: between frames the Reader holds
					// no more than the initial size.
					if r.e.pooled != nil && len(*r.e.pooled) > DefaultInitialBufferSize {
						t.Errorf("quiet stream: Reader holds a %d-byte buffer between frames", len(*r.e.pooled))
					}
				}
			}
			if _, err := r.ReadFrame(); err != io.EOF {
				t.Fatalf("end: %v, want io.EOF", err)
			}
			largest, busyReads := 0, src.busy
			for _, n := range src.sizes {
				largest = max(largest, n)
			}
			if largest > tc.maxRead {
				t.Errorf("largest read %d bytes, want at most %d", largest, tc.maxRead)
			}
			// Reads of the busy part: at the largest size but for the few
			// while the buffer doubles up to it.
			if want := busyBytes/tc.maxRead + 8; busyReads > want {
				t.Errorf("busy part (%d bytes) took %d reads, want at most %d (reads of about %d bytes)",
					busyBytes, busyReads, want, tc.maxRead)
			}
			if b := tc.opts; b != nil {
				if n := b.Budget.InUse(); n != 0 {
					t.Errorf("budget in use at the end: %d", n)
				}
			}
		})
	}
}
