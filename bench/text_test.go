package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// Issue 19: the text framings against what a Go programmer writes without
// them, on the same in-memory streams (a bytes.Reader: the framing work
// alone, no system calls).

// jsonPlainStream is about 4 MiB of 1 KiB JSON-RPC objects of the kind
// an LSP server sends (diagnostics: nested objects, numbers, short strings
// without escapes).
func jsonPlainStream() (data []byte, n int) {
	var b bytes.Buffer
	for b.Len() < 4<<20 {
		start := b.Len()
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":"file:///src/pkg/file%d.go","diagnostics":[`, n)
		for i := 0; b.Len()-start < 900; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"range":{"start":{"line":%d,"character":4},"end":{"line":%d,"character":19}},"severity":2,"message":"unused variable x%d"}`, i, i, i)
		}
		b.WriteString(`]}}`)
		for b.Len()-start < 1023 {
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
		n++
	}
	return b.Bytes(), n
}

// jsonStream is about 4 MiB of 1 KiB JSON objects, whitespace between
// them, strings dense with escapes (two escaped quotes every 22 bytes)
// and multi-byte UTF-8: the splitter's hardest case.
func jsonStream() (data []byte, n int) {
	var b bytes.Buffer
	for b.Len() < 4<<20 {
		start := b.Len()
		fmt.Fprintf(&b, `{"id":%d,"method":"textDocument/didChange","params":{"uri":"file:///a/b.go","text":"`, n)
		for b.Len()-start < 1000 {
			b.WriteString(`x := \"é\" // {[ ]}\n `)
		}
		b.WriteString(`","version":[1,2,3]}}`)
		for b.Len()-start < 1023 {
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
		n++
	}
	return b.Bytes(), n
}

// lspStream is about 4 MiB of Content-Length messages with 1 KiB bodies.
func lspStream() (data []byte, n int) {
	var b bytes.Buffer
	body := bytes.Repeat([]byte("a"), 1024)
	for b.Len() < 4<<20 {
		fmt.Fprintf(&b, "Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s", len(body), body)
		n++
	}
	return b.Bytes(), n
}

// respStream is about 4 MiB of replies such as a pipelined client reads:
// arrays of ten 100-byte bulk strings, integers, simple strings.
func respStream() (data []byte, n int) {
	var b bytes.Buffer
	bulk := strings.Repeat("v", 100)
	for b.Len() < 4<<20 {
		switch n % 3 {
		case 0:
			b.WriteString("*10\r\n")
			for range 10 {
				fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(bulk), bulk)
			}
		case 1:
			fmt.Fprintf(&b, ":%d\r\n", n)
		default:
			b.WriteString("+OK\r\n")
		}
		n++
	}
	return b.Bytes(), n
}

// jsonDecoderSplit splits with encoding/json: it validates as it goes.
func jsonDecoderSplit(data []byte, each func([]byte)) error {
	d := json.NewDecoder(bytes.NewReader(data))
	var m json.RawMessage
	for {
		if err := d.Decode(&m); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		each(m)
	}
}

