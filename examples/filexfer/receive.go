package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
)

// receiver saves the files it is sent in dir.
type receiver struct {
	dir     string
	maxSize int64
}

// serve receives one file per connection on l, each connection in its own
// goroutine, until ctx is done; then it stops accepting, abandons the
// transfers under way (their temporary files are removed) and returns nil.
func serve(ctx context.Context, l *framing.Listener, r receiver, logf func(string, ...any)) error {
	var conns sync.WaitGroup
	defer conns.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer l.Close()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.AcceptFramed()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
			defer stop()
			if h, err := r.receive(ctx, c); err != nil {
				logf("%v: %v", c.RemoteAddr(), err)
			} else {
				logf("%v: saved %q (%d bytes)", c.RemoteAddr(), h.name, h.size)
			}
		}()
	}
}

// receive reads one file from c. The file is written to a temporary file in
// r.dir, renamed to its name only once its size and SHA-256 are right, and
// removed on any error: nothing partial is ever left behind. An existing file
// of the same name is replaced atomically.
func (r receiver) receive(ctx context.Context, c *framing.Conn) (h header, err error) {
	msg, err := readMsg(ctx, c)
	if err != nil {
		return h, err
	}
	if h, err = parseHeader(msg); err != nil {
		return h, refuse(c, err.Error())
	}
	if h.size > r.maxSize {
		return h, refuse(c, fmt.Sprintf("%d bytes is over the limit of %d", h.size, r.maxSize))
	}
	tmp, err := os.CreateTemp(r.dir, ".filexfer-*.part")
	if err != nil {
		return h, fmt.Errorf("%w: %v", refuse(c, "cannot create a file"), err) // details for our log only
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := c.WriteFrame([]byte{msgOK}); err != nil {
		return h, err
	}

	hash := sha256.New()
	var got int64
	for {
		msg, err := readMsg(ctx, c)
		if err == io.EOF { // between frames, but not the end of the file
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return h, fmt.Errorf("%q after %d of %d bytes: %w", h.name, got, h.size, err)
		}
		switch {
		case msg[0] == msgData:
			data := msg[1:]
			if int64(len(data)) > h.size-got {
				return h, refuse(c, fmt.Sprintf("more than the %d bytes announced", h.size))
			}
			if _, err := tmp.Write(data); err != nil {
				return h, fmt.Errorf("%w: %v", refuse(c, "cannot write the file"), err)
			}
			hash.Write(data)
			got += int64(len(data))
		case msg[0] == msgEnd && len(msg) == 1:
			if got != h.size {
				return h, refuse(c, fmt.Sprintf("%d bytes arrived, %d announced", got, h.size))
			}
			if !bytes.Equal(hash.Sum(nil), h.sum[:]) {
				return h, refuse(c, "SHA-256 mismatch")
			}
			// CreateTemp makes the file private (0600); a received file is
			// an ordinary one. Sync before the rename, so that a crash
			// never leaves the final name on blocks not yet on disk.
			if err := tmp.Chmod(0o644); err != nil {
				return h, fmt.Errorf("%w: %v", refuse(c, "cannot write the file"), err)
			}
			if err := tmp.Sync(); err != nil {
				return h, fmt.Errorf("%w: %v", refuse(c, "cannot write the file"), err)
			}
			if err := tmp.Close(); err != nil {
				return h, fmt.Errorf("%w: %v", refuse(c, "cannot write the file"), err)
			}
			if err := os.Rename(tmp.Name(), filepath.Join(r.dir, h.name)); err != nil {
				return h, fmt.Errorf("%w: %v", refuse(c, "cannot save the file"), err)
			}
			return h, c.WriteFrame([]byte{msgOK})
		default:
			return h, refuse(c, fmt.Sprintf("unexpected message %q", msg[0]))
		}
	}
}

// readMsg reads the next message, dropping a peer that stays silent for
// idleTimeout.
func readMsg(ctx context.Context, c *framing.Conn) ([]byte, error) {
	if err := extend(ctx, c); err != nil {
		return nil, err
	}
	msg, err := c.ReadFrame()
	if err == nil && len(msg) == 0 {
		err = fmt.Errorf("empty message")
	}
	return msg, err
}

// refuse tells the sender why the transfer failed, and returns that reason
// as an error.
func refuse(c *framing.Conn, reason string) error {
	c.SetWriteDeadline(time.Now().Add(idleTimeout))
	c.WriteFrame(append([]byte{msgRefused}, reason...))
	return fmt.Errorf("refused: %s", reason)
}
