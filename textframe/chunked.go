package textframe

import (
	"bytes"
	"strconv"

	"github.com/framekit/framekit/framing"
)

// The kinds of chunked frames.
const (
	ChunkData = 0 // a chunk's data
	ChunkLast = 1 // the last chunk: its payload is the trailer section
)

// ChunkedConfig describes HTTP/1.1 chunked transfer coding.
type ChunkedConfig struct {
	// MaxLine limits a chunk-size line (extensions included, CRLF too),
	// and the last chunk's line and trailer section together (default
	// DefaultMaxHeader).
	MaxLine int
	// KeepExtensions returns each chunk whole, from its size line to the
	// end of its data (the last chunk: its size line and trailer
	// section), so that the caller reads the chunk's extensions with
	// SplitChunk; the size limit then counts the size line too. The
	// encoder then takes whole chunks (a size line, extensions and all,
	// and the data) and appends the CRLF after the data, checking that
	// each reads back as that chunk. By default frames are the chunks'
	// data and the encoder writes the size line.
	KeepExtensions bool
}

// Chunked frames an HTTP/1.1 chunked body (RFC 9112 §7.1): each chunk's
// data is a frame (kind ChunkData); the last chunk ("0" CRLF, the trailer
// fields, CRLF) is a final frame of kind ChunkLast whose payload is the
// trailer section (its field lines with their CRLFs, without the empty
// line; empty when there are none). After it the Reader returns
// framing.ErrFinal, and Detach hands over every byte after the body: the
// next message on the connection.
//
// Chunk extensions (RFC 9112 §7.1.1: ";" name, or ";" name "=" a token
// or a quoted-string, with optional whitespace around ";" and "=") are
// checked strictly when the size line is complete, and a malformed one is
// ErrExtension; with KeepExtensions, SplitChunk reads them. Strict, as
// Node's HTTP parser (llhttp 9, Node 20) is: it answers 400 to a bad byte
// in a name or token, an unclosed quoted-string, a control byte or a ";"
// with no name (it does accept ";=v" and ";n=", which are refused here,
// and refuses whitespace around ";", which is accepted here as the
// grammar's BWS). Go's net/http (1.26) is lenient: it cuts the line at
// the first ";" and never looks at the rest. Whitespace is also accepted
// at the end of the line, as both do.
//
// The size is 1 to 15 hex digits (ErrBadLength otherwise); a chunk's data
// not followed by CRLF is ErrTrailer; a line over MaxLine, extensions
// included, is ErrHeaderTooLarge. Lines end in CRLF only (a bare LF is not
// accepted).
//
// The encoder writes each payload as one chunk and refuses an empty one,
// which would read as the last chunk; AppendLastChunk ends a body.
type Chunked struct {
	maxLine int
	keep    bool
}

// NewChunked returns a Chunked codec for c; a negative MaxLine is a
// *framing.ConfigError.
func NewChunked(c ChunkedConfig) (*Chunked, error) {
	if c.MaxLine < 0 {
		return nil, &framing.ConfigError{Codec: "textframe.Chunked", Reason: "negative MaxLine"}
	}
	if c.MaxLine == 0 {
		c.MaxLine = DefaultMaxHeader
	}
	return &Chunked{maxLine: c.MaxLine, keep: c.KeepExtensions}, nil
}

// MustChunked is NewChunked for a configuration known to be valid; it
// panics on a *framing.ConfigError.
func MustChunked(c ChunkedConfig) *Chunked { return must(NewChunked(c)) }

// HTTPChunked is Chunked with the default line limit.
var HTTPChunked = must(NewChunked(ChunkedConfig{}))

