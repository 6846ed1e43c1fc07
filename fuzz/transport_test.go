package fuzz

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCuttingOffsets(t *testing.T) {
	tests := []struct {
		c    Cutting
		n    int64
		want []int64
		str  string
	}{
		{CutWhole(), 10, nil, "fuzz.CutWhole()"},
		{CutEvery(3), 10, []int64{3, 6, 9}, "fuzz.CutEvery(3)"},
		{CutEvery(1), 3, []int64{1, 2}, "fuzz.CutEvery(1)"},
		{CutAt(7, 2, 2, 0, 12), 10, []int64{2, 7}, "fuzz.CutAt(2, 7, 12)"},
		{Cutting{}, 5, nil, "fuzz.CutWhole()"},
	}
	for _, tt := range tests {
		if got := tt.c.Offsets(tt.n); !cmp.Equal(got, tt.want) {
			t.Errorf("%v.Offsets(%d) = %v, want %v", tt.c, tt.n, got, tt.want)
		}
		if got := tt.c.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
	}
	r := CutRandom(42, 5)
	a, b := r.Offsets(1000), r.Offsets(1000)
	if !cmp.Equal(a, b) || len(a) < 1000/5 {
		t.Fatalf("CutRandom not deterministic or pieces too large: %d cuts", len(a))
	}
	for i := range a {
		prev := int64(0)
		if i > 0 {
			prev = a[i-1]
		}
		if d := a[i] - prev; d < 1 || d > 5 {
			t.Fatalf("piece %d has %d bytes, want 1..5", i, d)
		}
	}
}

func TestReaderCutsAtOffsets(t *testing.T) {
	data := make([]byte, 5000)
	rand.New(rand.NewSource(1)).Read(data)
	for _, c := range []Cutting{CutWhole(), CutEvery(1), CutEvery(7), CutRandom(3, 100), CutAt(1, 2, 3, 4000)} {
		// The underlying reader returns odd-sized pieces of its own; cuts
		// must still fall at the Cutting's offsets.
		r := NewReader(iotestHalf{bytes.NewReader(data)}, c).Record()
		var got []byte
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%v: stream changed", c)
		}
		var offs []int64
		var pos int64
		for _, p := range r.Pieces()[:len(r.Pieces())-1] {
			pos += int64(p)
			offs = append(offs, pos)
		}
		want := c.Offsets(int64(len(data)))
		if c.kind == cutWhole || c.kind == cutAt {
			// Past the last cut, reads pass through: only check that
			// every requested cut is a piece boundary.
			have := map[int64]bool{}
			for _, o := range offs {
				have[o] = true
			}
			for _, o := range want {
				if !have[o] {
					t.Errorf("%v: no cut at %d (cuts %v)", c, o, offs)
				}
			}
			continue
		}
		if !cmp.Equal(offs, want) {
			t.Errorf("%v: cuts at %v, want %v", c, offs[:min(len(offs), 10)], want[:min(len(want), 10)])
		}
	}
}

// iotestHalf returns at most half of what is asked, at least one byte.
type iotestHalf struct{ r io.Reader }

func (h iotestHalf) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:len(p)/2]
	}
	return h.r.Read(p)
}

func TestPipeCoalescesAndSplits(t *testing.T) {
	a, b := Pipe(&PipeOptions{Cut: CutEvery(5)})
	defer a.Close()
	defer b.Close()
	for _, s := range []string{"abc", "defgh", "ij"} {
		if _, err := a.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	a.CloseWrite()
	var reads []string
	buf := make([]byte, 100)
	for {
		n, err := b.Read(buf)
		if n > 0 {
			reads = append(reads, string(buf[:n]))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"abcde", "fghij"}; !cmp.Equal(reads, want) {
		t.Fatalf("reads %q, want %q", reads, want)
	}
	// b can still write after a's half-close.
	if _, err := b.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	n, err := a.Read(buf)
	if err != nil || string(buf[:n]) != "back" {
		t.Fatalf("a.Read = %q, %v", buf[:n], err)
	}
	if a.Writes() != 3 || b.Reads() != 2 {
		t.Fatalf("Writes %d Reads %d, want 3 and 2", a.Writes(), b.Reads())
	}
}

func TestPipeDeadlines(t *testing.T) {
	a, b := Pipe(&PipeOptions{Buffer: 8})
	defer a.Close()
	defer b.Close()

	// A read deadline fires in a blocked Read and can be cleared.
	done := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 10))
		done <- err
	}()
	if !b.WaitReadBlocked(5 * time.Second) {
		t.Fatal("reader never blocked")
	}
	b.SetReadDeadline(time.Now().Add(-time.Second))
	err := <-done
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read after deadline: %v, want a timeout", err)
	}
	b.SetReadDeadline(time.Time{})
	a.Write([]byte("x"))
	if n, err := b.Read(make([]byte, 10)); n != 1 || err != nil {
		t.Fatalf("Read after clearing the deadline: %d, %v", n, err)
	}

	// A write larger than the buffer blocks, and its deadline gives a
	// partial write.
	a.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := a.Write(make([]byte, 20))
	if n != 8 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write into a full pipe: %d, %v; want 8 and a timeout", n, err)
	}
	a.SetWriteDeadline(time.Time{})

	// The pending deadline of a blocked writer moves when it is reset.
	go func() {
		time.Sleep(10 * time.Millisecond)
		a.SetWriteDeadline(time.Now().Add(-time.Second))
	}()
	if _, err := a.Write([]byte("y")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked Write after SetWriteDeadline: %v", err)
	}
}

