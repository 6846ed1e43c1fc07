package textframe

import (
	"encoding/binary"
	"math/bits"

	"github.com/framekit/framekit/framing"
)

// DefaultMaxDepth is the default nesting limit of JSON values and RESP
// aggregates.
const DefaultMaxDepth = 512

// JSONConfig describes a JSON value stream.
type JSONConfig struct {
	// StreamArrayElements makes each element of a top-level array a frame
	// of its own, as Netty's JsonObjectDecoder(streamArrayElements) does:
	// "[1, {"a":2}]" is read as the frames "1" and {"a":2}. Top-level
	// values that are not arrays are still frames whole. The encoder then
	// refuses arrays, which would read back as their elements.
	StreamArrayElements bool
	// MaxDepth limits nesting (default DefaultMaxDepth); with
	// StreamArrayElements the top-level array counts as one level.
	MaxDepth int
}

// JSON splits a stream of JSON values: objects, arrays, strings and
// scalars, with optional whitespace between them. It splits, it does not
// validate: brackets are counted, not matched, and the bytes of a scalar
// are not checked ("truex" is a frame); a consumer parses each frame.
// See the package documentation.
type JSON struct {
	maxDepth int
	arrays   bool
}

// NewJSON returns a JSON codec for c; a negative MaxDepth is a
// *framing.ConfigError.
func NewJSON(c JSONConfig) (*JSON, error) {
	if c.MaxDepth < 0 {
		return nil, &framing.ConfigError{Codec: "textframe.JSON", Reason: "negative MaxDepth"}
	}
	j := &JSON{maxDepth: c.MaxDepth, arrays: c.StreamArrayElements}
	if j.maxDepth == 0 {
		j.maxDepth = DefaultMaxDepth
	}
	return j, nil
}

// Presets.
var (
	// JSONStream frames concatenated JSON values.
	JSONStream = must(NewJSON(JSONConfig{}))
	// JSONArrayElements frames the elements of top-level arrays.
	JSONArrayElements = must(NewJSON(JSONConfig{StreamArrayElements: true}))
)

// The per-stream state of the JSON decoder, in DecodeState.Stream: the
// scanner's state at byte Scanned of the buffer.
const (
	jDepth     = 1<<32 - 1 // open brackets of the value being scanned
	jInString  = 1 << 32
	jEscape    = 1 << 33 // the previous byte in a string was a backslash
	jInValue   = 1 << 34 // a value has started
	jTypeShift = 35
	jTypeMask  = 3 << jTypeShift
	jContainer = 1 << jTypeShift
	jString    = 2 << jTypeShift
	jScalar    = 3 << jTypeShift
	jInArray   = 1 << 37 // inside the streamed top-level array
)

// jClass sorts bytes for the scanner outside strings.
var jClass = [256]byte{
	' ': cWS, '\t': cWS, '\n': cWS, '\r': cWS,
	'{': cOpen, '[': cOpen, '}': cClose, ']': cClose,
	'"': cQuote, ',': cSep, ':': cSep,
}

const (
	cOther = iota
	cWS
	cOpen
	cClose
	cQuote
	cSep
)

