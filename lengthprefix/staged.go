package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/framekit/framekit/framing"
)

// Frame kinds of the staged codecs, read with the Reader's or Deframer's
// Kind method after each frame. A regular message is KindMessage (0).
//
// The stage lives in the Reader's per-stream state (framing.DecodeState's
// Stream), never in the codec, so one codec value serves every connection.
// The encoders need no stage at all: each takes whole messages whose shape
// says which stage they belong to (the preamble's exact bytes, a PROXY
// header's signature, a PostgreSQL message starting with its length's 0x00
// high byte rather than a type letter, the backend's one-byte 'S' or 'N').
const (
	KindMessage uint32 = iota
	// KindPreamble is a fixed preamble (HTTP/2's client connection
	// preface, AMQP's protocol header).
	KindPreamble
	// KindProxy is a PROXY protocol v1 line or v2 header.
	KindProxy
	// KindStartup is a PostgreSQL StartupMessage: typed messages follow.
	KindStartup
	// KindCancel is a PostgreSQL CancelRequest.
	KindCancel
	// KindSSLRequest is a PostgreSQL SSLRequest or GSSENCRequest. It is a
	// Final frame: what follows is TLS (or GSSAPI) if the server answers
	// 'S' (or 'G'), so the Reader stops and Detach hands over the bytes
	// after it. If the server answers 'N', start a new Reader with the
	// same codec on the detached bytes: a StartupMessage follows.
	KindSSLRequest
	// KindSSLAccepted is the PostgreSQL backend's one-byte 'S' (or 'G')
	// answer: a Final frame, TLS (or GSSAPI) follows; Detach hands over.
	KindSSLAccepted
	// KindSSLRefused is the backend's one-byte 'N' answer: the session
	// goes on in clear.
	KindSSLRefused
)

// stageBit marks, in DecodeState.Stream, that a staged codec is past its
// first stage; proxyBit that a PROXY header was read. Resync's balance uses
// the low 62 bits, so the wrappers compose with any Config.
const (
	stageBit = 1 << 63
	proxyBit = 1 << 62
)

// Preamble is a codec whose stream starts with fixed bytes, then frames of
// another codec: HTTP2Client and AMQPClient are two. Build one with
// NewPreamble.
type Preamble struct {
	pre  []byte
	then *Codec
}

// NewPreamble returns a codec for a stream that starts with pre (returned
// as one frame of kind KindPreamble), then frames of then. Its encoder
// writes a payload equal to pre as it is, and any other through then.
func NewPreamble(pre []byte, then *Codec) *Preamble {
	return &Preamble{pre: bytes.Clone(pre), then: then}
}

var (
	// HTTP2Client is the client side of an HTTP/2 connection in clear
	// (RFC 9113 section 3.4): the 24-byte connection preface
	// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", then HTTP2Frame frames.
	HTTP2Client = NewPreamble([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HTTP2Frame)
	// AMQPClient is the client side of an AMQP 0-9-1 connection: the
	// protocol header "AMQP\x00\x00\x09\x01", then AMQP frames.
	AMQPClient = NewPreamble([]byte("AMQP\x00\x00\x09\x01"), AMQP)
)

// Decode implements framing.Decoder.
func (p *Preamble) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if st.Stream&stageBit != 0 {
		return p.then.Decode(buf, atEOF, st)
	}
	n := min(len(buf), len(p.pre))
	if !bytes.Equal(buf[:n], p.pre[:n]) {
		return framing.Decoded{}, &framing.CorruptError{Reason: fmt.Sprintf("the stream starts with % x, not the preamble % x", buf[:n], p.pre[:n])}
	}
	if n < len(p.pre) {
		return framing.Need(len(p.pre)), nil
	}
	st.Stream |= stageBit
	return framing.Frame(0, n, n).WithKind(KindPreamble), nil
}

// AppendFrame implements framing.Encoder.
func (p *Preamble) AppendFrame(dst, payload []byte) ([]byte, error) {
	if bytes.Equal(payload, p.pre) {
		return append(dst, payload...), nil
	}
	return p.then.AppendFrame(dst, payload)
}

// AppendHeader implements framing.WrapEncoder.
func (p *Preamble) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if bytes.Equal(payload, p.pre) {
		return dst, 0, nil
	}
	return p.then.AppendHeader(dst, payload)
}

