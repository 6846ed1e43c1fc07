// Package fuzz is a test harness for message framing: it cuts byte streams
// the ways a network does, and checks that a codec, or a framer written by
// hand, survives every one of them. framekit's own codecs run through all of
// it in their tests; it is meant as much for yours.
//
// # Testing your codec
//
// Three lines run the whole conformance suite on a framing.Codec:
//
//	func TestMyCodec(t *testing.T) {
//		fuzz.Conformance(t, mycodec.New(), nil)
//	}
//
// and two more make a native fuzz target (go test -fuzz=FuzzMyCodec) with the
// same invariants, fed arbitrary bytes:
//
//	func FuzzMyCodec(f *testing.F) {
//		f.Fuzz(func(t *testing.T, data []byte) { fuzz.Decode(t, mycodec.New(), data) })
//	}
//
// Push is the body of a target for the push engine (framing.Deframer, fed
// the fuzzer's bytes in the fuzzer's pieces), RoundTrip of one for the
// encoder, and ReadPaths runs the readpaths check below on a stream of your
// choosing, for a decoder that has no encoder.
//
// A framer that does its own I/O (not built on framing's interfaces) runs
// through the same suite with ConformanceFramer, given a function that
// builds it on a net.Conn.
//
// The suite's checks, each a subtest (run one with -run 'TestMyCodec/deadline'):
//
//   - roundtrip: a stream of frames of many sizes read back exactly when cut
//     whole, into pieces of 1, 2, 3, 7 and 64 bytes, into random pieces, and
//     at every offset inside each frame's first HeaderBytes and last
//     TrailerBytes bytes (after 1, 2, 3 bytes of a length field or a varint,
//     between \r and \n);
//   - stream: a writer and a reader running together over a Pipe with a small
//     buffer, so writes block, split and coalesce;
//   - truncation: a short stream cut at every byte offset gives the frames
//     before the cut, then io.EOF at a frame boundary and an error matching
//     io.ErrUnexpectedEOF inside a frame (for a codec with a FinalAtEOF
//     method that returns true, such as delimiter.LinesAtEOF, the bytes
//     before the cut as a last frame, then io.EOF: the bigframe and budget
//     checks expect the same);
//   - hostile: random bytes and Options.Hostile streams give no panic, no
//     frame over the limit, an end, and memory in proportion to the input;
//     for a codec also only framing's error kinds, none temporary, and
//     sticky fatal errors (the invariants Decode checks too);
//   - limits/fail and limits/skip: frames under, at and over a limit, under
//     both policies (for a codec, framing's Options.Oversize Fail and Skip:
//     the Reader applies the policy, the codec only states sizes);
//   - bigframe: the first bytes of a 4 MiB frame allocate next to nothing,
//     whatever the header declares;
//   - deadline: a read deadline fires after each byte offset of a frame has
//     been consumed, and the next read resumes the same frame;
//   - writers: 32 goroutines write at once; every frame arrives whole and in
//     its writer's order;
//   - writepaths (codecs): every write path of a framing.Writer (WriteFrame,
//     WriteFrames, BufferFrame and Flush, a Batch's BufferFrame and Flush),
//     to a destination that takes vectored writes and to one that does not,
//     puts AppendFrame's bytes on the wire, which read back as the payloads;
//   - readpaths (codecs): the same bytes (frames of many sizes, a 100 KiB
//     frame, frames over a limit under both policies, truncated streams,
//     Options.Hostile and random bytes) read through every read path
//     (ReadFrame, ReadFrameInto with and without room in dst,
//     ReadFrameOwned, ReadBody, and a Deframer pushed pieces of the stream),
//     cut whole, into 1-byte pieces and at random, give the same frames, the
//     same errors (dynamic type and framing.Classify class) and the same
//     classes as ReadFrame on the whole stream (an error class that depends
//     on where the stream was cut is a failure here);
//   - escapes (codecs whose frames end in a delimiter): a frame made only of
//     the codec's escaped bytes, a run of one stuffing byte (an escape, a
//     COBS code) and a run of a prefix of the delimiter ("\r" for "\r\n"),
//     4 MiB of it streaming in under a 16 KiB limit, is refused (skipped
//     under framing.Skip, like any oversized frame, and the next frame is
//     read) while the Reader's buffers, its allocations and the heap in use
//     (sampled as the bytes arrive) stay within 8 times the limit plus
//     512 KiB, and any error is framing's too-large or corrupt. A codec
//     whose frames end in a fixed trailer but count their payload (a
//     netstring, an HTTP chunk) may refuse a run of a length digit as a
//     corrupt stream under framing.Skip too, fatally: the suite allows it
//     when the codec refuses a short run of the same bytes (64 of them,
//     under the default limit) as corrupt, so the bytes are no frame at any
//     size, and when the long run is refused within the limit plus 64 KiB
//     of it;
//   - budget (codecs): every byte a Reader draws from a framing.Budget is
//     back however the connection ends: with the error that ends the stream
//     (io.EOF, an unexpected EOF, a fatal error; after rejected errors and
//     random bytes too), and on Close after a read deadline mid-frame,
//     Detach (which returns every byte received and not read), Close with a
//     ReadBody's Body half read, Reader.Release and Deframer.Release;
//   - stats (codecs): framing.Stats agree with what the reads returned
//     (FramesRead, BytesRead, Largest, Skipped, TooLarge, Corrupt,
//     OverBudget) through a Conn and a Deframer (pushed 4 KiB at a time),
//     for frames, frames over a limit under both policies, random bytes
//     and a frame refused by a budget; and FramesWritten and BytesWritten
//     with what was written.
//
// A staged protocol's streams all start with its first stage (an HTTP/2
// preface, a PROXY header, a PostgreSQL StartupMessage): Options.Preface
// says so, and every check then writes it first and reads it back first,
// with its kind (Options.PrefaceKind), before the frames it models.
//
// Every payload a codec's suite writes is also held to the encoder's
// contract: a refused payload is refused with a *framing.PayloadError and
// nothing appended, and a framing.WrapEncoder's AppendFrame gives the bytes
// of AppendHeader, payload[skip:] and AppendTrailer (a Writer sends large
// payloads the second way and buffered or batched frames the first).
//
// # Decoders that panic
//
// The suite, Decode, Push and ReadPaths hand a decoder exactly the buffered
// bytes (buf[:n:n], as framing does) and recover its panic: the failure
// names the Decode call that panicked (the stream's first, second, ...),
// its len(buf), the first bytes of buf, the DecodeState it got, the
// Decoded the call before returned, where it panicked, and the seed. An
// engine that calls Decode far more often than the stream's length
// justifies is reported as looping instead of hanging the test.
//
// framing's own Readers, Conns and Deframers do not recover a decoder's
// panic: a Decoder must never panic, whatever buf holds, so a panic is a
// bug in the codec, which the suite and the fuzz targets are there to
// catch; recovering it in production would hide it and leave a stream in
// an unknown state.
//
// Payloads come from Options.Payload (random bytes by default; Without for
// delimiter codecs, Sized for fixed-size frames). Everything is
// deterministic from Options.Seed: a failure names the seed, the cutting
// that failed, and the fewest cuts found that still fail (a greedy
// minimisation of at most 200 reruns), with the Options that replay it.
// Timing is made deterministic where it matters: the deadline check waits
// until the framer has consumed the bytes it was given and is blocked
// reading (Conn.WaitReadBlocked) before it sets a deadline in the past.
//
// # Transports
//
// The pieces are usable on their own. A Cutting says where a stream is cut
// (CutWhole, CutEvery, CutRandom, CutAt). NewReader re-cuts any io.Reader.
// Pipe is an in-memory net.Conn pair with TCP's semantics where net.Pipe
// has none: buffered and bounded (writes coalesce into one read, or block
// and come back partial at a write deadline), reads cut by a Cutting,
// deadlines that fire and can be reset, half-close, and an optional delay
// or reset after N bytes. NewProxy is a loopback TCP proxy that re-cuts a
// real connection in both directions, with TCP_NODELAY so that the pieces
// travel as separate segments.
package fuzz