// Decode implements framing.Decoder. State: Scanned is how far the search
// for the size line's CRLF went; in the trailer section, Stream is the
// size line's end plus one and Scanned the start of the line being
// looked for.
func (c *Chunked) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if c.maxLine == 0 {
		return framing.Decoded{}, errZero
	}
	if st.Stream > 0 && st.Scanned > 0 {
		return c.trailers(buf, int(st.Stream-1), st)
	}
	from := min(max(st.Scanned, 0), len(buf))
	i := bytes.Index(buf[from:], crlf)
	if i < 0 {
		if len(buf) >= c.maxLine {
			return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "chunk-size line longer than %d bytes", c.maxLine)
		}
		if err := checkChunkSize(buf, false); err != nil {
			return framing.Decoded{}, err
		}
		st.Scanned = max(len(buf)-1, 0)
		return framing.Need(len(buf) + 1), nil
	}
	lineEnd := from + i + 2
	if lineEnd > c.maxLine {
		return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "chunk-size line longer than %d bytes", c.maxLine)
	}
	if err := checkChunkSize(buf[:lineEnd-2], true); err != nil {
		return framing.Decoded{}, err
	}
	var size int64
	for _, b := range buf {
		v := hexVal(b)
		if v < 0 {
			break
		}
		size = size<<4 | int64(v)
	}
	st.Scanned = 0
	if size > 0 {
		if c.keep {
			return counted(buf, st, 0, int64(lineEnd)+size, "\r\n")
		}
		return counted(buf, st, lineEnd, size, "\r\n")
	}
	st.Stream = uint64(lineEnd) + 1
	return c.trailers(buf, lineEnd, st)
}

// checkChunkSize checks a chunk-size line, or (whole false) the part of
// it received so far: 1 to 15 hex digits, then optional whitespace and
// extensions starting with ";", no CR or LF.
func checkChunkSize(line []byte, whole bool) error {
	if !whole && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1] // the CRLF may be arriving
	}
	n := 0
	for n < len(line) && hexVal(line[n]) >= 0 {
		n++
	}
	if n > 15 || (n == 0 && (whole || len(line) > 0)) {
		return corrupt(ErrBadLength, "chunk size %s", clip(line))
	}
	rest := bytes.TrimLeft(line[n:], " \t")
	if len(rest) > 0 && rest[0] != ';' {
		return corrupt(ErrBadLength, "chunk size %s", clip(line))
	}
	if whole {
		for e := ChunkExtensions(line[n:]); len(e) > 0; {
			var err error
			if _, _, e, err = e.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

// trailers looks for the empty line that ends the trailer section after
// the last chunk's size line (which ends at lineEnd).
func (c *Chunked) trailers(buf []byte, lineEnd int, st *framing.DecodeState) (framing.Decoded, error) {
	pos := min(max(st.Scanned, lineEnd), len(buf))
	for {
		i := bytes.Index(buf[pos:], crlf)
		if i < 0 {
			if len(buf) >= c.maxLine {
				return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "last chunk and trailers longer than %d bytes", c.maxLine)
			}
			st.Scanned = pos
			return framing.Need(len(buf) + 1), nil
		}
		end := pos + i + 2
		if end > c.maxLine {
			return framing.Decoded{}, corrupt(ErrHeaderTooLarge, "last chunk and trailers longer than %d bytes", c.maxLine)
		}
		if i == 0 {
			st.Stream, st.Scanned = 0, 0
			start := lineEnd
			if c.keep {
				start = 0
			}
			return framing.Frame(start, pos, end).WithKind(ChunkLast).Final(), nil
		}
		if _, _, ok := splitHeaderLine(buf[pos : pos+i]); !ok {
			return framing.Decoded{}, corrupt(ErrHeader, "malformed trailer field %s", clip(buf[pos:pos+i]))
		}
		pos = end
	}
}

// AppendFrame appends payload as one chunk; an empty payload is a
// *framing.PayloadError. With KeepExtensions, payload is a whole chunk
// (see ChunkedConfig) and only the CRLF after it is appended.
func (c *Chunked) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := c.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return c.AppendTrailer(append(dst, payload...), payload), nil
}

