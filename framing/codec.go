package framing

import "fmt"

// A Decoder finds frames in buffered bytes. It does no I/O: the Reader owns
// the buffer, the reads, EOF, deadlines and the per-stream DecodeState, and
// calls Decode whenever it has buffered enough bytes (see Need).
//
// Decoder values must be immutable and safe for concurrent use, so that one
// value serves any number of connections: everything a Decoder needs to
// remember between calls lives in the DecodeState.
type Decoder interface {
	// Decode examines buf, the bytes buffered so far, starting at the first
	// byte of the next frame (or of bytes still being skipped, see
	// DecodeState.Skipping). atEOF reports that the stream has ended and
	// buf is all that will ever arrive.
	//
	// It returns one of:
	//   - a complete frame: Frame(start, end, advance), the frame's payload
	//     is buf[start:end] and advance bytes are consumed;
	//   - bytes consumed without a frame (skipped input): Consume(n), n > 0;
	//   - "need more": Need(n) or NeedExact(n), n > len(buf) the number of
	//     buffered bytes the Reader must have before it calls again. n is
	//     exact with NeedExact (length codecs, once the header is known) and
	//     a lower bound with Need;
	//   - an error. The Reader applies the Decoded's Advance and
	//     DecodeState.Discard before it returns the error, so a decoder that
	//     rejects one frame (see ErrorClass) resumes with the next one.
	//
	// A decoder may rewrite the bytes of a frame it returns in place
	// (byte-stuffing codecs unstuff into buf), but no bytes beyond Advance.
	//
	// Decode must compare the size of the frame it would return with
	// st.Limit as soon as it knows it, before more bytes are buffered,
	// and report a *FrameTooLargeError. It must never panic, whatever buf
	// holds.
	Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error)
}

// Decoded is what a Decoder says about the buffered bytes. Make one with
// Frame, Consume, Need or NeedExact; the zero Decoded asks for at least one
// more byte.
//
// Its fields are unexported so that it stays four words: a value of that
// size is returned in registers, while a larger one is copied through memory
// on every Decode call, which cost a third of a small frame's decoding.
type Decoded struct {
	// start is the payload's start for a frame, and the bytes needed for
	// Need and NeedExact.
	start, end, advance int
	flags               int // frameBit, needExactBit
}

const (
	frameBit     = 1
	needExactBit = 2
)

// Frame reports a complete frame: its payload is buf[start:end], and the
// first advance bytes of buf (header, payload and trailer) are consumed.
// advance must be positive.
func Frame(start, end, advance int) Decoded {
	return Decoded{start: start, end: end, advance: advance, flags: frameBit}
}

// Consume reports n bytes consumed without a frame: skipped input, or with
// an error, the bytes of a rejected frame.
func Consume(n int) Decoded {
	return Decoded{advance: n}
}

// Need reports that no frame is complete and nothing is consumed: the
// Reader calls Decode again once at least n bytes are buffered (a lower
// bound; n at most len(buf) means one more byte).
func Need(n int) Decoded {
	return Decoded{start: n}
}

// NeedExact is Need when n is the exact size of the frame being buffered
// (length codecs once the header is known): the Reader reads until n bytes
// are buffered, and a stream that ends earlier is missing n-len(buf) bytes.
func NeedExact(n int) Decoded {
	return Decoded{start: n, flags: needExactBit}
}

// Frame returns the payload's bounds in the buffer and whether d reports a
// complete frame.
func (d Decoded) Frame() (start, end int, ok bool) {
	if d.flags&frameBit == 0 {
		return 0, 0, false
	}
	return d.start, d.end, true
}

// Advance returns how many bytes at the front of the buffer are consumed.
func (d Decoded) Advance() int { return d.advance }

// Need returns, for a Decoded made by Need or NeedExact, the number of
// bytes to buffer before Decode is called again and whether it is exact;
// otherwise 0 and false.
func (d Decoded) Need() (n int, exact bool) {
	if d.flags&frameBit != 0 || d.advance != 0 {
		return 0, false
	}
	return d.start, d.flags&needExactBit != 0
}

// String describes d, for test failures and debugging.
func (d Decoded) String() string {
	if start, end, ok := d.Frame(); ok {
		return fmt.Sprintf("Frame(%d, %d, %d)", start, end, d.advance)
	}
	if d.advance != 0 {
		return fmt.Sprintf("Consume(%d)", d.advance)
	}
	n, exact := d.Need()
	if exact {
		return fmt.Sprintf("NeedExact(%d)", n)
	}
	return fmt.Sprintf("Need(%d)", n)
}

// DecodeState is the per-stream state of a decoder, owned by the Reader and
// passed to every Decode call. The zero value is a stream at a frame
// boundary.
type DecodeState struct {
	// Limit is the largest frame, in bytes returned to the caller, that the
	// Reader accepts. Set by the Reader; decoders only read it.
	Limit int
	// Scanned is how many bytes at the front of the buffer the decoder has
	// already examined without finding the end of the frame, so that it
	// never rescans them. The Reader keeps it across calls and resets it to
	// zero whenever bytes are consumed.
	Scanned int
	// Carry is a number a scanning decoder keeps alongside Scanned, such as
	// the count of escape bytes in the scanned part (to know the decoded
	// size of a stuffed frame while scanning). The Reader resets it to zero
	// with Scanned.
	Carry int64
	// Discard is the number of bytes the Reader must drop from the stream
	// before it calls Decode again. A length decoder sets it to skip an
	// oversized frame; the Reader drops the bytes as they arrive, without
	// buffering them.
	Discard int64
	// Skipping is for decoders that find the end of a rejected frame by
	// scanning (delimiters): while it is set, Decode is still called with
	// each new chunk and should consume bytes up to and including the end
	// of the rejected frame, then clear it. The Reader only carries it.
	Skipping bool
	// Skip is the oversized-frame policy: when set, a decoder that finds a
	// frame over Limit arranges for it to be skipped (with Discard or
	// Skipping) and returns a *FrameTooLargeError with Skipped set; when not
	// set, the error is fatal. Set by the Reader; decoders only read it.
	// (It sits next to Skipping so that the two share a word: every idle
	// connection carries a DecodeState.)
	Skip bool
}

// An Encoder appends the framed form of a payload to a buffer. Encoders do
// no I/O, must be immutable and safe for concurrent use, and must refuse a
// payload they cannot represent (a *PayloadError) before appending
// anything.
type Encoder interface {
	AppendFrame(dst, payload []byte) ([]byte, error)
}

// A WrapEncoder is an Encoder whose framing is only bytes before and after
// the payload (a length prefix, a delimiter), so that a Writer can send a
// large payload from the caller's memory, in one vectored write with its
// header and trailer, without copying it.
//
// The frame on the wire is AppendHeader's bytes, then payload[skip:], then
// AppendTrailer's bytes. skip is normally 0; it is positive for codecs whose
// callers pass the header inside the payload (a length field filled into a
// copy of the caller's header).
type WrapEncoder interface {
	Encoder
	// AppendHeader validates payload and appends the header; on error it
	// appends nothing.
	AppendHeader(dst, payload []byte) (out []byte, skip int, err error)
	// AppendTrailer appends the trailer of a payload that AppendHeader
	// accepted.
	AppendTrailer(dst, payload []byte) []byte
}

// A Codec both decodes and encodes one framing format.
type Codec interface {
	Decoder
	Encoder
}
