package textframe

import (
	"strconv"

	"github.com/framekit/framekit/framing"
)

// Netstring frames netstrings (D. J. Bernstein): the payload's length in
// ASCII decimal, ":", the payload, ",". "5:hello," is the payload "hello".
// A length with a leading zero (other than "0"), more than 18 digits, or
// anything but digits before the ":" is ErrBadLength; a byte other than
// "," after the payload is ErrTrailer.
var Netstring = &netstring{}

type netstring struct{}

// Decode implements framing.Decoder.
func (*netstring) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	for i, c := range buf {
		if c == ':' {
			n, ok := parseDecimal(buf[:i], maxDecimal)
			if !ok || (buf[0] == '0' && i > 1) {
				return framing.Decoded{}, corrupt(ErrBadLength, "netstring length %s", clip(buf[:i]))
			}
			return counted(buf, st, i+1, n, ",")
		}
		if c < '0' || c > '9' || i >= maxDecimal {
			return framing.Decoded{}, corrupt(ErrBadLength, "netstring length %s", clip(buf[:i+1]))
		}
	}
	return framing.Need(len(buf) + 1), nil
}

// counted reports a payload of n bytes at buf[start:] followed by
// trailer: located (and Checked, so that the trailer is checked before the
// frame is handed out) until it is all buffered, then a Frame or
// ErrTrailer. A payload over st.Limit is located unchecked, for the
// Reader to refuse.
func counted(buf []byte, st *framing.DecodeState, start int, n int64, trailer string) (framing.Decoded, error) {
	end := int64(start) + n
	total := end + int64(len(trailer))
	if n > int64(st.Limit) {
		// The Reader refuses it from its size, before any trailer: the
		// verdict does not depend on how much of it is buffered.
		return framing.NeedFrame(start, end, total), nil
	}
	if total > int64(len(buf)) {
		if len(trailer) == 0 {
			return framing.NeedFrame(start, end, total), nil
		}
		return framing.NeedFrame(start, end, total).Checked(), nil
	}
	if string(buf[end:total]) != trailer {
		return framing.Decoded{}, corrupt(ErrTrailer, "%s after a payload of %d bytes, want %q", clip(buf[end:total]), n, trailer)
	}
	return framing.Frame(start, int(end), int(total)), nil
}

// AppendFrame appends the netstring of payload.
func (n *netstring) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, _ = n.AppendHeader(dst, payload)
	return n.AppendTrailer(append(dst, payload...), payload), nil
}

// AppendHeader implements framing.WrapEncoder: the length and ":".
func (*netstring) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	return append(strconv.AppendInt(dst, int64(len(payload)), 10), ':'), 0, nil
}

// AppendTrailer implements framing.WrapEncoder: ",".
func (*netstring) AppendTrailer(dst, _ []byte) []byte { return append(dst, ',') }

var (
	_ framing.Codec       = (*netstring)(nil)
	_ framing.WrapEncoder = (*netstring)(nil)
)
