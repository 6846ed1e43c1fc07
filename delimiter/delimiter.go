package delimiter

import (
	"bytes"
	"fmt"

	"github.com/framekit/framekit/framing"
)

const codecName = "delimiter"

// errZeroCodec is what a Codec or FixedCodec not made by New or Fixed (a
// zero value) returns instead of panicking.
var errZeroCodec = &framing.ConfigError{Codec: codecName, Reason: "codec not made by New, Fixed or a preset"}

// Config describes delimiter-terminated frames.
type Config struct {
	// Delimiters end frames: one or several, each at least one byte. When
	// several match, the one that yields the shortest frame wins; when two
	// yield the same frame (one is a prefix of the other), the one listed
	// first wins, as in Netty's DelimiterBasedFrameDecoder: list "\r\n\r\n"
	// before "\r\n" to have it consumed whole rather than read as two
	// "\r\n" around an empty frame. Where delimiters overlap, a match is
	// taken only once no winning one can still be completed by bytes not
	// yet received, so frames do not depend on how the stream is cut. The
	// encoder ends frames with the first delimiter.
	Delimiters [][]byte
	// KeepDelimiter returns frames with their delimiter; by default it is
	// stripped. The limit counts the frame as returned, delimiter included;
	// the encoder always takes the payload without it.
	KeepDelimiter bool
	// FinalAtEOF returns the bytes after the last delimiter as one last
	// frame when the stream ends cleanly (bufio.Scanner's ScanLines,
	// Python's readline() and tokio's decode_eof do the same), so that
	// "printf hi | nc" reads as the line "hi". By default such bytes are
	// an unexpected EOF: a stream cut short is not mistaken for a
	// complete last frame.
	FinalAtEOF bool
}

// A Codec frames messages that end at a delimiter. It is immutable and safe
// for concurrent use; it implements framing.Codec and framing.WrapEncoder.
type Codec struct {
	delims [][]byte
	maxLen int
	keep   bool
	kept   int  // with keep, the shortest delimiter: the least a frame adds to its scanned bytes
	lines  bool // the delimiters are "\n" and "\r\n": one IndexByte finds both
	final  bool // FinalAtEOF
}

// New returns a Codec for c. No delimiter, an empty one or a repeated one
// is a *framing.ConfigError.
func New(c Config) (*Codec, error) {
	if len(c.Delimiters) == 0 {
		return nil, &framing.ConfigError{Codec: codecName, Reason: "no delimiter"}
	}
	cd := &Codec{keep: c.KeepDelimiter, final: c.FinalAtEOF}
	for i, d := range c.Delimiters {
		if len(d) == 0 {
			return nil, &framing.ConfigError{Codec: codecName, Reason: fmt.Sprintf("delimiter %d is empty", i)}
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(d, c.Delimiters[j]) {
				return nil, &framing.ConfigError{Codec: codecName, Reason: fmt.Sprintf("delimiter %q is listed twice", d)}
			}
		}
		cd.delims = append(cd.delims, bytes.Clone(d))
		cd.maxLen = max(cd.maxLen, len(d))
		if c.KeepDelimiter && (i == 0 || len(d) < cd.kept) {
			cd.kept = len(d)
		}
	}
	// "\n" and "\r\n", in either order, never match at the same position,
	// and "\r\n" wins exactly when the first "\n" follows a "\r".
	cd.lines = len(cd.delims) == 2 && cd.maxLen == 2 &&
		(string(cd.delims[0])+string(cd.delims[1]) == "\n\r\n" || string(cd.delims[0])+string(cd.delims[1]) == "\r\n\n")
	return cd, nil
}

func mustNew(c Config) *Codec {
	cd, err := New(c)
	if err != nil {
		panic(err)
	}
	return cd
}

// Presets.
var (
	// Lines are frames ending at "\n" or "\r\n", stripped (Netty's
	// LineBasedFrameDecoder); the encoder writes "\n" and refuses a payload
	// that contains "\n" or ends in "\r".
	Lines = mustNew(Config{Delimiters: [][]byte{[]byte("\n"), []byte("\r\n")}})
	// CRLFLines reads as Lines does, and the encoder writes "\r\n".
	CRLFLines = mustNew(Config{Delimiters: [][]byte{[]byte("\r\n"), []byte("\n")}})
	// CRLF is frames ending at exactly "\r\n", stripped; a lone "\n" is
	// data.
	CRLF = mustNew(Config{Delimiters: [][]byte{[]byte("\r\n")}})
	// LinesAtEOF reads as Lines does, and returns a last line without a
	// line ending at a clean end of the stream (Config.FinalAtEOF).
	LinesAtEOF = mustNew(Config{Delimiters: [][]byte{[]byte("\n"), []byte("\r\n")}, FinalAtEOF: true})
)

// FinalAtEOF reports whether the codec returns the bytes after the last
// delimiter as a last frame at a clean end of the stream.
func (c *Codec) FinalAtEOF() bool { return c.final }

// NewLines returns Lines, or CRLFLines when crlf is set: both read frames
// ending at "\n" or "\r\n"; the encoder writes "\r\n" when crlf is set,
// "\n" otherwise.
func NewLines(crlf bool) *Codec {
	if crlf {
		return CRLFLines
	}
	return Lines
}

