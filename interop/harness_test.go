package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

// frameCount is how many frames each exchange sends each way.
const frameCount = 1000

// exchangeTimeout bounds one 1,000-frame exchange.
const exchangeTimeout = 90 * time.Second

// inCI reports whether the tests run in CI, where a missing peer is a
// failure instead of a skip.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "0" && v != "false"
}

// missingPeer fails the test in CI and skips it elsewhere, naming the
// command that installs what is missing.
func missingPeer(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("peer not available: %s; install it with: %s", what, install)
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// baseSeed is the seed of every random choice in the run: INTEROP_SEED
// replays a failure.
var baseSeed = func() int64 {
	if s := os.Getenv("INTEROP_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return n
		}
	}
	return time.Now().UnixNano() % 1_000_000_007
}()

// seedFor derives a seed for one test from the run's seed and its name,
// and logs how to replay it.
func seedFor(t testing.TB) int64 {
	t.Helper()
	h := sha256.Sum256([]byte(t.Name()))
	s := baseSeed ^ int64(binary.BigEndian.Uint32(h[:4]))
	t.Logf("seed %d (replay the run with INTEROP_SEED=%d)", s, baseSeed)
	return s
}

// newProxy starts a re-cutting proxy in front of upstream, closed when the
// test ends. Pieces are 1 to 512 bytes, so length fields and delimiters are
// regularly split, and several writes are glued together.
func newProxy(t testing.TB, upstream string, seed int64) *fuzz.Proxy {
	t.Helper()
	return newProxyWith(t, upstream, &fuzz.ProxyOptions{
		Cut:  fuzz.CutRandom(seed, 512),
		Back: fuzz.CutRandom(seed+1, 512),
		Hold: time.Millisecond,
	})
}

func newProxyWith(t testing.TB, upstream string, opts *fuzz.ProxyOptions) *fuzz.Proxy {
	t.Helper()
	p, err := fuzz.NewProxy(upstream, opts)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A digest sums a sequence of frames the way every peer program does:
// SHA-256 over each frame's length as 8 big-endian bytes followed by the
// frame.
type digest struct {
	frames int
	bytes  int64
	sum    hash.Hash
}

func newDigest() *digest { return &digest{sum: sha256.New()} }

func (d *digest) add(p []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(p)))
	d.sum.Write(n[:])
	d.sum.Write(p)
	d.frames++
	d.bytes += int64(len(p))
}

// String is the line a peer prints after "DONE <config> ".
func (d *digest) String() string {
	return fmt.Sprintf("%d %d %s", d.frames, d.bytes, hex.EncodeToString(d.sum.Sum(nil)))
}

// sizeOf draws a frame size in [0, max]: 2% exactly max (the largest the
// format allows), 2% empty, 46% under 256 bytes (where headers and
// delimiters are a large share of the stream), 30% under 4 KiB, the rest
// up to max. Every peer program draws the same way.
func sizeOf(r *rand.Rand, max int) int {
	switch b := r.Intn(100); {
	case b < 2:
		return max
	case b < 4:
		return 0
	case b < 50:
		return r.Intn(min(256, max+1))
	case b < 80:
		return r.Intn(min(4096, max+1))
	}
	return r.Intn(max + 1)
}

func randomBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	r.Read(p)
	return p
}

// lineBytes is a binary payload that Lines can carry: no "\n", and no
// "\r" at the end.
func lineBytes(r *rand.Rand, n int) []byte {
	p := randomBytes(r, n)
	for i, b := range p {
		if b == '\n' {
			p[i] = 'n'
		}
	}
	if n > 0 && p[n-1] == '\r' {
		p[n-1] = 'r'
	}
	return p
}

// delimitedBytes is a payload rich in the delimiter's bytes that still
// reads back intact: the first match of delim in payload+delim is the
// appended one.
func delimitedBytes(r *rand.Rand, n int, delim []byte) []byte {
	p := make([]byte, n)
	for i := range p {
		if r.Intn(4) == 0 {
			p[i] = byte(r.Intn(256))
		} else {
			p[i] = delim[r.Intn(len(delim))]
		}
	}
	ext := append(append([]byte(nil), p...), delim...)
	for i := range p {
		if bytes.HasPrefix(ext[i:], delim) {
			p[i], ext[i] = 'x', 'x'
		}
	}
	return p
}

// frames makes count payloads with gen.
func frames(seed int64, count int, gen func(*rand.Rand) []byte) [][]byte {
	r := rand.New(rand.NewSource(seed))
	out := make([][]byte, count)
	for i := range out {
		out[i] = gen(r)
	}
	return out
}

// exchange sends frames to addr with codec and reads them back, checking
// each byte. The writer mixes the ways framekit sends: one frame per call,
// a batch in one vectored write, buffered frames flushed together.
func exchange(t testing.TB, addr string, codec framing.Codec, opts *framing.Options, payloads [][]byte, seed int64) {
	t.Helper()
	c, err := framing.Dial("tcp", addr, codec, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	exchangeOn(t, c, payloads, seed)
}

// exchangeOn is exchange over a connection the caller dialled.
func exchangeOn(t testing.TB, c *framing.Conn, payloads [][]byte, seed int64) {
	t.Helper()
	c.SetDeadline(time.Now().Add(exchangeTimeout))

	werr := make(chan error, 1)
	go func() { werr <- sendMixed(c, payloads, seed) }()

	for i, want := range payloads {
		got, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d of %d: %v", i, len(payloads), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %s", i, difference(got, want))
		}
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
}

