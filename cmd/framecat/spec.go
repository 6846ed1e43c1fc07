package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// specForms lists the valid SPEC forms, for usage and for the message of a
// bad SPEC.
const specForms = `  u8 u16be u16le u24be u32be u32le u64be uvarint
  lines               frames end at \n or \r\n (encoded with \n)
  crlf                frames end at exactly \r\n
  delim:BYTES         frames end at BYTES; escapes \r \n \t \\ \xHH
  cobs  slip          byte stuffing: 0x00 (COBS) or 0xC0 (SLIP) ends frames
  fixed:N             frames of exactly N bytes (N >= 1)
` + textSpecForms + `
  len:KEY=VALUE,...   a length field; keys in any order, each at most once:
      size=1|2|3|4|8 (required)  offset=N (0)  order=be|le (be)
      adjust=N (0)  includes=true|false (false)  strip=N (offset+size)
      the frame is offset+size+L+adjust bytes, L the field's value;
      includes=true means L counts offset+size too; the first strip
      bytes of the frame are not printed
    extension keys (lengthprefix.Config and Checks):
      signed=true         the field is two's complement; negative is corrupt
      varint=true         the field is a varint of at most size (1-10) bytes
                          at offset (MQTT); strip defaults to 0
      fixed=OFF:HEX+...   header bytes checked on every frame (fixed=0:03)
      trailer=HEX         bytes every frame ends with (trailer=ce)
      crc=crc32|crc32c|crc16  a checksum (CRC-16/CCITT-FALSE), a trailer
                          unless crcat=N puts it at header offset N;
                          crcorder=be|le (be), crcfrom=N (0), crclen=N (all)
      resync=true         a frame failing a check is skipped, not fatal
  protocols (the frame is the whole message; see lengthprefix's catalogue):
      ` + protocolNames + `
  pairs (a codec per direction: proxy and decode --pcap; elsewhere name
  the direction's codec):
      postgres            postgres-fe client to server, postgres-be back`

// protocols are lengthprefix's catalogue presets by name.
var protocols = map[string]*lengthprefix.Codec{
	"mqtt": lengthprefix.MQTT, "amqp": lengthprefix.AMQP, "http2": lengthprefix.HTTP2Frame,
	"grpc": lengthprefix.GRPC, "modbus": lengthprefix.ModbusTCP, "tpkt": lengthprefix.TPKT,
	"smb2": lengthprefix.SMB2, "diameter": lengthprefix.Diameter, "bgp": lengthprefix.BGP,
	"openflow": lengthprefix.OpenFlow, "memcached-req": lengthprefix.MemcachedRequest,
	"memcached-resp": lengthprefix.MemcachedResponse, "cql": lengthprefix.CQL,
	"mongodb": lengthprefix.MongoDB, "bitcoin": lengthprefix.Bitcoin, "thrift": lengthprefix.ThriftFramed,
	"dns": lengthprefix.DNSOverTCP, "tls": lengthprefix.TLSRecord, "kafka": lengthprefix.Kafka,
}

// stagedProtocols are the catalogue's codecs of their own (a first stage,
// continued packets), with where their length field lies in a regular
// message.
var stagedProtocols = map[string]struct {
	c             framing.Codec
	off, fieldLen int
}{
	"postgres-fe":  {lengthprefix.PostgresFrontend, 1, 4},
	"postgres-be":  {lengthprefix.PostgresBackend, 1, 4},
	"mysql":        {lengthprefix.MySQL, 0, 3},
	"http2-client": {lengthprefix.HTTP2Client, 0, 3},
	"amqp-client":  {lengthprefix.AMQPClient, 3, 4},
}

// pairs are SPECs that name a codec per direction: client to server,
// server to client.
var pairs = map[string][2]string{
	"postgres": {"postgres-fe", "postgres-be"},
}

// kindNames names the frame kinds of the staged codecs, for output.
var kindNames = map[uint32]string{
	lengthprefix.KindPreamble:    "preamble",
	lengthprefix.KindProxy:       "proxy-header",
	lengthprefix.KindStartup:     "startup",
	lengthprefix.KindCancel:      "cancel",
	lengthprefix.KindSSLRequest:  "ssl-request",
	lengthprefix.KindSSLAccepted: "ssl-accepted",
	lengthprefix.KindSSLRefused:  "ssl-refused",
}

