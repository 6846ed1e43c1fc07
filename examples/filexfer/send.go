package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// sendFile sends the file at path to the receiver at addr under its base
// name, and returns once the receiver saved it intact. progress, if not nil,
// is told how many bytes were sent so far. It returns the header it sent
// (name, size, SHA-256).
func sendFile(ctx context.Context, addr, path string, progress func(name string, sent, total int64)) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return header{}, err
	}
	if !fi.Mode().IsRegular() {
		return header{}, fmt.Errorf("%s is not a regular file", path)
	}
	// The header carries the SHA-256, so the file is read twice: once to
	// hash it, once to send it.
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return header{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return header{}, err
	}
	h := header{name: filepath.Base(path), size: fi.Size()}
	hash.Sum(h.sum[:0])
	return h, sendStream(ctx, addr, h, f, progress)
}

// sendStream sends h.size bytes from r as the file h announces. It holds one
// 64 KiB chunk in memory, whatever the size.
func sendStream(ctx context.Context, addr string, h header, r io.Reader, progress func(name string, sent, total int64)) error {
	c, err := framing.DialContext(ctx, "tcp", addr, lengthprefix.U32BE, frameOptions)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	if err := c.WriteFrame(h.encode()); err != nil {
		return err
	}
	if err := readReply(ctx, c); err != nil {
		return err
	}
	buf := make([]byte, 1+chunkSize)
	buf[0] = msgData
	var sent int64
	for sent < h.size {
		n, err := io.ReadFull(r, buf[1:1+min(chunkSize, h.size-sent)])
		if err != nil {
			return fmt.Errorf("reading %s at byte %d: %w", h.name, sent, err)
		}
		if err := extend(ctx, c); err != nil {
			return err
		}
		if err := c.WriteFrame(buf[:1+n]); err != nil {
			return refusalOr(c, err)
		}
		sent += int64(n)
		if progress != nil {
			progress(h.name, sent, h.size)
		}
	}
	if err := c.WriteFrame([]byte{msgEnd}); err != nil {
		return refusalOr(c, err)
	}
	return readReply(ctx, c)
}

// refusalOr returns the receiver's refusal if it sent one before the write
// failed (it refuses, then closes), and err otherwise.
func refusalOr(c *framing.Conn, err error) error {
	c.SetReadDeadline(time.Now().Add(time.Second))
	if msg, rerr := c.ReadFrame(); rerr == nil && len(msg) > 0 && msg[0] == msgRefused {
		return fmt.Errorf("receiver refused: %s", msg[1:])
	}
	return err
}

// terminalProgress returns a progress bar drawn on w if w is a terminal, and
// nil (no progress shown) otherwise: a log file or a pipe gets no bar.
func terminalProgress(w io.Writer) func(name string, sent, total int64) {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	var last time.Time
	return func(name string, sent, total int64) {
		if sent < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		end := ""
		if sent == total {
			end = "\n"
		}
		fmt.Fprintf(f, "\r%s%s", bar(name, sent, total, 30), end)
	}
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// bar renders one line of progress: "name [=====>    ]  50% 5.0 MiB/10.0 MiB".
func bar(name string, sent, total int64, width int) string {
	frac := 1.0
	if total > 0 {
		frac = float64(sent) / float64(total)
	}
	done := int(frac * float64(width))
	arrow := ""
	if done < width {
		arrow = ">"
	}
	return fmt.Sprintf("%s [%s%s%s] %3.0f%% %s/%s", name,
		strings.Repeat("=", done), arrow, strings.Repeat(" ", max(0, width-done-1)),
		frac*100, mib(sent), mib(total))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