// Decode implements framing.Decoder. A frame is one value without the
// whitespace around it. Objects, arrays and strings end at their closing
// byte; a scalar (a number, true, false, null) ends at whitespace or at
// the end of the stream, and a bracket, quote, comma or colon right after
// it is ErrSyntax. A byte that cannot start a value is ErrJunk, nesting
// over MaxDepth ErrDepth. Frames over the size limit are reported while
// they are scanned.
//
// With StreamArrayElements, elements end at their closing byte, or (for
// scalars) at whitespace, a comma or the closing bracket; commas and
// whitespace between elements are skipped, and an array still open at the
// end of the stream is an unexpected EOF.
func (j *JSON) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if j.maxDepth == 0 {
		return framing.Decoded{}, errZero
	}
	s := st.Stream
	pos := min(max(st.Scanned, 0), len(buf))
	start := int(min(max(st.Carry, 0), int64(pos)))
	if pos == 0 && s&jInValue == 0 {
		start = 0
	}
	for s&jInValue == 0 {
		if s&jInArray == 0 {
			for pos < len(buf) && jClass[buf[pos]] == cWS {
				pos++
			}
			if pos > 0 {
				st.Scanned = 0
				return framing.Consume(pos), nil
			}
			if len(buf) == 0 {
				return framing.Need(1), nil
			}
		} else {
			for pos < len(buf) && (jClass[buf[pos]] == cWS || buf[pos] == ',') {
				pos++
			}
			if pos < len(buf) && buf[pos] == ']' {
				st.Stream, st.Scanned = 0, 0
				return framing.Consume(pos + 1), nil
			}
			if pos > 1 {
				// Keep one separator, so that the end of the stream here
				// is inside the array.
				st.Stream, st.Scanned = s, 0
				return framing.Consume(pos - 1), nil
			}
			if pos == len(buf) {
				st.Stream, st.Scanned = s, pos
				return framing.Need(len(buf) + 1), nil
			}
		}
		start = pos
		switch jClass[buf[pos]] {
		case cOpen:
			if j.arrays && s&jInArray == 0 && buf[pos] == '[' {
				// The array's '[' stays in the buffer until an element
				// or its ']' is consumed with it.
				s = jInArray
				pos++
				continue
			}
			s = s&jInArray | jInValue | jContainer
			pos++
			if err := j.deeper(s, 1); err != nil {
				return framing.Decoded{}, err
			}
			s |= 1
		case cQuote:
			s = s&jInArray | jInValue | jString | jInString
			pos++
		case cOther:
			s = s&jInArray | jInValue | jScalar
		default:
			return framing.Decoded{}, corrupt(ErrJunk, "%q where a JSON value should start", buf[pos])
		}
	}
	// Scan no further than the limit allows, so that what is found first
	// (an error, the end, the limit) does not depend on the cutting.
	hi := len(buf)
	if st.Limit > 0 && st.Limit < hi-start {
		hi = start + st.Limit + 1
	}
	end, s, err := j.scan(buf[:hi], pos, s, atEOF && hi == len(buf))
	if err != nil {
		return framing.Decoded{}, err
	}
	if end >= 0 {
		st.Stream = s & jInArray
		st.Scanned, st.Carry = 0, 0
		if end == 0 {
			// The end of a scalar being skipped (its bytes were dropped)
			// at its terminator: consume the terminator, as a frame
			// must consume something; a ']' closes the array.
			if buf[0] == ']' {
				st.Stream = 0
			}
			return framing.Frame(0, 0, 1), nil
		}
		return framing.Frame(start, end, end), nil
	}
	st.Stream = s
	if hi-start > st.Limit {
		st.Scanned, st.Carry = 0, 0
		return framing.OverLimit(hi), nil
	}
	st.Scanned, st.Carry = hi, int64(start)
	return framing.Need(len(buf) + 1), nil
}

// deeper checks the nesting depth d of a value with state s.
func (j *JSON) deeper(s uint64, d uint64) error {
	if s&jInArray != 0 {
		d++
	}
	if d > uint64(j.maxDepth) {
		return corrupt(ErrDepth, "JSON nested more than %d deep", j.maxDepth)
	}
	return nil
}

// scan goes on scanning a value from buf[pos] in state s. It returns the
// value's end (the index after its last byte), or -1 and the state at
// len(buf). eof says buf is all there is.
func (j *JSON) scan(buf []byte, pos int, s uint64, eof bool) (int, uint64, error) {
	switch s & jTypeMask {
	case jScalar:
		for ; pos < len(buf); pos++ {
			switch jClass[buf[pos]] {
			case cOther:
				continue
			case cWS:
				return pos, s, nil
			}
			if s&jInArray != 0 && (buf[pos] == ',' || buf[pos] == ']') {
				return pos, s, nil
			}
			return -1, s, corrupt(ErrSyntax, "%q right after a JSON scalar", buf[pos])
		}
		if eof && s&jInArray == 0 {
			return pos, s, nil
		}
		return -1, s, nil
	case jString:
		i, esc, closed := scanString(buf, pos, s&jEscape != 0)
		if closed {
			return i, s, nil
		}
		s = withEscape(s, esc)
		return -1, s, nil
	}
	return j.container(buf, pos, s)
}

