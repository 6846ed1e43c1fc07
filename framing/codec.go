package framing

import "fmt"

// A Decoder finds frames in buffered bytes. It does no I/O and applies no
// policy: it states facts about the bytes, and the Deframer (which the
// Reader is built on) owns the buffer, the reads, EOF, the size limit and
// what to do about it, and the per-stream DecodeState.
//
// Decoder values must be immutable and safe for concurrent use, so that one
// value serves any number of connections: everything a Decoder needs to
// remember between calls lives in the DecodeState.
type Decoder interface {
	// Decode examines buf, exactly the bytes buffered so far (its capacity
	// is its length), starting at the first byte of the next frame. atEOF
	// reports that the stream has ended and buf is all that will arrive.
	//
	// It returns one of:
	//   - Frame(start, end, advance): a complete frame, whose payload is
	//     buf[start:end]; advance bytes (header, payload, trailer) are
	//     consumed;
	//   - NeedFrame(start, end, total): the header is parsed, the payload
	//     will be buf[start:end] and the frame ends at byte total. The
	//     Deframer checks the size limit at once, reads the rest without
	//     calling Decode again (unless Checked asks it to) and may stream
	//     the payload or read it straight into the caller's memory. It may
	//     be returned even when all total bytes are buffered;
	//   - Need(n): no frame yet, call again once at least n bytes are
	//     buffered (a lower bound; n <= len(buf) means one more byte);
	//   - OverLimit(n): the frame being scanned is already larger than
	//     st.Limit, and its first n bytes hold no end of it (see OverLimit);
	//   - Consume(n): n bytes consumed without a frame (line noise);
	//   - an error, with a Decoded whose Advance is what to drop when the
	//     error is Rejected (the rejected frame); a Fatal error ends the
	//     stream.
	//
	// A decoder may rewrite the bytes of a frame it returns in place (byte
	// stuffing unstuffs into buf), but no byte beyond its Advance. It must
	// never panic, whatever buf holds.
	Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error)
}

// Decoded is what a Decoder says about the buffered bytes. Make one with
// Frame, NeedFrame, Need, OverLimit or Consume; the zero Decoded asks for
// at least one more byte.
//
// It stays four fields of a word each: the compiler keeps a struct of at
// most four fields in registers, and copies a larger one through memory
// on every Decode call (with store-forwarding stalls), which cost a third
// of a small frame's decoding.
type Decoded struct {
	start, end, advance int64  // see the constructors
	flags               uint64 // the kind of result, Checked, Final; the frame's kind in the high 32 bits
}

// The kinds of Decoded, in flags&kindMask, and its modifiers.
const (
	kindNeed      = 0
	kindFrame     = 1
	kindNeedFrame = 2
	kindOverLimit = 3
	kindMask      = 3
	checkedBit    = 4
	finalBit      = 8
)

// Frame reports a complete frame: its payload is buf[start:end], and the
// first advance bytes of buf (header, payload and trailer) are consumed.
// advance must be positive.
func Frame(start, end, advance int) Decoded {
	return Decoded{start: int64(start), end: int64(end), advance: int64(advance), flags: kindFrame}
}

// NeedFrame reports a frame whose bounds are known from its header: its
// payload will be buf[start:end] and it ends at byte total (end <= total;
// bytes between end and total are a trailer). The payload's size, end -
// start, is what the size limit counts. total may be far beyond what is
// buffered, and beyond what an int holds on a 32-bit platform (a hostile
// length): the Deframer refuses or skips such a frame from the header.
func NeedFrame(start int, end, total int64) Decoded {
	return Decoded{start: int64(start), end: end, advance: total, flags: kindNeedFrame}
}

// Need reports that no frame is complete and nothing is consumed: the
// Deframer calls Decode again once at least n bytes are buffered.
func Need(n int) Decoded {
	return Decoded{start: int64(n)}
}

// OverLimit reports, while a decoder scans for the end of a frame (a
// delimiter), that the frame is already larger than st.Limit, and that its
// first n bytes certainly belong to it and hold no end of it (n may be 0).
// The Deframer refuses the frame (Fatal) or, under the Skip policy, drops
// those bytes and keeps calling Decode on what follows with st.Limit set
// to 0: the first result that consumes bytes (Frame, Consume, or a
// Rejected error's Advance) ends the skipped frame, and OverLimit drops n
// more bytes. So a scanning decoder needs no mode of its own for skipping.
//
// Returned with a Rejected error, OverLimit(n) rejects the frame being
// scanned before its end is found (a malformed escape seen on the way):
// the error is returned at once, under either policy, and the rest of the
// frame is skipped in the same way. A decoder must report what it finds
// in the order of the bytes (the first of "malformed" and "over the limit"
// wins), so that the verdict does not depend on how the stream was cut.
func OverLimit(n int) Decoded {
	return Decoded{advance: int64(n), flags: kindOverLimit}
}

// Consume reports n bytes consumed without a frame (noise between
// frames). With an error, it is the bytes of the rejected frame.
func Consume(n int) Decoded {
	return Decoded{advance: int64(n)}
}

