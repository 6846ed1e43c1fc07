package textframe_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/textframe"
)

// jsonPayload returns a JSON object, array or string of about n bytes
// whose strings hold every byte the splitter must not misread inside a
// string: quotes and backslashes (escaped), brackets, braces, commas,
// whitespace and multi-byte UTF-8.
func jsonPayload(r *rand.Rand, n int) []byte {
	str := func(n int) string {
		var b strings.Builder
		b.WriteByte('"')
		pieces := []string{`\"`, `\\`, `{`, `}`, `[`, `]`, `,`, ` `, `:`, `é`, `日本`, `\u00e9`, `x`, `\n`, `\\\"`}
		for b.Len() < n {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		b.WriteByte('"')
		return b.String()
	}
	switch r.IntN(4) {
	case 0:
		return []byte(str(n))
	case 1:
		return []byte(fmt.Sprintf(`{"a":%s,"b":[1,{"c":null}],"d":{}}`, str(n)))
	case 2:
		return []byte(fmt.Sprintf(`[%s, [[]], {"x":[true,false]}, -1.5e3]`, str(n)))
	default:
		return []byte(fmt.Sprintf(`{"nested":[[[{"s":%s}]]]}`, str(n)))
	}
}

// jsonElementPayload is jsonPayload without top-level arrays, which
// StreamArrayElements would split.
func jsonElementPayload(r *rand.Rand, n int) []byte {
	for {
		if p := jsonPayload(r, n); p[0] != '[' {
			return p
		}
	}
}

// respPayload returns a RESP value of about n bytes: a bulk string, an
// array of bulk strings and nested values, a map, a push, a simple string.
func respPayload(r *rand.Rand, n int) []byte {
	bulk := func(n int) string {
		b := fuzz.RandomBytes(r, n)
		return fmt.Sprintf("$%d\r\n%s\r\n", len(b), b)
	}
	switch r.IntN(6) {
	case 0:
		return []byte(bulk(n))
	case 1:
		return []byte("*3\r\n" + bulk(n/2) + "*2\r\n:1\r\n$-1\r\n" + bulk(n/2))
	case 2:
		return []byte("%2\r\n+k\r\n" + bulk(n) + "+k2\r\n~1\r\n_\r\n")
	case 3:
		return []byte(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n" + bulk(n))
	case 4:
		return []byte("|1\r\n+ttl\r\n:3600\r\n" + bulk(n))
	default:
		return []byte("+" + strings.Repeat("x", n) + "\r\n")
	}
}

// lspMessage returns a whole Content-Length message with a Content-Type.
func lspMessage(r *rand.Rand, n int) []byte {
	body := fuzz.RandomBytes(r, n)
	return []byte(fmt.Sprintf("content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s", len(body), body))
}

// stompFrame returns a STOMP frame: a SEND with a content-length and a
// binary body (NULs included), or a MESSAGE without one and a body with no
// NUL, with CRLF or LF line ends.
func stompFrame(r *rand.Rand, n int) []byte {
	eol := []string{"\n", "\r\n"}[r.IntN(2)]
	if r.IntN(2) == 0 {
		body := fuzz.RandomBytes(r, n)
		return []byte(fmt.Sprintf("SEND%sdestination:/queue/a%scontent-length:%d%s%s%s", eol, eol, len(body), eol, eol, body))
	}
	body := fuzz.Without(0)(r, n)
	return []byte(fmt.Sprintf("MESSAGE%sdestination:/topic/b%scontent-type:text/plain%s%s%s", eol, eol, eol, eol, body))
}

// nonEmpty is random bytes, at least one.
func nonEmpty(r *rand.Rand, n int) []byte { return fuzz.RandomBytes(r, max(n, 1)) }

func TestConformance(t *testing.T) {
	keep, err := textframe.NewContentLength(textframe.ContentLengthConfig{KeepHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	typed, err := textframe.NewContentLength(textframe.ContentLengthConfig{ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		codec framing.Codec
		opts  fuzz.Options
	}{
		{"lsp", textframe.LSP, fuzz.Options{}},
		{"lsp-typed", typed, fuzz.Options{}},
		{"lsp-keepheaders", keep, fuzz.Options{Payload: lspMessage}},
		{"json", textframe.JSONStream, fuzz.Options{Payload: jsonPayload}},
		{"json-elements", textframe.JSONArrayElements, fuzz.Options{Payload: jsonElementPayload}},
		{"octetcounting", textframe.OctetCounting, fuzz.Options{}},
		{"pktline", textframe.PktLine, fuzz.Options{Payload: func(r *rand.Rand, n int) []byte {
			return fuzz.RandomBytes(r, min(n, textframe.PktMax-4))
		}}},
		{"resp", textframe.Redis, fuzz.Options{Payload: respPayload}},
		{"stomp", textframe.STOMP12, fuzz.Options{Payload: stompFrame}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			fuzz.Conformance(t, tc.codec, &o)
		})
	}
	// Netstrings and chunks end in a fixed trailer but count their
	// payload: a run of a length digit is a corrupt length, refused at
	// once, whatever the policy.
	for _, tc := range []struct {
		name  string
		codec framing.Codec
		opts  fuzz.Options
	}{
		{"netstring", textframe.Netstring, fuzz.Options{}},
		{"chunked", textframe.HTTPChunked, fuzz.Options{Payload: nonEmpty}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			fuzz.Conformance(t, tc.codec, &o)
			for _, d := range []byte("0123456789") {
				run := append(bytes.Repeat([]byte{d}, 1<<20), ',')
				r := framing.NewReader(bytes.NewReader(run), tc.codec, &framing.Options{Oversize: framing.Skip})
				_, err := r.ReadFrame()
				if !errors.Is(err, textframe.ErrBadLength) || framing.Classify(err) != framing.Fatal {
					t.Errorf("a run of %q: %v, want a fatal ErrBadLength", d, err)
				}
			}
		})
	}
}
