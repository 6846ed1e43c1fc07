package textframe

import (
	"bytes"

	"github.com/framekit/framekit/framing"
)

// The kinds of RESP frames.
const (
	RESPValue  = 0 // a reply or a command in RESP
	RESPPush   = 1 // a RESP3 push (">"): out-of-band data such as pub/sub messages
	RESPInline = 2 // an inline command: a line that starts with no type byte
)

// DefaultMaxElements is the default limit on the elements of one RESP
// value, summed over its nested aggregates (a map of n pairs counts 2n).
const DefaultMaxElements = 1 << 20

// RESPConfig describes RESP framing.
type RESPConfig struct {
	// MaxDepth limits the nesting of aggregates, 1 to 1024 (default
	// DefaultMaxDepth).
	MaxDepth int
	// MaxElements limits the elements of one value, 1 to 1<<26
	// (default DefaultMaxElements). It is checked from each aggregate's
	// header, before its elements arrive.
	MaxElements int
}

// RESP frames the Redis serialization protocol, RESP2 and RESP3
// (redis.io/docs/latest/develop/reference/protocol-spec): each frame is
// one complete top-level value, bytes as on the wire (type byte, lines
// and CRLFs included), nested aggregates included, so a RESP parser reads
// it without further I/O. Bulk strings are binary-safe. See the package
// documentation.
type RESP struct {
	maxDepth, maxElems int
}

// NewRESP returns a RESP codec for c; limits out of range are a
// *framing.ConfigError.
func NewRESP(c RESPConfig) (*RESP, error) {
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.MaxElements == 0 {
		c.MaxElements = DefaultMaxElements
	}
	if c.MaxDepth < 1 || c.MaxDepth > respMaxDepth || c.MaxElements < 1 || c.MaxElements > respMaxElems {
		return nil, &framing.ConfigError{Codec: "textframe.RESP", Reason: "MaxDepth must be 1 to 1024, MaxElements 1 to 1<<26"}
	}
	return &RESP{maxDepth: c.MaxDepth, maxElems: c.MaxElements}, nil
}

const (
	respMaxDepth = 1024
	respMaxElems = 1 << 26
)

// Redis is RESP with the default limits.
var Redis = must(NewRESP(RESPConfig{}))

// The per-stream state of the RESP decoder. Stream: the values still
// needed to complete the frame, the bytes of a bulk string still to drop
// while skipping an oversized frame, and flags. Carry: the elements
// counted so far, and the start plus one of a line whose CRLF is being
// looked for (Scanned is then how far the search went); without such a
// line Scanned is the next value's offset.
const (
	rRemaining = 1<<32 - 1
	rBulkShift = 32
	rBulkMask  = 1<<28 - 1
	rRunMask   = rBulkMask << rBulkShift // not skipping: the aggregate headers in a row just read
	rSkipLine  = 1 << 60                 // buf[0] is inside a line of a frame being skipped
	rInline    = 1 << 61                 // skipping the rest of an inline command over the limit
	rStarted   = 1 << 62
	rAggr      = 1 << 63 // the frame holds an aggregate (its depth is checked at its end)
	rLineBits  = 36
	rLineMask  = 1<<rLineBits - 1
)

// respType: how each first byte is read.
var respType = [256]byte{
	'+': tLine, '-': tLine, ':': tLine, '_': tLine, ',': tLine, '#': tLine, '(': tLine,
	'$': tBulk, '!': tBulk, '=': tBulk,
	'*': tAggr, '~': tAggr, '>': tAggr, '%': tMap, '|': tAttr,
	'.': tStream, ';': tStream,
}

const (
	tInline = iota
	tLine
	tBulk
	tAggr
	tMap
	tAttr
	tStream
)