// Checked asks, for a NeedFrame, to call Decode once more when all total
// bytes are buffered (buf is then exactly the frame's bytes, or more), so
// that the decoder can check a trailer or a checksum before the frame is
// handed out; that call returns Frame or an error. A checked frame is
// always buffered whole before it is returned or streamed.
func (d Decoded) Checked() Decoded {
	d.flags |= checkedBit
	return d
}

// WithKind attaches a small value to a Frame (an opcode, a message type, a
// flush marker) that the caller reads after the frame with the Reader's or
// Deframer's Kind method.
func (d Decoded) WithKind(kind uint32) Decoded {
	d.flags = d.flags&(1<<32-1) | uint64(kind)<<32
	return d
}

// Final marks a Frame as the last of the framed stream (the end of a
// chunked body): the frame is returned, then every later call returns
// ErrFinal, and Detach hands over the bytes after it.
func (d Decoded) Final() Decoded {
	d.flags |= finalBit
	return d
}

// Frame returns the payload's bounds in the buffer and whether d reports a
// complete frame.
func (d Decoded) Frame() (start, end int, ok bool) {
	if d.flags&kindMask != kindFrame {
		return 0, 0, false
	}
	return int(d.start), int(d.end), true
}

// Located returns, for a NeedFrame, the payload's bounds and the frame's
// total size.
func (d Decoded) Located() (start int, end, total int64, ok bool) {
	if d.flags&kindMask != kindNeedFrame {
		return 0, 0, 0, false
	}
	return int(d.start), d.end, d.advance, true
}

// Advance returns how many bytes at the front of the buffer are consumed
// (for OverLimit, the bytes that may be dropped while skipping).
func (d Decoded) Advance() int {
	if k := d.flags & kindMask; k == kindNeedFrame {
		return 0
	}
	return int(d.advance)
}

// Need returns, for a Decoded made by Need, the number of bytes to buffer
// before Decode is called again; otherwise 0.
func (d Decoded) Need() int {
	if d.flags&kindMask != kindNeed || d.advance != 0 {
		return 0
	}
	return int(d.start)
}

// plain reports whether d is a Frame or a NeedFrame with no modifier,
// whose bounds are in order and whose payload is within limit: what the
// engine's short paths hand out (or wait for) without its full policy.
func (d Decoded) plain(limit int) bool {
	return (d.flags == kindFrame || d.flags == kindNeedFrame) && 0 <= d.start && d.start <= d.end &&
		d.end <= d.advance && d.advance > 0 && d.end-d.start <= int64(limit)
}

// IsOverLimit reports whether d was made by OverLimit.
func (d Decoded) IsOverLimit() bool { return d.flags&kindMask == kindOverLimit }

// IsChecked reports whether Checked was applied to d; IsFinal whether
// Final was.
func (d Decoded) IsChecked() bool { return d.flags&checkedBit != 0 }

// IsFinal reports whether Final was applied to d.
func (d Decoded) IsFinal() bool { return d.flags&finalBit != 0 }

// Kind returns the value attached with WithKind.
func (d Decoded) Kind() uint32 { return uint32(d.flags >> 32) }

// String describes d, for test failures and debugging.
func (d Decoded) String() string {
	var s string
	switch d.flags & kindMask {
	case kindFrame:
		s = fmt.Sprintf("Frame(%d, %d, %d)", d.start, d.end, d.advance)
	case kindNeedFrame:
		s = fmt.Sprintf("NeedFrame(%d, %d, %d)", d.start, d.end, d.advance)
	case kindOverLimit:
		s = fmt.Sprintf("OverLimit(%d)", d.advance)
	default:
		if d.advance != 0 {
			s = fmt.Sprintf("Consume(%d)", d.advance)
		} else {
			s = fmt.Sprintf("Need(%d)", d.start)
		}
	}
	if d.flags&checkedBit != 0 {
		s += ".Checked()"
	}
	if k := d.Kind(); k != 0 {
		s += fmt.Sprintf(".WithKind(%d)", k)
	}
	if d.flags&finalBit != 0 {
		s += ".Final()"
	}
	return s
}

// DecodeState is the per-stream state of a decoder, owned by the Deframer
// and passed to every Decode call. The zero value is a stream at a frame
// boundary.
type DecodeState struct {
	// Limit is the largest frame, in payload bytes, that the Deframer
	// accepts; 0 while it skips an oversized frame. Decoders only read
	// it, and only scanning decoders need it (see OverLimit).
	Limit int
	// Scanned is how many bytes at the front of the buffer the decoder has
	// already examined without finding the end of the frame, so that it
	// never rescans them. The Deframer resets it to zero whenever bytes
	// are consumed.
	Scanned int
	// Carry is a number a scanning decoder keeps alongside Scanned (the
	// escape bytes in the scanned part of a stuffed frame, to know its
	// decoded size while scanning). Reset with Scanned.
	Carry int64
	// Stream is codec state that survives frame boundaries: a protocol's
	// stage (startup, then regular messages), a continuation in progress.
	// Only the decoder sets it; the Deframer resets it to zero only when
	// the stream is reset (Deframer.Reset).
	Stream uint64
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
// header and trailer, without copying it. Its AppendFrame must give the
// same bytes as AppendHeader, payload[skip:] and AppendTrailer (the fuzz
// suite checks it).
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