// container goes on scanning a container from buf[pos] in state s, 64
// bytes at a time while it can (block), byte by byte for the rest
// (containerTail). Both give the same result for the same bytes, so that
// however the stream is cut, the frames are the same.
func (j *JSON) container(buf []byte, pos int, s uint64) (int, uint64, error) {
	maxDepth := uint64(j.maxDepth)
	if s&jInArray != 0 {
		maxDepth-- // the array is a level
	}
	for {
		if s&jInString != 0 {
			// Strings are left the old way, which is faster on long ones
			// (a stop only at quotes); blocks take over after them.
			i, esc, closed := scanString(buf, pos, s&jEscape != 0)
			if !closed {
				s = withEscape(s, esc)
				return -1, s, nil
			}
			s &^= jInString | jEscape
			pos = i
		}
		if pos+64 > len(buf) {
			break
		}
		end, ns, ok, err := block((*[64]byte)(buf[pos:pos+64]), s, maxDepth)
		if !ok {
			// A backslash outside a string: the block's masks assume
			// none; this block byte by byte.
			end, ns, err = j.containerTail(buf[:pos+64], pos, s, maxDepth)
		} else if end >= 0 {
			end += pos
		}
		if err != nil || end >= 0 {
			if err != nil {
				return -1, s, err
			}
			return end, ns, nil
		}
		s = ns
		pos += 64
	}
	return j.containerTail(buf, pos, s, maxDepth)
}

// block scans the 64 bytes of b inside a container in state s, as
// simdjson does with SIMD, here with 8-byte words (SWAR): bit masks of
// quotes, backslashes, opening and closing brackets; the bytes escaped
// by an odd run of backslashes; the quotes that are not escaped; the
// bytes inside strings by a prefix XOR of those quotes; and the brackets
// outside strings, walked in order only when the depth could reach 0 or
// exceed maxDepth in this block (else counted). It returns the index
// after the container's closing bracket, or -1 and the state after b;
// ok is false (and nothing else meaningful) when a backslash lies
// outside a string, where escapes do not apply and the masks would be
// wrong: the caller scans that block byte by byte.
func block(b *[64]byte, s, maxDepth uint64) (end int, ns uint64, ok bool, err error) {
	var quote, bslash, open, close uint64
	for k := range 8 {
		w := binary.LittleEndian.Uint64(b[8*k : 8*k+8])
		o := w | 0x20*lows // '{' and '[' (and '}' and ']') differ only in 0x20
		q := equalBytes(w, quotes) >> 7
		bs := equalBytes(w, backslashes8) >> 7
		op := equalBytes(o, '{'*lows) >> 7
		cl := equalBytes(o, '}'*lows) >> 7
		quote |= q * magic >> 56 << (8 * k)
		bslash |= bs * magic >> 56 << (8 * k)
		open |= op * magic >> 56 << (8 * k)
		close |= cl * magic >> 56 << (8 * k)
	}
	// The bytes escaped: after an odd run of backslashes (a run may go on
	// from the block before, which s&jEscape says).
	var carry uint64
	if s&jEscape != 0 {
		carry = 1
	}
	bs := bslash &^ carry
	follows := bs<<1 | carry
	oddStarts := bs &^ evens &^ follows
	evenRuns, next := bits.Add64(oddStarts, bs, 0)
	escaped := (evens ^ evenRuns<<1) & follows
	var inside uint64 // 1 inside strings, opening quotes included
	if s&jInString != 0 {
		inside = ^uint64(0)
	}
	inside ^= prefixXor(quote &^ escaped)
	if bslash&^inside != 0 {
		return -1, s, false, nil
	}
	depth := s & jDepth
	if brackets := (open | close) &^ inside; brackets != 0 {
		opens, closes := open&brackets, close&brackets
		if depth > uint64(bits.OnesCount64(closes)) && depth+uint64(bits.OnesCount64(opens)) <= maxDepth {
			depth = depth + uint64(bits.OnesCount64(opens)) - uint64(bits.OnesCount64(closes))
		} else {
			for m := brackets; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if opens>>i&1 != 0 {
					depth++
					if depth > maxDepth {
						return -1, s, true, depthError(s, depth, maxDepth)
					}
					continue
				}
				depth--
				if depth == 0 {
					return i + 1, s &^ (jDepth | jInString | jEscape), true, nil
				}
			}
		}
	}
	s &^= jDepth | jInString | jEscape
	s |= depth
	if inside>>63 != 0 {
		s |= jInString
	}
	if next != 0 && inside>>63 != 0 {
		s |= jEscape
	}
	return -1, s, true, nil
}

// depthError is the error for depth over maxDepth (which is the
// codec's, less the streamed array's level).
func depthError(s, depth, maxDepth uint64) error {
	if s&jInArray != 0 {
		maxDepth++
	}
	return corrupt(ErrDepth, "JSON nested more than %d deep", maxDepth)
}

