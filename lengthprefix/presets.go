package lengthprefix

// Presets: ready-to-use codecs for common formats. They are shared values,
// safe for any number of connections at once.
var (
	// U8 is a 1-byte length prefix, stripped on read: payloads up to 255
	// bytes.
	U8 = mustNew(Config{Size: 1, Strip: 1})
	// U16BE is a 2-byte big-endian length prefix, stripped on read:
	// payloads up to 65,535 bytes.
	U16BE = mustNew(Config{Size: 2, Strip: 2})
	// U16LE is a 2-byte little-endian length prefix, stripped on read.
	U16LE = mustNew(Config{Size: 2, Order: LittleEndian, Strip: 2})
	// U24BE is a 3-byte big-endian length prefix, stripped on read:
	// payloads up to 16 MiB - 1.
	U24BE = mustNew(Config{Size: 3, Strip: 3})
	// U32BE is a 4-byte big-endian length prefix, stripped on read: the
	// most common framing of all (Netty's LengthFieldPrepender(4), the
	// classic Python struct.pack(">I", len(msg)) servers).
	U32BE = mustNew(Config{Size: 4, Strip: 4})
	// U32LE is a 4-byte little-endian length prefix, stripped on read.
	U32LE = mustNew(Config{Size: 4, Order: LittleEndian, Strip: 4})
	// U64BE is an 8-byte big-endian length prefix, stripped on read. As in
	// Netty, the field is read as a signed 64-bit integer: a length of 2^63
	// or more is corrupt.
	U64BE = mustNew(Config{Size: 8, Strip: 8})

	// Uvarint is an unsigned varint length prefix, stripped on read
	// (protobuf length-delimited messages, libp2p msgio); see VarintCodec.
	Uvarint = &VarintCodec{}

	// UvarintStrict is Uvarint that refuses non-minimal varints and
	// varints longer than the Reader's limit needs; see VarintCodec.Strict.
	UvarintStrict = &VarintCodec{Strict: true}

	// DNSOverTCP is DNS over TCP (RFC 1035 section 4.2.2, RFC 7766): each
	// message is preceded by its length as a 2-byte big-endian integer,
	// stripped on read.
	DNSOverTCP = mustNew(Config{Size: 2, Strip: 2})
	// Kafka is the Kafka wire protocol's framing: a request or response is
	// preceded by its size as a big-endian signed int32, stripped on read;
	// a negative size is a corrupt stream.
	Kafka = mustNew(Config{Size: 4, Signed: true, Strip: 4})
	// TLSRecord is the TLS record layer (RFC 8446 section 5.1): a 5-byte
	// header of content type (1 byte), legacy version (2 bytes) and the
	// length of the fragment that follows (2 bytes, big-endian). The header
	// is kept: a decoded frame is the whole record. To encode, pass the
	// whole record, header included; the length is filled in a copy of the
	// header, whatever the caller's length bytes hold.
	TLSRecord = mustNew(Config{Offset: 3, Size: 2})
)
