//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stream returns n frames of the pipeline's frame for size.
func stream(size, n int) (frame, all []byte) {
	p := newPipeline(size)
	frame = p.frames[:len(p.frames)/(2*p.per)]
	return frame, bytes.Repeat(frame, n)
}

// TestEchoCheckCuts feeds an echo cut into pieces of 1 to 7 bytes (so that
// headers and last bytes fall across every boundary) with one byte of the
// third frame wrong, at each of its offsets: a wrong header byte or last
// payload byte is an *EchoError at that frame and offset, a wrong byte in
// the middle of the payload is not looked at, and without the wrong byte
// every frame is counted.
func TestEchoCheckCuts(t *testing.T) {
	for _, size := range []int{0, 1, 5, 64} {
		frame, all := stream(size, 5)
		frameLen := len(frame)
		for cut := 1; cut <= 7; cut++ {
			feed := func(b []byte) (*echoCheck, error) {
				chk := newEchoCheck(frame)
				for len(b) > 0 {
					n := min(cut, len(b))
					if err := chk.feed(b[:n]); err != nil {
						return chk, err
					}
					b = b[n:]
				}
				return chk, nil
			}
			chk, err := feed(all)
			if err != nil || chk.frames != 5 || chk.off != 0 {
				t.Fatalf("size %d, cut %d: a correct echo: %d frames (+%d bytes), %v; want 5 frames", size, cut, chk.frames, chk.off, err)
			}
			for off := 0; off < frameLen; off++ {
				bad := bytes.Clone(all)
				bad[2*frameLen+off] ^= 0x5a
				_, err := feed(bad)
				var want error
				if off < 4 || off == frameLen-1 {
					want = &EchoError{Frame: 2, Offset: off, Got: int(all[2*frameLen+off] ^ 0x5a), Want: int(all[2*frameLen+off])}
				}
				if diff := cmp.Diff(want, err, cmp.Comparer(sameEchoError)); diff != "" {
					t.Errorf("size %d, cut %d, byte %d of frame 2 wrong: (-want +got)\n%s", size, cut, off, diff)
				}
			}
		}
	}
}

func sameEchoError(a, b error) bool {
	var x, y *EchoError
	if !errors.As(a, &x) || !errors.As(b, &y) {
		return a == nil && b == nil
	}
	return *x == *y
}

// fakeEcho is a TCP server that echoes what it reads in pieces of cut
// bytes (one write each), XORing the byte at stream offset corrupt (if
// >= 0) with 0x5a and ending its side of the stream after closeAt bytes
// (if >= 0).
func fakeEcho(t *testing.T, cut int, corrupt, closeAt int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		var pos int64
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for b := buf[:n]; len(b) > 0; {
				piece := b[:min(cut, len(b))]
				b = b[len(piece):]
				if closeAt >= 0 && pos+int64(len(piece)) > closeAt {
					piece = piece[:closeAt-pos]
				}
				if k := corrupt - pos; k >= 0 && k < int64(len(piece)) {
					piece[k] ^= 0x5a
				}
				pos += int64(len(piece))
				if _, err := c.Write(piece); err != nil {
					return
				}
				if pos == closeAt {
					// A FIN, not a reset: the client must see the end of
					// the stream, so what it sends meanwhile is read.
					_ = c.(*net.TCPConn).CloseWrite()
					_, _ = io.Copy(io.Discard, c)
					return
				}
			}
		}
	}()
	return ln.Addr().String()
}

// runPipeline drives one pipeline of limit frames to addr and returns the
// frames it counted (its result and its echoed counter) and its error.
func runPipeline(t *testing.T, addr string, size int, limit int64) (got, echoed int64, err error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	p := newPipeline(size)
	p.limit = limit
	var n atomic.Int64
	got, err = p.run(c, make([]byte, len(p.frames)), &n)
	return got, n.Load(), err
}

