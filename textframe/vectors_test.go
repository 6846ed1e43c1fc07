package textframe_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/textframe"
)

// read returns the frames (as "kind:payload"), and the error that ended
// the stream, read from stream cut into 1-byte pieces.
func read(t *testing.T, dec framing.Codec, stream string) ([]string, error) {
	t.Helper()
	r := framing.NewReader(fuzz.NewReader(strings.NewReader(stream), fuzz.CutEvery(1)), dec, nil)
	var got []string
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return got, err
		}
		k := ""
		if r.Kind() != 0 {
			k = string(rune('0'+r.Kind())) + ":"
		}
		got = append(got, k+string(f))
	}
}

func TestVectors(t *testing.T) {
	tests := []struct {
		name   string
		codec  framing.Codec
		stream string
		want   []string
		err    error // what ends the stream: io.EOF, a cause, io.ErrUnexpectedEOF
	}{
		// Content-Length (LSP base protocol).
		{"lsp", textframe.LSP, "Content-Length: 2\r\n\r\n{}content-length:3\r\nContent-Type: x\r\n\r\n[1]", []string{"{}", "[1]"}, io.EOF},
		{"lsp/junk", textframe.LSP, "junk\r\nContent-Length: 2\r\n\r\n{}", nil, textframe.ErrJunk},
		{"lsp/leading blank", textframe.LSP, "\r\nContent-Length: 2\r\n\r\n{}", nil, textframe.ErrJunk},
		{"lsp/missing", textframe.LSP, "Content-Type: x\r\n\r\n{}", nil, textframe.ErrNoLength},
		{"lsp/duplicate", textframe.LSP, "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", nil, textframe.ErrDuplicateLength},
		{"lsp/non-numeric", textframe.LSP, "Content-Length: 2x\r\n\r\n{}", nil, textframe.ErrBadLength},
		{"lsp/2^63", textframe.LSP, "Content-Length: 9223372036854775808\r\n\r\n", nil, textframe.ErrBadLength},
		{"lsp/bad line", textframe.LSP, "Content-Length: 2\r\nno colon\r\n\r\n{}", nil, textframe.ErrHeader},
		{"lsp/header too large", textframe.LSP, "Content-Length: 2\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n{}", nil, textframe.ErrHeaderTooLarge},
		{"lsp/truncated body", textframe.LSP, "Content-Length: 5\r\n\r\nab", nil, io.ErrUnexpectedEOF},
		// JSON value stream.
		{"json", textframe.JSONStream, ` {"a":"}\"{"} [1,[2]]"x\\" 12 true` + "\n" + `null`, []string{`{"a":"}\"{"}`, `[1,[2]]`, `"x\\"`, `12`, `true`, `null`}, io.EOF},
		{"json/scalar then bracket", textframe.JSONStream, `12{}`, nil, textframe.ErrSyntax},
		{"json/junk", textframe.JSONStream, `{} ]`, []string{`{}`}, textframe.ErrJunk},
		{"json/depth", textframe.JSONStream, strings.Repeat("[", 10000), nil, textframe.ErrDepth},
		{"json/unclosed", textframe.JSONStream, `{"a":[1,2}`, nil, io.ErrUnexpectedEOF},
		{"json/elements", textframe.JSONArrayElements, `[1, {"a":[2]} ,"s\"]",[],  true]{"b":1}`, []string{`1`, `{"a":[2]}`, `"s\"]"`, `[]`, `true`, `{"b":1}`}, io.EOF},
		{"json/elements open at EOF", textframe.JSONArrayElements, `[1, 2, `, []string{"1", "2"}, io.ErrUnexpectedEOF},
		// netstring.
		{"netstring", textframe.Netstring, "5:hello,0:,3:a,b,", []string{"hello", "", "a,b"}, io.EOF},
		{"netstring/no comma", textframe.Netstring, "5:hello;", nil, textframe.ErrTrailer},
		{"netstring/leading zero", textframe.Netstring, "05:hello,", nil, textframe.ErrBadLength},
		{"netstring/2^63", textframe.Netstring, "9223372036854775808:", nil, textframe.ErrBadLength},
		// RFC 6587.
		{"octet", textframe.OctetCounting, "11 <34>1 hi\n x<13>legacy line\n3 abc", []string{"<34>1 hi\n x", "<13>legacy line", "abc"}, io.EOF},
		{"octet/no space", textframe.OctetCounting, "12<34>", nil, textframe.ErrBadLength},
		// pkt-line.
		{"pktline", textframe.PktLine, "000ahello\n00000001000200040006a\n", []string{"hello\n", "1:", "2:", "3:", "", "a\n"}, io.EOF},
		{"pktline/0003", textframe.PktLine, "0003", nil, textframe.ErrBadLength},
		{"pktline/not hex", textframe.PktLine, "00g5", nil, textframe.ErrBadLength},
		{"pktline/over max", textframe.PktLine, "fff1", nil, textframe.ErrBadLength},
		// HTTP/1.1 chunked.
		{"chunked", textframe.HTTPChunked, "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nExpires: never\r\n\r\n", []string{"hello", "0123456789", "1:Expires: never\r\n"}, framing.ErrFinal},
		{"chunked/no CRLF after data", textframe.HTTPChunked, "5\r\nhelloXX0\r\n\r\n", nil, textframe.ErrTrailer},
		{"chunked/bad size", textframe.HTTPChunked, "5x\r\nhello\r\n", nil, textframe.ErrBadLength},
		{"chunked/2^64", textframe.HTTPChunked, "10000000000000000\r\n", nil, textframe.ErrBadLength},
		// RESP2 and RESP3.
		{"resp", textframe.Redis, "+OK\r\n-ERR x\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n_\r\n,3.14\r\n#t\r\n(123\r\n!3\r\nerr\r\n=7\r\ntxt:abc\r\n%1\r\n+k\r\n~1\r\n:2\r\n>2\r\n+message\r\n+x\r\n|1\r\n+ttl\r\n:1\r\n+v\r\nPING\r\n",
			[]string{"+OK\r\n", "-ERR x\r\n", ":42\r\n", "$5\r\nhe\r\no\r\n", "$-1\r\n", "*-1\r\n", "*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "_\r\n", ",3.14\r\n", "#t\r\n", "(123\r\n", "!3\r\nerr\r\n", "=7\r\ntxt:abc\r\n", "%1\r\n+k\r\n~1\r\n:2\r\n", "1:>2\r\n+message\r\n+x\r\n", "|1\r\n+ttl\r\n:1\r\n+v\r\n", "2:PING\r\n"}, io.EOF},
		{"resp/streamed string", textframe.Redis, "$?\r\n;4\r\nHell\r\n;0\r\n", nil, textframe.ErrUnsupported},
		{"resp/streamed aggregate", textframe.Redis, "*?\r\n:1\r\n.\r\n", nil, textframe.ErrUnsupported},
		{"resp/bad type inside", textframe.Redis, "*1\r\nx\r\n", nil, textframe.ErrSyntax},
		{"resp/depth", textframe.Redis, strings.Repeat("*1\r\n", 10000) + ":1\r\n", nil, textframe.ErrDepth},
		{"resp/elements", textframe.Redis, "*2000000\r\n", nil, textframe.ErrElements},
		{"resp/2^63", textframe.Redis, "$9223372036854775808\r\n", nil, textframe.ErrBadLength},
		{"resp/bulk trailer", textframe.Redis, "$1\r\nab\r\n", nil, textframe.ErrTrailer},
		// STOMP 1.2.
		{"stomp", textframe.STOMP12, "\n\r\nCONNECT\naccept-version:1.2\nhost:h\n\n\x00\nSEND\r\ncontent-length:3\r\ncontent-length:9\r\n\r\na\x00b\x00\n\nMESSAGE\nx:y\n\nhi\x00",
			[]string{"CONNECT\naccept-version:1.2\nhost:h\n\n", "SEND\r\ncontent-length:3\r\ncontent-length:9\r\n\r\na\x00b", "MESSAGE\nx:y\n\nhi"}, io.EOF},
		{"stomp/no NUL after content", textframe.STOMP12, "SEND\ncontent-length:1\n\nab\x00", nil, textframe.ErrTrailer},
		{"stomp/bad command", textframe.STOMP12, "send\n\n\x00", nil, textframe.ErrJunk},
		{"stomp/bad header", textframe.STOMP12, "SEND\nnocolon\n\n\x00", nil, textframe.ErrHeader},
		{"stomp/bad length", textframe.STOMP12, "SEND\ncontent-length:-1\n\n\x00", nil, textframe.ErrBadLength},
		{"stomp/truncated", textframe.STOMP12, "SEND\n\nabc", nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(t, tc.codec, tc.stream)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("ended with %v, want %v", err, tc.err)
			}
		})
	}
}