// protocolNames lists the names of protocols and stagedProtocols in
// order, for usage.
const protocolNames = `amqp amqp-client bgp bitcoin cql diameter dns grpc
      http2 http2-client kafka memcached-req memcached-resp modbus mongodb
      mqtt mysql openflow postgres-be postgres-fe smb2 thrift tls tpkt`

// protocolCodec is a catalogue preset as a codec.
func protocolCodec(spec string, p *lengthprefix.Codec) *codec {
	cfg := p.Config()
	c := &codec{spec: spec, dec: p, enc: p, length: true, fieldOff: cfg.Offset, fieldSize: cfg.Size}
	if cfg.Varint {
		c.fieldSize = 1
	}
	return c
}

// lenExtension parses a len: key of the Config extensions into cfg;
// handled is false for a key it does not know.
func lenExtension(cfg *lengthprefix.Config, key, val string) (handled bool, err error) {
	k := cfg.Checks
	if k == nil {
		k = &lengthprefix.Checks{}
	}
	sum := func() *lengthprefix.Checksum {
		if k.Checksum == nil {
			k.Checksum = &lengthprefix.Checksum{}
		}
		return k.Checksum
	}
	flag := func() (bool, error) {
		switch val {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, fmt.Errorf("%s=%s: must be true or false", key, val)
	}
	num := func() (int, error) {
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%s: not a whole number >= 0", key, val)
		}
		return n, nil
	}
	switch key {
	case "signed":
		cfg.Signed, err = flag()
		return true, err
	case "varint":
		cfg.Varint, err = flag()
		return true, err
	case "resync":
		k.Resync, err = flag()
	case "fixed":
		for _, f := range strings.Split(val, "+") {
			off, hx, ok := strings.Cut(f, ":")
			n, err1 := strconv.Atoi(off)
			b, err2 := hex.DecodeString(hx)
			if !ok || err1 != nil || err2 != nil || n < 0 || len(b) == 0 {
				return true, fmt.Errorf("fixed=%s: want OFFSET:HEX, joined with +", val)
			}
			k.Fixed = append(k.Fixed, lengthprefix.Fixed{Offset: n, Bytes: b})
		}
	case "trailer":
		k.Trailer, err = hex.DecodeString(val)
		if err != nil || len(k.Trailer) == 0 {
			return true, fmt.Errorf("trailer=%s: want hex bytes", val)
		}
	case "crc":
		alg, ok := map[string]lengthprefix.Algorithm{"crc32": lengthprefix.CRC32IEEE, "crc32c": lengthprefix.CRC32C, "crc16": lengthprefix.CRC16CCITT}[val]
		if !ok {
			return true, fmt.Errorf("crc=%s: must be crc32, crc32c or crc16", val)
		}
		sum().Algorithm = alg
	case "crcorder":
		switch val {
		case "be":
		case "le":
			sum().Order = lengthprefix.LittleEndian
		default:
			return true, fmt.Errorf("crcorder=%s: must be be or le", val)
		}
	case "crcfrom":
		sum().From, err = num()
	case "crclen":
		sum().Len, err = num()
	case "crcat":
		sum().InHeader = true
		sum().At, err = num()
	default:
		return false, nil
	}
	cfg.Checks = k
	return true, err
}

// codec is a parsed SPEC.
type codec struct {
	spec string
	dec  framing.Decoder
	// enc is nil for a decode-only length-field layout; noEnc says why.
	enc   framing.Codec
	noEnc string
	// length says that frames are sized by a length field, so that an
	// oversized frame is one that declares its size.
	length bool
	// fixed is N for fixed:N, else 0.
	fixed int
	// Where a frame's length field lies (length codecs); fieldSize 0
	// means a varint, the bytes before the payload.
	fieldOff, fieldSize int
	// kinds names the kinds the codec gives frames (Reader.Kind), for
	// output; nil when kinds are not shown.
	kinds map[uint32]string
	// stuffed: COBS or SLIP; special: bytes a payload byte must not be
	// corrupted into, since they end or escape frames.
	stuffed bool
	special []byte
}

