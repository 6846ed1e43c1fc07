package datagram

import (
	"errors"
	"fmt"
	"net"

	"github.com/framekit/framekit/framing"
)

// ErrTruncated matches every *TruncatedError with errors.Is.
var ErrTruncated = errors.New("datagram: truncated by a receive buffer too small")

// TruncatedError reports a datagram larger than the receive buffer: the
// socket returned its first Received bytes and dropped the rest, so none of
// its frames is returned. It is framing.Rejected: the next read goes on
// with the next datagram. Raise Options.ReadBuffer to at least Size.
type TruncatedError struct {
	Addr     net.Addr // sender
	Size     int      // the datagram's size, from its header
	Received int      // the bytes that arrived: the receive buffer's size
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("datagram: datagram of %d bytes from %v truncated to %d by the receive buffer (Options.ReadBuffer)",
		e.Size, e.Addr, e.Received)
}

// Is reports whether target is ErrTruncated.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

// ErrorClass is framing.Rejected: only this datagram is lost.
func (e *TruncatedError) ErrorClass() framing.ErrorClass { return framing.Rejected }

// CorruptError reports a datagram that is not a valid framekit datagram:
// too short, a foreign magic byte or version, a size that does not match,
// a malformed frame length. None of its frames is returned. It matches
// framing.ErrCorrupt with errors.Is and is framing.Rejected: the next read
// goes on with the next datagram.
type CorruptError struct {
	Addr   net.Addr // sender
	Offset int      // where in the datagram the problem is
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("datagram: corrupt datagram from %v at offset %d: %s", e.Addr, e.Offset, e.Reason)
}

// Is reports whether target is framing.ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == framing.ErrCorrupt }

// ErrorClass is framing.Rejected: only this datagram is lost.
func (e *CorruptError) ErrorClass() framing.ErrorClass { return framing.Rejected }
