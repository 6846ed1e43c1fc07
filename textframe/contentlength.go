package textframe

import (
	"bytes"
	"strconv"

	"github.com/framekit/framekit/framing"
)

// DefaultMaxHeader is the default limit of a header block (Content-Length,
// STOMP), of a chunk-size line and of a chunked body's trailer section, in
// bytes, terminator included.
const DefaultMaxHeader = 8 << 10

// ContentLengthConfig describes Content-Length framing.
type ContentLengthConfig struct {
	// MaxHeader limits the header block, its closing "\r\n\r\n"
	// included (default DefaultMaxHeader). It is enforced while the
	// block is scanned: a block that grows past it is an error however
	// it is cut.
	MaxHeader int
	// KeepHeaders returns each message whole, header block and body, so
	// that the caller reads its other headers with SplitHeader; the
	// size limit then counts the header block too. The encoder then
	// takes whole messages, and checks that each reads back as one.
	// By default frames are bodies and the encoder writes the header.
	KeepHeaders bool
	// ContentType, when set, is written as a Content-Type header after
	// Content-Length (without KeepHeaders).
	ContentType string
}

// ContentLength frames messages that carry a header block ended by an
// empty line and a Content-Length header counting the body's bytes: the
// base protocol of LSP, JSON-RPC 2.0 over streams and DAP. See the package
// documentation.
type ContentLength struct {
	maxHeader int
	keep      bool
	ctype     string
}

// NewContentLength returns a ContentLength codec for c. A negative
// MaxHeader, or a ContentType with a CR, LF or control byte, is a
// *framing.ConfigError.
func NewContentLength(c ContentLengthConfig) (*ContentLength, error) {
	if c.MaxHeader < 0 {
		return nil, &framing.ConfigError{Codec: "textframe.ContentLength", Reason: "negative MaxHeader"}
	}
	for i := 0; i < len(c.ContentType); i++ {
		if b := c.ContentType[i]; b < ' ' && b != '\t' || b == 0x7f {
			return nil, &framing.ConfigError{Codec: "textframe.ContentLength", Reason: "ContentType holds a control byte"}
		}
	}
	cl := &ContentLength{maxHeader: c.MaxHeader, keep: c.KeepHeaders, ctype: c.ContentType}
	if cl.maxHeader == 0 {
		cl.maxHeader = DefaultMaxHeader
	}
	return cl, nil
}

// MustContentLength is NewContentLength for a configuration known to be
// valid; it panics on a *framing.ConfigError.
func MustContentLength(c ContentLengthConfig) *ContentLength { return must(NewContentLength(c)) }

// LSP is Content-Length framing with the defaults: bodies as frames,
// header blocks up to DefaultMaxHeader, only Content-Length written.
var LSP = must(NewContentLength(ContentLengthConfig{}))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Decode implements framing.Decoder. Header lines are checked as they
// complete, in the order of the bytes: the first line that is not a header
// (ErrJunk), a malformed line (ErrHeader), a Content-Length that is not 1
// to 18 digits (ErrBadLength) or repeated (ErrDuplicateLength), and a
// block over MaxHeader (ErrHeaderTooLarge); at the empty line that ends
// the block, a missing Content-Length is ErrNoLength. The body is then
// located, and the Reader checks its size before reading it.
//
// State: Scanned is how far the search for a line end went (0: a new
// frame), Stream the start of the first line not yet checked, Carry the
// Content-Length seen so far plus one (0: none yet).
func (c *ContentLength) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if c.maxHeader == 0 {
		return framing.Decoded{}, errZero
	}
	return decodeHeaderBlock(buf, st, c.maxHeader, func(line []byte, first bool) error {
		return c.headerLine(line, first, st)
	}, func(end int) (framing.Decoded, error) {
		if st.Carry == 0 {
			return framing.Decoded{}, corrupt(ErrNoLength, "header block of %d bytes without Content-Length", end)
		}
		n := st.Carry - 1
		start := end
		if c.keep {
			start = 0
		}
		return framing.NeedFrame(start, int64(end)+n, int64(end)+n), nil
	})
}

// decodeHeaderBlock scans a CRLF header block at the front of buf, calling
// line for each line as it completes and done at the empty line that ends
// the block (end is the block's size). The block may not exceed maxHeader
// bytes.
// It keeps its place in st.Scanned and st.Stream.
func decodeHeaderBlock(buf []byte, st *framing.DecodeState, maxHeader int,
	line func(line []byte, first bool) error, done func(end int) (framing.Decoded, error)) (framing.Decoded, error) {
	from := min(st.Scanned, len(buf))
	pos := 0
	if from > 0 {
		pos = int(min(st.Stream, uint64(from)))
	}
	for {
		i := indexCRLF(buf[from:])
		if i < 0 {
			if len(buf) >= maxHeader {
				return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "header block longer than %d bytes", maxHeader)
			}
			st.Stream = uint64(pos)
			st.Scanned = max(len(buf)-1, pos) // a CR at the end may start the CRLF
			if st.Scanned <= 0 {
				st.Scanned, st.Stream = 0, 0
			}
			return framing.Need(len(buf) + 1), nil
		}
		end := from + i + 2
		if end > maxHeader {
			return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "header block longer than %d bytes", maxHeader)
		}
		l := buf[pos : end-2]
		if len(l) == 0 {
			if pos == 0 {
				return framing.Decoded{}, corrupt(ErrJunk, "an empty line where a header block should start")
			}
			return done(end)
		}
		if err := line(l, pos == 0); err != nil {
			return framing.Decoded{}, err
		}
		pos, from = end, end
	}
}

