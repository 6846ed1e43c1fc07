// Package datagram carries frames over UDP (any net.PacketConn): it packs
// several small frames into one datagram up to a size limit, splits them out
// on receipt, and reports a datagram cut short by a too-small receive buffer
// as an error instead of returning short data.
//
//	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
//	c, err := datagram.New(pc, nil)
//	err = c.WriteFramesTo([][]byte{[]byte("a"), []byte("b")}, peer) // one datagram
//	msg, from, err := c.ReadFrame()                                  // "a", then "b"
//
// # Why
//
// A datagram socket has no split or sticky packets, but it has two traps of
// its own. Sending many small messages one datagram each costs a system call
// and 28 bytes of IP and UDP headers apiece. And reading a datagram into a
// buffer smaller than it returns the first bytes and silently drops the rest
// (Linux, BSD and macOS; Windows returns an error): the classic UDP echo
// programs that read into a 1024-byte buffer lose data this way without
// noticing. Here every datagram declares its own size, so truncation is
// always detected.
//
// # Wire format
//
// A datagram is a 4-byte header followed by one or more frames:
//
//	+------+---------+-------------+-------+---------+-------+---------+
//	| FD   | 01      | 00 0D       | 03    | a b c   | 04    | d e f g |
//	+------+---------+-------------+-------+---------+-------+---------+
//	 magic  version   size: 13      length  payload   length  payload
//
// The fields:
//
//   - magic 0xFD, a byte that never occurs in UTF-8 text, so stray text
//     datagrams are told apart at once;
//   - version 1;
//   - size, 2 bytes big-endian: the whole datagram's length, header
//     included. A datagram that arrives shorter than its size filled the
//     receive buffer (a *TruncatedError) or was forged (a *CorruptError);
//   - each frame: its payload length as a minimal unsigned varint (one byte
//     below 128, two below 16384, three above), then the payload. Empty
//     frames are allowed; a datagram holds at least one frame, and its
//     frames fill it exactly.
//
// Every valid datagram has exactly one encoding, so anything else (a trailing
// byte, a varint with redundant continuation bytes, a length past the end) is
// corrupt. A frame never spans datagrams: a payload larger than MaxPayload is
// refused with a *framing.PayloadError before anything is sent.
//
// # Errors
//
// A datagram that cannot be read whole and intact (truncated, corrupt,
// foreign) is dropped as a whole, none of its frames returned, and reported
// once: *TruncatedError (errors.Is ErrTruncated) or *CorruptError (errors.Is
// framing.ErrCorrupt), both framing.Rejected, so the next ReadFrame goes on
// with the next datagram. Errors of the PacketConn (a deadline, a closed
// socket) are returned as they are; framing.Classify tells a deadline
// (Temporary: nothing was lost) from the rest. A failed send loses the frames
// of that datagram only: datagrams are atomic, so the Conn stays usable.
//
// # Concurrency
//
// Any number of goroutines may write at once; one goroutine at a time may
// read. A frame returned by ReadFrame or ReadFrames is a view into the
// receive buffer, valid until the next read call. Once the send and receive
// buffers exist, reading and writing allocate nothing per frame (the
// PacketConn may: *net.UDPConn allocates the sender's address of each
// datagram it reads).
package datagram
