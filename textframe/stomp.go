package textframe

import (
	"bytes"

	"github.com/framekit/framekit/framing"
)

// STOMPConfig describes STOMP 1.2 framing.
type STOMPConfig struct {
	// MaxHeader limits a frame's command line and header block, the
	// empty line that ends it included (default DefaultMaxHeader).
	MaxHeader int
}

// STOMP frames STOMP 1.2 (stomp.github.io/stomp-specification-1.2.html):
// a command line, header lines, an empty line, the body and a NUL; lines
// end in LF or CRLF. A frame is the command, headers and body as on the
// wire, without the NUL; the caller parses them. The body ends at the
// first NUL, or, when the first "content-length" header (names are
// case-sensitive; the first of repeated headers wins, as the
// specification says) gives its size, after that many bytes, which must
// be followed by a NUL (ErrTrailer otherwise), so bodies may hold NULs.
// End-of-line heart-beats between frames are skipped.
//
// A command that is not 1 or more of A-Z is ErrJunk, a header line
// without ":" ErrHeader, a content-length that is not 1 to 18 digits
// ErrBadLength, a header block over MaxHeader ErrHeaderTooLarge, and a
// backslash in a header that starts none of the escapes \r \n \c \\
// (in every frame but CONNECT and CONNECTED, whose headers are not
// escaped) ErrEscape, the fatal protocol error the specification asks
// for. STOMPFrame reads a frame's command, headers (unescaped) and body.
//
// The encoder takes a whole frame (command, headers, empty line, body)
// and appends the NUL; it refuses one that would not read back whole (a
// NUL in a body without content-length, a content-length that is not the
// body's size).
type STOMP struct {
	maxHeader int
}

// NewSTOMP returns a STOMP codec for c; a negative MaxHeader is a
// *framing.ConfigError.
func NewSTOMP(c STOMPConfig) (*STOMP, error) {
	if c.MaxHeader < 0 {
		return nil, &framing.ConfigError{Codec: "textframe.STOMP", Reason: "negative MaxHeader"}
	}
	if c.MaxHeader == 0 {
		c.MaxHeader = DefaultMaxHeader
	}
	return &STOMP{maxHeader: c.MaxHeader}, nil
}

// STOMP12 is STOMP with the default header limit.
var STOMP12 = must(NewSTOMP(STOMPConfig{}))

// The STOMP decoder's state. Stream: the start of the header line being
// looked for (low bits), or the body being scanned for its NUL, or the
// rest of a body over the limit being skipped. Carry: the content-length
// plus one (0: none yet). Scanned: how far the search went (0: a new
// frame).
const (
	sLineMask = 1<<40 - 1
	sBody     = 1 << 62
	sSkipBody = 1 << 63
)

// Decode implements framing.Decoder.
func (c *STOMP) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if c.maxHeader == 0 {
		return framing.Decoded{}, errZero
	}
	if st.Stream&sSkipBody != 0 {
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			st.Stream = 0
			return framing.Frame(0, 0, i+1), nil
		}
		return framing.OverLimit(len(buf)), nil
	}
	if st.Stream&sBody == 0 {
		if st.Scanned == 0 {
			// A new frame: heart-beats first.
			st.Carry, st.Stream = 0, 0
			if buf[0] == '\n' {
				return framing.Consume(1), nil
			}
			if buf[0] == '\r' {
				if len(buf) < 2 {
					return framing.Need(2), nil
				}
				if buf[1] == '\n' {
					return framing.Consume(2), nil
				}
			}
		}
		hdrEnd, err := c.header(buf, st)
		if err != nil || hdrEnd < 0 {
			if hdrEnd < 0 && err == nil {
				return framing.Need(len(buf) + 1), nil
			}
			return framing.Decoded{}, err
		}
		if st.Carry > 0 {
			st.Scanned, st.Stream = 0, 0
			return counted(buf, st, 0, int64(hdrEnd)+st.Carry-1, "\x00")
		}
		st.Stream, st.Scanned = sBody, hdrEnd
	}
	from := min(max(st.Scanned, 0), len(buf))
	if i := bytes.IndexByte(buf[from:], 0); i >= 0 {
		st.Stream, st.Scanned = 0, 0
		return framing.Frame(0, from+i, from+i+1), nil
	}
	if len(buf) > st.Limit {
		st.Stream = sSkipBody
		return framing.OverLimit(len(buf)), nil
	}
	st.Scanned = len(buf)
	return framing.Need(len(buf) + 1), nil
}

