package textframe_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/textframe"
)

// TestSTOMPEscapes: STOMP 1.2 "Value Encoding": \r \n \c \\ in the
// headers of every frame but CONNECT and CONNECTED; any other escape is a
// fatal error, found by the decoder with the frame's offset.
func TestSTOMPEscapes(t *testing.T) {
	// The specification's example (foo:Hello\cWorld is "Hello:World"),
	// a name with escapes, a repeated header, CRLF line ends.
	stream := "MESSAGE\nfoo:Hello\\cWorld\na\\nb\\c:x\\\\y\\r\nfoo:second\n\nbody\x00" +
		"CONNECT\r\nlogin:a\\tb\r\npasscode:x:y\r\n\r\n\x00"
	got, err := read(t, textframe.STOMP12, stream)
	if err != io.EOF || len(got) != 2 {
		t.Fatalf("got %q, %v", got, err)
	}
	f := textframe.STOMPFrame(got[0])
	if string(f.Command()) != "MESSAGE" || string(f.Body()) != "body" {
		t.Errorf("command %q, body %q", f.Command(), f.Body())
	}
	for name, want := range map[string]string{"foo": "Hello:World", "a\nb:": "x\\y\r"} {
		v, ok, err := f.Header(name)
		if err != nil || !ok || string(v) != want {
			t.Errorf("Header(%q) = %q, %v, %v; want %q", name, v, ok, err, want)
		}
	}
	if v, ok, err := f.Header("a\\nb\\c"); ok || err != nil {
		t.Errorf("Header of the escaped form found %q, %v", v, err)
	}
	var all []string
	if err := f.Headers(func(n, v []byte) bool { all = append(all, string(n)+"="+string(v)); return true }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"foo=Hello:World", "a\nb:=x\\y\r", "foo=second"}, all); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}
	// CONNECT: not escaped, a backslash is itself.
	c := textframe.STOMPFrame(got[1])
	if v, ok, err := c.Header("login"); err != nil || !ok || string(v) != "a\\tb" {
		t.Errorf("CONNECT login = %q, %v, %v", v, ok, err)
	}
	if v, ok, err := c.Header("passcode"); err != nil || !ok || string(v) != "x:y" {
		t.Errorf("CONNECT passcode = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := c.Header("host"); ok || err != nil {
		t.Errorf("CONNECT host found, %v", err)
	}

	// Undefined escapes: the frames before are returned, then a fatal
	// ErrEscape at the bad frame's offset.
	ok := "SEND\ncontent-length:1\n\nx\x00"
	for _, bad := range []string{
		"SEND\nfoo:a\\tb\n\n\x00",                   // \t
		"MESSAGE\nfoo:a\\\n\n\x00",                  // a backslash ending the value
		"SEND\r\nfoo:a\\\r\n\r\n\x00",               // the same before CRLF
		"ACK\nf\\xo:1\n\n\x00",                      // in a name
		"SEND\nx:\\\\\\:\n\n\x00",                   // \\ then \:
		"CONNECTED\nv:1\n\n\x00SEND\nv:\\t\n\n\x00", // CONNECTED does not shelter the next frame
	} {
		got, err := read(t, textframe.STOMP12, ok+bad)
		var ce *framing.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, textframe.ErrEscape) || framing.Classify(err) != framing.Fatal {
			t.Errorf("%q: %v, want a fatal ErrEscape", bad, err)
			continue
		}
		wantOff := int64(len(ok))
		if strings.HasPrefix(bad, "CONNECTED") {
			wantOff += int64(strings.Index(bad, "SEND"))
		}
		if ce.Offset != wantOff || len(got) == 0 || got[0] != ok[:len(ok)-1] {
			t.Errorf("%q: offset %d (want %d), frames %q", bad, ce.Offset, wantOff, got)
		}
		// The accessor says the same of the frame.
		f := textframe.STOMPFrame(bad[strings.LastIndex(bad[:len(bad)-1], "\x00")+1:])
		name := "zzz" // an escape in a name is found comparing any name
		if i := strings.IndexAny(string(f), ":"); !strings.Contains(string(f[:i]), "\\") {
			name = string(f[strings.LastIndex(string(f[:i]), "\n")+1 : i])
		}
		if _, _, err := f.Header(name); !errors.Is(err, textframe.ErrEscape) {
			t.Errorf("%q: Header: %v, want ErrEscape", f, err)
		}
		if err := f.Headers(func(_, _ []byte) bool { return true }); !errors.Is(err, textframe.ErrEscape) {
			t.Errorf("%q: Headers: %v, want ErrEscape", f, err)
		}
	}

	// The encoder side: AppendSTOMPHeader escapes, the decoder and Header
	// undo it; AppendFrame refuses a frame with an undefined escape.
	h := textframe.AppendSTOMPHeader(nil, "a:b\\", "x\r\ny:z")
	if string(h) != "a\\cb\\\\:x\\r\\ny\\cz\n" {
		t.Errorf("AppendSTOMPHeader: %q", h)
	}
	frame := append(append([]byte("SEND\n"), h...), "\nhi"...)
	wire, err := textframe.STOMP12.AppendFrame(nil, frame)
	if err != nil {
		t.Fatal(err)
	}
	got, err = read(t, textframe.STOMP12, string(wire))
	if err != io.EOF || len(got) != 1 {
		t.Fatalf("%q: %q, %v", wire, got, err)
	}
	if v, ok, err := textframe.STOMPFrame(got[0]).Header("a:b\\"); err != nil || !ok || string(v) != "x\r\ny:z" {
		t.Errorf("round trip: %q, %v, %v", v, ok, err)
	}
	if _, err := textframe.STOMP12.AppendFrame(nil, []byte("SEND\nfoo:\\t\n\n")); !errors.Is(err, framing.ErrPayload) {
		t.Errorf("AppendFrame of an undefined escape: %v", err)
	}
	if _, err := textframe.STOMP12.AppendFrame(nil, []byte("CONNECT\nfoo:\\t\n\n")); err != nil {
		t.Errorf("AppendFrame of CONNECT with a backslash: %v", err)
	}
}

