package textframe

import (
	"bytes"
	"strconv"

	"github.com/framekit/framekit/framing"
)

// OctetCounting frames syslog over TCP as RFC 6587 describes: octet
// counting ("MSG-LEN SP SYSLOG-MSG", §3.4.1), and, for a frame that does
// not start with a digit, the non-transparent framing of §3.4.2 (the
// message ends at LF, which is stripped), as rsyslog and syslog-ng accept
// both on one connection. A count of more than 18 digits, with a leading
// zero, or not followed by a space is ErrBadLength. The encoder writes
// octet counting only.
var OctetCounting = &octetCounting{}

type octetCounting struct{}

// Decode implements framing.Decoder.
func (*octetCounting) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) == 0 {
		return framing.Need(1), nil
	}
	// Stream is 1 while the rest of an LF-ended frame over the limit is
	// skipped (its next bytes may be digits).
	if c := buf[0]; c < '0' || c > '9' || st.Stream == 1 {
		// Non-transparent framing: scan for LF, resuming where the last
		// call stopped.
		from := min(max(st.Scanned, 0), len(buf))
		if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
			st.Stream = 0
			return framing.Frame(0, from+i, from+i+1), nil
		}
		if len(buf) > st.Limit {
			st.Stream = 1
			return framing.OverLimit(len(buf)), nil
		}
		st.Scanned = len(buf)
		return framing.Need(len(buf) + 1), nil
	}
	for i, c := range buf {
		if c == ' ' {
			n, ok := parseDecimal(buf[:i], maxDecimal)
			if !ok || (buf[0] == '0' && i > 1) {
				return framing.Decoded{}, corrupt(ErrBadLength, "octet count %s", clip(buf[:i]))
			}
			return counted(buf, st, i+1, n, "")
		}
		if c < '0' || c > '9' || i >= maxDecimal {
			return framing.Decoded{}, corrupt(ErrBadLength, "octet count %s", clip(buf[:i+1]))
		}
	}
	return framing.Need(len(buf) + 1), nil
}

// AppendFrame appends "LEN SP" and payload.
func (o *octetCounting) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, _ = o.AppendHeader(dst, payload)
	return append(dst, payload...), nil
}

// AppendHeader implements framing.WrapEncoder: the count and a space.
func (*octetCounting) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	return append(strconv.AppendInt(dst, int64(len(payload)), 10), ' '), 0, nil
}

// AppendTrailer implements framing.WrapEncoder: there is none.
func (*octetCounting) AppendTrailer(dst, _ []byte) []byte { return dst }

var (
	_ framing.Codec       = (*octetCounting)(nil)
	_ framing.WrapEncoder = (*octetCounting)(nil)
)