// AppendHeader implements framing.WrapEncoder: the size in hex and CRLF.
func (c *Chunked) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	if c.maxLine == 0 {
		return dst, 0, errZero
	}
	if c.keep {
		return dst, 0, c.checkChunk(payload)
	}
	if len(payload) == 0 {
		return dst, 0, payloadError(payload, "an empty chunk is the last chunk (use AppendLastChunk)")
	}
	return append(strconv.AppendInt(dst, int64(len(payload)), 16), '\r', '\n'), 0, nil
}

// AppendTrailer implements framing.WrapEncoder: CRLF.
func (c *Chunked) AppendTrailer(dst, _ []byte) []byte { return append(dst, '\r', '\n') }

// AppendLastChunk appends the last chunk and the trailer section: trailers
// is its field lines, each ending in CRLF (nil for none).
func AppendLastChunk(dst, trailers []byte) []byte {
	dst = append(dst, '0', '\r', '\n')
	return append(append(dst, trailers...), '\r', '\n')
}

var (
	_ framing.Codec       = (*Chunked)(nil)
	_ framing.WrapEncoder = (*Chunked)(nil)
)

// checkChunk checks that chunk, followed by a CRLF, reads back as one
// chunk whose frame (with KeepExtensions) is chunk.
func (c *Chunked) checkChunk(chunk []byte) error {
	i := bytes.Index(chunk, crlf)
	if i < 0 {
		return payloadError(chunk, "no CRLF ends a chunk-size line")
	}
	lineEnd := i + 2
	if lineEnd > c.maxLine {
		return payloadError(chunk, "chunk-size line longer than %d bytes", c.maxLine)
	}
	if err := checkChunkSize(chunk[:i], true); err != nil {
		return payloadError(chunk, "%v", err)
	}
	var size int64
	for _, b := range chunk[:i] {
		v := hexVal(b)
		if v < 0 {
			break
		}
		size = size<<4 | int64(v)
	}
	if size > 0 {
		if int64(len(chunk)-lineEnd) != size {
			return payloadError(chunk, "chunk size %d, data of %d bytes", size, len(chunk)-lineEnd)
		}
		return nil
	}
	// The last chunk: its trailer section, field lines ending in CRLF.
	if len(chunk)+2 > c.maxLine {
		return payloadError(chunk, "last chunk and trailers longer than %d bytes", c.maxLine)
	}
	for rest := chunk[lineEnd:]; len(rest) > 0; {
		k := bytes.Index(rest, crlf)
		if k < 0 {
			return payloadError(chunk, "a trailer field without its CRLF")
		}
		if _, _, ok := splitHeaderLine(rest[:k]); !ok {
			return payloadError(chunk, "malformed trailer field %s", clip(rest[:k]))
		}
		rest = rest[k+2:]
	}
	return nil
}

// ChunkExtensions is the part of a chunk-size line after the size: chunk
// extensions as on the wire (";a=1;b").
type ChunkExtensions []byte

// SplitChunk splits a frame read with KeepExtensions into the chunk's
// extensions and its data (the last chunk: its trailer section). ok is
// false if frame does not start with a size line.
func SplitChunk(frame []byte) (ext ChunkExtensions, data []byte, ok bool) {
	i := bytes.Index(frame, crlf)
	if i < 0 {
		return nil, nil, false
	}
	n := 0
	for n < i && hexVal(frame[n]) >= 0 {
		n++
	}
	if n == 0 {
		return nil, nil, false
	}
	return ChunkExtensions(frame[n:i]), frame[i+2:], true
}

// Get returns the value of the first extension named name (ASCII case
// ignored, as HTTP does for field names), and whether there is one. The
// value of ";name" is empty; a quoted-string's value is its content with
// its quoted pairs undone (only then is a new slice allocated). A
// malformed extension before it is an error for which errors.Is(err,
// ErrExtension) holds (never on what the decoder returned).
func (e ChunkExtensions) Get(name string) (value []byte, found bool, err error) {
	for len(e) > 0 {
		var n []byte
		if n, value, e, err = e.next(); err != nil {
			return nil, false, err
		}
		if n != nil && equalFold(n, name) {
			return unquote(value), true, nil
		}
	}
	return nil, false, nil
}

