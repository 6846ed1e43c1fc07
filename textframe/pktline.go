package textframe

import (
	"github.com/framekit/framekit/framing"
)

// The kinds of git pkt-line frames (framing.Reader.Kind).
const (
	PktData        = 0 // a data packet
	PktFlush       = 1 // "0000"
	PktDelim       = 2 // "0001" (protocol v2)
	PktResponseEnd = 3 // "0002" (protocol v2, stateless connections)
)

// PktMax is the largest pkt-line, its 4-byte length included (git's
// LARGE_PACKET_MAX): a data packet carries at most PktMax-4 bytes.
const PktMax = 65520

// PktLine frames git's pkt-line format (gitprotocol-common): four
// lower- or upper-case hex digits giving the packet's length, themselves
// included, then the data. "0000" (flush), "0001" (delim) and "0002"
// (response end) are empty frames of kinds PktFlush, PktDelim and
// PktResponseEnd; "0004" is an empty data packet. "0003", a length over
// PktMax, or a non-hex digit is ErrBadLength.
//
// The encoder writes data packets; AppendPkt writes the special ones.
var PktLine = &pktLine{}

type pktLine struct{}

// Decode implements framing.Decoder.
func (*pktLine) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) < 4 {
		for _, c := range buf {
			if hexVal(c) < 0 {
				return framing.Decoded{}, corrupt(ErrBadLength, "pkt-line length %s", clip(buf))
			}
		}
		return framing.Need(4), nil
	}
	n := 0
	for _, c := range buf[:4] {
		v := hexVal(c)
		if v < 0 {
			return framing.Decoded{}, corrupt(ErrBadLength, "pkt-line length %s", clip(buf[:4]))
		}
		n = n<<4 | v
	}
	switch {
	case n < 3:
		return framing.Frame(4, 4, 4).WithKind(uint32(n + 1)), nil
	case n == 3 || n > PktMax:
		return framing.Decoded{}, corrupt(ErrBadLength, "pkt-line length %s", clip(buf[:4]))
	}
	return framing.NeedFrame(4, int64(n), int64(n)), nil
}

// AppendFrame appends payload as a data packet; a payload over PktMax-4
// bytes is a *framing.PayloadError.
func (p *pktLine) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := p.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// AppendHeader implements framing.WrapEncoder: the four hex digits.
func (*pktLine) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if len(payload) > PktMax-4 {
		return dst, 0, payloadError(payload, "a pkt-line carries at most %d bytes", PktMax-4)
	}
	return appendPktLen(dst, len(payload)+4), 0, nil
}

// AppendTrailer implements framing.WrapEncoder: there is none.
func (*pktLine) AppendTrailer(dst, _ []byte) []byte { return dst }

func appendPktLen(dst []byte, n int) []byte {
	const hex = "0123456789abcdef"
	return append(dst, hex[n>>12&15], hex[n>>8&15], hex[n>>4&15], hex[n&15])
}

// AppendPkt appends the special packet of kind (PktFlush, PktDelim or
// PktResponseEnd) to dst; any other kind appends nothing.
func AppendPkt(dst []byte, kind uint32) []byte {
	if kind < PktFlush || kind > PktResponseEnd {
		return dst
	}
	return appendPktLen(dst, int(kind-1))
}

var (
	_ framing.Codec       = (*pktLine)(nil)
	_ framing.WrapEncoder = (*pktLine)(nil)
)
