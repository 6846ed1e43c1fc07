// Package goframe is a drop-in for github.com/smallnest/goframe v1.0.0,
// built on framekit: the same FrameConn, constructors, config structs and
// error variables, so goframe code switches by changing its import path.
//
//	import "github.com/framekit/framekit/compat/goframe" // was github.com/smallnest/goframe
//
//	fc := goframe.NewLengthFieldBasedFrameConn(
//		goframe.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
//		goframe.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4},
//		conn)
//	err := fc.WriteFrame([]byte("hello"))
//	frame, err := fc.ReadFrame() // a copy the caller keeps, as goframe's
//
// Code that wants errors from the constructors, framing.Options (another
// size limit, fail or skip), deadlines that resume or zero-copy reads uses
// compat/goframeconn, which this package is built on.
//
// # Where it differs from goframe v1.0.0
//
// Where goframe's behaviour is a bug, this package does what framekit
// guarantees instead:
//
//   - A frame is read correctly however the stream is cut. goframe reads a
//     length field with one Read: when only part of the field has arrived
//     it takes the missing bytes as zeros, returns a wrong frame and is out
//     of step with the stream from then on. With LengthFieldOffset > 0 it
//     reads the bytes before the field from the raw conn, past its buffer,
//     and loses the frames buffered there.
//   - Frames larger than 8 MiB (framing.DefaultMaxFrameSize) are refused
//     from their header, before any memory is allocated, with a fatal
//     *framing.FrameTooLargeError; goframe allocates whatever the length
//     field says (4 GiB for a 4-byte field) before reading the body. The
//     fixed-length conn raises the limit to its frame size. Use goframeconn
//     for another limit.
//   - A negative adjusted length (or an 8-byte field of 2^63 or more) is a
//     *framing.CorruptError that also matches ErrTooLessLength; goframe
//     panics in make.
//   - The stream ending between frames is io.EOF itself (err == io.EOF
//     works, as goframe code expects); ending inside a frame is an error
//     that matches io.ErrUnexpectedEOF, with no partial frame. goframe gives
//     io.EOF when only a header had arrived, returns an unterminated last
//     line with io.EOF, and a zero-padded fixed-length frame with
//     io.ErrUnexpectedEOF.
//   - The delimiter conn reads frames, without their delimiter, as the line
//     conn does; goframe v1.0.0's ReadFrame returns (nil, nil) without
//     reading.
//   - WriteFrame refuses, before anything is written, a payload that would
//     not read back as one frame: one containing the delimiter of a line or
//     delimiter conn (goframe writes it, and the peer reads two frames), or
//     one too long for a 4-byte field (goframe writes the length
//     truncated). A failed write is reported (goframe ignores the error of
//     its Flush). Frames of concurrent writers never interleave (goframe
//     v1.0.0 has no locks).
//   - A configuration that cannot work never panics: the FrameConn's calls
//     return its error, without touching the connection. A
//     LengthFieldLength other than 1, 2, 3, 4 or 8 gives
//     ErrUnsupportedlength from the calls in its direction only (WriteFrame
//     for the EncoderConfig, ReadFrame for the DecoderConfig), as in
//     goframe. A frame length below 1 gives an error matching
//     ErrUnexpectedFixedLength from ReadFrame and WriteFrame (goframe
//     panics, or returns empty frames forever). These give a *framing.ConfigError: a nil
//     ByteOrder for a field wider than one byte (goframe panics on nil for
//     2, 4 and 8 bytes and reads 3 as big-endian); a negative
//     LengthFieldOffset (goframe reads it as 0); a negative
//     InitialBytesToStrip (goframe panics), or one beyond the fixed header
//     (goframe strips into the body, and panics on a frame shorter than
//     that).
//   - ReadN grows its buffer with the bytes that arrive and returns the
//     bytes read with its error; goframe allocates n bytes first and returns
//     all n, zero-padded, on a short read. A negative n is an error
//     matching ErrTooLessLength (goframe panics).
//
// Where goframe returns one of its error variables (a LengthFieldLength
// it does not take, a payload adjusted below zero, a payload that is not a
// multiple of the fixed length), this package returns that variable
// itself, so == works. Other errors are framekit's typed errors (see
// framing.Classify); where goframe would have panicked they are wrapped so
// that errors.Is also finds the goframe variable that names the problem.
// io.EOF between frames is io.EOF itself.
//
// As in goframe, Conn returns the underlying connection, and bytes already
// read from it into the FrameConn's buffer are not seen by reads on it.
package goframe