// Each calls fn with each extension's name and value (as Get returns
// them), in order, until fn returns false.
func (e ChunkExtensions) Each(fn func(name, value []byte) bool) error {
	for len(e) > 0 {
		n, v, rest, err := e.next()
		if err != nil || n == nil {
			return err
		}
		if !fn(n, unquote(v)) {
			return nil
		}
		e = rest
	}
	return nil
}

// next parses the first extension of e: name, value (a token, or a
// quoted-string with its quotes), the rest. Whitespace alone is the end.
func (e ChunkExtensions) next() (name, value []byte, rest ChunkExtensions, err error) {
	i := skipWS(e, 0)
	if i == len(e) {
		return nil, nil, nil, nil
	}
	if e[i] != ';' {
		return nil, nil, nil, extError(e)
	}
	i = skipWS(e, i+1)
	j := i
	for j < len(e) && tchar[e[j]] {
		j++
	}
	if j == i {
		return nil, nil, nil, extError(e)
	}
	name = e[i:j]
	k := skipWS(e, j)
	if k == len(e) || e[k] == ';' {
		return name, e[j:j], e[k:], nil
	}
	if e[k] != '=' {
		return nil, nil, nil, extError(e)
	}
	i = skipWS(e, k+1)
	j = i
	if i < len(e) && e[i] == '"' {
		for j = i + 1; j < len(e) && e[j] != '"'; j++ {
			c := e[j]
			if c == '\\' {
				j++
				if j == len(e) || !qpair[e[j]] {
					return nil, nil, nil, extError(e)
				}
			} else if !qdtext[c] {
				return nil, nil, nil, extError(e)
			}
		}
		if j == len(e) {
			return nil, nil, nil, extError(e)
		}
		j++
	} else {
		for j < len(e) && tchar[e[j]] {
			j++
		}
		if j == i {
			return nil, nil, nil, extError(e)
		}
	}
	value = e[i:j]
	k = skipWS(e, j)
	if k < len(e) && e[k] != ';' {
		return nil, nil, nil, extError(e)
	}
	return name, value, e[k:], nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

func extError(e []byte) error {
	return corrupt(ErrExtension, "chunk extensions %s", clip(e))
}

// qdtext and qpair are the bytes allowed in a quoted-string (RFC 9110
// §5.6.4), unescaped and after a backslash.
var qdtext, qpair = func() (q, p [256]bool) {
	for c := range 256 {
		p[c] = c == '\t' || c >= ' ' && c != 0x7f
		q[c] = p[c] && c != '"' && c != '\\'
	}
	return q, p
}()

// unquote returns a token as it is and a quoted-string's content with
// its quoted pairs undone.
func unquote(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	i := bytes.IndexByte(v, '\\')
	if i < 0 {
		return v
	}
	out := make([]byte, i, len(v))
	copy(out, v)
	for ; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		out = append(out, v[i])
	}
	return out
}

// AppendChunkExtension appends ";name=value" (value as a token when it is
// one, else as a quoted-string; ";name" when value is empty) for building
// a chunk's size line with KeepExtensions. name must be a token and value
// hold no control byte but HTAB, else a *framing.PayloadError.
func AppendChunkExtension(dst []byte, name, value string) ([]byte, error) {
	if name == "" {
		return dst, payloadError(nil, "an empty chunk extension name")
	}
	for i := 0; i < len(name); i++ {
		if !tchar[name[i]] {
			return dst, payloadError([]byte(name), "chunk extension name %q is not a token", name)
		}
	}
	token := true
	for i := 0; i < len(value); i++ {
		if !qpair[value[i]] {
			return dst, payloadError([]byte(value), "a control byte in chunk extension value %q", value)
		}
		token = token && tchar[value[i]]
	}
	dst = append(append(dst, ';'), name...)
	if value == "" {
		return dst, nil
	}
	dst = append(dst, '=')
	if token {
		return append(dst, value...), nil
	}
	dst = append(dst, '"')
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, value[i])
	}
	return append(dst, '"'), nil
}