const (
	backslashes8 = '\\' * lows
	evens        = 0x5555555555555555
)

// equalBytes marks with its high bit exactly each byte of x equal to the
// byte repeated in y (no false marks, unlike zeroByte).
func equalBytes(x, y uint64) uint64 {
	x ^= y
	return ^((x&low7 + low7) | x | low7)
}

const low7 = 0x7f7f7f7f7f7f7f7f

// magic gathers bit 0 of each of the 8 bytes of x into the top byte of
// x * magic: movemask(m) is (m >> 7) * magic >> 56.
const magic = 0x0102040810204080

// prefixXor sets each bit to the XOR of it and the bits below it.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	return x ^ x<<32
}

// containerTail scans buf from pos byte by byte (and 8 bytes at a time
// between structural bytes) in state s.
func (j *JSON) containerTail(buf []byte, pos int, s, maxDepth uint64) (int, uint64, error) {
	depth := s & jDepth
	for {
		if s&jInString != 0 {
			i, esc, closed := scanString(buf, pos, s&jEscape != 0)
			if !closed {
				s = withEscape(s, esc)
				return -1, s&^jDepth | depth, nil
			}
			s &^= jInString | jEscape
			pos = i
		}
		// Bytes outside strings: only brackets and quotes matter. Eight
		// at a time: '{' and '[' (and '}' and ']') differ only in 0x20.
		for pos+8 <= len(buf) {
			w := binary.LittleEndian.Uint64(buf[pos:])
			o := w | 0x20*lows
			if m := zeroByte(o^'{'*lows) | zeroByte(o^'}'*lows) | zeroByte(w^quotes); m != 0 {
				pos += bits.TrailingZeros64(m) >> 3 // the lowest mark is true
				break
			}
			pos += 8
		}
		for pos < len(buf) && jStruct[buf[pos]] == 0 {
			pos++
		}
		if pos >= len(buf) {
			return -1, s&^jDepth | depth, nil
		}
		switch jStruct[buf[pos]] {
		case cOpen:
			depth++
			if depth > maxDepth {
				return -1, s, j.deeper(s, depth)
			}
		case cClose:
			depth--
			if depth == 0 {
				return pos + 1, s &^ jDepth, nil
			}
		default:
			s |= jInString
		}
		pos++
	}
}

// jStruct is jClass for the bytes that matter inside a container, the
// others 0.
var jStruct = func() (t [256]byte) {
	for c := range 256 {
		if k := jClass[c]; k == cOpen || k == cClose || k == cQuote {
			t[c] = k
		}
	}
	return t
}()

// scanString finds the closing quote of a string whose bytes continue at
// buf[pos] (esc: the byte before pos was an escaping backslash). It
// returns the index after the quote and true, or len(buf) and whether the
// last byte escapes the next.
//
// For its first 16 bytes (most strings are short) and the last bytes of
// buf, it looks 8 bytes at a time for quotes only: a quote is escaped
// when an odd run of backslashes precedes it, counted back no further
// than where the scan started, where no escape was pending. Between them
// it takes 64 bytes at a time (stringBlock), with the escapes computed
// for the whole block at once. Strings are most of a JSON stream, and
// escapes too frequent for a stop at each to pay off.
func scanString(buf []byte, pos int, esc bool) (int, bool, bool) {
	if esc {
		if pos >= len(buf) {
			return pos, true, false
		}
		pos++
	}
	// Most strings are short: up to 16 bytes a word at a time as below,
	// then 64-byte blocks.
	lo := pos
	for k := 0; k < 2 && pos+8 <= len(buf); k, pos = k+1, pos+8 {
		for m := zeroByte(binary.LittleEndian.Uint64(buf[pos:]) ^ quotes); m != 0; m &= m - 1 {
			q := pos + bits.TrailingZeros64(m)>>3
			if buf[q] == '"' && backslashes(buf, lo, q)&1 == 0 {
				return q + 1, false, true
			}
		}
	}
	if backslashes(buf, lo, pos)&1 == 1 {
		// buf[pos] is escaped by the backslash before it.
		if pos >= len(buf) {
			return pos, true, false
		}
		pos++
	}
	for pos+64 <= len(buf) {
		i, next := stringBlock((*[64]byte)(buf[pos : pos+64]))
		if i >= 0 {
			return pos + i + 1, false, true
		}
		pos += 64
		if next {
			// The block ended in an escaping backslash: the next byte is
			// escaped, whatever it is.
			if pos >= len(buf) {
				return pos, true, false
			}
			pos++
		}
	}
	lo = pos
	for ; pos+8 <= len(buf); pos += 8 {
		// Marked bytes, lowest first: the lowest is a quote; one above a
		// quote may be a false mark (a borrow), hence the check.
		for m := zeroByte(binary.LittleEndian.Uint64(buf[pos:]) ^ quotes); m != 0; m &= m - 1 {
			q := pos + bits.TrailingZeros64(m)>>3
			if buf[q] == '"' && backslashes(buf, lo, q)&1 == 0 {
				return q + 1, false, true
			}
		}
	}
	for ; pos < len(buf); pos++ {
		if buf[pos] == '"' && backslashes(buf, lo, pos)&1 == 0 {
			return pos + 1, false, true
		}
	}
	return len(buf), backslashes(buf, lo, len(buf))&1 == 1, false
}