// conn returns the codec for a framing.Conn: a decode-only layout gets an
// encoder that refuses every payload.
func (c *codec) conn() framing.Codec {
	if c.enc != nil {
		return c.enc
	}
	return decodeOnly{c.dec, c.noEnc}
}

// decodeOnly is a Decoder made a Codec whose encoder refuses.
type decodeOnly struct {
	framing.Decoder
	why string
}

func (d decodeOnly) AppendFrame(dst, payload []byte) ([]byte, error) {
	return dst, errors.New(d.why)
}

// specError is a SPEC that cannot be parsed: a usage error.
type specError struct {
	spec, reason string
}

func (e *specError) Error() string {
	return fmt.Sprintf("bad codec %q: %s; valid forms:\n%s", e.spec, e.reason, specForms)
}

var presets = map[string]*lengthprefix.Codec{
	"u8":    lengthprefix.U8,
	"u16be": lengthprefix.U16BE,
	"u16le": lengthprefix.U16LE,
	"u24be": lengthprefix.U24BE,
	"u32be": lengthprefix.U32BE,
	"u32le": lengthprefix.U32LE,
	"u64be": lengthprefix.U64BE,
}

// parseSpec turns a SPEC string into a codec.
func parseSpec(spec string) (*codec, error) {
	bad := func(format string, args ...any) error {
		return &specError{spec: spec, reason: fmt.Sprintf(format, args...)}
	}
	if c, ok := textSpec(spec); ok { // issue 19's text framings: spec_text.go
		return c, nil
	}
	if p, ok := presets[spec]; ok {
		size := map[string]int{"u8": 1, "u16be": 2, "u16le": 2, "u24be": 3, "u32be": 4, "u32le": 4, "u64be": 8}[spec]
		return &codec{spec: spec, dec: p, enc: p, length: true, fieldSize: size}, nil
	}
	if p, ok := protocols[spec]; ok {
		return protocolCodec(spec, p), nil
	}
	if p, ok := stagedProtocols[spec]; ok {
		return &codec{spec: spec, dec: p.c, enc: p.c, length: true, fieldOff: p.off, fieldSize: p.fieldLen, kinds: kindNames}, nil
	}
	if p, ok := pairs[spec]; ok {
		return nil, bad("a codec per direction (%s client to server, %s server to client): proxy and decode --pcap take it; elsewhere name one", p[0], p[1])
	}
	name, arg, hasArg := strings.Cut(spec, ":")
	switch {
	case spec == "uvarint":
		return &codec{spec: spec, dec: lengthprefix.Uvarint, enc: lengthprefix.Uvarint, length: true}, nil
	case spec == "lines":
		return &codec{spec: spec, dec: delimiter.Lines, enc: delimiter.Lines, special: []byte("\r\n")}, nil
	case spec == "crlf":
		return &codec{spec: spec, dec: delimiter.CRLF, enc: delimiter.CRLF, special: []byte("\r\n")}, nil
	case spec == "cobs":
		return &codec{spec: spec, dec: delimiter.COBS, enc: delimiter.COBS, stuffed: true, special: []byte{0}}, nil
	case spec == "slip":
		return &codec{spec: spec, dec: delimiter.SLIP, enc: delimiter.SLIP, stuffed: true, special: []byte{0xC0, 0xDB}}, nil
	case hasArg && name == "delim":
		d, err := unescape(arg)
		if err != nil {
			return nil, bad("%v", err)
		}
		if len(d) == 0 {
			return nil, bad("empty delimiter")
		}
		c, err := delimiter.New(delimiter.Config{Delimiters: [][]byte{d}})
		if err != nil {
			return nil, bad("%v", reason(err))
		}
		return &codec{spec: spec, dec: c, enc: c, special: d}, nil
	case hasArg && name == "fixed":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return nil, bad("fixed:N needs a whole number N >= 1, not %q", arg)
		}
		c, err := delimiter.Fixed(n)
		if err != nil {
			return nil, bad("%v", reason(err))
		}
		return &codec{spec: spec, dec: c, enc: c, fixed: n}, nil
	case hasArg && name == "len":
		return parseLen(spec, arg)
	}
	return nil, bad("unknown codec")
}