// TestErrorOffset: a corrupt frame's error carries the offset of that
// frame, after the frames before it were returned intact.
func TestErrorOffset(t *testing.T) {
	stream := "Content-Length: 2\r\n\r\n{}Content-Length: 1\r\n\r\n[Content-Length: x\r\n\r\n"
	got, err := read(t, textframe.LSP, stream)
	if diff := cmp.Diff([]string{"{}", "["}, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	var ce *framing.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, textframe.ErrBadLength) {
		t.Fatalf("got %v, want a *framing.CorruptError for ErrBadLength", err)
	}
	if want := int64(strings.Index(stream, "[") + 1); ce.Offset != want {
		t.Errorf("offset %d, want %d", ce.Offset, want)
	}
}

// TestHeaders: with KeepHeaders, each message's headers are readable.
func TestHeaders(t *testing.T) {
	c, err := textframe.NewContentLength(textframe.ContentLengthConfig{KeepHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := read(t, c, "Content-Length: 2\r\ncontent-TYPE:  a/b \r\n\r\n{}Content-Length: 0\r\n\r\n")
	if err != io.EOF || len(got) != 2 {
		t.Fatalf("got %q, %v", got, err)
	}
	h, body, ok := textframe.SplitHeader([]byte(got[0]))
	v, found := h.Get("Content-Type")
	if !ok || string(body) != "{}" || !found || string(v) != "a/b" {
		t.Errorf("SplitHeader: %q %q %v; Content-Type %q %v", h, body, ok, v, found)
	}
	if _, found := textframe.Header(got[1]).Get("content-type"); found {
		t.Errorf("second message has no Content-Type, Get found one")
	}
}

// TestChunkedDetach: after the last chunk, Detach hands over the next
// message on the connection, intact.
func TestChunkedDetach(t *testing.T) {
	next := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	body := "3\r\nabc\r\n0\r\n\r\n"
	for _, cut := range []fuzz.Cutting{fuzz.CutWhole(), fuzz.CutEvery(1), fuzz.CutEvery(7)} {
		r := framing.NewReader(fuzz.NewReader(strings.NewReader(body+next), cut), textframe.HTTPChunked, nil)
		var frames []string
		for {
			f, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, framing.ErrFinal) {
					t.Fatalf("%v: %v", cut, err)
				}
				break
			}
			frames = append(frames, string(f))
		}
		rest := r.Detach()
		if diff := cmp.Diff([]string{"abc", ""}, frames); diff != "" {
			t.Errorf("%v: frames (-want +got):\n%s", cut, diff)
		}
		// The Reader may not have read the whole next message yet; what it
		// hands over is a prefix of it, and the rest is still unread.
		if !strings.HasPrefix(next, string(rest)) {
			t.Errorf("%v: Detach gave %q, want a prefix of %q", cut, rest, next)
		}
	}
}

