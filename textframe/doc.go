// Package textframe frames the text-headed protocols of the catalogue:
// LSP/JSON-RPC's Content-Length header block, JSON value streams,
// netstrings, syslog octet counting, git pkt-line, HTTP/1.1 chunked
// bodies, Redis RESP and STOMP. Each is a framing.Codec; the shortest
// working use is a preset with the framing package:
//
//	c := framing.NewConn(conn, textframe.LSP, nil)
//	err := c.WriteFrame([]byte(`{"jsonrpc":"2.0","method":"initialized","params":{}}`))
//	body, err := c.ReadFrame() // the next message's body
//
// The name says what the package holds (framings whose lengths, headers
// or ends are written as text) and stays clear of net/textproto, which
// reads text protocols' lines and headers but frames nothing.
//
// # Framings
//
// Content-Length (NewContentLength, LSP): a header block of CRLF lines
// ended by an empty line, one of them Content-Length, then that many
// bytes. Names are case-insensitive; the body is the frame, or, with
// KeepHeaders, the whole message (SplitHeader and Header.Get read its
// other headers):
//
//	on the wire:  [ Content-Length: 2 \r\n Content-Type: x \r\n \r\n | { } ]
//	returned:     [ { } ]
//
// JSON value stream (NewJSON, JSONStream, JSONArrayElements): values one
// after the other, whitespace between them skipped; a scalar needs
// whitespace or the end of the stream after it. With StreamArrayElements
// the elements of a top-level array are frames of their own (Netty's
// JsonObjectDecoder(streamArrayElements)). It splits, it does not
// validate: brackets are counted, not matched, and scalars are not
// checked.
//
//	on the wire:  [ {"a":"}"} \n [1,2] "s" 12 \n ]
//	returned:     [ {"a":"}"} ] [ [1,2] ] [ "s" ] [ 12 ]
//	elements:     [ [ 1 , {"b":2} ] ]  ->  [ 1 ] [ {"b":2} ]
//
// netstring (Netstring), RFC 6587 octet counting (OctetCounting, with the
// LF-ended framing of §3.4.2 for frames that do not start with a digit):
//
//	on the wire:  [ 5 : h e l l o , ]        [ 5 SP h e l l o ]
//	returned:     [ h e l l o ]              [ h e l l o ]
//
// git pkt-line (PktLine): four hex digits counting themselves, then data;
// "0000", "0001" and "0002" are empty frames of kinds PktFlush, PktDelim
// and PktResponseEnd (framing.Reader.Kind):
//
//	on the wire:  [ 0 0 0 a h e l l o \n | 0 0 0 0 ]
//	returned:     [ h e l l o \n ] [ ] kind PktFlush
//
// HTTP/1.1 chunked (NewChunked, HTTPChunked): each chunk's data is a
// frame; the last chunk is a final frame of kind ChunkLast carrying the
// trailer section, after which the Reader returns framing.ErrFinal and
// Detach returns the bytes that follow the body (the next message):
//
//	on the wire:  [ 5 \r\n h e l l o \r\n | 0 \r\n \r\n | HTTP/1.1 200 ... ]
//	returned:     [ h e l l o ] [ ] kind ChunkLast, final; Detach: [ HTTP/1.1 200 ... ]
//
// Chunk extensions are checked (RFC 9112 §7.1.1); with KeepExtensions a
// frame is the whole chunk, and SplitChunk and ChunkExtensions.Get read
// them:
//
//	on the wire:  [ 5 ; a = 1 \r\n h e l l o \r\n ]
//	returned:     [ 5 ; a = 1 \r\n h e l l o ]  SplitChunk: [ ; a = 1 ] [ h e l l o ], Get("a"): [ 1 ]
//
// RESP2 and RESP3 (NewRESP, Redis): one frame per complete top-level
// value, bytes as on the wire, nested aggregates included; pushes (">")
// are of kind RESPPush, inline commands of kind RESPInline. An attribute
// ("|") is read with the value it annotates, as one frame. Streamed
// strings and aggregates ("$?", "*?") are refused with ErrUnsupported:
//
//	on the wire:  [ *2\r\n $3\r\nGET\r\n $1\r\nk\r\n | >2\r\n +message\r\n +x\r\n ]
//	returned:     [ *2\r\n$3\r\nGET\r\n$1\r\nk\r\n ] [ >2\r\n+message\r\n+x\r\n ] kind RESPPush
//
// STOMP 1.2 (NewSTOMP, STOMP12): command, headers and body up to the NUL,
// or by content-length; heart-beat line ends between frames are skipped:
//
//	on the wire:  [ \n | SEND \n content-length:1 \n \n \x00 \x00 ]
//	returned:     [ SEND \n content-length:1 \n \n \x00 ]
//
// STOMPFrame reads a frame's command, body and headers, unescaped (\c is
// ":", \n LF, \r CR, \\ a backslash, except in CONNECT and CONNECTED);
// an undefined escape such as \t is refused by the decoder (ErrEscape).
// AppendSTOMPHeader writes an escaped header line.
//
// # Limits and errors
//
// Every part has a limit enforced while it is scanned: header blocks,
// chunk-size lines and trailer sections (MaxHeader, MaxLine), digits (18
// decimal, 15 hex: a 2^63 length is malformed, never wrapped), payloads
// (framing.Options.MaxFrameSize, checked from a declared length before
// anything is read, or while a value is scanned), JSON and RESP depth
// (MaxDepth) and RESP elements (MaxElements, from each aggregate's
// header). A hostile length allocates nothing.
//
// Bad input is a *framing.CorruptError whose Offset is the stream offset
// of the frame it is in, and whose cause (errors.Is) is one of ErrJunk,
// ErrHeader, ErrHeaderTooLarge, ErrNoLength, ErrDuplicateLength,
// ErrBadLength, ErrTrailer, ErrDepth, ErrElements, ErrUnsupported,
// ErrSyntax, ErrEscape (STOMP) or ErrExtension (chunked). They are fatal: the frames before the bad one have been
// returned intact, and nothing after it is guessed at.
//
// # Writing
//
// Codecs whose framing is a header and a trailer around the payload
// (Content-Length, netstring, octet counting, pkt-line, chunked) write
// the payload from the caller's memory. JSON, RESP and STOMP (and
// Content-Length with KeepHeaders) take the already-encoded value or frame
// and refuse, with a *framing.PayloadError before anything is written,
// one that would not read back as exactly that frame. AppendPkt writes
// pkt-line's special packets and AppendLastChunk a chunked body's end.
//
// All codecs are immutable and safe for concurrent use.
package textframe
