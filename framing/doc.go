// Package framing turns a byte stream into a stream of messages and back:
// codecs say where frames start and end, and this package does all the I/O.
//
// Concurrency: any number of goroutines may write frames at once; one
// goroutine at a time may read.
//
// Buffers: a frame returned by ReadFrame is a view into the Reader's buffer,
// valid until the next call on the Reader; ReadFrameInto returns a copy,
// and ReadFrameOwned a frame to keep (small ones share blocks).
//
// The shortest working use, with a codec from the lengthprefix package:
//
//	c := framing.NewConn(conn, lengthprefix.U32BE, nil)
//	err := c.WriteFrame([]byte("hello")) // one whole frame on the wire
//	msg, err := c.ReadFrame()            // one whole frame, however TCP cut it
//
// # What the Reader guarantees, for every codec
//
// A frame is returned only when complete, whatever the chunking of the
// underlying reads. A stream that ends between frames gives io.EOF; one
// that ends inside a frame gives an *UnexpectedEOFError (errors.Is
// io.ErrUnexpectedEOF). A deadline that fires in the middle of a frame loses
// nothing: the next ReadFrame continues the same frame. The size limit
// (Options.MaxFrameSize, 8 MiB by default) is checked from the header,
// before memory is allocated; buffers grow with the bytes actually
// received, at most doubling per step and never past 1.5 times a frame's
// declared size, and go back to a shared pool at a frame boundary. An idle
// Reader holds no buffer, with one exception: when its last read filled
// the buffer (a busy stream, more bytes likely waiting), it keeps that
// buffer for the next read, which may then block. While reads keep filling
// it, a stream of small frames is read in pieces that double up to 64 KiB
// (so that a server answering each read writes once per 64 KiB, as a
// bufio.Reader of that size would; not under a memory budget); otherwise
// the buffer kept is at most four times Options.InitialBufferSize unless
// the stream's frames are that large. Conn.Close and Reader.Release give
// every buffer back.
// Nothing is rescanned: the cost is linear in the bytes read.
//
// # Errors
//
// Every error is in one of three classes, given by Classify: Temporary (a
// deadline: call again to resume), Rejected (one frame refused: the next
// call goes on with the following frame), Fatal (sticky: every later call
// returns it). The typed errors (*FrameTooLargeError, *CorruptError,
// *UnexpectedEOFError, *PayloadError, *WriterBrokenError) match the
// sentinels ErrFrameTooLarge, ErrCorrupt, io.ErrUnexpectedEOF, ErrPayload
// and ErrWriterBroken with errors.Is.
//
// # Writing a codec
//
// A Decoder is pure logic over bytes, like a bufio.SplitFunc that can
// resume, and it states facts only: given the bytes buffered so far, a
// complete frame (Frame), a frame whose bounds its header gives
// (NeedFrame), how many bytes it needs (Need), a frame found over the
// limit while scanning (OverLimit), or an error. It never decides what to
// do about the size limit: the engine does, for every codec, under the
// Reader's Options. Its per-stream state lives in the DecodeState the
// engine owns, so one codec value serves every connection. An Encoder
// appends a frame to a buffer; a WrapEncoder, whose framing is only a
// header and a trailer, lets the Writer send a large payload without
// copying it.
//
// # Which read, which write
//
//   - The next message, handled before the next read: ReadFrame, a view
//     valid until the next read call, 0 allocations per frame. Conn.Frames
//     ranges over them (Go 1.23+).
//   - A copy in memory you manage: ReadFrameInto(dst), appended to dst; a
//     large frame of a length codec is read straight into it (one copy).
//   - A message to keep: ReadFrameOwned, small frames carved from shared
//     4 KiB blocks (one allocation per block).
//   - A huge message without holding it: ReadBody, an io.Reader over the
//     payload (for codecs whose header gives the size; others buffer the
//     frame first).
//   - Frames from bytes you already have (an event loop, a capture): a
//     Deframer, Push and Next, no goroutine and no read.
//   - To send and know it was written: WriteFrame, one system call per
//     frame when it writes alone, safe from any number of goroutines,
//     which share vectored writes. Several frames at once: WriteFrames, one
//     vectored call.
//   - To answer requests: BufferFrame on a Conn, which writes what was
//     buffered before its next network read, on Flush and on Close (one
//     system call per burst of replies).
//   - One goroutine writing many small frames: a Batch (Conn.NewBatch), no
//     lock per frame.
//
// # One engine, pulled or pushed
//
// A Reader pulls bytes from an io.Reader; a Deframer is the same engine
// fed by pushing bytes that the caller already has (an event loop's
// buffer, a reassembled packet capture). Both apply the same limit,
// fail-or-skip policy, budget and counters, and give the same frames and
// errors for the same bytes however they are cut.
//
// # Decoders that panic
//
// The engine does not recover a panic in a Decoder: a decoder that
// panics on some input is a bug, and the fuzz package's suite, which does
// recover and report the input, exists to find it before production does.
package framing