// TestChunkExtensions: RFC 9112 §7.1.1 chunk extensions, strict, and
// readable with KeepExtensions.
func TestChunkExtensions(t *testing.T) {
	valid := []string{
		"5;a\r\nhello\r\n", "5;a=b\r\nhello\r\n", "5;a=\"\"\r\nhello\r\n",
		"5;a=\"b c\\\"d\\\\\"\r\nhello\r\n", "5 ; a = b ;c\r\nhello\r\n",
		"5;a=1;b;c=\"x;y=z\"\r\nhello\r\n", "5;a=b \t\r\nhello\r\n",
		"5;a=\"\x80\xff\t\"\r\nhello\r\n",
	}
	for _, v := range valid {
		got, err := read(t, textframe.HTTPChunked, v+"0;z=1\r\n\r\n")
		if !errors.Is(err, framing.ErrFinal) || len(got) != 2 || got[0] != "hello" {
			t.Errorf("%q: %q, %v", v, got, err)
		}
	}
	for _, bad := range []string{
		"5;\r\n", "5;=b\r\n", "5;a=\r\n", "5;a b\r\n", "5;a=b@c\r\n", "5;a=\"b\r\n",
		"5;a=b\x01\r\n", "5;a=\"b\x7f\"\r\n", "5;a=\"b\\\x01\"\r\n", "5;a=\"b\"c\r\n",
		"5;a;;b\r\n", "5;a==b\r\n", "5;a=b\rc\r\n", "5;a=\"\\\r\n",
	} {
		got, err := read(t, textframe.HTTPChunked, "1\r\nx\r\n"+bad+"hello\r\n0\r\n\r\n")
		var ce *framing.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, textframe.ErrExtension) || ce.Offset != 6 || len(got) != 1 {
			t.Errorf("%q: %q, %v; want the first chunk and ErrExtension at offset 6", bad, got, err)
		}
	}
	// Extensions count in MaxLine.
	if _, err := read(t, textframe.HTTPChunked, "5;a="+strings.Repeat("b", 9000)+"\r\nhello\r\n"); !errors.Is(err, textframe.ErrHeaderTooLarge) {
		t.Errorf("a long extension: %v", err)
	}

	keep, err := textframe.NewChunked(textframe.ChunkedConfig{KeepExtensions: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := read(t, keep, "5;a=1;B=\"x\\\"y\"\r\nhello\r\n3\r\nabc\r\n0;last\r\nExpires: never\r\n\r\nnext")
	if !errors.Is(err, framing.ErrFinal) || len(got) != 3 {
		t.Fatalf("%q, %v", got, err)
	}
	type ext struct{ name, value string }
	wants := []struct {
		exts []ext
		data string
	}{
		{[]ext{{"a", "1"}, {"B", "x\"y"}}, "hello"},
		{nil, "abc"},
		{[]ext{{"last", ""}}, "Expires: never\r\n"},
	}
	for i, w := range wants {
		f := got[i]
		if i == 2 {
			f = strings.TrimPrefix(f, "1:")
		}
		e, data, ok := textframe.SplitChunk([]byte(f))
		if !ok || string(data) != w.data {
			t.Errorf("chunk %d %q: data %q, %v", i, f, data, ok)
		}
		var exts []ext
		if err := e.Each(func(n, v []byte) bool { exts = append(exts, ext{string(n), string(v)}); return true }); err != nil {
			t.Errorf("chunk %d: %v", i, err)
		}
		if diff := cmp.Diff(w.exts, exts, cmp.AllowUnexported(ext{})); diff != "" {
			t.Errorf("chunk %d extensions (-want +got):\n%s", i, diff)
		}
		for _, x := range w.exts {
			if v, ok, err := e.Get(strings.ToUpper(x.name)); err != nil || !ok || string(v) != x.value {
				t.Errorf("chunk %d: Get(%q) = %q, %v, %v", i, x.name, v, ok, err)
			}
		}
		if _, ok, err := e.Get("nope"); ok || err != nil {
			t.Errorf("chunk %d: Get(nope) found, %v", i, err)
		}
	}
	if v, ok, err := textframe.ChunkExtensions(" \t").Get(""); ok || err != nil {
		t.Errorf("Get(\"\") over whitespace: %q, %v, %v", v, ok, err)
	}
	if err := textframe.ChunkExtensions(" ").Each(func(n, v []byte) bool { t.Errorf("Each over whitespace: %q %q", n, v); return true }); err != nil {
		t.Error(err)
	}
	if _, _, err := textframe.ChunkExtensions(";a;b=\"").Get("b"); !errors.Is(err, textframe.ErrExtension) {
		t.Errorf("Get over a malformed extension: %v", err)
	}
	// The size limit counts the size line with KeepExtensions.
	r := framing.NewReader(strings.NewReader("5;a=1\r\nhello\r\n"), keep, &framing.Options{MaxFrameSize: 9})
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) {
		t.Errorf("a 12-byte chunk under a 9-byte limit: %v", err)
	}

	// Encoders.
	for _, tc := range []struct{ in, want string }{
		{"5;a=1\r\nhello", "5;a=1\r\nhello\r\n"},
		{"3\r\nabc", "3\r\nabc\r\n"},
		{"0;z\r\nA: b\r\n", "0;z\r\nA: b\r\n\r\n"},
		{"0\r\n", "0\r\n\r\n"},
		{"5;a=1\r\nhell", ""},
		{"5;a=\r\nhello", ""},
		{"hello", ""},
		{"0\r\nA: b", ""},
		{"", ""},
	} {
		out, err := keep.AppendFrame([]byte("x"), []byte(tc.in))
		if tc.want == "" {
			if !errors.Is(err, framing.ErrPayload) || string(out) != "x" {
				t.Errorf("AppendFrame(%q) = %q, %v; want a *framing.PayloadError", tc.in, out, err)
			}
			continue
		}
		if err != nil || string(out) != "x"+tc.want {
			t.Errorf("AppendFrame(%q) = %q, %v", tc.in, out, err)
		}
	}
	line, err := textframe.AppendChunkExtension([]byte("5"), "a", "1")
	if err == nil {
		line, err = textframe.AppendChunkExtension(line, "q", "x \"y\"\\")
	}
	if err == nil {
		line, err = textframe.AppendChunkExtension(line, "flag", "")
	}
	if err != nil || string(line) != "5;a=1;q=\"x \\\"y\\\"\\\\\";flag" {
		t.Errorf("AppendChunkExtension: %q, %v", line, err)
	}
	e, _, _ := textframe.SplitChunk(append(line, "\r\nhello"...))
	if v, ok, err := e.Get("q"); err != nil || !ok || string(v) != "x \"y\"\\" {
		t.Errorf("round trip: %q, %v, %v", v, ok, err)
	}
	for _, bad := range [][2]string{{"", "v"}, {"a b", "v"}, {"a", "\x01"}} {
		if out, err := textframe.AppendChunkExtension([]byte("5"), bad[0], bad[1]); !errors.Is(err, framing.ErrPayload) || string(out) != "5" {
			t.Errorf("AppendChunkExtension(%q, %q) = %q, %v", bad[0], bad[1], out, err)
		}
	}
}

