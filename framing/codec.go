package framing

// A Decoder finds frames in buffered bytes. It does no I/O: the Reader owns
// the buffer, the reads, EOF, deadlines and the per-stream DecodeState, and
// calls Decode whenever it has buffered enough bytes (see Decoded.Need).
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
	//   - a complete frame: Frame is true, the frame's payload is
	//     buf[Start:End], and Advance bytes are consumed;
	//   - bytes consumed without a frame (skipped input): Advance > 0,
	//     Frame false;
	//   - "need more": Advance 0, Frame false, and Need > len(buf) the number
	//     of buffered bytes the Reader must have before it calls again. Need
	//     is exact when NeedExact is set (length codecs, once the header is
	//     known) and a lower bound otherwise;
	//   - an error. The Reader applies Advance and DecodeState.Discard
	//     before it returns the error, so a decoder that rejects one frame
	//     (see ErrorClass) resumes with the next one.
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

// Decoded is what a Decoder says about the buffered bytes.
type Decoded struct {
	// Advance is how many bytes at the front of the buffer are consumed.
	Advance int
	// Start and End delimit the frame's payload in the buffer; valid only
	// when Frame is true.
	Start, End int
	// Frame reports that a complete frame was found.
	Frame bool
	// Need is, when nothing was consumed and no frame found, how many bytes
	// must be buffered before Decode is called again.
	Need int
	// NeedExact reports that Need is the exact size of the frame in the
	// buffer, so a stream that ends earlier is missing Need-len(buf) bytes.
	NeedExact bool
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