func TestPipeCloseAndReset(t *testing.T) {
	a, b := Pipe(nil)
	a.Write([]byte("last"))
	a.Close()
	buf := make([]byte, 10)
	if n, err := b.Read(buf); n != 4 || err != nil {
		t.Fatalf("Read of data written before Close: %d, %v", n, err)
	}
	if _, err := b.Read(buf); err != io.EOF {
		t.Fatalf("Read after peer Close: %v, want io.EOF", err)
	}
	if _, err := b.Write([]byte("z")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write to closed peer: %v, want EPIPE", err)
	}
	if _, err := a.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on closed end: %v, want net.ErrClosed", err)
	}
	if err := a.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
	b.Close()

	a, b = Pipe(&PipeOptions{ResetAfter: 6, Cut: CutEvery(4)})
	defer a.Close()
	defer b.Close()
	a.Write([]byte("0123456789"))
	var got []byte
	for {
		n, err := b.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Read past ResetAfter: %v, want ECONNRESET", err)
			}
			break
		}
	}
	if string(got) != "012345" {
		t.Fatalf("delivered %q before the reset, want 012345", got)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write after reset: %v", err)
	}
}

func TestPipeWriteBuffersIsOneWrite(t *testing.T) {
	a, b := Pipe(&PipeOptions{Buffer: 4})
	defer a.Close()
	defer b.Close()
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&got, b) }()
	v := net.Buffers{[]byte("hello "), []byte("vectored "), []byte("world")}
	n, err := a.WriteBuffers(&v)
	if n != 20 || err != nil || len(v) != 0 {
		t.Fatalf("WriteBuffers = %d, %v, %d left", n, err, len(v))
	}
	a.CloseWrite()
	wg.Wait()
	if got.String() != "hello vectored world" || a.Writes() != 1 {
		t.Fatalf("got %q in %d writes", got.String(), a.Writes())
	}
}

func TestPipeDelay(t *testing.T) {
	a, b := Pipe(&PipeOptions{DelayAfter: 2, Delay: 50 * time.Millisecond, Cut: CutEvery(2)})
	defer a.Close()
	defer b.Close()
	a.Write([]byte("abcd"))
	buf := make([]byte, 10)
	b.Read(buf)
	start := time.Now()
	n, err := b.Read(buf)
	if n != 2 || err != nil || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("second read: %d, %v after %v; want 2 bytes after the delay", n, err, time.Since(start))
	}
}

func TestProxyRecutsAndHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		data, _ := io.ReadAll(c) // until the proxied half-close
		c.Write(data)            // echo it back, then close
		served <- data
	}()
	p, err := NewProxy(ln.Addr().String(), &ProxyOptions{Cut: CutEvery(3), Back: CutRandom(1, 10), Pause: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("0123456789"), 10)
	c.Write(msg)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var reads int
	var got []byte
	buf := make([]byte, 1000)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			reads++
			got = append(got, buf[:n]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, msg) || !bytes.Equal(<-served, msg) {
		t.Fatalf("proxy changed the bytes")
	}
	if reads < 5 {
		t.Fatalf("%d reads for 100 bytes in pieces of at most 10 with pauses; the proxy did not re-cut", reads)
	}
}

func TestProxyCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p, err := NewProxy(ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	time.Sleep(10 * time.Millisecond)
	p.Close() // must not hang with a relay in progress
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after proxy Close: %v, want EOF or reset", err)
	}
}
