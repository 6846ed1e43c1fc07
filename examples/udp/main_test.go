package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/datagram"
)

// startServer runs the command's server (run -listen) on a free loopback
// port until the test ends, and returns its address and its log.
func startServer(t *testing.T, args ...string) (addr string, log *syncBuilder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	log = &syncBuilder{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), pw, log)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server still running 10 s after shutdown")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("server printed %q, %v; want \"listening on ADDR\"", line, err)
	}
	go io.Copy(io.Discard, pr)
	return addr, log
}

// syncBuilder is a strings.Builder that a server goroutine may write while
// the test reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func client(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut strings.Builder
	err = run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestEcho(t *testing.T) {
	addr, log := startServer(t)
	for _, tt := range []struct{ n, size string }{
		{"500", "100"}, // 12 frames to a datagram
		{"50", "4"},    // the smallest frame: all in one datagram
		{"50", "1226"}, // the largest that fits a 1232-byte datagram
	} {
		out, errOut, err := client(t, "-dial", addr, "-n", tt.n, "-size", tt.size)
		if err != nil {
			t.Errorf("-n %s -size %s: %v (stderr %q)", tt.n, tt.size, err, errOut)
		}
		want := "sent " + tt.n + " frames: " + tt.n + " echoed intact, 0 lost; 0 datagrams reported truncated, 0 corrupt\n"
		if out != want {
			t.Errorf("-n %s -size %s: client printed %q, want %q", tt.n, tt.size, out, want)
		}
	}
	if _, _, err := client(t, "-dial", addr, "-size", "1227"); err == nil || !strings.Contains(err.Error(), "want 4 to 1226") {
		t.Errorf("-size 1227: %v, want it refused", err)
	}
	if s := log.String(); s != "" {
		t.Errorf("server logged %q", s)
	}
}

var summary = regexp.MustCompile(`^sent (\d+) frames: (\d+) echoed intact, (\d+) lost; (\d+) datagrams reported truncated, 0 corrupt\n$`)

// The classic UDP bug: the client reads into a buffer smaller than the
// server's datagrams. Each truncated datagram is reported, no frame comes
// back short or altered, and the frames lost add up.
func TestTruncationReported(t *testing.T) {
	addr, _ := startServer(t)
	out, errOut, err := client(t, "-dial", addr, "-n", "200", "-size", "100", "-read-buffer", "512", "-wait", "300ms")
	if err == nil || !strings.Contains(err.Error(), "did not come back intact") {
		t.Errorf("client: %v, want it to fail", err)
	}
	m := summary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client printed %q", out)
	}
	if m[1] != "200" || m[2] == "200" || m[4] == "0" {
		t.Errorf("client printed %q, want frames lost and datagrams reported truncated", out)
	}
	if !strings.Contains(errOut, "datagram of 1216 bytes from "+addr+" truncated to 512") {
		t.Errorf("client stderr %q does not say what was truncated", errOut)
	}
}

// Datagrams from a sender that does not speak the format are each logged
// and dropped; the server goes on serving.
func TestHostileDatagrams(t *testing.T) {
	addr, log := startServer(t)
	raw, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	bad := [][]byte{[]byte("hello"), {}, {0xFD, 1, 0, 200, 3, 'a'}, {0xFD, 1, 0, 6, 0x80, 0x00}}
	for _, d := range bad {
		if _, err := raw.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, errOut, err := client(t, "-dial", addr, "-n", "20"); err != nil {
		t.Fatalf("client after hostile datagrams: %v (stderr %q)", err, errOut)
	}
	if n := strings.Count(log.String(), "corrupt datagram"); n != len(bad) {
		t.Errorf("server logged %d corrupt datagrams, want %d:\n%s", n, len(bad), log)
	}
}

func TestNoServer(t *testing.T) {
	// A port nobody listens on: the connected client socket gets ICMP
	// "port unreachable" back as an error instead of waiting in vain.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	start := time.Now()
	_, _, err = client(t, "-dial", addr, "-n", "5", "-wait", "5s")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("client with no server: %v, want connection refused", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("client took %v to notice", d)
	}
}

func TestFrame(t *testing.T) {
	// The sizes a client checks against must be exact.
	for _, size := range []int{4, 5, 100, datagram.DefaultMaxDatagram} {
		if got := len(frame(7, size)); got != size {
			t.Errorf("frame(7, %d) has %d bytes", size, got)
		}
	}
}

// TestClientFlags: a bad flag is refused before anything is sent or
// printed (a server that counts datagrams sees none).
func TestClientFlags(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n 0: want 1 to"},
		{[]string{"-n", "-5"}, "-n -5: want 1 to"},
		{[]string{"-size", "3"}, "-size 3: want at least 4"},
		{[]string{"-size", "100000"}, "-size 100000: want 4 to "},
		{[]string{"-wait", "0s"}, "-wait 0s: want a positive duration"},
	} {
		stdout, _, err := client(t, append([]string{"-dial", addr}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || stdout != "" {
			t.Errorf("%q: %v, stdout %q; want %q and nothing printed", tc.args, err, stdout, tc.want)
		}
	}
	pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 2048)); err == nil {
		t.Errorf("a datagram of %d bytes was sent", n)
	}
}