// Decode implements framing.Decoder. It reads the values of a frame one
// after the other, counting how many are still needed: an aggregate of n
// elements needs n more (a map or an attribute 2n), so the frame ends when
// none is needed, and no byte is scanned twice. Errors: a type byte
// unknown inside an aggregate (ErrSyntax), a length that is not "-1" or 1
// to 18 digits (ErrBadLength), a bulk string not followed by CRLF
// (ErrTrailer), more elements than MaxElements (ErrElements, from the
// aggregate's header), nesting over MaxDepth (ErrDepth: exactly once the
// value is complete, before it is returned, and while it streams in for a
// chain of aggregate headers with no other value between them, the form
// an endless nesting takes; other deep values are bounded by the size
// limit until they are complete), and RESP3 streamed strings and aggregates ("$?", "*?", and
// their ";" and "." parts), which are refused (ErrUnsupported).
func (r *RESP) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if r.maxDepth == 0 {
		return framing.Decoded{}, errZero
	}
	s := st.Stream
	skipping := st.Limit == 0
	if s&rInline != 0 {
		return r.inline(buf, st)
	}
	if s&rStarted == 0 {
		if len(buf) == 0 {
			return framing.Need(1), nil
		}
		if respType[buf[0]] == tInline {
			return r.inline(buf, st)
		}
		s = rStarted | 1
		st.Scanned, st.Carry = 0, 0
	}
	if bl := s >> rBulkShift & rBulkMask; skipping && bl > 0 {
		// Dropping a bulk string of a frame being skipped.
		n := min(int(bl), len(buf))
		s = s&^(rBulkMask<<rBulkShift) | (bl-uint64(n))<<rBulkShift
		if s&rRemaining == 0 && bl == uint64(n) {
			st.Stream = 0
			return framing.Frame(0, n, n), nil
		}
		st.Stream = s
		return framing.OverLimit(n), nil
	}
	if s&rSkipLine != 0 {
		// The rest of a simple line of a frame being skipped.
		i := bytes.Index(buf, crlf)
		if i < 0 {
			if len(buf) < 2 {
				return framing.Need(2), nil
			}
			return framing.OverLimit(len(buf) - 1), nil
		}
		s = s&^rSkipLine - 1
		if s&rRemaining == 0 {
			st.Stream = 0
			return framing.Frame(0, i+2, i+2), nil
		}
		st.Stream = s
		return framing.OverLimit(i + 2), nil
	}
	hi := len(buf)
	if !skipping && st.Limit < hi {
		hi = st.Limit + 1
	}
	elems := st.Carry >> rLineBits
	pos := min(max(st.Scanned, 0), len(buf))
	lineStart := int(st.Carry&rLineMask) - 1
	rem := s & rRemaining
	for rem > 0 {
		p := pos
		if lineStart >= 0 {
			p = lineStart
		}
		if p >= hi {
			break
		}
		t := respType[buf[p]]
		// The header of a bulk string or an aggregate: digits and CRLF
		// read in one pass; anything else takes the general way below.
		var n int64
		lineEnd := -1
		if t >= tBulk && t <= tAttr {
			j := p + 1
			for j < hi && j-p <= maxDecimal && buf[j]-'0' < 10 {
				n = n*10 + int64(buf[j]-'0')
				j++
			}
			if j > p+1 && j+1 < hi && buf[j] == '\r' && buf[j+1] == '\n' {
				lineEnd = j + 2
			}
		}
		if lineEnd < 0 {
			from := max(pos-1, p) // a CR before pos may start the CRLF
			i := indexCRLF(buf[from:hi])
			if i < 0 {
				if t != tLine && hi-p > 2+maxDecimal {
					return framing.Decoded{}, corrupt(ErrBadLength, "RESP header %s", clip(buf[p:hi]))
				}
				if skipping && t == tLine && len(buf) > p+1 {
					// Drop the skipped line's bytes but its last (a CR?).
					st.Stream = s&^rRemaining | rem | rSkipLine
					st.Scanned, st.Carry = 0, 0
					return framing.OverLimit(len(buf) - 1), nil
				}
				lineStart, pos = p, hi
				break
			}
			lineEnd = from + i + 2
			switch t {
			case tInline:
				return framing.Decoded{}, corrupt(ErrSyntax, "%q is not a RESP type", buf[p])
			case tStream:
				return framing.Decoded{}, corrupt(ErrUnsupported, "RESP3 streamed part %q", buf[p])
			case tLine:
				lineStart = -1
				rem--
				pos = lineEnd
				s &^= rRunMask
				continue
			}
			line := buf[p+1 : lineEnd-2]
			if len(line) == 1 && line[0] == '?' {
				return framing.Decoded{}, corrupt(ErrUnsupported, "RESP3 streamed %q (length ?)", buf[p])
			}
			var ok bool
			if n, ok = parseLength(line); !ok {
				return framing.Decoded{}, corrupt(ErrBadLength, "RESP length %s", clip(line))
			}
		}
		lineStart = -1
		if t == tBulk || n <= 0 {
			s &^= rRunMask
		}
		if t == tBulk {
			if n < 0 {
				rem--
				pos = lineEnd
				continue
			}
			e := int64(lineEnd) + n + 2
			switch {
			case skipping && e > int64(len(buf)):
				if e-int64(len(buf)) > rBulkMask {
					return framing.Decoded{}, corrupt(ErrBadLength, "RESP bulk length %d over %d", n, rBulkMask-2)
				}
				st.Stream = s&^(rRemaining|rBulkMask<<rBulkShift) | (rem - 1) | uint64(e-int64(len(buf)))<<rBulkShift
				st.Scanned, st.Carry = 0, 0
				return framing.OverLimit(len(buf)), nil
			case !skipping && e > int64(st.Limit):
				return r.over(st, s, rem, p)
			case e > int64(len(buf)):
				st.Stream = s&^rRemaining | rem
				st.Scanned, st.Carry = p, elems<<rLineBits
				return framing.Need(int(min(e, int64(maxInt)))), nil
			}
			if !skipping && string(buf[e-2:e]) != "\r\n" {
				return framing.Decoded{}, corrupt(ErrTrailer, "%s after a bulk string of %d bytes", clip(buf[e-2:e]), n)
			}
			rem--
			pos = int(e)
			continue
		}
		// An aggregate.
		pos = lineEnd
		s |= rAggr
		if n < 0 {
			rem--
			continue
		}
		if t == tMap || t == tAttr {
			n *= 2
		}
		if n > int64(r.maxElems) || elems+n > int64(r.maxElems) {
			return framing.Decoded{}, corrupt(ErrElements, "RESP value of more than %d elements", r.maxElems)
		}
		elems += n
		if !skipping && n > 0 {
			// Aggregate headers in a row, each the first element of the
			// one before: a lower bound of the depth, so that an endless
			// chain is refused while it streams in.
			run := s&rRunMask>>rBulkShift + 1
			if run > uint64(r.maxDepth) {
				return framing.Decoded{}, corrupt(ErrDepth, "RESP aggregates nested more than %d deep", r.maxDepth)
			}
			s = s&^rRunMask | run<<rBulkShift
		}
		if t == tAttr {
			rem += uint64(n) // its pairs, then the value it annotates
		} else {
			rem += uint64(n) - 1
		}
	}
	if rem == 0 {
		st.Stream, st.Scanned, st.Carry = 0, 0, 0
		if skipping {
			return framing.Frame(0, pos, pos), nil
		}
		// Nesting needs aggregates, and every aggregate but the top one
		// is an element: with fewer elements than MaxDepth the depth is
		// within it, and the second pass is not needed.
		if s&rAggr != 0 && elems >= int64(r.maxDepth) {
			if err := r.depth(buf[:pos]); err != nil {
				return framing.Decoded{}, err
			}
		}
		return framing.Frame(0, pos, pos).WithKind(pushKind(buf)), nil
	}
	n := pos // a value boundary: the start of a line still incomplete, or pos
	if lineStart >= 0 {
		n = lineStart
	}
	if hi < len(buf) || (skipping && n > 0) {
		return r.over(st, s, rem, n)
	}
	st.Stream = s&^rRemaining | rem
	st.Scanned = pos
	st.Carry = elems<<rLineBits | int64(lineStart+1)
	return framing.Need(len(buf) + 1), nil
}

