package main

import (
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestListenSlowPeer: a client that starts a frame and stalls is cut off
// by the slow-peer guard, named on stderr and counted; a client that
// sends whole frames is not.
func TestListenSlowPeer(t *testing.T) {
	l := start(t, true, "listen", "127.0.0.1:0", "-c", "u32be", "-f", "hex", "--frame-timeout", "300ms", "--time")
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("\x00\x00\x00\x02hi\x00\x00\x00\x64abc")) // one frame, then 3 of 100 bytes
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the stalled client's read: %d, %v; want the connection closed", n, err)
	}
	out := l.waitOutput(1)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z #1 127\.0\.0\.1:\d+ 6869\n$`).MatchString(out) {
		t.Errorf("listen --time stdout %q", out)
	}
	if code := l.stop(); code != 0 {
		t.Errorf("listen: exit %d", code)
	}
	_, stderr := l.output()
	if !regexp.MustCompile(`(?m)^framecat: #1 127\.0\.0\.1:\d+: framing: peer too slow: frame incomplete after \S+ with \d+ bytes received \(frame timeout\)$`).MatchString(stderr) ||
		!strings.Contains(stderr, " slow_peers=1 ") {
		t.Errorf("listen stderr %q", stderr)
	}
}

// TestGuardFlags: the flags of the budget and the guard are checked.
func TestGuardFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"listen", "127.0.0.1:0", "-c", "u8", "--budget", "1MiB"}, "--budget 1MiB is below --max 8388608"},
		{[]string{"listen", "127.0.0.1:0", "-c", "u8", "--frame-timeout", "-1s"}, `--frame-timeout "-1s"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--min-rate", "fast"}, `--min-rate "fast"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--drop", "1.5"}, `--drop "1.5": want a probability`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--dup", "NaN"}, `--dup "NaN"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--recut", "0"}, `--recut "0"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--delay", "soon"}, `--delay "soon"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "u8", "--seed", "-3"}, `--seed "-3"`},
		{[]string{"proxy", "127.0.0.1:0", "x:1", "-c", "lines", "--corrupt-len", "0.5"}, "lines has no length field"},
		{[]string{"listen", "127.0.0.1:0", "-c", "u8", "--drop", "0.5"}, "unknown flag --drop for listen"},
	} {
		r := framecat(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("framecat %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// sink is a TCP server that keeps every byte it receives, for the proxy's
// fault tests.
func sink(t *testing.T) (addr string, got func() []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c)
		done <- b
	}()
	return ln.Addr().String(), func() []byte {
		select {
		case b := <-done:
			return b
		case <-time.After(25 * time.Second):
			t.Fatal("the sink got no EOF")
			return nil
		}
	}
}

// throughProxy sends stream through a framecat proxy with args to a sink
// and returns what the sink received and the proxy's stdout.
func throughProxy(t *testing.T, stream []byte, args ...string) (received []byte, printed string) {
	t.Helper()
	addr, got := sink(t)
	p := start(t, true, append([]string{"proxy", "127.0.0.1:0", addr}, args...)...)
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	received = got()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	io.Copy(io.Discard, c) // the proxy passes the sink's close back
	p.stop()               // stdout is all read once the process has exited
	out, _ := p.output()
	return received, out
}

// u8Frames frames payloads with a 1-byte length.
func u8Frames(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = append(b, byte(len(p)))
		b = append(b, p...)
	}
	return b
}