// sendMixed writes payloads to c in a random mix of WriteFrame,
// WriteFrames and BufferFrame+Flush.
func sendMixed(c *framing.Conn, payloads [][]byte, seed int64) error {
	r := rand.New(rand.NewSource(seed ^ 0x5eed))
	for i := 0; i < len(payloads); {
		n := min(1+r.Intn(5), len(payloads)-i)
		batch := payloads[i : i+n]
		i += n
		switch r.Intn(3) {
		case 0:
			for _, p := range batch {
				if err := c.WriteFrame(p); err != nil {
					return err
				}
			}
		case 1:
			if err := c.WriteFrames(batch); err != nil {
				return err
			}
		default:
			for _, p := range batch {
				if err := c.BufferFrame(p); err != nil {
					return err
				}
			}
			if err := c.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// difference describes how got differs from want.
func difference(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d bytes, want %d (first bytes got % x, want % x)", len(got), len(want), head(got), head(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("%d bytes, first difference at byte %d: got %#02x, want %#02x", len(got), i, got[i], want[i])
		}
	}
	return "equal"
}

func head(p []byte) []byte { return p[:min(len(p), 12)] }

// An echoServer is a framekit server that echoes every frame of one
// connection and sums what it received, for a peer's client to compare
// with what it sent.
type echoServer struct {
	addr string
	done chan struct{}
	sum  *digest
	err  error // the error that ended the connection, nil at a clean EOF
}

func startEcho(t testing.TB, codec framing.Codec, opts *framing.Options) *echoServer {
	t.Helper()
	ln, err := framing.Listen("tcp", "127.0.0.1:0", codec, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{addr: ln.Addr().String(), done: make(chan struct{}), sum: newDigest()}
	go func() {
		defer close(s.done)
		c, err := ln.AcceptFramed()
		ln.Close()
		if err != nil {
			s.err = err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(exchangeTimeout))
		for {
			p, err := c.ReadFrame()
			if err == io.EOF {
				c.CloseWrite()
				return
			}
			if err != nil {
				s.err = err
				return
			}
			s.sum.add(p)
			if err := c.WriteFrame(p); err != nil {
				s.err = err
				return
			}
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// wait waits for the connection to end and returns the summary of what
// the server received.
func (s *echoServer) wait(t testing.TB) (string, error) {
	t.Helper()
	select {
	case <-s.done:
		return s.sum.String(), s.err
	case <-time.After(exchangeTimeout):
		return "", errors.New("echo server: connection still open")
	}
}

// A peer is a program we did not write, run as a child process: it prints
// lines such as "LISTEN <config> <port>" and "DONE <config> <summary>" on
// its standard output.
type peer struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer

	mu  sync.Mutex
	all []string
}

// startPeer runs the command; it is killed (by its PID) when the test ends.
func startPeer(t testing.TB, name string, dir string, argv ...string) *peer {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	p := &peer{name: name, cmd: cmd, lines: make(chan string, 256), stderr: new(bytes.Buffer)}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	stdin, err := cmd.StdinPipe() // peers exit when it closes, should the kill be missed
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.all = append(p.all, line)
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default: // nobody is waiting for lines now; all keeps them
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s\n%s stderr:\n%s", name, strings.Join(p.output(), "\n"), name, p.errors())
		}
	})
	return p
}

func (p *peer) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.all...)
}

func (p *peer) errors() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// expect waits for a line starting with prefix and returns the rest of it.
func (p *peer) expect(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s ended before printing %q; stderr:\n%s", p.name, prefix, p.errors())
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return rest
			}
		case <-deadline:
			t.Fatalf("%s did not print %q within %v", p.name, prefix, timeout)
		}
	}
}

// listening reads "LISTEN <spec> <port>" lines up to "READY" and returns
// the address for each spec.
func (p *peer) listening(t testing.TB) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s ended while starting; stderr:\n%s", p.name, p.errors())
			}
			if line == "READY" {
				return addrs
			}
			if f := strings.Fields(line); len(f) == 3 && f[0] == "LISTEN" {
				addrs[f[1]] = "127.0.0.1:" + f[2]
			}
		case <-deadline:
			t.Fatalf("%s did not start within a minute", p.name)
		}
	}
}

// matching returns the output lines so far that start with prefix.
func (p *peer) matching(prefix string) []string {
	var out []string
	for _, l := range p.output() {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitFor polls the output until a line starts with prefix.
func (p *peer) waitFor(prefix string, timeout time.Duration) []string {
	end := time.Now().Add(timeout)
	for {
		if m := p.matching(prefix); len(m) > 0 || time.Now().After(end) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a peer command to completion (bounded by timeout) and returns
// its standard output.
func run(t testing.TB, dir string, timeout time.Duration, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, out, stderr.String())
	}
	return string(out)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// testdata returns the absolute path of a folder under testdata.
func testdata(t testing.TB, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// doneLines parses "DONE <config> <summary>" and "FAIL <config> <reason>"
// lines into a map from config to summary or failure.
func doneLines(out []string) (done, failed map[string]string) {
	done, failed = map[string]string{}, map[string]string{}
	for _, l := range out {
		f := strings.SplitN(l, " ", 3)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "DONE":
			done[f[1]] = f[2]
		case "FAIL":
			failed[f[1]] = f[2]
		}
	}
	return done, failed
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
