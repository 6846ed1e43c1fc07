package textframe

import (
	"errors"
	"fmt"

	"github.com/framekit/framekit/framing"
)

// The causes of the *framing.CorruptError values the codecs return, for
// errors.Is. Every one of them is Fatal: the stream cannot be resumed
// after it. The Reader sets the error's Offset to the stream offset of the
// frame in which it was found.
var (
	// ErrJunk: bytes that cannot start a frame where one should start
	// (text before a Content-Length header block, a byte that starts no
	// JSON value, an unknown STOMP line).
	ErrJunk = errors.New("textframe: bytes that start no frame")
	// ErrHeader: a malformed header line (no colon, a bad name, a bare
	// CR or LF).
	ErrHeader = errors.New("textframe: malformed header line")
	// ErrHeaderTooLarge: a header block (or a chunk-size line, a trailer
	// section) longer than its limit.
	ErrHeaderTooLarge = errors.New("textframe: header block over its limit")
	// ErrNoLength: a Content-Length header block without Content-Length.
	ErrNoLength = errors.New("textframe: no Content-Length header")
	// ErrDuplicateLength: two Content-Length headers in one block.
	ErrDuplicateLength = errors.New("textframe: duplicate Content-Length header")
	// ErrBadLength: a length that is not a number of the allowed form
	// (non-digits, too many digits, a leading zero where the format
	// forbids it, a value past what the format or an int64 allows).
	ErrBadLength = errors.New("textframe: malformed length")
	// ErrTrailer: the bytes after a counted payload are not what the
	// format requires (netstring's ",", a chunk's CRLF, STOMP's NUL,
	// RESP's CRLF).
	ErrTrailer = errors.New("textframe: bad bytes after a counted payload")
	// ErrDepth: a JSON or RESP value nested deeper than the codec's
	// depth limit.
	ErrDepth = errors.New("textframe: nesting over the depth limit")
	// ErrElements: a RESP value with more elements than the codec's
	// element limit.
	ErrElements = errors.New("textframe: element count over its limit")
	// ErrUnsupported: a well-formed construct the codec refuses (RESP3
	// streamed strings and aggregates), documented on the codec.
	ErrUnsupported = errors.New("textframe: unsupported construct")
	// ErrSyntax: a structural byte where the format allows none (a JSON
	// scalar followed directly by a bracket, an unknown RESP type byte
	// inside an aggregate).
	ErrSyntax = errors.New("textframe: syntax error")
	// ErrEscape: a STOMP header holding a backslash that starts none of
	// the four escapes STOMP 1.2 defines (\r, \n, \c, \\), which the
	// specification makes a fatal protocol error.
	ErrEscape = errors.New("textframe: undefined escape in a STOMP header")
	// ErrExtension: a malformed HTTP/1.1 chunk extension (RFC 9112
	// §7.1.1): not ";" name ["=" token or quoted-string].
	ErrExtension = errors.New("textframe: malformed chunk extension")
)

// corrupt returns the codec's error for cause.
func corrupt(cause error, format string, args ...any) error {
	return &framing.CorruptError{Reason: fmt.Sprintf(format, args...), Err: cause}
}

// payloadError refuses a payload before anything is written.
func payloadError(p []byte, format string, args ...any) error {
	return &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(format, args...)}
}

// maxDecimal is the most decimal digits a length may have: 18 digits
// always fit an int64, so a 2^63 length is refused as malformed rather
// than wrapped.
const maxDecimal = 18

// parseDecimal parses b, 1 to maxDigits ASCII digits, as a non-negative
// number; ok is false for anything else.
func parseDecimal(b []byte, maxDigits int) (n int64, ok bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hexVal is the value of an ASCII hex digit, or -1.
func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isTchar reports an HTTP token character (RFC 9110 §5.6.2), the bytes of
// a header name.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// clip quotes at most 16 bytes of b for an error message.
func clip(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%q...", b[:16])
	}
	return fmt.Sprintf("%q", b)
}
