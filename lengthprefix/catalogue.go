package lengthprefix

import (
	"bytes"
	"crypto/sha256"
	"errors"
)

// The catalogue: presets for deployed binary protocols, each a Config of
// this package (staged and continued protocols have codecs of their own:
// PostgresFrontend, PostgresBackend, MySQL, Preamble). Unless a preset says
// otherwise it keeps the whole frame, header included (Strip 0), and its
// encoder takes the whole frame and fills in the length (and the fixed
// bytes and checksums the preset checks). The table in the package
// documentation lists them with what each was checked against.
var (
	// MQTT is an MQTT 3.1.1 / 5.0 control packet (MQTT 3.1.1 section 2.2,
	// MQTT 5.0 section 2.1): a fixed header byte (packet type and flags),
	// the remaining length as a varint of 1 to 4 bytes (at most
	// 268,435,455), then that many bytes.
	//
	//	[ 30 | 0B | 00 03 't' 'o' 'p' 'h' 'e' 'l' 'l' 'o' 'o' ]  PUBLISH QoS 0
	//	  type  remaining length 11
	MQTT = mustNew(Config{Offset: 1, Size: 4, Varint: true})

	// AMQP is an AMQP 0-9-1 frame (AMQP 0-9-1 section 2.3.5, 4.2.3): type
	// (1 byte), channel (2), payload size (4, big-endian), the payload,
	// then the frame-end octet 0xCE, which is checked and not returned. A
	// client's stream starts with the protocol header "AMQP\x00\x00\x09\x01":
	// use AMQPClient for that direction.
	//
	//	[ 01 | 00 01 | 00 00 00 04 | 00 0A 00 0A | CE ]
	//	 type channel  size 4        payload       frame-end
	AMQP = mustNew(Config{Offset: 3, Size: 4, Adjust: 1, Checks: &Checks{Trailer: []byte{0xCE}}})

	// HTTP2Frame is an HTTP/2 frame (RFC 9113 section 4.1): a 24-bit
	// payload length, type (1), flags (1) and stream identifier (4), then
	// the payload. A client's stream starts with the connection preface:
	// use HTTP2Client for that direction.
	//
	//	[ 00 00 04 | 08 | 00 | 00 00 00 00 | 00 00 FF FF ]  WINDOW_UPDATE
	HTTP2Frame = mustNew(Config{Size: 3, Adjust: 6})

	// GRPC is a gRPC length-prefixed message (gRPC over HTTP/2,
	// "Length-Prefixed-Message"): a compressed flag (1 byte), the message
	// length (4, big-endian), the message. The flag is kept.
	GRPC = mustNew(Config{Offset: 1, Size: 4})

	// ModbusTCP is a Modbus/TCP ADU (Modbus Messaging on TCP/IP
	// Implementation Guide v1.0b, section 3.1.3): transaction (2),
	// protocol identifier 0x0000 (2, checked), length (2, counting the unit
	// identifier and the PDU), unit identifier (1), PDU.
	//
	//	[ 00 01 | 00 00 | 00 06 | 11 | 03 00 6B 00 03 ]
	ModbusTCP = mustNew(Config{Offset: 4, Size: 2, Checks: &Checks{Fixed: []Fixed{{Offset: 2, Bytes: []byte{0, 0}}}}})

	// TPKT is an RFC 1006 TPKT packet (ISO transport over TCP, used by RDP
	// and S7): version 3 (checked), reserved (1), packet length (2,
	// big-endian, counting the 4-byte header).
	//
	//	[ 03 | 00 | 00 07 | 02 F0 80 ]
	TPKT = mustNew(Config{Offset: 2, Size: 2, IncludesHeader: true, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: []byte{3}}}}})

	// SMB2 is SMB2/SMB3 over direct TCP (MS-SMB2 section 2.1): a zero byte
	// (checked) and a 24-bit big-endian StreamProtocolLength, then the SMB2
	// message.
	SMB2 = mustNew(Config{Offset: 1, Size: 3, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: []byte{0}}}}})

	// Diameter is a Diameter message (RFC 6733 section 3): version 1
	// (checked), a 24-bit message length counting the whole message, then
	// the rest of the 20-byte header and the AVPs.
	Diameter = mustNew(Config{Offset: 1, Size: 3, IncludesHeader: true, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: []byte{1}}}}})

	// BGP is a BGP-4 message (RFC 4271 section 4.1): a marker of sixteen
	// 0xFF bytes (checked), a 2-byte length counting the whole message
	// (19 to 4,096; RFC 8654 allows 65,535), the type, the body.
	BGP = mustNew(Config{Offset: 16, Size: 2, IncludesHeader: true, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: bytes.Repeat([]byte{0xFF}, 16)}}}})

	// OpenFlow is an OpenFlow message (OpenFlow Switch Specification
	// 1.0 to 1.5, ofp_header): version (1), type (1), length (2, counting
	// the whole message), xid (4).
	OpenFlow = mustNew(Config{Offset: 2, Size: 2, IncludesHeader: true})

	// MemcachedRequest and MemcachedResponse are memcached binary protocol
	// packets (the memcached binary protocol specification, section 3): a
	// 24-byte header with the magic byte (0x80 request, 0x81 response,
	// checked), and the total body length (4 bytes at offset 8) counting
	// what follows the header.
	//
	//	[ 80 | 00 | 00 05 | 00 | 00 | 00 00 | 00 00 00 05 | 00 00 00 00 | 00 x 8 | "Hello" ]
	//	 magic get  keylen  ext  type vbucket body length   opaque        cas       key
	MemcachedRequest  = mustNew(Config{Offset: 8, Size: 4, Adjust: 12, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: []byte{0x80}}}}})
	MemcachedResponse = mustNew(Config{Offset: 8, Size: 4, Adjust: 12, Checks: &Checks{Fixed: []Fixed{{Offset: 0, Bytes: []byte{0x81}}}}})

	// CQL is a Cassandra native protocol v4 frame (native_protocol_v4.spec
	// section 2): version (1: 0x04 request, 0x84 response), flags (1),
	// stream (2), opcode (1), body length (4, big-endian), body. The body
	// length is a signed int.
	CQL = mustNew(Config{Offset: 5, Size: 4, Signed: true})

	// MongoDB is a MongoDB wire protocol message (MongoDB Wire Protocol,
	// "Standard Message Header"): messageLength (int32 little-endian,
	// counting the whole message), requestID, responseTo, opCode.
	MongoDB = mustNew(Config{Size: 4, Order: LittleEndian, Signed: true, IncludesHeader: true})

	// Bitcoin is a Bitcoin P2P message on mainnet (the Bitcoin protocol
	// documentation, "Message structure"): magic F9 BE B4 D9 (checked),
	// command (12 bytes), payload length (4, little-endian), checksum (the
	// first 4 bytes of SHA-256(SHA-256(payload)), checked and filled by the
	// encoder), payload.
	Bitcoin = mustNew(Config{Offset: 16, Size: 4, Order: LittleEndian, Adjust: 4, Checks: &Checks{
		Fixed: []Fixed{{Offset: 0, Bytes: []byte{0xF9, 0xBE, 0xB4, 0xD9}}},
		Check: bitcoinCheck,
		Seal:  bitcoinSeal,
	}})

	// ThriftFramed is Apache Thrift's TFramedTransport: a 4-byte
	// big-endian signed frame size, stripped on read, then the message.
	ThriftFramed = mustNew(Config{Size: 4, Signed: true, Strip: 4})
)

var errBitcoinChecksum = errors.New("bitcoin checksum mismatch: not the first 4 bytes of SHA-256d(payload)")

func bitcoinSum(payload []byte) [4]byte {
	h := sha256.Sum256(payload)
	h = sha256.Sum256(h[:])
	return [4]byte(h[:4])
}

func bitcoinCheck(frame []byte) error {
	if sum := bitcoinSum(frame[24:]); !bytes.Equal(sum[:], frame[20:24]) {
		return errBitcoinChecksum
	}
	return nil
}

func bitcoinSeal(head, body []byte) {
	sum := bitcoinSum(body)
	copy(head[20:24], sum[:])
}