// parseLen parses the KEY=VALUE list of a len: SPEC.
func parseLen(spec, list string) (*codec, error) {
	bad := func(format string, args ...any) error {
		return &specError{spec: spec, reason: fmt.Sprintf(format, args...)}
	}
	var cfg lengthprefix.Config
	seen := map[string]bool{}
	strip := -1
	for _, kv := range strings.Split(list, ",") {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, bad("%q is not KEY=VALUE", kv)
		}
		if seen[key] {
			return nil, bad("key %q given twice", key)
		}
		seen[key] = true
		num := func() (int, error) {
			n, err := strconv.Atoi(val)
			if err != nil {
				return 0, bad("%s=%s: not a whole number", key, val)
			}
			return n, nil
		}
		var err error
		switch key {
		case "size":
			cfg.Size, err = num()
		case "offset":
			cfg.Offset, err = num()
			if err == nil && cfg.Offset < 0 {
				err = bad("offset=%s: must not be negative", val)
			}
		case "adjust":
			cfg.Adjust, err = num()
		case "strip":
			strip, err = num()
			if err == nil && strip < 0 {
				err = bad("strip=%s: must not be negative", val)
			}
		case "order":
			switch val {
			case "be":
				cfg.Order = lengthprefix.BigEndian
			case "le":
				cfg.Order = lengthprefix.LittleEndian
			default:
				err = bad("order=%s: must be be or le", val)
			}
		case "includes":
			switch val {
			case "true":
				cfg.IncludesHeader = true
			case "false":
			default:
				err = bad("includes=%s: must be true or false", val)
			}
		default:
			var handled bool
			if handled, err = lenExtension(&cfg, key, val); !handled {
				err = bad("unknown key %q", key)
			} else if err != nil {
				err = bad("%v", err)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen["size"] {
		return nil, bad("size is required")
	}
	if cfg.Varint && (cfg.Size < 1 || cfg.Size > 10) {
		return nil, bad("size=%d: a varint takes 1 to 10 bytes at most", cfg.Size)
	}
	if !cfg.Varint && cfg.Size != 1 && cfg.Size != 2 && cfg.Size != 3 && cfg.Size != 4 && cfg.Size != 8 {
		return nil, bad("size=%d: must be 1, 2, 3, 4 or 8", cfg.Size)
	}
	if cfg.IncludesHeader && cfg.Adjust != 0 {
		return nil, bad("includes=true and adjust=%d exclude each other (includes=true means adjust=%d)",
			cfg.Adjust, -(cfg.Offset + cfg.Size))
	}
	cfg.Strip = cfg.Offset + cfg.Size
	if cfg.Varint {
		cfg.Strip = 0
	}
	if strip >= 0 {
		cfg.Strip = strip
	}
	dec, err := lengthprefix.NewDecoder(cfg)
	if err != nil {
		return nil, bad("%v", reason(err))
	}
	c := &codec{spec: spec, dec: dec, length: true, fieldOff: cfg.Offset, fieldSize: cfg.Size}
	if enc, err := lengthprefix.New(cfg); err == nil {
		c.dec, c.enc = enc, enc
	} else {
		c.noEnc = fmt.Sprintf("%s is decode-only: an encoder needs strip=0 (frames are passed whole, "+
			"header included) or offset=0 with strip=size", spec)
	}
	return c, nil
}

// reason is what a codec constructor's error says, without the package's
// prefix.
func reason(err error) string {
	var ce *framing.ConfigError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}

// unescape decodes the escapes of a delim: SPEC.
func unescape(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		i++
		if i == len(s) {
			return nil, errors.New(`a lone \ at the end`)
		}
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New(`\x needs two hex digits`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf(`\x%s: not two hex digits`, s[i+1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf(`unknown escape \%c (valid: \r \n \t \\ \xHH)`, s[i])
		}
	}
	return out, nil
}
