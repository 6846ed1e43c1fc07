package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/framekit/framekit/framing"
)

// The messages, each one u32 big-endian length-prefixed frame whose first
// byte is its type:
//
//	sender                              receiver
//	header  'H' size(8) sha256(32) name  ->
//	                                    <-  'K' (go ahead) or 'X' reason
//	data    'D' bytes (at most 64 KiB)   ->  (repeated)
//	end     'E'                          ->
//	                                    <-  'K' (saved) or 'X' reason
const (
	msgHeader  = 'H'
	msgData    = 'D'
	msgEnd     = 'E'
	msgOK      = 'K'
	msgRefused = 'X'
)

const (
	chunkSize   = 64 << 10
	maxNameLen  = 255
	headerLen   = 1 + 8 + sha256.Size
	idleTimeout = time.Minute // a peer silent for this long is dropped
)

// No frame is larger than a data frame: a hostile peer cannot make the other
// side buffer more.
var frameOptions = &framing.Options{MaxFrameSize: 1 + chunkSize}

type header struct {
	name string
	size int64
	sum  [sha256.Size]byte
}

func (h header) encode() []byte {
	b := binary.BigEndian.AppendUint64([]byte{msgHeader}, uint64(h.size))
	b = append(b, h.sum[:]...)
	return append(b, h.name...)
}

func parseHeader(msg []byte) (header, error) {
	var h header
	if len(msg) < headerLen || msg[0] != msgHeader {
		return h, errors.New("first message is not a file header")
	}
	size := binary.BigEndian.Uint64(msg[1:9])
	if size > math.MaxInt64 {
		return h, fmt.Errorf("impossible size %d", size)
	}
	h.size = int64(size)
	copy(h.sum[:], msg[9:headerLen])
	h.name = string(msg[headerLen:])
	return h, checkName(h.name)
}

// checkName accepts a plain file name only: no directory part, so that the
// file can only land in the receiver's directory, and no leading dot, which
// would make hidden files and could collide with the receiver's temporary
// files.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > maxNameLen:
		return fmt.Errorf("file name of %d bytes: want 1 to %d", len(name), maxNameLen)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("file name %q has a directory part", name)
	case name[0] == '.':
		return fmt.Errorf("file name %q starts with a dot", name)
	case !filepath.IsLocal(name): // reserved names on Windows (NUL, COM1)
		return fmt.Errorf("file name %q is reserved", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return fmt.Errorf("file name %q has a control character or invalid UTF-8", name)
		}
	}
	return nil
}

// extend gives the next read or write on c idleTimeout to happen, unless
// ctx is done. Checking ctx after setting the deadline matters: the
// deadline a cancellation set (context.AfterFunc) could have been moved
// just now.
func extend(ctx context.Context, c *framing.Conn) error {
	c.SetDeadline(time.Now().Add(idleTimeout))
	return ctx.Err()
}

// readReply waits for the receiver's answer: nil for OK, the reason for a
// refusal.
func readReply(ctx context.Context, c *framing.Conn) error {
	if err := extend(ctx, c); err != nil {
		return err
	}
	msg, err := c.ReadFrame()
	switch {
	case err == io.EOF:
		return errors.New("receiver closed the connection without answering")
	case err != nil:
		return err
	case len(msg) > 0 && msg[0] == msgOK:
		return nil
	case len(msg) > 0 && msg[0] == msgRefused:
		return fmt.Errorf("receiver refused: %s", msg[1:])
	}
	return fmt.Errorf("unexpected reply %q", msg)
}
