// Package goframecfg turns goframe's length-field configurations into
// lengthprefix codecs. It is the one place that says what goframe's fields
// mean; compat/goframeconn and compat/goframe both build on it.
package goframecfg

import (
	"encoding/binary"
	"fmt"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// Enc has the fields of goframe's EncoderConfig, in its order, so that
// goframeconn.EncoderConfig converts to it.
type Enc struct {
	ByteOrder                       binary.ByteOrder
	LengthFieldLength               int
	LengthAdjustment                int
	LengthIncludesLengthFieldLength bool
}

// Dec has the fields of goframe's DecoderConfig, in its order, so that
// goframeconn.DecoderConfig converts to it.
type Dec struct {
	ByteOrder           binary.ByteOrder
	LengthFieldOffset   int
	LengthFieldLength   int
	LengthAdjustment    int
	InitialBytesToStrip int
}

// Extra is what goframe's prepender (Netty's LengthFieldPrepender) adds to
// a payload's length to get the value it writes in the length field.
func (e Enc) Extra() int {
	if e.LengthIncludesLengthFieldLength {
		return e.LengthAdjustment + e.LengthFieldLength
	}
	return e.LengthAdjustment
}

// Codec returns the codec that writes frames as e says; it reads the same
// layout back.
func (e Enc) Codec() (*lengthprefix.Codec, error) {
	o, err := order(e.ByteOrder, e.LengthFieldLength)
	if err != nil {
		return nil, err
	}
	// The field holds len(p)+Extra and is followed by the payload: in
	// lengthprefix's decoder terms, L - Extra bytes follow the field, and
	// the field is stripped on read.
	return lengthprefix.New(lengthprefix.Config{
		Size:   e.LengthFieldLength,
		Order:  o,
		Adjust: -e.Extra(),
		Strip:  e.LengthFieldLength,
	})
}

// Decoder returns the decoder that reads frames as d says.
func (d Dec) Decoder() (*lengthprefix.Decoder, error) {
	o, err := order(d.ByteOrder, d.LengthFieldLength)
	if err != nil {
		return nil, err
	}
	return lengthprefix.NewDecoder(lengthprefix.Config{
		Offset: d.LengthFieldOffset,
		Size:   d.LengthFieldLength,
		Order:  o,
		Adjust: d.LengthAdjustment,
		Strip:  d.InitialBytesToStrip,
	})
}

// Join returns the codec that writes with e and reads with d: e itself
// when d reads e's layout (the usual case), else a codec that joins them,
// as goframe allows.
func Join(e *lengthprefix.Codec, d *lengthprefix.Decoder) framing.Codec {
	if e.Config() == d.Config() {
		return e
	}
	return &split{Codec: e, dec: d}
}

// split writes with one layout and reads with another. Embedding the
// encoder keeps it a framing.WrapEncoder, so large payloads are still sent
// without a copy.
type split struct {
	*lengthprefix.Codec
	dec *lengthprefix.Decoder
}

func (s *split) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return s.dec.Decode(buf, atEOF, st)
}

// order is the lengthprefix byte order that reads and writes as o does.
// goframe takes any binary.ByteOrder (binary.NativeEndian included), so o
// is asked how it reads four bytes; a 1-byte field has no byte order, and
// there nil is accepted as goframe accepts it.
func order(o binary.ByteOrder, size int) (lengthprefix.ByteOrder, error) {
	if o == nil {
		if size == 1 {
			return lengthprefix.BigEndian, nil
		}
		return 0, &framing.ConfigError{Codec: "goframe", Reason: fmt.Sprintf("nil ByteOrder for a %d-byte length field: want binary.BigEndian or binary.LittleEndian", size)}
	}
	switch o.Uint32([]byte{1, 2, 3, 4}) {
	case 0x01020304:
		return lengthprefix.BigEndian, nil
	case 0x04030201:
		return lengthprefix.LittleEndian, nil
	}
	return 0, &framing.ConfigError{Codec: "goframe", Reason: fmt.Sprintf("byte order %v is neither big- nor little-endian", o)}
}
