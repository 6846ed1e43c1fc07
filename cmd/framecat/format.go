package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// The frame formats of stdin and stdout, one frame per line.
const (
	formatHex  = "hex"
	formatText = "text"
	formatJSON = "json"
)

// pickFormat returns the -f value, or the default: text on a terminal,
// hex otherwise.
func pickFormat(c *cmdline) (string, error) {
	f, ok := c.flags["format"]
	if !ok {
		if isTerminal(os.Stdout) {
			return formatText, nil
		}
		return formatHex, nil
	}
	switch f {
	case formatHex, formatText, formatJSON:
		return f, nil
	}
	return "", usagef("-f %q: want hex, text or json", f)
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printer writes frames to an output, one per line, for any number of
// goroutines; lines never interleave.
type printer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	format string
	// live flushes after every line, for output that people or scripts
	// watch while it happens.
	live bool
	line []byte
}

func newPrinter(w io.Writer, format string, live bool) *printer {
	return &printer{w: bufio.NewWriterSize(w, 64<<10), format: format, live: live}
}

// tag is what a line says about a frame besides its bytes; zero fields are
// left out.
type tag struct {
	time  time.Time // when the frame was read (--time)
	conn  int64     // connection id, from 1 (listen, proxy)
	peer  string    // the client's address (listen; proxy in JSON)
	mark  string    // ">" or "<" (proxy), dir in JSON
	dir   string    // "c>s" or "s>c"
	fault string    // what the proxy did to the frame: "drop", "dup", "corrupt@3"
	kind  string    // the frame's kind, for codecs that name them: "startup"
}

// timeLayout is how --time prints a time: UTC, to the microsecond.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// frame prints payload. In hex and text, the tag's fields come first, each
// followed by a space: time, #conn, peer, mark, (fault); in JSON they are
// keys of the object.
func (p *printer) frame(t tag, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.line[:0]
	switch p.format {
	case formatJSON:
		b = append(b, `{"len":`...)
		b = strconv.AppendInt(b, int64(len(payload)), 10)
		b = append(b, `,"hex":"`...)
		b = hex.AppendEncode(b, payload)
		b = append(b, '"')
		b = t.appendJSON(b)
		b = append(b, '}')
	default:
		b = t.appendText(b)
		if t.kind != "" {
			b = append(b, '[')
			b = append(b, t.kind...)
			b = append(b, "] "...)
		}
		if p.format == formatHex {
			b = hex.AppendEncode(b, payload)
		} else {
			b = appendText(b, payload)
		}
	}
	return p.emit(b)
}

// appendJSON appends the tag's fields as keys of a JSON object, each
// after a comma.
func (t tag) appendJSON(b []byte) []byte {
	if !t.time.IsZero() {
		b = append(b, `,"time":"`...)
		b = t.time.UTC().AppendFormat(b, timeLayout)
		b = append(b, '"')
	}
	if t.conn != 0 {
		b = append(b, `,"conn":`...)
		b = strconv.AppendInt(b, t.conn, 10)
	}
	for _, kv := range [...][2]string{{"peer", t.peer}, {"dir", t.dir}, {"fault", t.fault}, {"kind", t.kind}} {
		if kv[1] != "" {
			b = append(b, `,"`...)
			b = append(b, kv[0]...)
			b = append(b, `":`...)
			b = strconv.AppendQuote(b, kv[1])
		}
	}
	return b
}

// appendText appends what a text or hex line says before a frame: time,
// #conn, peer, mark, (fault), each followed by a space.
func (t tag) appendText(b []byte) []byte {
	if !t.time.IsZero() {
		b = t.time.UTC().AppendFormat(b, timeLayout)
		b = append(b, ' ')
	}
	if t.conn != 0 {
		b = append(b, '#')
		b = strconv.AppendInt(b, t.conn, 10)
		b = append(b, ' ')
	}
	if t.peer != "" {
		b = append(b, t.peer...)
		b = append(b, ' ')
	}
	if t.mark != "" {
		b = append(b, t.mark...)
		b = append(b, ' ')
	}
	if t.fault != "" {
		b = append(b, '(')
		b = append(b, t.fault...)
		b = append(b, ") "...)
	}
	return b
}

// event prints a line about a stream rather than a frame (proxy):
//
//	final     the codec ended the framed stream with the frame before;
//	          what follows from offset is relayed unframed
//	unframed  the stream ended: bytes were relayed unframed from offset
//
// In hex and text, after the tag, "-- " and a sentence; in JSON, an
// object with "event", the tag's keys, "offset", and "bytes" when
// bytes >= 0.
func (p *printer) event(t tag, name string, offset, bytes int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.format != formatJSON && t.conn == 0 {
		return nil // decode: stderr says it
	}
	b := p.line[:0]
	if p.format == formatJSON {
		b = append(b, `{"event":`...)
		b = strconv.AppendQuote(b, name)
		b = t.appendJSON(b)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, offset, 10)
		if bytes >= 0 {
			b = append(b, `,"bytes":`...)
			b = strconv.AppendInt(b, bytes, 10)
		}
		b = append(b, '}')
	} else {
		b = append(t.appendText(b), "-- "...)
		switch name {
		case "final":
			b = fmt.Appendf(b, "final frame: from offset %d the stream is relayed unframed", offset)
		case "unframed":
			b = fmt.Appendf(b, "%d bytes relayed unframed from offset %d", bytes, offset)
		case "resumed":
			b = fmt.Appendf(b, "SSL refused: framing resumes at offset %d", offset)
		default:
			b = fmt.Appendf(b, "%s at offset %d", name, offset)
		}
	}
	return p.emit(b)
}

