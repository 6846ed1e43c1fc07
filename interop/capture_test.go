package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real captures: Debian's tcpdump records framecat listen/dial sessions on
// the loopback interface, and framecat decode --pcap must give back every
// frame each way, as sent. Capturing needs root (CI runs as root).

// buildFramecat builds the command once for the tests that run it, into
// framecatDir, which TestMain removes.
var buildFramecat = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "framecat-capture-")
	if err != nil {
		return "", err
	}
	framecatDir = dir
	bin := filepath.Join(dir, "framecat")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/framekit/framekit/cmd/framecat").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building framecat: %v\n%s", err, out)
	}
	return bin, nil
})

var framecatDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if framecatDir != "" {
		os.RemoveAll(framecatDir)
	}
	os.Exit(code)
}

func needCapture(t *testing.T) (framecat, tcpdump string) {
	t.Helper()
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		missingPeer(t, "tcpdump", "apt-get install tcpdump")
	}
	if os.Geteuid() != 0 {
		missingPeer(t, "root, to capture on the loopback interface", "run the tests as root")
	}
	framecat, err = buildFramecat()
	if err != nil {
		t.Fatal(err)
	}
	return framecat, tcpdump
}

// bg is a process left running, its stderr watched for a line.
type bg struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	lines  chan string
	done   chan struct{}
}

func startBG(t *testing.T, argv ...string) *bg {
	t.Helper()
	b := &bg{cmd: exec.Command(argv[0], argv[1:]...), lines: make(chan string, 100), done: make(chan struct{})}
	pipe, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.mu.Lock()
			b.stderr.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
			select {
			case b.lines <- sc.Text():
			default:
			}
		}
		b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// waitLine waits for a stderr line containing s and returns it.
func (b *bg) waitLine(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line := <-b.lines:
			if strings.Contains(line, s) {
				return line
			}
		case <-b.done:
			t.Fatalf("%s ended before printing %q: %s", b.cmd.Path, s, b.errors())
		case <-timeout:
			t.Fatalf("%s: no %q within 20s: %s", b.cmd.Path, s, b.errors())
		}
	}
}

func (b *bg) errors() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// stop sends sig and waits at most 10 s for the process to end.
func (b *bg) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	b.cmd.Process.Signal(sig)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop on %v", b.cmd.Path, sig)
	}
}

type capturedFrame struct {
	Event  string `json:"event"`
	Len    int    `json:"len"`
	Hex    string `json:"hex"`
	Time   string `json:"time"`
	Conn   int    `json:"conn"`
	Flow   string `json:"flow"`
	Dir    string `json:"dir"`
	Offset int64  `json:"offset"`
}

// session records a framecat dial -> listen --echo session with tcpdump
// and returns the capture's path and the listener's address. A session
// of which tcpdump reports packets dropped by the kernel (a busy machine)
// is recorded again, at most 3 times in all.
func session(t *testing.T, framecat, tcpdump string, spec string, tcpdumpArgs []string, payloads [][]byte) (string, string) {
	t.Helper()
	for try := 1; ; try++ {
		file, addr, dropped := record(t, framecat, tcpdump, spec, tcpdumpArgs, payloads)
		if dropped == "" {
			return file, addr
		}
		if try == 3 {
			t.Fatalf("tcpdump lost packets in %d sessions in a row: %s", try, dropped)
		}
		t.Logf("tcpdump lost packets (%s): recording again", dropped)
	}
}

var droppedRE = regexp.MustCompile(`([1-9][0-9]*) packets? dropped by kernel`)

