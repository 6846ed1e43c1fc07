package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// server is serve running on a free loopback port until the test ends.
type server struct {
	addr     string
	shutdown context.CancelFunc
	done     chan struct{} // closed when serve returned
	err      error         // what serve returned, once done is closed
}

func startServer(t *testing.T, answer func([]byte) []byte) *server {
	t.Helper()
	l, err := framing.Listen("tcp", "127.0.0.1:0", lengthprefix.U32BE, frameOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: l.Addr().String(), shutdown: cancel, done: make(chan struct{})}
	go func() {
		s.err = serve(ctx, l, answer, t.Logf)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not return within 10 s of shutdown")
		}
	})
	return s
}

// Hundreds of clients at once, pipelining their requests; a tenth of them
// through a proxy that splits and glues the TCP segments. Every reply must
// be a number in its client's range.
func TestManyClients(t *testing.T) {
	addr := startServer(t, answer).addr
	proxy, err := fuzz.NewProxy(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	ranges := [][2]int64{{1, 6}, {-10, 10}, {7, 7}, {0, math.MaxInt64}, {math.MinInt64, math.MaxInt64}, {math.MinInt64, math.MinInt64 + 1}}
	const clients, each = 300, 20
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	dice := map[int64]int{}
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			to := addr
			if i%10 == 0 {
				to = proxy.Addr()
			}
			r := ranges[i%len(ranges)]
			nums, err := request(ctx, to, each, r[0], r[1])
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			if len(nums) != each {
				t.Errorf("client %d: %d numbers, want %d", i, len(nums), each)
			}
			for _, v := range nums {
				if v < r[0] || v > r[1] {
					t.Errorf("client %d: %d is outside [%d, %d]", i, v, r[0], r[1])
				}
			}
			if r == ranges[0] {
				mu.Lock()
				for _, v := range nums {
					dice[v]++
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	// 1000 throws of a die: each face shows up, or the numbers are not random.
	if len(dice) != 6 {
		t.Errorf("faces thrown: %v, want all of 1 to 6", dice)
	}
}

func TestBadRequests(t *testing.T) {
	addr := startServer(t, answer).addr
	c, err := framing.Dial("tcp", addr, lengthprefix.U32BE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for req, want := range map[string]string{
		"":                       `error: want "MIN MAX", got ""`,
		"1 2 3":                  `error: want "MIN MAX", got "1 2 3"`,
		"6 1":                    "error: MIN 6 is larger than MAX 1",
		"1 99999999999999999999": `error: strconv.ParseInt: parsing "99999999999999999999": value out of range`,
	} {
		if err := c.WriteFrame([]byte(req)); err != nil {
			t.Fatal(err)
		}
		reply, err := c.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if string(reply) != want {
			t.Errorf("%q: reply %q, want %q", req, reply, want)
		}
	}
	// A request over the 64-byte limit is refused from its header: the
	// server closes the connection instead of buffering it (the write may
	// fail: the server may be gone before it ends).
	c.WriteFrame(make([]byte, 65))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if reply, err := c.ReadFrame(); err == nil {
		t.Fatalf("oversized request answered with %q", reply)
	}
}

// Shutdown without signals: once ctx is done the server refuses new
// connections at once, closes idle ones, and answers the request it is
// working on before it closes that connection and returns.
func TestShutdownFinishesInFlight(t *testing.T) {
	working, release := make(chan struct{}), make(chan struct{})
	slow := func(req []byte) []byte {
		working <- struct{}{}
		<-release
		return answer(req)
	}
	s := startServer(t, slow)
	addr := s.addr

	busy, err := framing.Dial("tcp", addr, lengthprefix.U32BE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	idle, err := framing.Dial("tcp", addr, lengthprefix.U32BE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy.SetDeadline(time.Now().Add(10 * time.Second))
	idle.SetDeadline(time.Now().Add(10 * time.Second))
	if err := busy.WriteFrame([]byte("1 6")); err != nil {
		t.Fatal(err)
	}
	<-working // the request is in flight

	s.shutdown()
	if _, err := idle.ReadFrame(); err != io.EOF {
		t.Errorf("idle connection: %v, want io.EOF (closed by the shutdown)", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the server still accepts connections after shutdown")
	}
	select {
	case <-s.done:
		t.Fatalf("serve returned (%v) with a request in flight", s.err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	reply, err := busy.ReadFrame()
	if err != nil {
		t.Fatalf("in-flight request: %v, want its reply", err)
	}
	if s := string(reply); s < "1" || s > "6" || len(s) != 1 {
		t.Errorf("in-flight reply %q, want 1 to 6", s)
	}
	if _, err := busy.ReadFrame(); err != io.EOF {
		t.Errorf("after the in-flight reply: %v, want io.EOF", err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("serve = %v, want nil after shutdown", s.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after the last request was answered")
	}
}

func TestRunClient(t *testing.T) {
	addr := startServer(t, answer).addr
	var out, errOut strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, []string{"-dial", addr, "-n", "5", "-min", "1", "-max", "6"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errOut.String())
	}
	lines := strings.Fields(out.String())
	if len(lines) != 5 {
		t.Fatalf("client printed %q, want 5 numbers", out.String())
	}
	for _, l := range lines {
		if len(l) != 1 || l < "1" || l > "6" {
			t.Errorf("client printed %q, want 1 to 6", l)
		}
	}
	if err := run(ctx, []string{"-dial", addr, "-listen", addr}, &out, &errOut); err == nil {
		t.Error("run accepted both -dial and -listen")
	}
}

// The real command, built and stopped with SIGINT: the signal wiring in main
// is the only part the other tests do not run.
func TestSIGINT(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	goTool, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	bin := filepath.Join(t.TempDir(), "randserver")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		cmd.Process.Kill() // if a check failed first
		<-exited
	}()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q, %v; want \"listening on ADDR\"", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if nums, err := request(ctx, addr, 3, 10, 20); err != nil || len(nums) != 3 {
		t.Fatalf("request = %v, %v", nums, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("exit after SIGINT: %v, want status 0 (stderr %q)", exitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGINT")
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("stderr %q does not say it shut down", stderr.String())
	}
	var ne net.Error
	if _, err := request(ctx, addr, 1, 1, 2); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("request after shutdown: %v, want connection refused", err)
	}
}
