package lengthprefix

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/framekit/framekit/framing"
)

// VarintCodec frames a payload as its length, an unsigned LEB128 varint
// (encoding/binary's Uvarint, protobuf's length-delimited messages,
// libp2p msgio's varint framing), followed by the payload. The prefix is
// stripped on read. The zero value is ready to use; Uvarint is one.
//
//	on the wire:  [ AC 02 | 300 bytes ]
//	returned:            [ 300 bytes ]
//
// The decoder accepts non-minimal encodings (such as 80 00 for 0); a varint
// longer than 10 bytes, or whose value does not fit 63 bits, is corrupt. The
// encoder writes the minimal encoding, as binary.AppendUvarint, and accepts
// a payload of any length.
type VarintCodec struct{}

// Decode implements framing.Decoder: it returns the payload that follows
// the varint at buf[0] once all of it is buffered. A payload over st.Limit
// is a *framing.FrameTooLargeError as soon as the varint is complete; a
// malformed varint is a *framing.CorruptError.
func (VarintCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	var x uint64
	var shift uint
	n := 0 // length of the varint, once complete
	for i, b := range buf {
		if i == binary.MaxVarintLen64-1 {
			// The 10th byte holds bit 63 only, and ends the varint.
			if b >= 0x80 {
				return framing.Decoded{}, &framing.CorruptError{Reason: "varint length prefix longer than 10 bytes"}
			}
			if b > 1 {
				return framing.Decoded{}, &framing.CorruptError{Reason: "varint length prefix overflows 64 bits"}
			}
		}
		if b < 0x80 {
			x |= uint64(b) << shift
			n = i + 1
			break
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	if n == 0 {
		return framing.Decoded{Need: len(buf) + 1}, nil
	}
	if x > math.MaxInt64 {
		return framing.Decoded{}, &framing.CorruptError{Reason: fmt.Sprintf("varint length %d is larger than 2^63-1", x)}
	}
	size := int64(x)
	if size > math.MaxInt64-int64(n) {
		// Over any limit, and too long even to skip.
		return framing.Decoded{}, &framing.FrameTooLargeError{Size: size, Limit: st.Limit}
	}
	return sized(buf, int64(n)+size, size, n, st)
}

// AppendFrame appends the varint length of payload, then payload, to dst.
// It never fails.
func (VarintCodec) AppendFrame(dst, payload []byte) ([]byte, error) {
	return append(binary.AppendUvarint(dst, uint64(len(payload))), payload...), nil
}

// AppendHeader implements framing.WrapEncoder: it appends the varint length
// of payload; skip is 0 and it never fails.
func (VarintCodec) AppendHeader(dst, payload []byte) (out []byte, skip int, err error) {
	return binary.AppendUvarint(dst, uint64(len(payload))), 0, nil
}

// AppendTrailer implements framing.WrapEncoder; there is no trailer, so it
// returns dst.
func (VarintCodec) AppendTrailer(dst, payload []byte) []byte { return dst }

var (
	_ framing.Codec       = VarintCodec{}
	_ framing.WrapEncoder = (*VarintCodec)(nil)
)