// TestEncoders: what each encoder writes, and what it refuses.
func TestEncoders(t *testing.T) {
	tests := []struct {
		name    string
		codec   framing.Codec
		payload string
		want    string // "" means refused
	}{
		{"lsp", textframe.LSP, "{}", "Content-Length: 2\r\n\r\n{}"},
		{"json object", textframe.JSONStream, `{"a":1}`, `{"a":1}`},
		{"json scalar", textframe.JSONStream, `12`, "12\n"},
		{"json two values", textframe.JSONStream, `{}{}`, ""},
		{"json space", textframe.JSONStream, ` {}`, ""},
		{"json elements refuse array", textframe.JSONArrayElements, `[1]`, ""},
		{"netstring", textframe.Netstring, "hello", "5:hello,"},
		{"octet", textframe.OctetCounting, "<13>hi", "6 <13>hi"},
		{"pktline", textframe.PktLine, "hi\n", "0007hi\n"},
		{"pktline too long", textframe.PktLine, strings.Repeat("a", textframe.PktMax-3), ""},
		{"chunked", textframe.HTTPChunked, strings.Repeat("a", 26), "1a\r\n" + strings.Repeat("a", 26) + "\r\n"},
		{"chunked empty", textframe.HTTPChunked, "", ""},
		{"resp", textframe.Redis, "*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nPING\r\n"},
		{"resp two values", textframe.Redis, "+a\r\n+b\r\n", ""},
		{"stomp", textframe.STOMP12, "SEND\n\nhi", "SEND\n\nhi\x00"},
		{"stomp NUL in body", textframe.STOMP12, "SEND\n\nh\x00i", ""},
		{"stomp wrong length", textframe.STOMP12, "SEND\ncontent-length:5\n\nhi", ""},
	}
	for _, tc := range tests {
		out, err := tc.codec.AppendFrame([]byte("x"), []byte(tc.payload))
		if tc.want == "" {
			if !errors.Is(err, framing.ErrPayload) || !bytes.Equal(out, []byte("x")) {
				t.Errorf("%s: got %q, %v; want a *framing.PayloadError and nothing appended", tc.name, out, err)
			}
			continue
		}
		if err != nil || string(out) != "x"+tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, out, err, "x"+tc.want)
		}
	}
	if got := string(textframe.AppendPkt(nil, textframe.PktFlush)) + string(textframe.AppendPkt(nil, textframe.PktDelim)) +
		string(textframe.AppendPkt(nil, textframe.PktResponseEnd)); got != "000000010002" {
		t.Errorf("AppendPkt: %q", got)
	}
	if got := string(textframe.AppendLastChunk(nil, []byte("A: b\r\n"))); got != "0\r\nA: b\r\n\r\n" {
		t.Errorf("AppendLastChunk: %q", got)
	}
}