const maxInt = int(^uint(0) >> 1)

// over reports the frame over the limit, its first n bytes (up to a value
// boundary) dropped; the state is kept in st.Stream for the skip.
func (r *RESP) over(st *framing.DecodeState, s, rem uint64, n int) (framing.Decoded, error) {
	st.Stream = s&^(rRemaining|rRunMask) | rem
	st.Scanned, st.Carry = 0, 0
	return framing.OverLimit(n), nil
}

// pushKind is the kind of a frame: RESPPush for a push, possibly after an
// attribute (whose first line is read here only to skip it: pushes after
// attributes are rare, and the check is one byte otherwise).
func pushKind(frame []byte) uint32 {
	if len(frame) > 0 && frame[0] == '>' {
		return RESPPush
	}
	return RESPValue
}

// parseLength parses a RESP length: "-1" (null) or 1 to 18 digits.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, true
	}
	return parseDecimal(b, maxDecimal)
}

// depth checks the nesting of a complete frame against MaxDepth, with a
// stack of the elements left at each open level (an attribute's level is
// marked: it is not an element of its parent).
func (r *RESP) depth(frame []byte) error {
	const attr = 1 << 62
	var stack [respMaxDepth]int64
	d := 0
	for pos := 0; pos < len(frame); {
		t := respType[frame[pos]]
		i := bytes.Index(frame[pos:], crlf)
		if i < 0 {
			return nil // cannot happen: the frame was scanned whole
		}
		lineEnd := pos + i + 2
		var n int64
		if t >= tBulk && t <= tAttr {
			n, _ = parseLength(frame[pos+1 : lineEnd-2])
		}
		pos = lineEnd
		if t == tBulk && n > 0 {
			pos += int(n) + 2
		} else if t == tBulk && n == 0 {
			pos += 2
		}
		if t >= tAggr && t <= tAttr && n > 0 {
			if d == r.maxDepth {
				return corrupt(ErrDepth, "RESP aggregates nested more than %d deep", r.maxDepth)
			}
			stack[d] = n
			if t != tAggr {
				stack[d] *= 2
			}
			if t == tAttr {
				stack[d] |= attr
			}
			d++
			continue
		}
		// One element is complete; so is every level it was the last of.
		for d > 0 {
			stack[d-1]--
			if stack[d-1]&^attr > 0 {
				break
			}
			d--
			if stack[d]&attr != 0 {
				break // an attribute is not an element of its parent
			}
		}
	}
	return nil
}

