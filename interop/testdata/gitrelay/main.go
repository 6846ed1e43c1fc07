// Command gitrelay stands between a git client and git's upload-pack or
// receive-pack, framing every pkt-line of both directions with
// textframe.PktLine and writing it again with its encoder, so that git
// itself checks the framing end to end. Each direction's input is re-cut
// into random pieces first, as a network would. For receive-pack, the
// pack after the client's command list is handed over with Detach and
// copied raw.
//
//	git clone --upload-pack='gitrelay upload SEED' file:///repo
//	git push --receive-pack='gitrelay receive SEED' file:///repo
//
// On exit it prints the frames it saw to stderr:
// "GITRELAY <dir> data=N flush=N delim=N response-end=N raw=N".
package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

func main() {
	if len(os.Args) != 4 || (os.Args[1] != "upload" && os.Args[1] != "receive") {
		fmt.Fprintln(os.Stderr, "usage: gitrelay upload|receive SEED REPO")
		os.Exit(2)
	}
	mode := os.Args[1]
	seed, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitrelay: bad seed:", err)
		os.Exit(2)
	}
	cmd := exec.Command("git", mode+"-pack", os.Args[3])
	cmd.Stderr = os.Stderr
	toServer, err := cmd.StdinPipe()
	if err != nil {
		fail(err)
	}
	fromServer, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := relay("c>s", os.Stdin, toServer, seed, mode == "receive")
		toServer.Close()
		if err != nil {
			fail(err)
		}
	}()
	if err := relay("s>c", fromServer, os.Stdout, seed+1, false); err != nil {
		fail(err)
	}
	if err := cmd.Wait(); err != nil {
		fail(err)
	}
	// The client closes its side once it has what it needs; give it a
	// moment, so that its direction's counts are printed too.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gitrelay:", err)
	os.Exit(1)
}

// relay frames src into dst until src ends. With detachAfterFlush the
// bytes after the first flush are copied raw (a push's pack).
func relay(dir string, src io.Reader, dst io.Writer, seed int64, detachAfterFlush bool) error {
	cut := &splitter{r: src, rng: rand.New(rand.NewSource(seed))}
	r := framing.NewReader(cut, textframe.PktLine, nil)
	var counts [4]int
	var raw int64
	defer func() {
		fmt.Fprintf(os.Stderr, "GITRELAY %s data=%d flush=%d delim=%d response-end=%d raw=%d\n",
			dir, counts[0], counts[1], counts[2], counts[3], raw)
	}()
	var out []byte
	for {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		k := r.Kind()
		counts[k]++
		if k == textframe.PktData {
			out, err = textframe.PktLine.AppendFrame(out[:0], f)
			if err != nil {
				return err
			}
		} else {
			out = textframe.AppendPkt(out[:0], k)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
		if detachAfterFlush && k == textframe.PktFlush {
			rest := r.Detach()
			if _, err := dst.Write(rest); err != nil {
				return err
			}
			n, err := io.Copy(dst, cut)
			raw = int64(len(rest)) + n
			return err
		}
	}
}

// splitter returns each read of r in random pieces of 1 to 512 bytes.
type splitter struct {
	r    io.Reader
	rng  *rand.Rand
	held []byte
	buf  [64 << 10]byte
}

func (s *splitter) Read(p []byte) (int, error) {
	if len(s.held) == 0 {
		n, err := s.r.Read(s.buf[:])
		if n == 0 {
			return 0, err
		}
		s.held = s.buf[:n]
	}
	n := copy(p[:min(len(p), 1+s.rng.Intn(512))], s.held)
	s.held = s.held[n:]
	return n, nil
}