// TestProxyFaults: each fault does what it says, the proxy prints what it
// did, and the same --seed gives the same bytes.
func TestProxyFaults(t *testing.T) {
	payloads := make([]string, 50)
	for i := range payloads {
		payloads[i] = strings.Repeat(string(rune('a'+i%26)), 5+i%7)
	}
	stream := u8Frames(payloads...)

	// Everything dropped, or everything sent twice.
	got, out := throughProxy(t, stream, "-c", "u8", "-f", "hex", "--drop", "1")
	if len(got) != 0 || strings.Count(out, "(drop) ") != len(payloads) {
		t.Errorf("--drop 1: sink got %d bytes, proxy printed %q", len(got), out)
	}
	got, out = throughProxy(t, stream, "-c", "u8", "-f", "hex", "--dup", "1")
	var twice []byte
	for _, p := range payloads {
		twice = append(twice, u8Frames(p, p)...)
	}
	if !bytes.Equal(got, twice) || strings.Count(out, "(dup) ") != len(payloads) {
		t.Errorf("--dup 1: sink got %q, proxy printed %q", got, out)
	}

	// A corrupted payload byte keeps the framing: the same lengths, one
	// byte different in each frame.
	got, out = throughProxy(t, stream, "-c", "u8", "-f", "hex", "--corrupt", "1", "--seed", "9")
	if len(got) != len(stream) {
		t.Fatalf("--corrupt 1: sink got %d bytes, want %d", len(got), len(stream))
	}
	off := 0
	for i, p := range payloads {
		if got[off] != byte(len(p)) {
			t.Fatalf("--corrupt 1: frame %d's length changed", i+1)
		}
		diff := 0
		for j := range len(p) {
			if got[off+1+j] != p[j] {
				diff++
			}
		}
		if diff != 1 {
			t.Errorf("--corrupt 1: frame %d has %d bytes changed, want 1", i+1, diff)
		}
		off += 1 + len(p)
	}
	if n := len(regexp.MustCompile(`\(corrupt@\d+\) `).FindAllString(out, -1)); n != len(payloads) {
		t.Errorf("--corrupt 1: %d frames printed as corrupted", n)
	}
	again, _ := throughProxy(t, stream, "-c", "u8", "-f", "hex", "--corrupt", "1", "--seed", "9")
	if !bytes.Equal(again, got) {
		t.Errorf("--seed 9 twice gave different bytes")
	}

	// A corrupted length field: the first frame's length byte changes.
	got, out = throughProxy(t, u8Frames("hello"), "-c", "u8", "-f", "json", "--corrupt-len", "1")
	if len(got) != 6 || got[0] == 5 || string(got[1:]) != "hello" || !strings.Contains(out, `"fault":"corrupt-len@0"`) {
		t.Errorf("--corrupt-len 1: sink got %q, proxy printed %q", got, out)
	}

	// Half the frames dropped, seeded: the sink gets exactly the frames
	// the proxy did not mark.
	got, out = throughProxy(t, stream, "-c", "u8", "-f", "hex", "--drop", "0.5", "--seed", "3", "--recut", "3", "--delay", "1ms")
	var kept []byte
	dropped := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[2] == "(drop)" {
			dropped++
			continue
		}
		b, err := hex.DecodeString(f[len(f)-1])
		if err != nil {
			t.Fatalf("proxy line %q", line)
		}
		kept = append(kept, u8Frames(string(b))...)
	}
	if dropped == 0 || dropped == len(payloads) || !bytes.Equal(got, kept) {
		t.Errorf("--drop 0.5: %d dropped; sink got %q, want %q", dropped, got, kept)
	}
}

// writes records the size of each Write.
type writes struct{ sizes []int }

func (w *writes) Write(p []byte) (int, error) { w.sizes = append(w.sizes, len(p)); return len(p), nil }
func (w *writes) Close() error                { return nil }

// TestRecutWriter: --recut N writes pieces of 1 to N bytes, spanning the
// writes it is given, the same for the same seed.
func TestRecutWriter(t *testing.T) {
	cut := func(seed uint64) []int {
		w := &writes{}
		rw := &recutWriter{w: w, n: 7, rng: rand.New(rand.NewPCG(seed, 1))}
		for range 100 {
			rw.Write(make([]byte, 10))
		}
		return w.sizes
	}
	a := cut(5)
	sum, whole := 0, 0
	for _, n := range a {
		if n < 1 || n > 7 {
			t.Fatalf("a piece of %d bytes", n)
		}
		if n == 7 {
			whole++
		}
		sum += n
	}
	if sum != 1000 || whole == 0 {
		t.Errorf("%d bytes in %d pieces, %d of 7 bytes", sum, len(a), whole)
	}
	if !slices.Equal(a, cut(5)) || slices.Equal(a, cut(6)) {
		t.Errorf("the cuts do not follow the seed")
	}
}

// TestProxySlowPeer: a client that stalls inside a frame is reported by
// the proxy, which stops decoding that direction (giving its buffer back)
// and goes on relaying every byte unchanged.
func TestProxySlowPeer(t *testing.T) {
	addr, got := sink(t)
	p := start(t, true, "proxy", "127.0.0.1:0", addr, "-c", "u32be", "-f", "hex", "--frame-timeout", "300ms")
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := []byte("\x00\x00\x00\x02hi\x00\x00\x00\x06abc")
	c.Write(first)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, stderr := p.output()
		if regexp.MustCompile(`(?m)^framecat: #1 127\.0\.0\.1:\d+ c>s: framing: peer too slow: .*; stops decoding c>s, relays the rest unchanged$`).MatchString(stderr) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy stderr %q", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Write([]byte("def"))
	c.(*net.TCPConn).CloseWrite()
	if b := got(); string(b) != string(first)+"def" {
		t.Errorf("the server got %q", b)
	}
	if out := p.waitOutput(1); !regexp.MustCompile(`^#1 > 6869\n$`).MatchString(out) {
		t.Errorf("proxy stdout %q", out)
	}
}
