package delimiter

import (
	"fmt"
	"math"

	"github.com/framekit/framekit/framing"
)

// FixedCodec frames messages of one fixed size, with nothing around them
// (Netty's FixedLengthFrameDecoder). It is immutable and safe for concurrent
// use; it implements framing.Codec and framing.WrapEncoder.
//
//	on the wire:  [ A B C D | E F G H ]   Fixed(4)
//	returned:     [ A B C D ] [ E F G H ]
type FixedCodec struct {
	n int
}

// Fixed returns a codec for frames of exactly n bytes. n must be at least
// 1 and fit in 31 bits; a size above a Reader's limit is refused by that
// Reader at its first frame (the limit is the Reader's, not the codec's).
func Fixed(n int) (*FixedCodec, error) {
	if n < 1 || int64(n) > math.MaxInt32 {
		return nil, &framing.ConfigError{Codec: codecName, Reason: fmt.Sprintf("fixed frame size %d is not between 1 and 2^31-1", n)}
	}
	return &FixedCodec{n: n}, nil
}

// Size returns the frame size.
func (f *FixedCodec) Size() int { return f.n }

// Decode implements framing.Decoder: a frame is the next Size bytes.
func (f *FixedCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if f.n < 1 {
		return framing.Decoded{}, errZeroCodec
	}
	return framing.NeedFrame(0, int64(f.n), int64(f.n)), nil
}

func (f *FixedCodec) check(p []byte) error {
	if f.n < 1 {
		return errZeroCodec
	}
	if len(p) != f.n {
		return &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf("frames are exactly %d bytes", f.n)}
	}
	return nil
}

// AppendFrame appends payload, which must be exactly Size bytes.
func (f *FixedCodec) AppendFrame(dst, payload []byte) ([]byte, error) {
	if err := f.check(payload); err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// AppendHeader implements framing.WrapEncoder: there is no header; it only
// checks the payload's size.
func (f *FixedCodec) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	return dst, 0, f.check(payload)
}

// AppendTrailer implements framing.WrapEncoder: there is no trailer.
func (f *FixedCodec) AppendTrailer(dst, _ []byte) []byte { return dst }

var (
	_ framing.Codec       = (*FixedCodec)(nil)
	_ framing.WrapEncoder = (*FixedCodec)(nil)
)
