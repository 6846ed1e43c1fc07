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
}

// Chunked frames an HTTP/1.1 chunked body (RFC 9112 §7.1): each chunk's
// data is a frame (kind ChunkData); the last chunk ("0" CRLF, the trailer
// fields, CRLF) is a final frame of kind ChunkLast whose payload is the
// trailer section (its field lines with their CRLFs, without the empty
// line; empty when there are none). After it the Reader returns
// framing.ErrFinal, and Detach hands over every byte after the body: the
// next message on the connection.
//
// Chunk extensions are skipped, unchecked beyond their place on the line.
// The size is 1 to 15 hex digits (ErrBadLength otherwise); a chunk's data
// not followed by CRLF is ErrTrailer; a line over MaxLine is
// ErrHeaderTooLarge. Lines end in CRLF only (a bare LF is not accepted).
//
// The encoder writes each payload as one chunk and refuses an empty one,
// which would read as the last chunk; AppendLastChunk ends a body.
type Chunked struct {
	maxLine int
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
	return &Chunked{maxLine: c.MaxLine}, nil
}

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
	if whole && bytes.ContainsAny(rest, "\r\n") {
		return corrupt(ErrBadLength, "a CR or LF in chunk extensions %s", clip(line))
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
			return framing.Frame(lineEnd, pos, end).WithKind(ChunkLast).Final(), nil
		}
		if _, _, ok := splitHeaderLine(buf[pos : pos+i]); !ok {
			return framing.Decoded{}, corrupt(ErrHeader, "malformed trailer field %s", clip(buf[pos:pos+i]))
		}
		pos = end
	}
}

// AppendFrame appends payload as one chunk; an empty payload is a
// *framing.PayloadError.
func (c *Chunked) AppendFrame(dst, payload []byte) ([]byte, error) {
	dst, _, err := c.AppendHeader(dst, payload)
	if err != nil {
		return dst, err
	}
	return c.AppendTrailer(append(dst, payload...), payload), nil
}

// AppendHeader implements framing.WrapEncoder: the size in hex and CRLF.
func (c *Chunked) AppendHeader(dst, payload []byte) ([]byte, int, error) {
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