// stringBlock finds the closing quote of a string in the 64 bytes of b,
// whose first byte is not escaped: the index of the first quote not
// escaped by an odd run of backslashes, or -1 and whether the last byte
// escapes the next one. See block.
func stringBlock(b *[64]byte) (int, bool) {
	var quote, bslash uint64
	for k := range 8 {
		w := binary.LittleEndian.Uint64(b[8*k : 8*k+8])
		quote |= (equalBytes(w, quotes) >> 7) * magic >> 56 << (8 * k)
		bslash |= (equalBytes(w, backslashes8) >> 7) * magic >> 56 << (8 * k)
	}
	follows := bslash << 1
	oddStarts := bslash &^ evens &^ follows
	evenRuns, next := bits.Add64(oddStarts, bslash, 0)
	escaped := (evens ^ evenRuns<<1) & follows
	if q := quote &^ escaped; q != 0 {
		return bits.TrailingZeros64(q), false
	}
	return -1, next != 0
}

// backslashes counts the backslashes just before buf[end], back to lo.
func backslashes(buf []byte, lo, end int) int {
	n := 0
	for end-n > lo && buf[end-n-1] == '\\' {
		n++
	}
	return n
}

const (
	lows   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = '"' * lows
)

// zeroByte marks with its high bit each zero byte of x, and possibly
// bytes above a zero byte.
func zeroByte(x uint64) uint64 { return (x - lows) &^ x & highs }

// AppendFrame appends payload, which must be exactly one JSON value as the
// decoder splits it (no whitespace around it), and a "\n" after a scalar,
// which needs one to end; anything else is a *framing.PayloadError. With
// StreamArrayElements, an array is refused: it would read back as its
// elements.
func (j *JSON) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := j.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return j.AppendTrailer(append(dst, payload...), payload), nil
}

// AppendHeader implements framing.WrapEncoder: there is no header; it
// checks payload.
func (j *JSON) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if j.maxDepth == 0 {
		return dst, 0, errZero
	}
	if len(payload) == 0 {
		return dst, 0, payloadError(payload, "empty: not a JSON value")
	}
	if j.arrays && payload[0] == '[' {
		return dst, 0, payloadError(payload, "an array would be read back as its elements (StreamArrayElements)")
	}
	st := framing.DecodeState{Limit: len(payload)}
	d, err := j.Decode(payload[:len(payload):len(payload)], true, &st)
	if err != nil {
		return dst, 0, payloadError(payload, "not one JSON value: %v", err)
	}
	if s, e, ok := d.Frame(); !ok || s != 0 || e != len(payload) || d.Advance() != len(payload) {
		return dst, 0, payloadError(payload, "not exactly one JSON value without whitespace around it")
	}
	return dst, 0, nil
}

// AppendTrailer implements framing.WrapEncoder: "\n" after a scalar.
func (j *JSON) AppendTrailer(dst, payload []byte) []byte {
	if len(payload) > 0 && jClass[payload[0]] == cOther {
		return append(dst, '\n')
	}
	return dst
}

var (
	_ framing.Codec       = (*JSON)(nil)
	_ framing.WrapEncoder = (*JSON)(nil)
)

// withEscape returns s with its pending-escape bit set to esc: where a
// string scan stopped inside a string, the next push resumes from it.
func withEscape(s uint64, esc bool) uint64 {
	s &^= jEscape
	if esc {
		s |= jEscape
	}
	return s
}