// inline frames an inline command: a line ended by LF (a CR before it is
// part of the frame, as Redis strips it).
func (r *RESP) inline(buf []byte, st *framing.DecodeState) (framing.Decoded, error) {
	from := min(max(st.Scanned, 0), len(buf))
	if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
		st.Scanned, st.Stream = 0, 0
		return framing.Frame(0, from+i+1, from+i+1).WithKind(RESPInline), nil
	}
	if len(buf) > st.Limit {
		st.Stream = rInline
		return framing.OverLimit(len(buf)), nil
	}
	st.Scanned = len(buf)
	return framing.Need(len(buf) + 1), nil
}

// AppendFrame appends payload, which must be exactly one RESP value or
// inline command as the decoder reads it (else a *framing.PayloadError):
// RESP values are written as they are, already encoded.
func (r *RESP) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := r.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// AppendHeader implements framing.WrapEncoder: there is no header; it
// checks payload.
func (r *RESP) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if r.maxDepth == 0 {
		return dst, 0, errZero
	}
	if len(payload) == 0 {
		return dst, 0, payloadError(payload, "empty: not a RESP value")
	}
	st := framing.DecodeState{Limit: len(payload)}
	d, err := r.Decode(payload[:len(payload):len(payload)], true, &st)
	if err != nil {
		return dst, 0, payloadError(payload, "not one RESP value: %v", err)
	}
	if _, e, ok := d.Frame(); !ok || e != len(payload) {
		return dst, 0, payloadError(payload, "not exactly one RESP value")
	}
	return dst, 0, nil
}

// AppendTrailer implements framing.WrapEncoder: there is none.
func (r *RESP) AppendTrailer(dst, _ []byte) []byte { return dst }

var (
	_ framing.Codec       = (*RESP)(nil)
	_ framing.WrapEncoder = (*RESP)(nil)
)

// indexCRLF is bytes.Index(b, "\r\n"), with a loop of its own for the
// short lines RESP is made of (a call per line cost a fifth of the
// decoding), and bytes.Index for a long one.
func indexCRLF(b []byte) int {
	for i := 1; i < len(b); i++ {
		if b[i] == '\n' && b[i-1] == '\r' {
			return i - 1
		}
		if i == 32 {
			if j := bytes.Index(b[i-1:], crlf); j >= 0 {
				return i - 1 + j
			}
			return -1
		}
	}
	return -1
}