// AppendTrailer implements framing.WrapEncoder.
func (p *Preamble) AppendTrailer(dst, payload []byte) []byte {
	if bytes.Equal(payload, p.pre) {
		return dst
	}
	return p.then.AppendTrailer(dst, payload)
}

// ProxyHeader is a codec for a stream that starts with a PROXY protocol
// header (HAProxy's PROXY protocol, versions 1 and 2), returned as one
// frame of kind KindProxy, then frames of another codec. The header is
// required: a stream that starts otherwise is corrupt.
//
//	v1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"   (at most 107 bytes)
//	v2: 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A | ver/cmd | fam | len (2) | len bytes
//
// Its encoder writes a payload that is a complete PROXY header as it is,
// and any other through the codec that follows.
type ProxyHeader struct {
	then framing.Codec
}

// NewProxyHeader returns a ProxyHeader in front of then.
func NewProxyHeader(then framing.Codec) *ProxyHeader { return &ProxyHeader{then: then} }

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

const proxyV1Max = 107

// proxyLen is the length of the PROXY header at the start of b: n > 0
// when complete, need > 0 when more bytes are needed, or an error.
func proxyLen(b []byte) (n, need int, err error) {
	v1 := []byte("PROXY ")
	switch {
	case len(b) > 0 && b[0] == 'P':
		k := min(len(b), len(v1))
		if !bytes.Equal(b[:k], v1[:k]) {
			break
		}
		i := bytes.Index(b[:min(len(b), proxyV1Max)], []byte("\r\n"))
		if i >= 0 {
			return i + 2, 0, nil
		}
		if len(b) >= proxyV1Max {
			return 0, 0, &framing.CorruptError{Reason: "PROXY v1 line longer than 107 bytes"}
		}
		return 0, len(b) + 1, nil
	case len(b) > 0 && b[0] == '\r':
		k := min(len(b), len(proxyV2Sig))
		if !bytes.Equal(b[:k], proxyV2Sig[:k]) {
			break
		}
		if len(b) < 16 {
			return 0, 16, nil
		}
		if b[12]>>4 != 2 {
			return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("PROXY v2 header of version %d", b[12]>>4)}
		}
		return 16 + int(binary.BigEndian.Uint16(b[14:16])), 0, nil
	case len(b) == 0:
		return 0, 1, nil
	}
	return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("the stream does not start with a PROXY header: % x", b[:min(len(b), 16)])}
}

// Decode implements framing.Decoder.
func (p *ProxyHeader) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if st.Stream&proxyBit != 0 {
		return p.then.Decode(buf, atEOF, st)
	}
	n, need, err := proxyLen(buf)
	if err != nil || need > 0 {
		return framing.Need(need), err
	}
	if len(buf) < n {
		return framing.NeedFrame(0, int64(n), int64(n)).Checked(), nil
	}
	st.Stream |= proxyBit
	return framing.Frame(0, n, n).WithKind(KindProxy), nil
}

// isHeader reports whether payload is exactly one PROXY header.
func (p *ProxyHeader) isHeader(payload []byte) bool {
	n, _, err := proxyLen(payload)
	return err == nil && n > 0 && n == len(payload)
}

// AppendFrame implements framing.Encoder.
func (p *ProxyHeader) AppendFrame(dst, payload []byte) ([]byte, error) {
	if p.isHeader(payload) {
		return append(dst, payload...), nil
	}
	return p.then.AppendFrame(dst, payload)
}

// Postgres is the PostgreSQL frontend/backend protocol v3 (PostgreSQL
// documentation, "Frontend/Backend Protocol", 55.2 and 55.7), one direction
// of it, startup stage included. Frames are whole messages: a regular
// message is its type byte, its length (4 bytes, big-endian, counting
// itself) and its body; the frontend's first messages are untyped (length,
// then a 4-byte code: StartupMessage, SSLRequest, GSSENCRequest,
// CancelRequest), and the backend's answer to SSLRequest is one byte.
//
//	frontend:  [ 00 00 00 08 | 04 D2 16 2F ]                      SSLRequest (KindSSLRequest, Final)
//	           [ 00 00 00 29 | 00 03 00 00 | "user" 00 ... 00 ]    StartupMessage (KindStartup)
//	           [ 'Q' | 00 00 00 0D | "select 1" 00 ]              Query
//	backend:   [ 'S' ]                                            (KindSSLAccepted, Final) or 'N'
//	           [ 'R' | 00 00 00 08 | 00 00 00 00 ]                AuthenticationOk
//
// Untyped messages are limited to PostgreSQL's 10,000 bytes
// (MAX_STARTUP_PACKET_LENGTH); a longer one is corrupt.
type Postgres struct {
	backend bool
}