// header goes on reading the command and header lines at the front of
// buf, recording a content-length in st.Carry. It returns the header
// block's end, or -1 while it is incomplete.
func (c *STOMP) header(buf []byte, st *framing.DecodeState) (int, error) {
	from := min(max(st.Scanned, 0), len(buf))
	pos := 0
	if from > 0 {
		pos = int(min(st.Stream&sLineMask, uint64(from)))
	}
	for {
		i := bytes.IndexByte(buf[from:], '\n')
		if i < 0 {
			if len(buf) >= c.maxHeader {
				return 0, corrupt(ErrHeaderTooLarge, "STOMP header block longer than %d bytes", c.maxHeader)
			}
			st.Stream, st.Scanned = uint64(pos), len(buf)
			return -1, nil
		}
		end := from + i + 1
		if end > c.maxHeader {
			return 0, corrupt(ErrHeaderTooLarge, "STOMP header block longer than %d bytes", c.maxHeader)
		}
		line := buf[pos : end-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		switch {
		case pos == 0:
			if len(line) == 0 {
				return 0, corrupt(ErrJunk, "an empty STOMP command")
			}
			for _, b := range line {
				if b < 'A' || b > 'Z' {
					return 0, corrupt(ErrJunk, "STOMP command %s", clip(line))
				}
			}
		case len(line) == 0:
			return end, nil
		default:
			colon := bytes.IndexByte(line, ':')
			if colon < 0 {
				return 0, corrupt(ErrHeader, "STOMP header line %s", clip(line))
			}
			if bytes.IndexByte(line, '\\') >= 0 && !stompRawCommand(buf) {
				if err := checkSTOMPEscapes(line); err != nil {
					return 0, err
				}
			}
			if string(line[:colon]) == "content-length" && st.Carry == 0 {
				n, ok := parseDecimal(line[colon+1:], maxDecimal)
				if !ok {
					return 0, corrupt(ErrBadLength, "STOMP content-length %s", clip(line[colon+1:]))
				}
				st.Carry = n + 1
			}
		}
		pos, from = end, end
	}
}

// AppendFrame appends frame (command, headers, empty line, body) and the
// NUL that ends it.
func (c *STOMP) AppendFrame(dst, frame []byte) ([]byte, error) {
	dst, _, err := c.AppendHeader(dst, frame)
	if err != nil {
		return dst, err
	}
	return c.AppendTrailer(append(dst, frame...), frame), nil
}

// AppendHeader implements framing.WrapEncoder: there is no header; it
// checks that frame reads back whole.
func (c *STOMP) AppendHeader(dst, frame []byte) ([]byte, int, error) {
	if c.maxHeader == 0 {
		return dst, 0, errZero
	}
	if len(frame) == 0 || frame[0] == '\n' || frame[0] == '\r' {
		return dst, 0, payloadError(frame, "a STOMP frame starts with its command")
	}
	var st framing.DecodeState
	end, err := c.header(frame[:len(frame):len(frame)], &st)
	switch {
	case err != nil:
		return dst, 0, payloadError(frame, "%v", err)
	case end < 0:
		return dst, 0, payloadError(frame, "no empty line ends the headers")
	case st.Carry > 0 && int64(len(frame)-end) != st.Carry-1:
		return dst, 0, payloadError(frame, "content-length %d, body of %d bytes", st.Carry-1, len(frame)-end)
	case st.Carry == 0 && bytes.IndexByte(frame[end:], 0) >= 0:
		return dst, 0, payloadError(frame, "a NUL in a body without content-length")
	}
	return dst, 0, nil
}

// AppendTrailer implements framing.WrapEncoder: the NUL.
func (c *STOMP) AppendTrailer(dst, _ []byte) []byte { return append(dst, 0) }

var (
	_ framing.Codec       = (*STOMP)(nil)
	_ framing.WrapEncoder = (*STOMP)(nil)
)
