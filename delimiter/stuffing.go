package delimiter

import (
	"bytes"
	"fmt"

	"github.com/framekit/framekit/framing"
)

// Byte stuffing: the payload is rewritten so that the delimiter cannot
// appear in it, so any binary payload can be framed. Frames are unstuffed in
// place in the Reader's buffer, so reading stays zero-copy. The size limit
// counts the decoded payload. A decoder scans a frame's bytes in order and
// reports the first thing it finds: the frame is malformed (a Rejected
// *framing.CorruptError; reading goes on after its delimiter, under either
// size policy), or well formed so far and already over the limit
// (OverLimit). So the same bytes give the same error however the stream is
// cut, and a frame is never buffered much beyond the limit.

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

// Decode implements framing.Decoder. st.Carry holds the block structure
// of the scanned bytes (see cobsScan).
func (COBSCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return decodeStuffed(buf, st, 0, cobsScan, unCOBS)
}

// The verdicts of a scan of a stuffed frame's bytes.
const (
	scanFine      = iota // well formed so far, within the limit
	scanOver             // well formed so far, and over the limit
	scanMalformed        // malformed
)

// cobsScan scans raw[from:], the bytes of a COBS frame before its
// delimiter, given carry, the state after raw[:from], and returns the state
// after raw and its verdict. The state is the decoded size of the blocks
// completed so far (with the zero each one but the last stands for), the
// bytes left in the current block, that block's length, and whether it
// stands for a zero: the decoded size only grows as bytes arrive, and
// counts only complete blocks, so a frame that is malformed (its delimiter
// inside a block) is never called over the limit for the block it cuts.
// A frame is malformed only at its delimiter: atEnd says raw is all of it.
func cobsScan(raw []byte, from int, carry int64, limit int, atEnd bool) (int64, int) {
	left, n, zero, size := carry&0xFF, carry>>8&0xFF, carry>>16&1, carry>>17
	for i := from; i < len(raw); {
		if left > 0 {
			step := min(int64(len(raw)-i), left)
			i += int(step)
			if left -= step; left > 0 {
				break
			}
			size += n // the block is complete
			if size > int64(limit) {
				return 0, scanOver
			}
			continue
		}
		code := int64(raw[i]) // the next block
		i++
		size += zero
		if size > int64(limit) {
			return 0, scanOver
		}
		left, n, zero = code-1, code-1, 0
		if code < 0xFF {
			zero = 1
		}
	}
	if atEnd && left > 0 {
		return 0, scanMalformed
	}
	return size<<17 | zero<<16 | n<<8 | left, scanFine
}

// decodeStuffed finds a stuffed frame that ends at delim, scanning from
// st.Scanned with scan, which reports the first thing it finds in the
// frame's bytes (see the verdicts), and unstuff decodes a complete, well
// formed frame in place.
func decodeStuffed(buf []byte, st *framing.DecodeState, delim byte,
	scan func(raw []byte, from int, carry int64, limit int, atEnd bool) (int64, int),
	unstuff func(raw []byte) (int, error)) (framing.Decoded, error) {
	from := min(max(st.Scanned, 0), len(buf))
	end := bytes.IndexByte(buf[from:], delim)
	found := end >= 0
	if !found {
		end = len(buf)
	} else if end += from; end == 0 {
		// An empty frame: line noise (or the end of a frame being skipped).
		return framing.Consume(1), nil
	}
	carry, verdict := scan(buf[:end], from, st.Carry, st.Limit, found)
	switch {
	case verdict == scanOver:
		return framing.OverLimit(end), nil
	case verdict == scanMalformed && !found:
		// Malformed before its end: rejected now, skipped to its end.
		return framing.OverLimit(end), malformed(delim)
	case !found:
		st.Scanned, st.Carry = end, carry
		return framing.Need(end + 1), nil
	}
	n, err := unstuff(buf[:end])
	if err != nil {
		return framing.Consume(end + 1), err
	}
	return framing.Frame(0, n, end+1), nil
}

// The errors for frames found malformed while they are scanned (shared:
// the engine copies a CorruptError to give it its offset).
var (
	errMalformedCOBS = &framing.CorruptError{Rejected: true, Reason: "malformed COBS frame"}
	errMalformedSLIP = &framing.CorruptError{Rejected: true, Reason: "malformed SLIP frame: ESC followed by a byte other than ESC_END or ESC_ESC"}
)

// malformed is the error for a frame found malformed while it is scanned.
func malformed(delim byte) error {
	if delim == 0 {
		return errMalformedCOBS
	}
	return errMalformedSLIP
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

// Decode implements framing.Decoder. st.Carry holds the escape state of
// the scanned bytes (see slipScan).
func (SLIPCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return decodeStuffed(buf, st, slipEnd, slipScan, unSLIP)
}

// slipScan scans raw[from:], the bytes of a SLIP frame before its END,
// given carry, the state after raw[:from]: twice the escape pairs (an ESC
// and the byte after it, one decoded byte), plus one when the last byte is
// an ESC whose pair is not complete. The decoded size of raw (a lower
// bound while a pair is pending), len(raw) - carry>>1, only grows as bytes
// arrive, and is the same whichever call scanned which bytes. An ESC followed by a byte
// other than ESC_END or ESC_ESC is malformed where that byte is; an ESC
// just before END, at the end (atEnd).
func slipScan(raw []byte, from int, carry int64, limit int, atEnd bool) (int64, int) {
	for i := from; i < len(raw); {
		if carry&1 == 0 {
			j := bytes.IndexByte(raw[i:], slipEsc)
			if j < 0 {
				break
			}
			if int64(i+j)-carry>>1 > int64(limit) {
				return 0, scanOver // the bytes before this ESC decode past the limit
			}
			carry, i = carry+3, i+j+1 // one more pair, its second byte to come
			continue
		}
		if b := raw[i]; b != slipEscEnd && b != slipEscEsc {
			return 0, scanMalformed
		}
		carry, i = carry&^1, i+1
	}
	if int64(len(raw))-carry>>1 > int64(limit) {
		return 0, scanOver
	}
	if atEnd && carry&1 != 0 {
		return 0, scanMalformed
	}
	return carry, scanFine
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
