// Package lengthprefix frames messages with a length field: a fixed header
// holding the frame's length (Netty's LengthFieldBasedFrameDecoder layouts),
// or an unsigned varint prefix (protobuf, libp2p msgio).
//
// The shortest working use is a preset with the framing package:
//
//	w := framing.NewWriter(conn, lengthprefix.U32BE, nil)
//	err := w.WriteFrame([]byte("hello")) // sends 00 00 00 05 h e l l o
//
//	r := framing.NewReader(conn, lengthprefix.U32BE, nil)
//	msg, err := r.ReadFrame() // "hello", however TCP cut the bytes
//
// # Layouts
//
// A Config describes a frame as a fixed header that holds a length field
// whose value is L, followed by the rest of the frame:
//
//	|<- Offset ->|<-- Size -->|<------ L + Adjust ------>|
//	+------------+------------+--------------------------+
//	| header     | length: L  | rest of the frame        |
//	+------------+------------+--------------------------+
//	|<---------- frame: Offset + Size + L + Adjust ----->|
//	|<------ Strip ------>|    removed before returning
//
// Adjust corrects for what L counts: 0 when L counts the bytes after the
// field, -(Offset+Size) when L counts the whole frame (IncludesHeader), a
// positive number when more header bytes follow the field and L does not
// count them. Strip bytes are removed from the front of the frame before it
// is returned:
//
//	on the wire:  [ 0xCA | 00 0C | 0xFE | "HELLO, WORLD" ]   Offset 1, Size 2,
//	                                                          Adjust 1, Strip 3
//	returned:                    [ 0xFE | "HELLO, WORLD" ]
//
// The common case, a length prefix that is not returned (the presets U8 to
// U64BE, DNSOverTCP, Kafka):
//
//	on the wire:  [ 00 00 00 05 | h e l l o ]   Offset 0, Size 4, Strip 4
//	returned:                   [ h e l l o ]
//
// A header kept whole (TLSRecord: content type, version, then the length):
//
//	on the wire:  [ 17 | 03 03 | 00 05 | h e l l o ]   Offset 3, Size 2, Strip 0
//	returned:     [ 17 | 03 03 | 00 05 | h e l l o ]
//
// # Encoding
//
// An encoder exists where the frame can be rebuilt from what the caller
// passes, which New checks when the codec is built:
//
//   - Strip 0: the caller passes the whole frame, header included, and the
//     encoder fills the length field in a copy of that header (the caller's
//     bytes are never modified). This serves protocols with type or version
//     bytes before the length, such as TLSRecord.
//   - Offset 0 and Strip = Size: the caller passes the body, and the encoder
//     writes the length field in front of it.
//
// Every other layout is decode-only: build it with NewDecoder. A payload
// whose length the field cannot hold gets a *framing.PayloadError and
// nothing is written.
//
// # Netty equivalents
//
// Config's fields are LengthFieldBasedFrameDecoder's constructor arguments:
// Offset is lengthFieldOffset, Size lengthFieldLength, Adjust
// lengthAdjustment, Strip initialBytesToStrip, and Order the byte order.
// Netty's maxFrameLength counts the whole frame, header included; the
// framing limit (framing.Options.MaxFrameSize) counts the bytes ReadFrame
// returns, after the strip, so the same limit is
//
//	MaxFrameSize = maxFrameLength - initialBytesToStrip
//
// Netty's LengthFieldPrepender(n) is Config{Size: n, Strip: n}, and
// LengthFieldPrepender(n, lengthIncludesLengthFieldLength = true) is the same
// with IncludesHeader. The prepender's own lengthAdjustment a is Adjust = -a
// here (the decoder's sign). Netty reads an 8-byte field as a signed long,
// and so does this package: an 8-byte value of 2^63 or more is corrupt.
//
// # Limits and errors
//
// The decoders report a frame's bounds as soon as its header is buffered,
// and the Reader compares its size with the limit before any of the body
// is buffered, so a length field cannot make the Reader allocate. A field
// too narrow to reach the limit simply never exceeds it. A frame of 2^63 bytes or more (an 8-byte field or a varint
// near its largest value) is refused even under the skip policy: no stream
// could skip it. Impossible lengths (a negative signed field, a length
// that Adjust makes negative, a malformed varint) are
// *framing.CorruptError values.
package lengthprefix