// find returns the earliest delimiter match in buf at or after from: its
// position, length and index, or a position of -1.
func (c *Codec) find(buf []byte, from int) (pos, dlen, di int) {
	pos = -1
	for k, d := range c.delims {
		region := buf[from:]
		if pos >= 0 {
			// Only a match that starts before the best one can win.
			end := pos - 1 + len(d)
			if end <= from {
				continue
			}
			region = buf[from:min(end, len(buf))]
		}
		var i int
		if len(d) == 1 {
			i = bytes.IndexByte(region, d[0])
		} else {
			i = bytes.Index(region, d)
		}
		if i >= 0 {
			pos, dlen, di = from+i, len(d), k
		}
	}
	return pos, dlen, di
}

// undecided reports whether a delimiter that would win over the match of
// delimiter di at pos could still be completed by bytes not yet received:
// one starting earlier, or at pos and listed before di, whose beginning is
// at the end of buf.
func (c *Codec) undecided(buf []byte, pos, di int) bool {
	if pos+c.maxLen <= len(buf) {
		return false
	}
	for k, e := range c.delims {
		if k == di {
			continue
		}
		for s := max(0, len(buf)-len(e)+1); s <= pos; s++ {
			if s == pos && k > di {
				break
			}
			if bytes.HasPrefix(e, buf[s:]) {
				return true
			}
		}
	}
	return false
}

// Decode implements framing.Decoder: a frame ends at the delimiter the
// shortest-frame rule picks, whatever its size (the Reader checks it).
// While no delimiter is found, it reports framing.OverLimit as soon as the
// bytes certainly in the frame (with the shortest delimiter, when kept)
// are more than st.Limit: such a frame is over the limit however it ends.
func (c *Codec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if c.maxLen == 0 {
		return framing.Decoded{}, errZeroCodec
	}
	from := min(max(st.Scanned, 0), len(buf))
	var pos, dlen, di int
	if c.lines {
		// The first "\n", or "\r\n" when a "\r" precedes it (one before
		// from counts: it was scanned, not consumed). A line ending ends
		// the frame: no other delimiter can win over it.
		pos, dlen = bytes.IndexByte(buf[from:], '\n'), 1
		if pos >= 0 {
			pos += from
			if pos > 0 && buf[pos-1] == '\r' {
				pos, dlen = pos-1, 2
			}
		}
	} else {
		pos, dlen, di = c.find(buf, from)
	}
	if pos >= 0 {
		if !c.lines && !atEOF && len(c.delims) > 1 && c.undecided(buf, pos, di) {
			// Another delimiter may yet make a shorter frame: wait for it.
			return framing.Need(len(buf) + 1), nil
		}
		end := pos
		if c.keep {
			end += dlen
		}
		return framing.Frame(0, end, pos+dlen), nil
	}
	if atEOF && c.final && len(buf) > 0 {
		// The last frame, unterminated; the Reader checks its size.
		return framing.Frame(0, len(buf), len(buf)), nil
	}
	// Bytes before safe cannot be the start of a delimiter that is still
	// incomplete: they are in the frame, and the next call scans from there.
	safe := max(0, len(buf)-(c.maxLen-1))
	if safe > 0 && safe+c.kept > st.Limit {
		return framing.OverLimit(safe), nil
	}
	st.Scanned = max(from, safe)
	return framing.Need(len(buf) + 1), nil
}

// check refuses a payload that would not be read back intact: one in which
// a delimiter starts before the end of the payload, counting the
// delimiter written after it and possibly bytes of the next frame.
func (c *Codec) check(p []byte) error {
	if c.maxLen == 0 {
		return errZeroCodec
	}
	trailer := c.delims[0]
	for _, d := range c.delims {
		if bytes.Contains(p, d) {
			return &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf("contains the delimiter %q", d)}
		}
		// A delimiter starting in the payload's last bytes and running on
		// into the trailer (and beyond, into whatever follows).
		for k := min(len(d)-1, len(p)); k >= 1; k-- {
			if !bytes.Equal(p[len(p)-k:], d[:k]) {
				continue
			}
			rest := d[k:]
			n := min(len(rest), len(trailer))
			if bytes.Equal(rest[:n], trailer[:n]) {
				return &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(
					"its last %d bytes and the delimiter %q would read as the delimiter %q", k, trailer, d)}
			}
		}
	}
	return nil
}

// AppendFrame appends payload and the first delimiter to dst; a payload
// that would not be read back intact is a *framing.PayloadError and
// nothing is appended.
func (c *Codec) AppendFrame(dst, payload []byte) ([]byte, error) {
	if err := c.check(payload); err != nil {
		return dst, err
	}
	return append(append(dst, payload...), c.delims[0]...), nil
}

// AppendHeader implements framing.WrapEncoder: there is no header; it only
// checks payload.
func (c *Codec) AppendHeader(dst, payload []byte) ([]byte, int, error) {
	return dst, 0, c.check(payload)
}

// AppendTrailer implements framing.WrapEncoder: it appends the first
// delimiter.
func (c *Codec) AppendTrailer(dst, _ []byte) []byte {
	if c.maxLen == 0 {
		return dst
	}
	return append(dst, c.delims[0]...)
}

var (
	_ framing.Codec       = (*Codec)(nil)
	_ framing.WrapEncoder = (*Codec)(nil)
)