var (
	// PostgresFrontend frames what a PostgreSQL client sends.
	PostgresFrontend = &Postgres{}
	// PostgresBackend frames what a PostgreSQL server sends.
	PostgresBackend = &Postgres{backend: true}

	pgTyped = mustNew(Config{Offset: 1, Size: 4, Adjust: -4, Signed: true})
)

// PostgreSQL's untyped message codes and limit.
const (
	pgSSLRequest    = 80877103
	pgGSSENCRequest = 80877104
	pgCancelRequest = 80877102
	pgMaxStartup    = 10000
)

// Decode implements framing.Decoder.
func (p *Postgres) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if st.Stream&stageBit != 0 {
		return pgTyped.Decode(buf, atEOF, st)
	}
	if p.backend {
		switch {
		case len(buf) == 0:
			return framing.Need(1), nil
		case buf[0] == 'S' || buf[0] == 'G':
			return framing.Frame(0, 1, 1).WithKind(KindSSLAccepted).Final(), nil
		case buf[0] == 'N':
			return framing.Frame(0, 1, 1).WithKind(KindSSLRefused), nil
		}
		// The first regular message: typed from here on. A NeedFrame is
		// not decoded again, so the stage may change now.
		d, err := pgTyped.Decode(buf, atEOF, st)
		if err == nil && d.Need() == 0 {
			st.Stream |= stageBit
		}
		return d, err
	}
	if len(buf) < 8 {
		return framing.Need(8), nil
	}
	n := int64(binary.BigEndian.Uint32(buf))
	code := binary.BigEndian.Uint32(buf[4:])
	if n < 8 || n > pgMaxStartup {
		return framing.Decoded{}, &framing.CorruptError{Reason: fmt.Sprintf(
			"untyped (startup) message of %d bytes: PostgreSQL takes 8 to %d", n, pgMaxStartup)}
	}
	kind := KindStartup
	switch {
	case code == pgSSLRequest || code == pgGSSENCRequest:
		kind = KindSSLRequest
	case code == pgCancelRequest:
		kind = KindCancel
	case code>>16 != 3:
		return framing.Decoded{}, &framing.CorruptError{Reason: fmt.Sprintf("startup message of protocol %d.%d: not 3.x", code>>16, code&0xFFFF)}
	}
	if int64(len(buf)) < n {
		return framing.NeedFrame(0, n, n).Checked(), nil
	}
	d := framing.Frame(0, int(n), int(n)).WithKind(kind)
	switch kind {
	case KindSSLRequest:
		d = d.Final()
	case KindStartup:
		st.Stream |= stageBit
	}
	return d, nil
}

// AppendFrame implements framing.Encoder: payload is a whole message, its
// length's bytes to be filled in: a regular message (a type letter
// first), an untyped one (starting with 0x00, the high byte of its
// length), or, for the backend, the one-byte answer 'S', 'N' or 'G'.
func (p *Postgres) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, skip, err := p.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return append(dst, payload[skip:]...), nil
}

// AppendHeader implements framing.WrapEncoder.
func (p *Postgres) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	switch {
	case p.backend && len(payload) == 1 && (payload[0] == 'S' || payload[0] == 'N' || payload[0] == 'G'):
		return dst, 0, nil
	case len(payload) > 0 && payload[0] == 0:
		if len(payload) < 8 || len(payload) > pgMaxStartup {
			return dst, 0, &framing.PayloadError{Size: len(payload), Reason: fmt.Sprintf("an untyped PostgreSQL message is 8 to %d bytes", pgMaxStartup)}
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
		return dst, 4, nil
	}
	return pgTyped.AppendHeader(dst, payload)
}

// AppendTrailer implements framing.WrapEncoder: there is none.
func (p *Postgres) AppendTrailer(dst, payload []byte) []byte { return dst }

var (
	_ framing.WrapEncoder = (*Preamble)(nil)
	_ framing.Codec       = (*ProxyHeader)(nil)
	_ framing.WrapEncoder = (*Postgres)(nil)
)