// TestPipelineFakeServer runs the client's pipeline against fake echo
// servers over TCP: one that echoes correctly (every frame counted, no
// more), ones that change a header byte or a last payload byte, and one
// that closes the connection mid-frame.
func TestPipelineFakeServer(t *testing.T) {
	for _, size := range []int{0, 64, 4096} {
		frame, _ := stream(size, 1)
		frameLen := int64(len(frame))
		limit := int64(300)
		if size == 4096 {
			limit = 20
		}
		for cut := 1; cut <= 7; cut++ {
			name := fmt.Sprintf("size%d/cut%d", size, cut)
			got, echoed, err := runPipeline(t, fakeEcho(t, cut, -1, -1), size, limit)
			if err != nil || got != limit || echoed != limit {
				t.Errorf("%s: correct echo: %d frames (%d counted), %v; want %d", name, got, echoed, err, limit)
			}
		}
		cases := []struct {
			name             string
			corrupt, closeAt int64
			want             *EchoError
		}{
			{"header", 9*frameLen + 1, -1, &EchoError{Frame: 9, Offset: 1, Got: int(frame[1] ^ 0x5a), Want: int(frame[1])}},
			{"last byte", 12*frameLen + frameLen - 1, -1, &EchoError{Frame: 12, Offset: int(frameLen - 1),
				Got: int(frame[frameLen-1] ^ 0x5a), Want: int(frame[frameLen-1])}},
			{"EOF mid-frame", -1, 3*frameLen + 3, &EchoError{Frame: 3, Offset: 3, Got: -1}},
			{"EOF at a frame's end", -1, 4 * frameLen, &EchoError{Frame: 4, Offset: 0, Got: -1}},
		}
		for _, c := range cases {
			got, echoed, err := runPipeline(t, fakeEcho(t, 3, c.corrupt, c.closeAt), size, limit)
			if diff := cmp.Diff(error(c.want), err, cmp.Comparer(sameEchoError)); diff != "" {
				t.Errorf("size %d, %s: (-want +got)\n%s", size, c.name, diff)
			}
			if got != c.want.Frame || echoed != got {
				t.Errorf("size %d, %s: %d frames (%d counted) before the error, want %d", size, c.name, got, echoed, c.want.Frame)
			}
		}
	}
}

// TestProcCPU reads a spinning child's CPU time from /proc over half a
// second (more than 0.2 of a CPU, at most one CPU's worth), a sleeping
// child's (almost none), and refuses an exited one.
func TestProcCPU(t *testing.T) {
	use := func(cmd *exec.Cmd) float64 {
		t.Helper()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		time.Sleep(100 * time.Millisecond) // past the shell's start
		c0, err := procCPU(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		time.Sleep(500 * time.Millisecond)
		c1, err := procCPU(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		return (c1 - c0).Seconds() / time.Since(t0).Seconds()
	}
	if u := use(exec.Command("sh", "-c", "while :; do :; done")); u <= 0.2 || u > 1.05 {
		t.Errorf("spinning shell: %.2f CPU, want more than 0.2 and at most 1", u)
	}
	if u := use(exec.Command("sleep", "10")); u > 0.05 {
		t.Errorf("sleeping child: %.2f CPU, want about 0", u)
	}

	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err = procCPU(cmd.Process.Pid); err != nil {
			break // a zombie until Wait
		}
	}
	if err == nil {
		t.Errorf("an exited (not yet reaped) child: no error")
	}
	_ = cmd.Wait()
	if _, err := procCPU(cmd.Process.Pid); err == nil {
		t.Errorf("a reaped child: no error")
	}
	if clockTicks <= 0 {
		t.Errorf("clock ticks %d", clockTicks)
	}
}

func TestPairRatios(t *testing.T) {
	got := pairRatios([]float64{1, 3, 2}, []float64{2, 2, 2})
	if want := " 0.500 1.500 1.000 (median 1.000)"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestRoundOrder(t *testing.T) {
	for r, want := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 1, 2, 3}, {3, 2, 1, 0}} {
		if got := roundOrder(4, r); !slices.Equal(got, want) {
			t.Errorf("round %d: %v, want %v", r, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}
