// Package delimiter frames messages without a length field: frames end at a
// delimiter (lines, "\r\n\r\n", any byte strings, COBS and SLIP byte
// stuffing for binary payloads) or have a fixed size.
//
// The shortest working use is a preset with the framing package:
//
//	c := framing.NewConn(conn, delimiter.Lines, nil)
//	err := c.WriteFrame([]byte("PING"))  // sends "PING\n"
//	line, err := c.ReadFrame()           // "PONG", from "PONG\n" or "PONG\r\n"
//
// # Framings
//
// Delimiters (New, Lines, CRLFLines, CRLF), stripped unless
// Config.KeepDelimiter is set:
//
//	on the wire:  [ P I N G \r \n | h e l l o \n ]   Lines
//	returned:     [ P I N G ]       [ h e l l o ]
//
// When several delimiters match, the one that yields the shortest frame
// wins (Netty's DelimiterBasedFrameDecoder rule); between two that yield
// the same frame, the one listed first:
//
//	on the wire:  [ A B C \n | D E F \r \n ]         "\n" and "\r\n"
//	returned:     [ A B C ]    [ D E F ]
//
// COBS: 0x00 ends frames, and the payload is coded so that it holds no
// 0x00 (at most one byte more per 254, plus the delimiter):
//
//	payload:      [ 11 22 00 33 ]
//	on the wire:  [ 03 11 22 02 33 | 00 ]
//
// SLIP (RFC 1055): END (0xC0) ends frames; END and ESC (0xDB) in the
// payload are escaped:
//
//	payload:      [ 01 C0 02 DB ]
//	on the wire:  [ 01 DB DC 02 DB DD | C0 ]
//
// Fixed size (Fixed), nothing around the payload:
//
//	on the wire:  [ A B C D | E F G H ]   Fixed(4)
//	returned:     [ A B C D ] [ E F G H ]
//
// # Reading
//
// Scanning resumes where it stopped, so a frame delivered in many pieces is
// scanned once in total. The size limit (framing.Options.MaxFrameSize)
// counts the frame as ReadFrame returns it (with its delimiter only when
// kept, after unstuffing), and is enforced while scanning, before the frame
// is complete: a line with no end costs no more than the limit in memory.
// Under the skip policy the rest of an oversized frame is discarded up to
// its delimiter.
//
// Data that ends without a delimiter is an unexpected-EOF error
// (*framing.UnexpectedEOFError, with the number of missing bytes unknown):
// there is no silent last frame, unless Config.FinalAtEOF (or the
// LinesAtEOF preset) asks for one: then the bytes after the last delimiter
// are a last frame at a clean end of the stream, as bufio.Scanner gives.
//
// # Writing
//
// The delimiter codecs send the payload from the caller's memory followed
// by the first delimiter (they are framing.WrapEncoders), and refuse with a
// *framing.PayloadError, before anything is written, a payload that would
// not be read back intact. COBS sends any payload; SLIP any payload but an
// empty one (its decoder ignores empty frames, as RFC 1055 advises; COBS
// too ignores a 0x00 with nothing before it, and sends an empty payload as
// 01 00). Fixed refuses a payload of any other size.
//
// All codecs are immutable and safe for concurrent use. Decoding (stuffed
// frames are decoded in place, in the Reader's buffer) and encoding into a
// buffer with room allocate nothing, except to report an error.
package delimiter