var (
	crlf    = []byte("\r\n")
	errZero = &framing.ConfigError{Codec: "textframe", Reason: "codec not made by its constructor or a preset"}
)

// headerLine checks one header line and records a Content-Length in
// st.Carry.
func (c *ContentLength) headerLine(line []byte, first bool, st *framing.DecodeState) error {
	name, value, ok := splitHeaderLine(line)
	if !ok {
		if first {
			return corrupt(ErrJunk, "%s where a header block should start", clip(line))
		}
		return corrupt(ErrHeader, "malformed header line %s", clip(line))
	}
	if !equalFold(name, "Content-Length") {
		return nil
	}
	if st.Carry != 0 {
		return corrupt(ErrDuplicateLength, "a second Content-Length header")
	}
	n, ok := parseDecimal(value, maxDecimal)
	if !ok {
		return corrupt(ErrBadLength, "Content-Length %s is not 1 to %d digits", clip(value), maxDecimal)
	}
	st.Carry = n + 1
	return nil
}

// splitHeaderLine splits "Name: value" (RFC 9112 field-line: a token, a
// colon, optional whitespace around the value); ok is false for a line
// that is not one, or holds a CR, LF or NUL.
func splitHeaderLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name = line[:colon]
	for _, b := range name {
		if !tchar[b] {
			return nil, nil, false
		}
	}
	value = line[colon+1:]
	for _, b := range value {
		if b <= '\r' && (b == '\r' || b == '\n' || b == 0) {
			return nil, nil, false
		}
	}
	for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
		value = value[1:]
	}
	for len(value) > 0 && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
		value = value[:len(value)-1]
	}
	return name, value, true
}

// tchar is isTchar as a table.
var tchar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isTchar(byte(c))
	}
	return t
}()

// equalFold reports whether b equals the ASCII name s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Header is a message's header block as received, with its lines' CRLFs
// (and the empty line that ends it).
type Header []byte

// Get returns the value of the first header named name (case-insensitive),
// without the whitespace around it, and whether there is one. It
// allocates nothing.
func (h Header) Get(name string) ([]byte, bool) {
	for rest := []byte(h); len(rest) > 0; {
		i := bytes.Index(rest, crlf)
		if i < 0 {
			i = len(rest)
		}
		if n, v, ok := splitHeaderLine(rest[:i]); ok && equalFold(n, name) {
			return v, true
		}
		rest = rest[min(i+2, len(rest)):]
	}
	return nil, false
}

// SplitHeader splits a message read with KeepHeaders into its header
// block and its body. ok is false if msg has no "\r\n\r\n".
func SplitHeader(msg []byte) (h Header, body []byte, ok bool) {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return Header(msg[:i+4]), msg[i+4:], true
}

// AppendFrame appends payload's frame to dst: without KeepHeaders, a
// Content-Length header (and Content-Type, if configured), the empty line
// and the body; with KeepHeaders, payload itself, which must read back as
// exactly one message (else a *framing.PayloadError).
func (c *ContentLength) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := c.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return append(dst, payload...), nil
}

// AppendHeader implements framing.WrapEncoder.
func (c *ContentLength) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if c.maxHeader == 0 {
		return dst, 0, errZero
	}
	if c.keep {
		var st framing.DecodeState
		st.Limit = len(payload)
		d, err := c.Decode(payload[:len(payload):len(payload)], true, &st)
		if err != nil {
			return dst, 0, payloadError(payload, "not a message: %v", err)
		}
		if _, end, total, ok := d.Located(); !ok || end != int64(len(payload)) || total != end {
			return dst, 0, payloadError(payload, "not exactly one message with its Content-Length")
		}
		return dst, 0, nil
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	if c.ctype != "" {
		dst = append(dst, "\r\nContent-Type: "...)
		dst = append(dst, c.ctype...)
	}
	return append(dst, "\r\n\r\n"...), 0, nil
}

// AppendTrailer implements framing.WrapEncoder: there is no trailer.
func (c *ContentLength) AppendTrailer(dst, _ []byte) []byte { return dst }

var (
	_ framing.Codec       = (*ContentLength)(nil)
	_ framing.WrapEncoder = (*ContentLength)(nil)
)
