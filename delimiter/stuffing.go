package delimiter

import (
	"bytes"
	"fmt"

	"github.com/framekit/framekit/framing"
)

// Byte stuffing: the payload is rewritten so that the delimiter cannot
// appear in it, so any binary payload can be framed. Frames are unstuffed in
// place in the Reader's buffer, so reading stays zero-copy. A malformed
// frame is a Rejected *framing.CorruptError and reading goes on after its
// delimiter. The size limit counts the decoded payload.

// COBSCodec is Consistent Overhead Byte Stuffing: frames end at 0x00, and
// the payload is coded in blocks of at most 254 non-zero bytes, each led by
// a code byte (block length + 1). The overhead is at most one byte per 254,
// plus the delimiter.
//
//	payload:      [ 11 22 00 33 ]
//	on the wire:  [ 03 11 22 02 33 00 ]
//
// A 0x00 with nothing before it (several zeros in a row, as senders use to
// resynchronise) is ignored; an empty payload is sent as 01 00. The encoder
// writes the canonical encoding (a payload of 254 non-zero bytes is FF, the
// bytes, then 00); the decoder also accepts an empty block after a full
// one (FF, 254 bytes, 01, 00), as some encoders write.
type COBSCodec struct{}

// COBS is the COBS codec.
var COBS = COBSCodec{}

// maxCOBS is the largest encoded size (without the delimiter) of a payload
// of n bytes.
func maxCOBS(n int) int64 { return int64(n) + int64(n)/254 + 1 }

// Decode implements framing.Decoder.
func (COBSCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return decodeStuffed(buf, st, 0, cobsOverLimit, unCOBS)
}

// cobsOverLimit reports whether a frame whose first len(buf) encoded bytes
// have no delimiter must decode to more than the limit.
func cobsOverLimit(buf []byte, _ int, st *framing.DecodeState) bool {
	return int64(len(buf)) > maxCOBS(st.Limit)
}

// decodeStuffed finds a stuffed frame that ends at delim, scanning from
// st.Scanned; overLimit is asked about each unterminated prefix (from is
// where the newly scanned bytes start), and unstuff decodes a complete
// frame in place.
func decodeStuffed(buf []byte, st *framing.DecodeState, delim byte,
	overLimit func(buf []byte, from int, st *framing.DecodeState) bool,
	unstuff func(raw []byte) (int, error)) (framing.Decoded, error) {
	from := min(max(st.Scanned, 0), len(buf))
	i := bytes.IndexByte(buf[from:], delim)
	if st.Skipping {
		if i < 0 {
			return framing.Consume(len(buf)), nil
		}
		st.Skipping = false
		return framing.Consume(from + i + 1), nil
	}
	if i < 0 {
		if overLimit(buf, from, st) {
			if st.Skip {
				st.Skipping = true
			}
			return tooLarge(st, -1, len(buf))
		}
		st.Scanned = len(buf)
		return framing.Need(len(buf) + 1), nil
	}
	pos := from + i
	if pos == 0 {
		return framing.Consume(1), nil // an empty frame: line noise
	}
	n, err := unstuff(buf[:pos])
	if err != nil {
		return framing.Consume(pos + 1), err
	}
	if n > st.Limit {
		return tooLarge(st, int64(n), pos+1)
	}
	return framing.Frame(0, n, pos+1), nil
}

// unCOBS decodes raw (without its delimiter) in place and returns the
// decoded length. Writing never overtakes reading: each block yields at
// most as many bytes as it occupies.
func unCOBS(raw []byte) (int, error) {
	r, w := 0, 0
	for r < len(raw) {
		code := int(raw[r])
		r++
		n := code - 1
		if r+n > len(raw) {
			return 0, &framing.CorruptError{Rejected: true, Reason: fmt.Sprintf(
				"COBS block of %d bytes runs past the end of the %d-byte frame", n, len(raw))}
		}
		copy(raw[w:], raw[r:r+n])
		w += n
		r += n
		if code < 0xFF && r < len(raw) {
			raw[w] = 0
			w++
		}
	}
	return w, nil
}

// AppendFrame appends the COBS encoding of payload and the 0x00 delimiter.
// It never fails.
func (COBSCodec) AppendFrame(dst, payload []byte) ([]byte, error) {
	code := len(dst)
	dst = append(dst, 0)
	n := byte(1)
	for i, b := range payload {
		if b == 0 {
			dst[code] = n
			code, n = len(dst), 1
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, b)
		n++
		if n == 0xFF && i+1 < len(payload) {
			// A full block; a block that ends the payload is closed below,
			// with no empty block after it.
			dst[code] = n
			code, n = len(dst), 1
			dst = append(dst, 0)
		}
	}
	dst[code] = n
	return append(dst, 0), nil
}

// SLIP bytes (RFC 1055).
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// SLIPCodec is SLIP (RFC 1055): frames end at END (0xC0); END and ESC
// (0xDB) in the payload are sent as ESC ESC_END (DB DC) and ESC ESC_ESC
// (DB DD).
//
//	payload:      [ 01 C0 02 DB ]
//	on the wire:  [ 01 DB DC 02 DB DD C0 ]
//
// As RFC 1055 advises, empty frames (an END right after another, which
// senders emit to flush line noise) are ignored, so an empty payload
// cannot be sent: the encoder refuses it.
type SLIPCodec struct{}

// SLIP is the SLIP codec.
var SLIP = SLIPCodec{}

// Decode implements framing.Decoder. st.Carry counts the ESC bytes in the
// scanned part, so the decoded size is known while scanning.
func (SLIPCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return decodeStuffed(buf, st, slipEnd, slipOverLimit, unSLIP)
}

// slipOverLimit counts the escapes in the newly scanned bytes and reports
// whether what was scanned already decodes to more than the limit.
func slipOverLimit(buf []byte, from int, st *framing.DecodeState) bool {
	st.Carry += int64(bytes.Count(buf[from:], []byte{slipEsc}))
	return int64(len(buf))-st.Carry > int64(st.Limit)
}

// unSLIP decodes raw (without its END) in place and returns the decoded
// length.
func unSLIP(raw []byte) (int, error) {
	w := 0
	for r := 0; r < len(raw); r++ {
		b := raw[r]
		if b == slipEsc {
			r++
			if r == len(raw) {
				return 0, &framing.CorruptError{Rejected: true, Reason: "SLIP frame ends with ESC"}
			}
			switch raw[r] {
			case slipEscEnd:
				b = slipEnd
			case slipEscEsc:
				b = slipEsc
			default:
				return 0, &framing.CorruptError{Rejected: true, Reason: fmt.Sprintf("SLIP ESC followed by 0x%02X", raw[r])}
			}
		}
		raw[w] = b
		w++
	}
	return w, nil
}

// AppendFrame appends the SLIP encoding of payload and END. An empty
// payload is a *framing.PayloadError (it would be read as line noise).
func (SLIPCodec) AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return dst, &framing.PayloadError{Size: 0, Reason: "SLIP ignores empty frames"}
	}
	for _, b := range payload {
		switch b {
		case slipEnd:
			dst = append(dst, slipEsc, slipEscEnd)
		case slipEsc:
			dst = append(dst, slipEsc, slipEscEsc)
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, slipEnd), nil
}

var (
	_ framing.Codec = COBSCodec{}
	_ framing.Codec = SLIPCodec{}
)