// emit ends the line b and writes it (flushed at once when live); b is
// kept as the printer's line buffer for the next record.
func (p *printer) emit(b []byte) error {
	b = append(b, '\n')
	p.line = b
	if _, err := p.w.Write(b); err != nil {
		return err
	}
	if p.live {
		return p.w.Flush()
	}
	return nil
}

// flush writes what is buffered.
func (p *printer) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Flush()
}

// frameInput reads frames written one per line in a format.
type frameInput struct {
	r      *bufio.Reader
	name   string // for errors: "stdin" or the file name
	format string
	line   int // lines read so far; lines are numbered from 1
	// max, when positive, bounds the frames read: a line that cannot hold
	// a frame of max bytes or less is refused as soon as it is that long,
	// without being read whole.
	max  int
	buf  []byte
	over bool // the last line was refused: the input is not read further
}

func newFrameInput(r io.Reader, name, format string, max int) *frameInput {
	return &frameInput{r: bufio.NewReaderSize(r, 64<<10), name: name, format: format, max: max}
}

// maxLine is the longest line that can hold a frame of in.max bytes: the
// bytes in text; two hex digits a byte plus spaces between the bytes in
// hex; the hex in JSON plus room for the rest of the object.
func (in *frameInput) maxLine() int {
	switch {
	case in.max <= 0:
		return 0
	case in.format == formatText:
		return in.max + 1 // a \r before the \n is part of the frame
	case in.format == formatHex:
		return 3*in.max + 64
	}
	return 2*in.max + 1024
}

// readLine returns the next line without its \n, or an error for a line
// over maxLine, read no further than that.
func (in *frameInput) readLine() ([]byte, error) {
	limit := in.maxLine()
	in.buf = in.buf[:0]
	for {
		chunk, err := in.r.ReadSlice('\n')
		in.buf = append(in.buf, chunk...)
		if limit > 0 && len(bytes.TrimSuffix(in.buf, []byte("\n"))) > limit {
			in.over = true
			return nil, fmt.Errorf("%s line %d: over %d bytes, longer than a frame within --max %d can be (not read further)",
				in.name, in.line+1, limit, in.max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(in.buf) > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(in.buf, []byte("\n")), nil
	}
}

// next returns the next frame, or io.EOF after the last one. The slice is
// the caller's.
func (in *frameInput) next() ([]byte, error) {
	for {
		if in.over {
			return nil, errors.New("input refused")
		}
		line, err := in.readLine()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			if in.over {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		in.line++
		frame, skip, perr := in.parse(line)
		if perr != nil {
			return nil, fmt.Errorf("%s line %d: %v", in.name, in.line, perr)
		}
		if !skip {
			if in.format == formatText {
				frame = append([]byte(nil), frame...)
			}
			return frame, nil
		}
	}
}

// at names the input line of the last frame in err, an error about that
// frame: "stdin line 2: frame 2 at offset 6: ...".
func (in *frameInput) at(err error) error {
	if err == nil {
		return nil
	}
	return &lineError{name: in.name, line: in.line, err: err}
}

// lineError is an error about the frame of an input line.
type lineError struct {
	name string
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%s line %d: %v", e.name, e.line, e.err) }

func (e *lineError) Unwrap() error { return e.err }

// parse turns one input line into a frame; skip says the line holds none
// (a blank line in JSON).
func (in *frameInput) parse(line []byte) (frame []byte, skip bool, err error) {
	switch in.format {
	case formatText:
		return line, false, nil
	case formatHex:
		digits := make([]byte, 0, len(line))
		for _, c := range line {
			if c != ' ' && c != '\t' && c != '\r' {
				digits = append(digits, c)
			}
		}
		frame = make([]byte, hex.DecodedLen(len(digits)))
		if _, err := hex.Decode(frame, digits); err != nil {
			return nil, false, fmt.Errorf("bad hex: %v", err)
		}
		return frame, false, nil
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, true, nil
	}
	var obj struct {
		Len *int64  `json:"len"`
		Hex *string `json:"hex"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		return nil, false, fmt.Errorf("bad JSON: %v", err)
	}
	if obj.Hex == nil {
		return nil, false, errors.New(`JSON object without "hex"`)
	}
	frame, err = hex.DecodeString(*obj.Hex)
	if err != nil {
		return nil, false, fmt.Errorf("bad hex: %v", err)
	}
	if obj.Len != nil && *obj.Len != int64(len(frame)) {
		return nil, false, fmt.Errorf(`"len" is %d but "hex" holds %d bytes`, *obj.Len, len(frame))
	}
	return frame, false, nil
}

// appendText appends a frame as text: as it is, unless it holds control
// bytes (a text protocol's CRLFs, RESP, chunked trailers, a NUL), which
// would break the one-line-per-frame output or the terminal; such a frame
// is written with escapes (\r, \n, \t, \\, \xHH for other controls),
// so "+OK\r\n" prints as +OK\r\n on one line.
func appendText(b, payload []byte) []byte {
	plain := true
	for _, c := range payload {
		if c < ' ' && c != '\t' || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return append(b, payload...)
	}
	const hexDigits = "0123456789abcdef"
	for _, c := range payload {
		switch {
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}