// chunkWithExt returns a whole chunk with random extensions, as
// KeepExtensions reads and writes it.
func chunkWithExt(r *rand.Rand, n int) []byte {
	data := fuzz.RandomBytes(r, max(n, 1))
	b := []byte(fmt.Sprintf("%x", len(data)))
	for range r.IntN(3) {
		b, _ = textframe.AppendChunkExtension(b, []string{"a", "Name", "x-y"}[r.IntN(3)], []string{"", "1", "two words", "q\"\\"}[r.IntN(4)])
	}
	return append(append(b, '\r', '\n'), data...)
}

func TestChunkedKeepConformance(t *testing.T) {
	keep, err := textframe.NewChunked(textframe.ChunkedConfig{KeepExtensions: true})
	if err != nil {
		t.Fatal(err)
	}
	fuzz.Conformance(t, keep, &fuzz.Options{Payload: chunkWithExt})
	// Whole chunks written are read back as written, one frame each.
	r := rand.New(rand.NewPCG(1, 2))
	var wire []byte
	var want []string
	for range 200 {
		c := chunkWithExt(r, r.IntN(300))
		want = append(want, string(c))
		if wire, err = keep.AppendFrame(wire, c); err != nil {
			t.Fatal(err)
		}
	}
	wire = textframe.AppendLastChunk(wire, nil)
	got, err := read(t, keep, string(wire))
	if !errors.Is(err, framing.ErrFinal) || len(got) != len(want)+1 || !bytes.Equal([]byte(strings.Join(got[:len(want)], "")), []byte(strings.Join(want, ""))) {
		t.Errorf("read back %d frames, %v", len(got), err)
	}
}
