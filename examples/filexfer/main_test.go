package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/google/go-cmp/cmp"
)

// recv is serve running on a free loopback port until the test ends; every
// line it logs (one per connection) arrives on logs.
type recv struct {
	addr     string
	dir      string
	logs     chan string
	shutdown context.CancelFunc
	done     chan struct{}
}

func startReceiver(t *testing.T, maxSize int64) *recv {
	t.Helper()
	l, err := framing.Listen("tcp", "127.0.0.1:0", lengthprefix.U32BE, frameOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &recv{addr: l.Addr().String(), dir: filepath.Join(t.TempDir(), "inbox"),
		logs: make(chan string, 100), shutdown: cancel, done: make(chan struct{})}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logf := func(format string, args ...any) {
		s := strings.TrimSpace(fmt.Sprintf(format, args...))
		t.Log(s)
		r.logs <- s
	}
	go func() {
		if err := serve(ctx, l, receiver{dir: r.dir, maxSize: maxSize}, logf); err != nil {
			t.Errorf("serve: %v", err)
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not return within 10 s of shutdown")
		}
	})
	return r
}

// nextLog waits for the receiver to finish a connection.
func (r *recv) nextLog(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r.logs:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver logged nothing for 10 s")
		return ""
	}
}

// files lists the directory: the saved files, and any temporary file left
// behind.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// The command end to end: a receiver started by run, a sender run on a file,
// through a proxy that splits and glues TCP segments. The file arrives
// byte-identical, nothing else is left in the directory, and the sender,
// whose stderr is not a terminal, draws no progress bar.
func TestSendReceive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tmp := t.TempDir()
	inbox := filepath.Join(tmp, "inbox")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	// What a killed receiver left: removed when the next one starts.
	if err := os.WriteFile(filepath.Join(inbox, ".filexfer-12345.part"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pr.Close()
	var recvErr strings.Builder
	recvDone := make(chan error, 1)
	rctx, stopReceiver := context.WithCancel(ctx)
	go func() {
		recvDone <- run(rctx, []string{"receive", "-listen", "127.0.0.1:0", "-dir", inbox}, pw, &recvErr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 3 {
		t.Fatalf("receiver printed %q, %v; want \"listening on ADDR, ...\"", line, err)
	}
	proxy, err := fuzz.NewProxy(strings.TrimSuffix(f[2], ","), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	content := make([]byte, 300<<10+7)
	rand.New(rand.NewSource(1)).Read(content)
	src := filepath.Join(tmp, "report.bin")
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(tmp, "sender-stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var out strings.Builder
	if err := run(ctx, []string{"send", "-to", proxy.Addr(), src}, &out, stderr); err != nil {
		t.Fatalf("send: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(inbox, "report.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("received %d bytes, not identical to the %d sent", len(got), len(content))
	}
	if fi, err := os.Stat(filepath.Join(inbox, "report.bin")); err != nil {
		t.Error(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Errorf("saved file has mode %v, want 0644", fi.Mode())
	}
	if diff := cmp.Diff([]string{"report.bin"}, files(t, inbox)); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	sum := sha256.Sum256(content)
	want := regexp.MustCompile(fmt.Sprintf(`^sent report\.bin: %d bytes in \d+\.\d{3}s \(\d+\.\d MiB/s\), sha256 %x\n$`, len(content), sum))
	if b, _ := os.ReadFile(stderr.Name()); !want.Match(b) {
		t.Errorf("sender wrote %q to a stderr that is not a terminal; want one summary line", b)
	}

	stopReceiver()
	select {
	case err := <-recvDone:
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("receiver still running 10 s after shutdown")
	}
	if !strings.Contains(recvErr.String(), `saved "report.bin" (307207 bytes)`) {
		t.Errorf("receiver log %q does not report the file", recvErr.String())
	}
}

func headerFor(name string, content []byte) []byte {
	return header{name: name, size: int64(len(content)), sum: sha256.Sum256(content)}.encode()
}

// exchange plays a sender by hand: the header, then (if the receiver says go
// ahead) the other messages, ignoring write errors. It returns the
// receiver's first and last replies ("" for none).
func exchange(t *testing.T, addr string, hdr []byte, rest ...[]byte) (first, last string) {
	t.Helper()
	c, err := framing.Dial("tcp", addr, lengthprefix.U32BE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteFrame(hdr); err != nil {
		t.Fatal(err)
	}
	reply := func() string {
		msg, err := c.ReadFrame()
		if err != nil {
			return ""
		}
		return string(msg)
	}
	if first = reply(); first != "K" || rest == nil {
		return first, first
	}
	for _, m := range rest {
		c.WriteFrame(m)
	}
	c.CloseWrite()
	return first, reply()
}

func data(b []byte) []byte { return append([]byte{msgData}, b...) }

var end = []byte{msgEnd}

// Names that would put a file outside the directory, or somewhere
// surprising in it, are refused before anything is created.
func TestRefusedNames(t *testing.T) {
	r := startReceiver(t, 1<<20)
	for _, name := range []string{
		"../../etc/passwd", "/etc/passwd", "sub/file", `..\..\windows\win.ini`, `C:\x`,
		"..", ".", "", ".bashrc", ".filexfer-1.part", "a\x00b", "tab\there", "bad\xffutf8",
		strings.Repeat("a", 256),
	} {
		hdr := headerFor(name, []byte("x"))
		first, _ := exchange(t, r.addr, hdr, data([]byte("x")), end)
		if !strings.HasPrefix(first, "X") {
			t.Errorf("name %q: reply %q, want a refusal", name, first)
		}
		if log := r.nextLog(t); !strings.Contains(log, "refused") {
			t.Errorf("name %q: receiver logged %q", name, log)
		}
	}
	if fs := files(t, r.dir); len(fs) != 0 {
		t.Errorf("refused transfers left %q in the directory", fs)
	}
	if fs := files(t, filepath.Dir(r.dir)); len(fs) != 1 {
		t.Errorf("refused transfers wrote next to the directory: %q", fs)
	}
}

// Every way a transfer can fail leaves the directory as it was.
func TestNothingPartialLeftBehind(t *testing.T) {
	r := startReceiver(t, 1<<20)
	content := []byte("the content of the file")
	tests := []struct {
		name      string
		hdr       []byte
		rest      [][]byte
		wantReply string
		wantLog   string
	}{
		{"header too short", []byte("H123"), nil, "Xfirst message is not a file header", "refused"},
		{"over the size limit", header{name: "big", size: 1<<20 + 1}.encode(), nil, "X1048577 bytes is over the limit of 1048576", "refused"},
		{"wrong SHA-256", headerFor("f", []byte("something else entirely")), [][]byte{data(content), end}, "XSHA-256 mismatch", "refused"},
		{"fewer bytes than announced", headerFor("f", content), [][]byte{data(content[:5]), end}, "X5 bytes arrived, 23 announced", "refused"},
		{"more bytes than announced", headerFor("f", content), [][]byte{data(content), data([]byte("!")), end}, "Xmore than the 23 bytes announced", "refused"},
		{"unknown message", headerFor("f", content), [][]byte{data(content[:5]), {'Q'}}, `Xunexpected message 'Q'`, "refused"},
		{"end with a payload", headerFor("f", content), [][]byte{data(content), {msgEnd, 0}}, `Xunexpected message 'E'`, "refused"},
		{"connection closed mid-file", headerFor("f", content), [][]byte{data(content[:5])}, "", `"f" after 5 of 23 bytes: unexpected EOF`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, last := exchange(t, r.addr, tt.hdr, tt.rest...)
			if last != tt.wantReply {
				t.Errorf("reply %q, want %q", last, tt.wantReply)
			}
			if log := r.nextLog(t); !strings.Contains(log, tt.wantLog) {
				t.Errorf("receiver logged %q, want %q in it", log, tt.wantLog)
			}
			if fs := files(t, r.dir); len(fs) != 0 {
				t.Errorf("left behind: %q", fs)
			}
		})
	}
	// And the receiver is still fine.
	if _, last := exchange(t, r.addr, headerFor("f", content), data(content), end); last != "K" {
		t.Fatalf("a good transfer after the bad ones: reply %q", last)
	}
	r.nextLog(t)
	if diff := cmp.Diff([]string{"f"}, files(t, r.dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// A shutdown abandons the transfers under way, and removes their files.
func TestShutdownMidTransfer(t *testing.T) {
	r := startReceiver(t, 1<<20)
	c, err := framing.Dial("tcp", r.addr, lengthprefix.U32BE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.WriteFrame(header{name: "f", size: 100}.encode())
	if reply, err := c.ReadFrame(); err != nil || string(reply) != "K" {
		t.Fatalf("reply %q, %v; want K", reply, err)
	}
	c.WriteFrame(data(make([]byte, 50)))
	r.shutdown()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	if log := r.nextLog(t); !strings.Contains(log, "after") {
		t.Errorf("receiver logged %q, want the abandoned transfer", log)
	}
	if fs := files(t, r.dir); len(fs) != 0 {
		t.Errorf("left behind: %q", fs)
	}
}

// pattern is a reproducible stream of n bytes made without holding them:
// a random 64 KiB block repeated, each copy stamped with its index.
type pattern struct {
	block []byte
	off   int64
	n     int64
}

func newPattern(n int64) *pattern {
	b := make([]byte, 64<<10)
	rand.New(rand.NewSource(2)).Read(b)
	return &pattern{block: b, n: n}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k, pos := p.off/int64(len(p.block)), int(p.off%int64(len(p.block)))
	n := copy(b, p.block[pos:])
	n = int(min(int64(n), p.n-p.off))
	if pos < 8 {
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(k))
		copy(b[:n], stamp[pos:])
	}
	p.off += int64(n)
	return n, nil
}

func sumOf(t *testing.T, r io.Reader) [sha256.Size]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// Memory does not grow with the file: a 64 MiB transfer (sender and
// receiver both in this process) allocates in all less than 1 MiB, the same
// bound as a 2 MiB one, so a 1 GiB file streams in the same memory. The
// content is made on the fly, never held whole.
func TestMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 66 MiB")
	}
	if raceEnabled {
		t.Skip("allocation totals are meaningless under the race detector")
	}
	const bound = 1 << 20
	r := startReceiver(t, 1<<30)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, size := range []int64{2 << 20, 64 << 20} {
		h := header{name: "stream", size: size, sum: sumOf(t, newPattern(size))}
		src := newPattern(size)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := sendStream(ctx, r.addr, h, src, nil); err != nil {
			t.Fatal(err)
		}
		if log := r.nextLog(t); !strings.Contains(log, "saved") {
			t.Fatalf("receiver logged %q", log)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%d MiB file: %d KiB allocated in all", size>>20, alloc>>10)
		if alloc > bound {
			t.Errorf("%d MiB file: %d KiB allocated, want under %d KiB whatever the size", size>>20, alloc>>10, bound>>10)
		}
		f, err := os.Open(filepath.Join(r.dir, "stream"))
		if err != nil {
			t.Fatal(err)
		}
		got := sumOf(t, f)
		f.Close()
		if got != h.sum {
			t.Fatalf("%d MiB file: received content differs", size>>20)
		}
	}
}

func TestBar(t *testing.T) {
	for _, tt := range []struct {
		sent, total int64
		want        string
	}{
		{0, 10 << 20, "f [>         ]   0% 0.0 MiB/10.0 MiB"},
		{5 << 20, 10 << 20, "f [=====>    ]  50% 5.0 MiB/10.0 MiB"},
		{10 << 20, 10 << 20, "f [==========] 100% 10.0 MiB/10.0 MiB"},
		{0, 0, "f [==========] 100% 0.0 MiB/0.0 MiB"},
	} {
		if got := bar("f", tt.sent, tt.total, 10); got != tt.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tt.sent, tt.total, got, tt.want)
		}
	}
	if terminalProgress(&strings.Builder{}) != nil {
		t.Error("a progress bar for a writer that is not a terminal")
	}
}

// cancelAfter cancels a context once n bytes were read through it, as a
// Ctrl-C in the middle of a send would.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// A sender interrupted half-way stops at once, and the receiver keeps
// nothing of the file.
func TestSendCancelled(t *testing.T) {
	r := startReceiver(t, 1<<30)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const size = 8 << 20
	h := header{name: "interrupted", size: size, sum: sumOf(t, newPattern(size))}
	src := &cancelAfter{r: newPattern(size), n: 1 << 20, cancel: cancel}
	if err := sendStream(ctx, r.addr, h, src, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("sendStream = %v, want context.Canceled", err)
	}
	if log := r.nextLog(t); !strings.Contains(log, "unexpected EOF") {
		t.Errorf("receiver logged %q, want the transfer cut short", log)
	}
	if fs := files(t, r.dir); len(fs) != 0 {
		t.Errorf("left behind: %q", fs)
	}
}
