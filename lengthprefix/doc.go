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
// # Checks, varint lengths and resynchronising
//
// Config.Varint puts an unsigned varint length at any offset (MQTT's
// remaining length: a type byte, then 1 to 4 varint bytes). Config.Checks
// adds what a frame must hold besides a sane length: Fixed header bytes (a
// marker, a version, a magic number), a fixed Trailer (AMQP's 0xCE), a
// Checksum (CRC-32, CRC-32C or CRC-16/CCITT in either byte order, over the
// header and/or the payload, as a trailer or at a header offset) and a
// Check function of the caller's (with Seal to fill it in when encoding):
//
//	on the wire:  [ 00 0D | "123456789" | CB F4 39 26 ]   Size 2, Strip 2, CRC32IEEE trailer, From 2
//	returned:             [ "123456789" ]
//
// A check that fails is a *framing.CorruptError at the frame's offset,
// Fatal: the length itself may be what is corrupt. With Checks.Resync it
// is Rejected instead: the decoder scans forward from the frame's second
// byte for the next header that parses, is within the limit and passes
// the header's checks, drops the bytes before it (CorruptError.Dropped,
// counted in framing.Stats.Resynced) and decodes the frame there. The scan
// allocates nothing, holds at most a limit, and checking candidate frames
// may examine at most 4 times the bytes the stream consumes plus one
// limit, after which resynchronising gives up (Fatal): the cost stays
// linear whatever the bytes.
//
// # Staged protocols
//
// Some streams start framed one way and go on another: a fixed preamble
// (NewPreamble: HTTP2Client, AMQPClient), a PROXY protocol header
// (NewProxyHeader), PostgreSQL's untyped startup messages and the
// backend's one-byte answer to SSLRequest (PostgresFrontend,
// PostgresBackend). The stage change is visible as the frame's kind
// (KindPreamble, KindProxy, KindStartup, KindSSLRequest, KindSSLAccepted,
// ...), read with the Reader's Kind method. Where TLS follows, the frame
// is Final: the Reader stops after it and Detach hands over the bytes
// that follow, at the right byte. The stage lives in the Reader's
// per-stream state (framing.DecodeState.Stream), so codec values stay
// immutable and shared; the encoders need no stage, because the caller
// passes whole messages whose shape says their stage (the preamble's
// exact bytes, a PROXY signature, a PostgreSQL message starting with 0x00
// rather than a type letter, a one-byte 'S' or 'N').
//
// MySQL joins the packets of a message longer than 16 MiB - 1 (continued
// by 0xFFFFFF-length packets) into one frame, in place, under the same
// size limit as one frame.
//
// # Catalogue
//
// The presets for deployed protocols. Frames are whole messages (Strip 0)
// unless the layout says "stripped"; "checked against" names the real
// implementation the interop tests (interop/catalogue_test.go) ran it
// against, through a re-cutting proxy, re-encoding every frame on its way:
//
//	| protocol | name (Go / framecat) | layout | checks | encodes? | checked against | does not cover |
//	|---|---|---|---|---|---|---|
//	| MQTT 3.1.1 / 5.0 | `MQTT` / `mqtt` | type byte, varint remaining length (1-4 bytes) | varint at most 4 bytes (268,435,455) | yes: whole packet, minimal varint written | mosquitto 2.0.11 with mosquitto_pub/sub (Debian 12): QoS 0-2, 0 B-1 MiB | packet contents, per-type flag rules |
//	| AMQP 0-9-1 | `AMQP`, `AMQPClient` / `amqp`, `amqp-client` | type, channel, u32 size, payload, 0xCE | frame-end 0xCE; the protocol header exactly | yes | spec vectors (no broker run) | frame_max (set MaxFrameSize) |
//	| HTTP/2 | `HTTP2Frame`, `HTTP2Client` / `http2`, `http2-client` | u24 length, type, flags, stream id | the client preface exactly | yes | Node 20's http2, cleartext: preface and 1,000 requests | SETTINGS_MAX_FRAME_SIZE (set MaxFrameSize), h2c upgrade, streams |
//	| gRPC messages | `GRPC` / `grpc` | flag, u32 length | - | yes | spec vector | they travel in HTTP/2 DATA frames: no stream demultiplexing here |
//	| Modbus/TCP | `ModbusTCP` / `modbus` | transaction, protocol id, u16 length | protocol id 0 | yes | spec vector | the 260-byte ADU limit (set MaxFrameSize) |
//	| TPKT (RFC 1006) | `TPKT` / `tpkt` | version, reserved, u16 length with header | version 3 | yes | spec vector | X.224 inside |
//	| SMB2 direct TCP | `SMB2` / `smb2` | 0x00, u24 length | the zero byte | yes | spec vector | NetBIOS session types other than 0 |
//	| Diameter | `Diameter` / `diameter` | version, u24 length with header | version 1 | yes | spec vector | the 20-byte minimum, AVPs |
//	| BGP-4 | `BGP` / `bgp` | 16 x 0xFF, u16 length with header, type | the marker | yes | spec vector | the 19-4,096 range (set MaxFrameSize) |
//	| OpenFlow | `OpenFlow` / `openflow` | version, type, u16 length with header, xid | - | yes | spec vector | version negotiation |
//	| memcached binary | `MemcachedRequest`, `MemcachedResponse` / `memcached-req`, `memcached-resp` | 24-byte header, u32 body length at 8 | magic 0x80 / 0x81 | yes | memcached 1.6.18: set/get 0 B-1 MiB | the text protocol |
//	| Cassandra CQL v4 | `CQL` / `cql` | version, flags, stream, opcode, i32 length | signed length | yes | spec vector | compressed bodies, v5 segments |
//	| MongoDB wire | `MongoDB` / `mongodb` | i32 LE length with header | signed length | yes | spec vector | OP_COMPRESSED contents |
//	| Bitcoin P2P | `Bitcoin` / `bitcoin` | magic, command, u32 LE length, checksum | mainnet magic, SHA-256d checksum | yes, checksum filled | spec vector (verack) | other networks' magic (another Fixed) |
//	| Thrift framed | `ThriftFramed` / `thrift` | i32 length, stripped | signed length | yes | spec vector | THeader |
//	| PostgreSQL v3 | `PostgresFrontend`, `PostgresBackend` / `postgres-fe`, `postgres-be` | untyped startup (i32 length, code), then type + i32 length | startup 8-10,000 bytes, protocol 3.x; stages as kinds | yes, stage read from the message's shape | PostgreSQL 15.18 and psql: sslmode=disable (exact message sequence), sslmode=require (SSLRequest, 'S', hand-over) | what follows TLS or GSSAPI; COPY/replication meaning (same framing) |
//	| MySQL / MariaDB | `MySQL` / `mysql` | u24 LE length, sequence id; 0xFFFFFF continues | the whole message under one limit | yes, re-split and numbered | MariaDB 10.11.19 server and client: a 17,000,000-byte row | the compressed protocol, the TLS switch |
//	| PROXY v1/v2 | `NewProxyHeader(c)` / - | a v1 line or a v2 header, then c | v1 at most 107 bytes, v2 signature and version | yes | spec vectors | TLVs are returned, not parsed |
//	| DNS over TCP | `DNSOverTCP` / `dns` | u16 length, stripped | - | yes | spec vector | |
//	| TLS records | `TLSRecord` / `tls` | type, version, u16 length | - | yes | OpenSSL 3.0.19 s_server/s_client: handshake and 10 MiB | record protection |
//	| Kafka | `Kafka` / `kafka` | i32 length, stripped | signed length | yes | spec vector | |
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
