package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the framecat binary the tests run, built once by TestMain (with
// -race when the tests run with it, so the command's goroutines are checked
// too).
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "framecat-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "framecat")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building framecat: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// A race-enabled binary sleeps a second at exit unless told not to.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is how a framecat run ended.
type result struct {
	stdout, stderr string
	code           int
}

// framecat runs the binary with stdin and waits at most 30 s for it.
func framecat(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("framecat %s: %v (stderr %q)", strings.Join(args, " "), err, stderr.String())
		}
		code = ee.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// server is a framecat left running (listen, proxy, or dial with an open
// stdin).
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // from "listening on IP:PORT"
	stdin  io.WriteCloser
	done   chan struct{}
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	err    error
}

// syncBuffer appends under the server's lock.
type syncBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (b syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// start runs framecat in the background. With listening set it waits for
// the "listening on" line. The process is killed at the end of the test if
// it still runs.
func start(t *testing.T, listening bool, args ...string) *server {
	t.Helper()
	s := &server{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = syncBuffer{&s.mu, &s.stdout}
	errPipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(errPipe)
		line, _ := r.ReadString('\n')
		syncBuffer{&s.mu, &s.stderr}.Write([]byte(line))
		first <- line
		io.Copy(syncBuffer{&s.mu, &s.stderr}, r)
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	if listening {
		select {
		case line := <-first:
			addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
			if !ok {
				t.Fatalf("framecat %s: first stderr line %q, want \"listening on IP:PORT\"", strings.Join(args, " "), line)
			}
			s.addr = addr
		case <-time.After(20 * time.Second):
			t.Fatalf("framecat %s: no \"listening on\" line", strings.Join(args, " "))
		}
	}
	return s
}

// output returns what the process printed so far.
func (s *server) output() (stdout, stderr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String(), s.stderr.String()
}

// waitOutput waits until stdout has at least n lines.
func (s *server) waitOutput(n int) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, errOut := s.output()
		if strings.Count(out, "\n") >= n {
			return out
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %d lines of output; stdout %q, stderr %q", n, out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code.
func (s *server) wait() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatal("framecat did not exit")
	}
	if s.err == nil {
		return 0
	}
	if ee, ok := s.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	s.t.Fatalf("framecat: %v", s.err)
	return -1
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop() int {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	return s.wait()
}
