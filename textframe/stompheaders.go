package textframe

import "bytes"

// STOMPFrame is a frame as the STOMP decoder returns it: the command line,
// the header lines, the empty line and the body, lines ending in LF or
// CRLF. Its methods read the parts; header names and values are
// unescaped as STOMP 1.2 "Value Encoding" says (\r, \n, \c and \\ stand
// for CR, LF, ":" and "\"), except in CONNECT and CONNECTED frames, whose
// headers are taken as they are. Any other backslash sequence, or a
// backslash that ends a name or value, is an error for which
// errors.Is(err, ErrEscape) holds; the decoder has refused such a frame
// already, so on the frames it returns that error cannot occur.
type STOMPFrame []byte

// Command returns the frame's command (the first line, without its line
// end).
func (f STOMPFrame) Command() []byte {
	line, _, _ := stompLine(f)
	return line
}

// Body returns the bytes after the empty line that ends the headers, or
// nil if there is no such line.
func (f STOMPFrame) Body() []byte {
	_, rest, ok := stompLine(f)
	for ok {
		var line []byte
		if line, rest, ok = stompLine(rest); ok && len(line) == 0 {
			return rest
		}
	}
	return nil
}

// Header returns the unescaped value of the first header whose unescaped
// name is name (names are case-sensitive; of repeated headers, the first
// wins, as the specification says), and whether there is one. It
// allocates only for a value that holds an escape. It reports an
// undefined escape in the names it compares and in the value it returns;
// Headers checks every header.
func (f STOMPFrame) Header(name string) (value []byte, found bool, err error) {
	err = f.each(func(n, v []byte, raw bool) (bool, error) {
		if raw {
			if string(n) != name {
				return true, nil
			}
			value, found = v, true
			return false, nil
		}
		eq, err := stompEqual(n, name)
		if err != nil || !eq {
			return true, err
		}
		value, err = unescapeSTOMP(v)
		found = err == nil
		return false, err
	})
	return value, found, err
}

// Headers calls fn with each header's unescaped name and value, in the
// order of the frame, until fn returns false. The slices are valid during
// the call only when they held escapes, else they point into f.
func (f STOMPFrame) Headers(fn func(name, value []byte) bool) error {
	return f.each(func(n, v []byte, raw bool) (bool, error) {
		if !raw {
			var err error
			if n, err = unescapeSTOMP(n); err != nil {
				return false, err
			}
			if v, err = unescapeSTOMP(v); err != nil {
				return false, err
			}
		}
		return fn(n, v), nil
	})
}

// each calls fn with each header line's raw name and value, and whether
// they are taken as they are (CONNECT, CONNECTED), until fn returns false
// or an error.
func (f STOMPFrame) each(fn func(name, value []byte, raw bool) (bool, error)) error {
	cmd, rest, ok := stompLine(f)
	raw := stompIsRaw(cmd)
	for ok {
		var line []byte
		if line, rest, ok = stompLine(rest); !ok || len(line) == 0 {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return corrupt(ErrHeader, "STOMP header line %s", clip(line))
		}
		if more, err := fn(line[:colon], line[colon+1:], raw); err != nil || !more {
			return err
		}
	}
	return nil
}

// stompLine splits the first line off b (its LF or CRLF removed); ok is
// false when b holds no LF.
func stompLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:], true
}

// stompIsRaw reports a command whose headers are not escaped.
func stompIsRaw(cmd []byte) bool {
	return string(cmd) == "CONNECT" || string(cmd) == "CONNECTED"
}

// stompRawCommand reports whether the frame at the front of buf, whose
// command line is complete, is a CONNECT or CONNECTED frame.
func stompRawCommand(buf []byte) bool {
	cmd, _, _ := stompLine(buf)
	return stompIsRaw(cmd)
}

// stompUnescape is what each escape stands for (0: undefined).
var stompUnescape = [256]byte{'r': '\r', 'n': '\n', 'c': ':', '\\': '\\'}

// checkSTOMPEscapes checks that every backslash of a header line starts
// one of the four escapes.
func checkSTOMPEscapes(line []byte) error {
	for i := bytes.IndexByte(line, '\\'); i >= 0; {
		if _, err := unescapeAt(line, i); err != nil {
			return err
		}
		line = line[i+2:]
		i = bytes.IndexByte(line, '\\')
	}
	return nil
}

// unescapeAt returns the byte the escape at b[i] (a backslash) stands
// for, or the typed error for an undefined or cut escape.
func unescapeAt(b []byte, i int) (byte, error) {
	if i+1 >= len(b) || stompUnescape[b[i+1]] == 0 {
		return 0, escapeError(b[i:])
	}
	return stompUnescape[b[i+1]], nil
}

func escapeError(at []byte) error {
	if len(at) < 2 {
		return corrupt(ErrEscape, "a STOMP header ends in a backslash")
	}
	return corrupt(ErrEscape, "undefined escape %q in a STOMP header", at[:2])
}

// unescapeSTOMP returns b unescaped: b itself when it holds no backslash,
// else a new slice.
func unescapeSTOMP(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\\')
	if i < 0 {
		return b, nil
	}
	out := make([]byte, i, len(b))
	copy(out, b)
	for ; i < len(b); i++ {
		c := b[i]
		if c == '\\' {
			var err error
			if c, err = unescapeAt(b, i); err != nil {
				return nil, err
			}
			i++
		}
		out = append(out, c)
	}
	return out, nil
}

// stompEqual reports whether the escaped name raw unescapes to name,
// without allocating.
func stompEqual(raw []byte, name string) (bool, error) {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			var err error
			if c, err = unescapeAt(raw, i); err != nil {
				return false, err
			}
			i++
		}
		if j >= len(name) || name[j] != c {
			// Check the rest for undefined escapes all the same.
			return false, checkSTOMPEscapes(raw[i+1:])
		}
		j++
	}
	return j == len(name), nil
}

// AppendSTOMPHeader appends the header line "name:value\n" with name and
// value escaped as STOMP 1.2 requires (CR, LF, ":" and "\" as \r, \n, \c
// and \\), for any frame but CONNECT and CONNECTED, whose headers are not
// escaped (and so cannot hold those bytes).
func AppendSTOMPHeader(dst []byte, name, value string) []byte {
	dst = appendSTOMPEscaped(dst, name)
	dst = append(dst, ':')
	return append(appendSTOMPEscaped(dst, value), '\n')
}

func appendSTOMPEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		case ':':
			dst = append(dst, '\\', 'c')
		case '\\':
			dst = append(dst, '\\', '\\')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