func record(t *testing.T, framecat, tcpdump string, spec string, tcpdumpArgs []string, payloads [][]byte) (file, addr, dropped string) {
	t.Helper()
	ln := startBG(t, framecat, "listen", "127.0.0.1:0", "-c", spec, "--echo", "-f", "hex")
	addr = strings.TrimPrefix(ln.waitLine(t, "listening on "), "listening on ")
	port := addr[strings.LastIndex(addr, ":")+1:]
	file = filepath.Join(t.TempDir(), "session.pcap")
	// -B: a 64 MiB kernel buffer, -U: each packet written as it comes.
	argv := append([]string{tcpdump, "-n", "-U", "--immediate-mode", "-B", "65536", "-w", file}, tcpdumpArgs...)
	argv = append(argv, "tcp port "+port)
	td := startBG(t, argv...)
	td.waitLine(t, "listening on")

	var in bytes.Buffer
	for _, p := range payloads {
		in.WriteString(hex.EncodeToString(p) + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := exec.CommandContext(ctx, framecat, "dial", addr, "-c", spec, "-f", "hex", "--count", fmt.Sprint(len(payloads)))
	dial.Stdin = &in
	var dialErr bytes.Buffer
	dial.Stderr = &dialErr
	out, err := dial.Output()
	if err != nil {
		t.Fatalf("dial: %v: %s", err, dialErr.Bytes())
	}
	if got := strings.Count(string(out), "\n"); got != len(payloads) {
		t.Fatalf("dial got %d frames back, want %d", got, len(payloads))
	}
	ln.stop(t, syscall.SIGTERM)
	// Wait for the connection's end in the file, then stop tcpdump.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, _ := exec.Command(framecat, "decode", "--pcap", file, "-c", spec, "--summary").Output()
		if strings.Count(string(sum), "end=FIN")+strings.Count(string(sum), "end=RST") == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	td.stop(t, os.Interrupt)
	if m := droppedRE.FindString(td.errors()); m != "" {
		return file, addr, m
	}
	return file, addr, ""
}

func decodeCapture(t *testing.T, framecat, file, spec string, args ...string) ([]capturedFrame, string, int) {
	t.Helper()
	cmd := exec.Command(framecat, append([]string{"decode", "--pcap", file, "-c", spec, "-f", "json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var fs []capturedFrame
	dec := json.NewDecoder(&stdout)
	for {
		var f capturedFrame
		if err := dec.Decode(&f); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode output: %v", err)
		}
		if f.Event != "" {
			continue // a gap, resync or stop record, not a frame
		}
		fs = append(fs, f)
	}
	return fs, stderr.String(), code
}

func TestTcpdumpCapture(t *testing.T) {
	framecat, tcpdump := needCapture(t)
	rng := newRand(seedFor(t))
	for _, tc := range []struct {
		spec  string
		args  []string // tcpdump's
		frame func() []byte
	}{
		{"u32be", []string{"-i", "lo"}, func() []byte { return randomBytes(rng, sizeOf(rng, 20000)) }},
		{"lines", []string{"-i", "any", "-y", "LINUX_SLL2"}, func() []byte { return lineBytes(rng, rng.Intn(200)) }},
		{"len:offset=2,size=2,adjust=-4,strip=0", []string{"-i", "lo"}, func() []byte {
			p := randomBytes(rng, 4+rng.Intn(3000))
			p[2], p[3] = 0, 0
			return p
		}},
	} {
		t.Run(tc.spec+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			var payloads [][]byte
			for i := 0; i < 200; i++ {
				payloads = append(payloads, tc.frame())
			}
			file, addr := session(t, framecat, tcpdump, tc.spec, tc.args, payloads)
			fs, stderr, code := decodeCapture(t, framecat, file, tc.spec)
			if code != 0 || stderr != "" {
				t.Fatalf("decode: exit %d, stderr %q", code, stderr)
			}
			var off [2]int64
			var last [2]string
			n := [2]int{}
			for _, f := range fs {
				d := map[string]int{"c>s": 0, "s>c": 1}[f.Dir]
				if f.Conn != 1 || !strings.HasSuffix(f.Flow, ">"+addr) {
					t.Fatalf("frame %+v: want connection 1 to %s", f, addr)
				}
				want := payloads[n[d]]
				if strings.Contains(tc.spec, "strip=0") {
					want = append([]byte(nil), want...)
					want[2], want[3] = byte(len(want)>>8), byte(len(want))
				}
				if f.Hex != hex.EncodeToString(want) {
					t.Fatalf("%s frame %d: %s..., want %x...", f.Dir, n[d], f.Hex[:min(len(f.Hex), 24)], want[:min(len(want), 12)])
				}
				if f.Offset != off[d] {
					t.Fatalf("%s frame %d at offset %d, want %d", f.Dir, n[d], f.Offset, off[d])
				}
				if f.Time < last[d] {
					t.Fatalf("%s frame %d: time %s before %s", f.Dir, n[d], f.Time, last[d])
				}
				last[d] = f.Time
				off[d] += int64(wireSize(tc.spec, want))
				n[d]++
			}
			if n != [2]int{len(payloads), len(payloads)} {
				t.Fatalf("decoded %v frames, want %d each way", n, len(payloads))
			}
			if tc.spec == "lines" {
				return // binary lines: no text for guess to see
			}
			// guess names a SPEC that gives the same frames.
			out, err := exec.Command(framecat, "guess", "--pcap", file).Output()
			lines := strings.Split(string(out), "\n")
			if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[1], "best ") {
				t.Fatalf("guess: %v\n%s", err, out)
			}
			best := strings.TrimSpace(strings.TrimPrefix(lines[1], "best "))
			gs, stderr, code := decodeCapture(t, framecat, file, best)
			if code != 0 || len(gs) != len(fs) {
				t.Fatalf("guess proposed %s: decode exit %d, %d frames, want %d (%s)", best, code, len(gs), len(fs), stderr)
			}
			for i := range gs {
				if gs[i].Offset != fs[i].Offset || gs[i].Dir != fs[i].Dir {
					t.Fatalf("guess proposed %s: frame %d at %s %d, want %s %d", best, i, gs[i].Dir, gs[i].Offset, fs[i].Dir, fs[i].Offset)
				}
			}
		})
	}
}

// wireSize is a frame's size on the wire.
func wireSize(spec string, p []byte) int {
	switch spec {
	case "u32be":
		return 4 + len(p)
	case "lines":
		return len(p) + 1
	}
	return len(p) // strip=0: the payload is the frame
}

// TestTcpdumpSnaplen: a snapshot length that cuts the packets gives gaps
// (exit 1), and every frame printed is one that was sent, at its offset.
func TestTcpdumpSnaplen(t *testing.T) {
	framecat, tcpdump := needCapture(t)
	rng := newRand(seedFor(t))
	var payloads [][]byte
	offsets := map[int64][]byte{}
	var off int64
	for i := 0; i < 100; i++ {
		n := rng.Intn(3000)
		if i%3 == 0 {
			n = min(n, 20) // small frames fit under the snapshot length
		}
		p := lineBytes(rng, n) // (cut after, a payload could end in "\r", which lines cannot send)
		payloads = append(payloads, p)
		offsets[off] = p
		off += int64(len(p) + 1)
	}
	file, _ := session(t, framecat, tcpdump, "lines", []string{"-i", "lo", "-s", "200"}, payloads)
	fs, stderr, code := decodeCapture(t, framecat, file, "lines")
	if code != 1 || !strings.Contains(stderr, "cut by the capture's snapshot length") {
		t.Fatalf("exit %d, stderr %q; want 1 and gaps for the snapshot length", code, stderr)
	}
	if len(fs) == 0 {
		t.Fatal("no frame decoded")
	}
	for _, f := range fs {
		want, ok := offsets[f.Offset]
		if !ok || f.Hex != hex.EncodeToString(want) {
			t.Fatalf("frame at %d (%s) was not sent there", f.Offset, f.Dir)
		}
	}
	t.Logf("%d frames of %d each way decoded under a 200-byte snapshot length", len(fs), len(payloads))
}