// textprotoRead reads Content-Length messages as a hand loop does:
// net/textproto's ReadMIMEHeader, then io.ReadFull into a reused buffer.
func textprotoRead(data []byte, each func([]byte)) error {
	tp := textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
	var buf []byte
	for {
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		n, err := strconv.Atoi(h.Get("Content-Length"))
		if err != nil || n < 0 {
			return errors.New("bad Content-Length")
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(tp.R, buf); err != nil {
			return err
		}
		each(buf)
	}
}

// respHand reads one RESP value as go-redis's proto.Reader does
// (bufio ReadSlice('\n') per line, io.ReadFull for a bulk string),
// appending its bytes to dst: the same value framekit returns.
func respHand(r *bufio.Reader, dst []byte) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return dst, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return dst, errors.New("bad line")
	}
	dst = append(dst, line...)
	switch line[0] {
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return dst, err
		}
		if n < 0 {
			return dst, nil
		}
		k := len(dst)
		dst = append(dst, make([]byte, n+2)...)
		_, err = io.ReadFull(r, dst[k:])
		return dst, err
	case '*':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return dst, err
		}
		for range n {
			if dst, err = respHand(r, dst); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

func respHandRead(data []byte, each func([]byte)) error {
	r := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	var buf []byte
	for {
		var err error
		buf, err = respHand(r, buf[:0])
		if err != nil {
			if err == io.EOF && len(buf) == 0 {
				return nil
			}
			return err
		}
		each(buf)
	}
}

// framekitRead reads every frame with ReadFrame (views) or, with
// copying, ReadFrameInto a reused buffer.
func framekitRead(data []byte, dec framing.Decoder, copying bool, each func([]byte)) error {
	// A 64 KiB buffer, as the baselines' bufio.Readers have.
	r := framing.NewReader(bytes.NewReader(data), dec, &framing.Options{InitialBufferSize: 64 << 10})
	var buf []byte
	for {
		var f []byte
		var err error
		if copying {
			buf, err = r.ReadFrameInto(buf[:0])
			f = buf
		} else {
			f, err = r.ReadFrame()
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		each(f)
	}
}

// TestTextReaders: every reader the benchmarks compare gives the same
// frames.
func TestTextReaders(t *testing.T) {
	collect := func(read func(func([]byte)) error) []string {
		var out []string
		if err := read(func(f []byte) { out = append(out, string(f)) }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(name string, n int, got ...[]string) {
		for i, g := range got {
			if len(g) != n || strings.Join(g, "\x00") != strings.Join(got[0], "\x00") {
				t.Errorf("%s: reader %d gave %d frames (want %d) or other bytes", name, i, len(g), n)
			}
		}
	}
	js, jn := jsonStream()
	same("json", jn,
		collect(func(e func([]byte)) error { return framekitRead(js, textframe.JSONStream, false, e) }),
		collect(func(e func([]byte)) error { return jsonDecoderSplit(js, e) }))
	jp, jpn := jsonPlainStream()
	same("json-rpc", jpn,
		collect(func(e func([]byte)) error { return framekitRead(jp, textframe.JSONStream, false, e) }),
		collect(func(e func([]byte)) error { return jsonDecoderSplit(jp, e) }))
	ls, ln := lspStream()
	same("lsp", ln,
		collect(func(e func([]byte)) error { return framekitRead(ls, textframe.LSP, true, e) }),
		collect(func(e func([]byte)) error { return textprotoRead(ls, e) }))
	rs, rn := respStream()
	same("resp", rn,
		collect(func(e func([]byte)) error { return framekitRead(rs, textframe.Redis, false, e) }),
		collect(func(e func([]byte)) error { return framekitRead(rs, textframe.Redis, true, e) }),
		collect(func(e func([]byte)) error { return respHandRead(rs, e) }))
}

func benchStream(b *testing.B, data []byte, read func([]byte, func([]byte)) error) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		if err := read(data, func([]byte) { frames++ }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkText19 is issue 19's speed targets, side by side in one run.
func BenchmarkText19(b *testing.B) {
	js, _ := jsonStream()
	b.Run("json-1KiB-escapes/splitting/framekit", func(b *testing.B) {
		benchStream(b, js, func(d []byte, e func([]byte)) error { return framekitRead(d, textframe.JSONStream, false, e) })
	})
	b.Run("json-1KiB-escapes/validating/encoding-json-RawMessage", func(b *testing.B) {
		benchStream(b, js, jsonDecoderSplit)
	})
	jp, _ := jsonPlainStream()
	b.Run("json-1KiB-rpc/splitting/framekit", func(b *testing.B) {
		benchStream(b, jp, func(d []byte, e func([]byte)) error { return framekitRead(d, textframe.JSONStream, false, e) })
	})
	b.Run("json-1KiB-rpc/validating/encoding-json-RawMessage", func(b *testing.B) {
		benchStream(b, jp, jsonDecoderSplit)
	})
	ls, _ := lspStream()
	b.Run("content-length-1KiB/framekit-copy", func(b *testing.B) {
		benchStream(b, ls, func(d []byte, e func([]byte)) error { return framekitRead(d, textframe.LSP, true, e) })
	})
	b.Run("content-length-1KiB/textproto-ReadFull", func(b *testing.B) {
		benchStream(b, ls, textprotoRead)
	})
	rs, _ := respStream()
	b.Run("resp/framekit-views", func(b *testing.B) {
		benchStream(b, rs, func(d []byte, e func([]byte)) error { return framekitRead(d, textframe.Redis, false, e) })
	})
	b.Run("resp/framekit-copy", func(b *testing.B) {
		benchStream(b, rs, func(d []byte, e func([]byte)) error { return framekitRead(d, textframe.Redis, true, e) })
	})
	b.Run("resp/hand-ReadLine-ReadFull", func(b *testing.B) {
		benchStream(b, rs, respHandRead)
	})
}
