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
type VarintCodec struct {
	// Strict refuses, with a *framing.CorruptError, encodings that are not
	// minimal (a trailing 0x00 continuation such as 0x80 0x00 for 0) and
	// encodings longer than a length within the Reader's limit needs (a
	// limit below 2 MiB needs at most 3 bytes), so that a peer cannot make
	// the decoder wait on a 10-byte prefix. The default is lenient, as
	// protobuf and Netty senders are; the encoder always writes minimal
	// varints.
	Strict bool
}

// Decode implements framing.Decoder: as soon as the varint at buf[0] is
// complete, it reports the frame's bounds with framing.NeedFrame (the
// payload follows the varint); the Reader compares the payload's size with
// its limit. A frame of 2^63 bytes or more is a fatal
// *framing.FrameTooLargeError; a malformed varint is a
// *framing.CorruptError.
func (c VarintCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	n, size, err := c.header(buf, st.Limit)
	if err != nil || n == 0 {
		return framing.Need(len(buf) + 1), err
	}
	if size > math.MaxInt64-int64(n) {
		// Over any limit, and too long even to skip.
		return framing.Decoded{}, &framing.FrameTooLargeError{Size: size, Limit: st.Limit}
	}
	return framing.NeedFrame(n, int64(n)+size, int64(n)+size), nil
}

// header reads the varint at the start of buf: its length n (0 while it is
// incomplete) and value. Under Strict, limit bounds the encoding's length.
func (c VarintCodec) header(buf []byte, limit int) (n int, size int64, err error) {
	var x uint64
	var shift uint
	for i, b := range buf {
		if i == binary.MaxVarintLen64-1 {
			// The 10th byte holds bit 63 only, and ends the varint.
			if b >= 0x80 {
				return 0, 0, &framing.CorruptError{Reason: "varint length prefix longer than 10 bytes"}
			}
			if b > 1 {
				return 0, 0, &framing.CorruptError{Reason: "varint length prefix overflows 64 bits"}
			}
		}
		if b < 0x80 {
			x |= uint64(b) << shift
			n = i + 1
			break
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
		if c.Strict && limit > 0 && i+1 >= varintLen(uint64(limit)) {
			// Already as long as the longest minimal encoding of a size
			// within the limit, and not finished.
			return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf(
				"varint length prefix longer than the %d bytes a length up to the limit of %d needs", varintLen(uint64(limit)), limit)}
		}
	}
	if n == 0 {
		return 0, 0, nil
	}
	if c.Strict && n > 1 && buf[n-1] == 0 {
		return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("non-minimal varint: %d bytes for the length %d", n, x)}
	}
	if x > math.MaxInt64 {
		return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("varint length %d is larger than 2^63-1", x)}
	}
	return n, int64(x), nil
}

// varintLen is the length of the minimal varint encoding of v.
func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
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