// endless is a reader of a header block that never ends, counting the
// bytes taken from it.
type endless struct {
	n    int64
	line []byte
}

func (e *endless) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		k += copy(p[k:], e.line[int(e.n+int64(k))%len(e.line):])
	}
	e.n += int64(k)
	return k, nil
}

// TestHostileSizes: a 100 MiB header block, 10,000-deep nesting and 2^63
// lengths are refused after reading no more than the limits allow.
func TestHostileSizes(t *testing.T) {
	src := &endless{line: []byte("X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")}
	r := framing.NewReader(io.LimitReader(src, 100<<20), textframe.LSP, nil)
	_, err := r.ReadFrame()
	if !errors.Is(err, textframe.ErrHeaderTooLarge) {
		t.Fatalf("100 MiB header block: %v", err)
	}
	if src.n > 256<<10 {
		t.Errorf("100 MiB header block: read %d bytes before refusing it, want at most 256 KiB", src.n)
	}
	for name, c := range map[string]struct {
		dec    framing.Codec
		unit   string
		reason error
	}{
		"json":  {textframe.JSONStream, "[", textframe.ErrDepth},
		"json{": {textframe.JSONStream, `{"a":`, textframe.ErrDepth},
		"resp":  {textframe.Redis, "*1\r\n", textframe.ErrDepth},
	} {
		src := &endless{line: []byte(c.unit)}
		r := framing.NewReader(io.LimitReader(src, int64(len(c.unit))*10000), c.dec, nil)
		var err error
		for err == nil {
			_, err = r.ReadFrame()
		}
		if !errors.Is(err, c.reason) {
			t.Errorf("%s: 10,000 deep: %v, want %v", name, err, c.reason)
		}
	}
}
