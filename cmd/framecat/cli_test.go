package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hexLines writes frames in the hex format.
func hexLines(frames [][]byte) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		b.WriteString(hex.EncodeToString(f))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// jsonLines writes frames in the JSON format.
func jsonLines(frames [][]byte) []byte {
	var b bytes.Buffer
	for _, f := range frames {
		fmt.Fprintf(&b, `{"len":%d,"hex":"%x"}`+"\n", len(f), f)
	}
	return b.Bytes()
}

// parseLines reads frames back from framecat's output in format.
func parseLines(t *testing.T, format, out string) [][]byte {
	t.Helper()
	frames := [][]byte{}
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimSuffix(line, "\n")
		var h string
		switch format {
		case "hex":
			h = line
		case "json":
			var obj struct {
				Len int    `json:"len"`
				Hex string `json:"hex"`
			}
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				t.Fatalf("output line %q: %v", line, err)
			}
			h = obj.Hex
			if obj.Len != len(h)/2 {
				t.Errorf("output line %q: len does not match hex", line)
			}
		}
		f, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		frames = append(frames, f)
	}
	return frames
}

func randomBytes(seed int64, n int, without ...byte) []byte {
	r := rand.New(rand.NewSource(seed))
	b := make([]byte, 0, n)
	for len(b) < n {
		c := byte(r.Intn(256))
		if bytes.IndexByte(without, c) < 0 {
			b = append(b, c)
		}
	}
	return b
}

// roundTripCases are frames every SPEC can carry: binary where the codec
// allows it, empty ones, and sizes around the field limits.
var roundTripCases = []struct {
	spec   string
	frames [][]byte
}{
	{"u8", [][]byte{[]byte("hello"), {}, randomBytes(1, 255)}},
	{"u16be", [][]byte{[]byte("hello"), {}, randomBytes(2, 300)}},
	{"u16le", [][]byte{[]byte("hello"), {}, randomBytes(3, 300)}},
	{"u24be", [][]byte{[]byte("a\nb"), {}, randomBytes(4, 70000)}},
	{"u32be", [][]byte{[]byte("hello"), {}, randomBytes(5, 1000)}},
	{"u32le", [][]byte{[]byte("hello"), {}, randomBytes(6, 1000)}},
	{"u64be", [][]byte{[]byte("hello"), {}, randomBytes(7, 1000)}},
	{"uvarint", [][]byte{[]byte("hello"), {}, randomBytes(8, 300)}},
	{"lines", [][]byte{[]byte("hello world"), {}, []byte("tab\tand \r inside")}},
	{"crlf", [][]byte{[]byte("a lone \n is data"), {}, []byte("GET / HTTP/1.1")}},
	{`delim:\r\n\r\n`, [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x"), {}, []byte("b")}},
	{`delim:\x00\xff`, [][]byte{randomBytes(9, 200, 0xff), {}, {0x00}}},
	{`delim:|`, [][]byte{[]byte("a"), {}, []byte("b c")}},
	{"cobs", [][]byte{randomBytes(10, 600), {}, {0, 0, 0}}},
	{"slip", [][]byte{randomBytes(11, 600), {0xc0}, {0xdb, 0xdc}}},
	{"fixed:4", [][]byte{[]byte("abcd"), {0, 1, 2, 3}, []byte("\n\n\n\n")}},
	{"len:size=2", [][]byte{[]byte("hello"), {}, randomBytes(12, 300)}},
	{"len:size=4,includes=true", [][]byte{[]byte("hello"), {}, randomBytes(13, 300)}},
	{"len:order=le,size=2,adjust=2", [][]byte{[]byte("hello"), []byte("ab"), randomBytes(14, 300)}},
	// Strip 0: the frames are whole, header included, with the right length.
	{"len:size=2,offset=1,strip=0", [][]byte{[]byte("\x17\x00\x05hello"), []byte("\x01\x00\x00")}},
	{"len:offset=3,size=2,strip=0,includes=true", [][]byte{[]byte("\x17\x03\x03\x00\x0ahello")}},
}

// TestRoundTrip runs every SPEC through encode | decode in hex and JSON,
// and (in hex) back through encode: decode | encode gives the canonical
// stream back byte for byte.
func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases {
		for _, format := range []string{"hex", "json"} {
			t.Run(tc.spec+"/"+format, func(t *testing.T) {
				t.Parallel()
				in := hexLines(tc.frames)
				if format == "json" {
					in = jsonLines(tc.frames)
				}
				enc := framecat(t, in, "encode", "-c", tc.spec, "-f", format)
				if enc.code != 0 {
					t.Fatalf("encode: exit %d, stderr %q", enc.code, enc.stderr)
				}
				dec := framecat(t, []byte(enc.stdout), "decode", "-f", format, "--codec", tc.spec)
				if dec.code != 0 {
					t.Fatalf("decode: exit %d, stderr %q", dec.code, dec.stderr)
				}
				if diff := cmp.Diff(tc.frames, parseLines(t, format, dec.stdout)); diff != "" {
					t.Errorf("encode | decode (-sent +decoded):\n%s", diff)
				}
				if format != "hex" {
					return // one format is enough for the way back
				}
				again := framecat(t, []byte(dec.stdout), "encode", "-c", tc.spec, "--format="+format)
				if again.stdout != enc.stdout {
					t.Errorf("decode | encode changed the stream:\n%x\nwant\n%x", again.stdout, enc.stdout)
				}
			})
		}
	}
}

// TestEncodeWire checks encode's bytes against the formats' definitions, so
// that a round trip cannot pass with a wrong codec on both sides.
func TestEncodeWire(t *testing.T) {
	for _, tc := range []struct {
		spec, in, want string
	}{
		{"u32be", "6869\n", "\x00\x00\x00\x02hi"},
		{"u16le", "6869\n", "\x02\x00hi"},
		{"uvarint", strings.Repeat("61", 300) + "\n", "\xac\x02" + strings.Repeat("a", 300)},
		{"lines", "6869\n\n", "hi\n\n"},
		{"crlf", "6869\n", "hi\r\n"},
		{`delim:\r\n\r\n`, "6869\n", "hi\r\n\r\n"},
		{`delim:\\\t\x41`, "6869\n", "hi\\\tA"},
		{"cobs", "1122 00 33\n", "\x03\x11\x22\x02\x33\x00"},
		{"slip", "01C002DB\n", "\x01\xdb\xdc\x02\xdb\xdd\xc0"},
		{"fixed:2", "6869\n", "hi"},
		{"len:size=4,includes=true", "6869\n", "\x00\x00\x00\x06hi"},
		{"len:size=2,offset=1,strip=0", "aa0000 6869\n", "\xaa\x00\x02hi"},
	} {
		r := framecat(t, []byte(tc.in), "encode", "-c", tc.spec)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("encode -c %s of %q: exit %d, %q (stderr %q); want %q", tc.spec, tc.in, r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

// TestTextFormat: text input is each line as a frame; text output is the
// bytes and a newline. lines decodes \r\n too.
func TestTextFormat(t *testing.T) {
	r := framecat(t, []byte("one\ntwo\r\n\nlast"), "encode", "-c", "u8", "-f", "text")
	if want := "\x03one\x04two\r\x00\x04last"; r.stdout != want {
		t.Errorf("encode -f text: %q, want %q", r.stdout, want)
	}
	r = framecat(t, []byte("one\r\ntwo\n"), "decode", "-c", "lines", "-f", "text")
	if r.code != 0 || r.stdout != "one\ntwo\n" {
		t.Errorf("decode -c lines -f text: exit %d, %q", r.code, r.stdout)
	}
}

// TestDecodeTruncated: the complete frames are printed, then one line says
// which frame is cut short, where it starts, and how much is missing.
func TestDecodeTruncated(t *testing.T) {
	stream := "\x00\x00\x00\x02hi" + "\x00\x00\x00\x00" + "\x00\x00\x00\x05hello" + "\x00\x00\x00\x14abc"
	r := framecat(t, []byte(stream), "decode", "-c", "u32be")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if want := "6869\n\n68656c6c6f\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if want := "framecat: frame 4 at offset 19: unexpected EOF: 17 more bytes needed\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}

	// The same for a delimiter, whose missing count is unknown, and for a
	// header cut short.
	r = framecat(t, []byte("a\r\nbc\nde"), "decode", "-c", "lines")
	if r.code != 1 || r.stdout != "61\n6263\n" ||
		!strings.HasPrefix(r.stderr, "framecat: frame 3 at offset 6: unexpected EOF") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("lines: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = framecat(t, []byte("\x00\x01a\x00"), "decode", "-c", "u16be")
	if r.code != 1 || r.stdout != "61\n" || r.stderr != "framecat: frame 2 at offset 3: unexpected EOF: 1 bytes of the frame received, more needed\n" {
		t.Errorf("u16be: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestHugeLengthFailsFast: a 4 GiB length field is refused from its header,
// without waiting for the body or for the end of the input.
func TestHugeLengthFailsFast(t *testing.T) {
	for _, tc := range []struct {
		spec, header, want string
	}{
		{"u32be", "\xff\xff\xff\xff", "framecat: frame 1 at offset 0: declares 4294967295 bytes, limit 8388608\n"},
		{"u64be", "\x00\x00\x00\x01\x00\x00\x00\x00", "framecat: frame 1 at offset 0: declares 4294967296 bytes, limit 8388608\n"},
		{"uvarint", "\x80\x80\x80\x80\x10", "framecat: frame 1 at offset 0: declares 4294967296 bytes, limit 8388608\n"},
	} {
		s := start(t, false, "decode", "-c", tc.spec)
		s.stdin.Write([]byte(tc.header + "abc")) // stdin stays open
		began := time.Now()
		code := s.wait()
		_, stderr := s.output()
		if code != 1 || stderr != tc.want {
			t.Errorf("%s: exit %d, stderr %q; want 1, %q", tc.spec, code, stderr, tc.want)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("%s: took %v", tc.spec, d)
		}
		s.stdin.Close()
	}
}

// TestLimits: --max and --skip when reading and encoding.
func TestLimits(t *testing.T) {
	stream := "\x02ab" + "\x06abcdef" + "\x02xy" + "\x04wxyz"
	r := framecat(t, []byte(stream), "decode", "-c", "u8", "--max", "3", "--skip")
	if r.code != 0 || r.stdout != "6162\n7879\n" {
		t.Errorf("--skip: exit %d, stdout %q", r.code, r.stdout)
	}
	want := "framecat: frame 2 at offset 3: declares 6 bytes, limit 3; skipped\n" +
		"framecat: frame 4 at offset 13: declares 4 bytes, limit 3; skipped\n"
	if r.stderr != want {
		t.Errorf("--skip: stderr %q, want %q", r.stderr, want)
	}

	r = framecat(t, []byte(stream), "decode", "-c", "u8", "--max", "3B")
	if r.code != 1 || r.stdout != "6162\n" || r.stderr != "framecat: frame 2 at offset 3: declares 6 bytes, limit 3\n" {
		t.Errorf("--max: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = framecat(t, []byte("6162\n616263646566\n"), "encode", "-c", "u32be", "--max", "5")
	if r.code != 1 || r.stdout != "\x00\x00\x00\x02ab" ||
		r.stderr != "framecat: stdin line 2: frame 2 at offset 6: frame of 6 bytes, over --max 5\n" {
		t.Errorf("encode --max: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = framecat(t, []byte("6869\n610a62\n"), "encode", "-c", "lines")
	if r.code != 1 || r.stdout != "hi\n" || !strings.HasPrefix(r.stderr, "framecat: stdin line 2: frame 2 at offset 3: cannot encode a payload of 3 bytes") {
		t.Errorf("encode a newline with lines: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestUsageErrors: a bad command line exits 2 with a message that helps.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{}, "no command"},
		{[]string{"cat"}, `unknown command "cat"`},
		{[]string{"decode"}, "missing -c SPEC"},
		{[]string{"decode", "-c", "u33"}, `bad codec "u33": unknown codec; valid forms`},
		{[]string{"decode", "-c", "len:size=5"}, "size=5: must be 1, 2, 3, 4 or 8"},
		{[]string{"decode", "-c", "len:offset=1"}, "size is required"},
		{[]string{"decode", "-c", "len:size=2,size=2"}, `key "size" given twice`},
		{[]string{"decode", "-c", "len:size=2,foo=1"}, `unknown key "foo"`},
		{[]string{"decode", "-c", "len:size=2,includes=yes"}, "includes=yes: must be true or false"},
		{[]string{"decode", "-c", "len:size=2,includes=true,adjust=1"}, "exclude each other"},
		{[]string{"decode", "-c", "len:size=2,strip=9"}, "bad codec"},
		{[]string{"decode", "-c", "delim:"}, "empty delimiter"},
		{[]string{"decode", "-c", `delim:\q`}, `unknown escape \q`},
		{[]string{"decode", "-c", `delim:\x4`}, `\x needs two hex digits`},
		{[]string{"decode", "-c", "fixed:0"}, "N >= 1"},
		{[]string{"decode", "-c", "fixed:10", "--max", "9"}, "over --max 9"},
		{[]string{"decode", "-c", "u8", "--max", "10KB"}, `--max "10KB": want a size`},
		{[]string{"decode", "-c", "u8", "--max", "0"}, "at least 1 byte"},
		{[]string{"decode", "-c", "u8", "-f", "yaml"}, `-f "yaml"`},
		{[]string{"decode", "-c", "u8", "--echo"}, "unknown flag --echo for decode"},
		{[]string{"decode", "-c"}, "flag -c needs a value"},
		{[]string{"decode", "-c", "u8", "a", "b"}, `unexpected argument "b"`},
		{[]string{"encode", "-c", "len:offset=1,size=2"}, "decode-only"},
		{[]string{"dial", "127.0.0.1:1", "-c", "len:size=2,strip=0,adjust=2,offset=2,strip=1"}, `key "strip" given twice`},
		{[]string{"dial", "127.0.0.1:1", "-c", "len:size=2,offset=2"}, "decode-only"},
		{[]string{"listen", "127.0.0.1:0", "-c", "len:size=2,offset=2", "--echo"}, "decode-only"},
		{[]string{"dial", "-c", "u8"}, "missing ADDR"},
		{[]string{"dial", "x:1", "-c", "u8", "--timeout", "5"}, `--timeout "5"`},
		{[]string{"dial", "x:1", "-c", "u8", "--count", "0"}, `--count "0"`},
		{[]string{"bench", "-c", "fixed:8", "--size", "9"}, "frames are 8 bytes"},
		{[]string{"bench", "-c", "slip", "--size", "0"}, "cannot frame a payload of 0 bytes"},
		{[]string{"bench", "-c", "u8", "--conns", "5000"}, "--conns 5000: at most 1000"},
		{[]string{"proxy", "127.0.0.1:0", "-c", "u8"}, "missing LISTEN_ADDR UPSTREAM_ADDR"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := framecat(t, nil, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.HasPrefix(r.stderr, "framecat: ") {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestHelp: -h and --help print the usage on stdout and exit 0, before or
// after other arguments.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"decode", "-h"}, {"listen", "x", "--help"}} {
		r := framecat(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "framecat listen ADDR") || !strings.Contains(r.stdout, "len:KEY=VALUE") {
			t.Errorf("framecat %s: exit %d, stdout %q", strings.Join(args, " "), r.code, r.stdout)
		}
	}
}

// TestArguments: flags after positional arguments, "--", and the FILE
// argument.
func TestArguments(t *testing.T) {
	file := t.TempDir() + "/capture.bin"
	if err := writeFile(file, "\x02hi\x00"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"decode", file, "-c", "u8"},
		{"decode", "--codec=u8", "--", file},
		{"decode", "--c", "u8", "-format", "hex", file},
	} {
		r := framecat(t, nil, args...)
		if r.code != 0 || r.stdout != "6869\n\n" {
			t.Errorf("framecat %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	r := framecat(t, nil, "decode", "-c", "u8", file+".missing")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "framecat: open ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestListenEcho: listen --echo and dial give back what was sent, and
// listen prints each frame with the client's address.
func TestListenEcho(t *testing.T) {
	payloads := map[string][][]byte{
		"u32be":   {[]byte("hello"), {}, randomBytes(20, 100000)},
		"uvarint": {[]byte("hello"), {}, randomBytes(21, 300)},
		"lines":   {[]byte("hello"), {}, []byte("a longer line with spaces")},
		"cobs":    {[]byte("hello"), {}, randomBytes(22, 5000)},
	}
	for _, spec := range []string{"u32be", "uvarint", "lines", "cobs"} {
		t.Run(spec, func(t *testing.T) {
			frames := payloads[spec]
			l := start(t, true, "listen", "127.0.0.1:0", "-c", spec, "--echo", "-f", "json")
			r := framecat(t, hexLines(frames), "dial", l.addr, "-c", spec, "--timeout", "20s")
			if r.code != 0 {
				t.Fatalf("dial: exit %d, stderr %q", r.code, r.stderr)
			}
			if diff := cmp.Diff(frames, parseLines(t, "hex", r.stdout)); diff != "" {
				t.Errorf("echoed frames (-sent +received):\n%s", diff)
			}
			out := l.waitOutput(len(frames))
			if diff := cmp.Diff(frames, parseLines(t, "json", out)); diff != "" {
				t.Errorf("frames listen printed (-sent +printed):\n%s", diff)
			}
			if !regexp.MustCompile(`^\{"len":5,"hex":"68656c6c6f","conn":1,"peer":"127\.0\.0\.1:\d+"\}\n`).MatchString(out) {
				t.Errorf("listen's first line: %q", strings.SplitAfter(out, "\n")[0])
			}
			if code := l.stop(); code != 0 {
				t.Errorf("listen after SIGTERM: exit %d", code)
			}
			// On exit, listen prints its counters.
			_, errOut := l.output()
			want := fmt.Sprintf("framecat: stats: frames_read=%d ", len(frames))
			wantEcho := fmt.Sprintf(" frames_written=%d ", len(frames))
			if !strings.Contains(errOut, wantEcho) {
				t.Errorf("listen's stderr %q does not hold %q", errOut, wantEcho)
			}
			if !strings.Contains(errOut, want) {
				t.Errorf("listen's stderr %q does not hold %q", errOut, want)
			}
		})
	}
}

// TestListenErrorClosesOneConnection: a bad frame on one connection is
// reported with the peer's address and closes that connection only.
func TestListenErrorClosesOneConnection(t *testing.T) {
	l := start(t, true, "listen", "127.0.0.1:0", "-c", "u32be", "--echo", "-f", "hex")
	good := start(t, false, "dial", l.addr, "-c", "u32be", "--timeout", "20s")
	good.stdin.Write([]byte("6f6e65\n"))
	good.waitOutput(1)

	// A 4 GiB length field and nothing else (more bytes, left unread when
	// the server closes, would make its kernel reset the connection).
	r := framecat(t, []byte("ff\nff\nff\nff\n"), "dial", l.addr, "-c", "fixed:1", "--timeout", "20s")
	if r.code != 0 {
		t.Errorf("dial with a bad frame: exit %d, stderr %q (want the server to close: exit 0)", r.code, r.stderr)
	}
	_, stderr := l.output()
	if !regexp.MustCompile(`(?m)^framecat: #2 127\.0\.0\.1:\d+: frame 1 at offset 0: declares 4294967295 bytes, limit 8388608$`).MatchString(stderr) {
		t.Errorf("listen stderr %q", stderr)
	}

	good.stdin.Write([]byte("74776f\n"))
	if out := good.waitOutput(2); out != "6f6e65\n74776f\n" {
		t.Errorf("the other connection echoed %q", out)
	}
	good.stdin.Close()
	if code := good.wait(); code != 0 {
		t.Errorf("dial: exit %d", code)
	}
	lout := l.waitOutput(2)
	if !regexp.MustCompile(`^#1 127\.0\.0\.1:\d+ 6f6e65\n#1 127\.0\.0\.1:\d+ 74776f\n$`).MatchString(lout) {
		t.Errorf("listen stdout %q", lout)
	}
}

// TestDialCountAndTimeout: dial stops after --count frames (exit 0), or
// when --timeout passes first (exit 1).
func TestDialCountAndTimeout(t *testing.T) {
	l := start(t, true, "listen", "127.0.0.1:0", "-c", "lines", "--echo")

	d := start(t, false, "dial", l.addr, "-c", "lines", "--count", "2", "-f", "text", "--timeout", "20s")
	d.stdin.Write([]byte("a\nb\nc\n")) // stdin stays open: only the count ends it
	if code := d.wait(); code != 0 {
		t.Errorf("--count 2: exit %d", code)
	}
	if out, _ := d.output(); out != "a\nb\n" {
		t.Errorf("--count 2: stdout %q", out)
	}

	d = start(t, false, "dial", l.addr, "-c", "lines", "--count", "3", "-f", "text", "--timeout", "500ms")
	d.stdin.Write([]byte("a\nb\n"))
	began := time.Now()
	if code := d.wait(); code != 1 {
		t.Errorf("--timeout: exit %d, want 1", code)
	}
	if el := time.Since(began); el < 300*time.Millisecond || el > 10*time.Second {
		t.Errorf("--timeout 500ms took %v", el)
	}
	out, stderr := d.output()
	if out != "a\nb\n" || stderr != "framecat: timed out after 500ms: 2 frames received\n" {
		t.Errorf("--timeout: stdout %q, stderr %q", out, stderr)
	}

	r := framecat(t, []byte("6869\n610a62\n"), "dial", l.addr, "-c", "lines", "--timeout", "20s")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "framecat: stdin line 2: frame 2 at offset 3: cannot encode a payload of 3 bytes with lines: ") {
		t.Errorf("sending a newline with lines: exit %d, stderr %q", r.code, r.stderr)
	}

	r = framecat(t, nil, "dial", "127.0.0.1:1", "-c", "lines")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "framecat: dial tcp 127.0.0.1:1: ") {
		t.Errorf("connection refused: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestProxy: the proxy relays bytes unchanged and prints frames both ways;
// a decoding error is reported and the relay goes on.
func TestProxy(t *testing.T) {
	l := start(t, true, "listen", "127.0.0.1:0", "-c", "lines", "--echo")
	p := start(t, true, "proxy", "127.0.0.1:0", l.addr, "-c", "lines", "-f", "text")
	r := framecat(t, []byte("ping\npong\n"), "dial", p.addr, "-c", "lines", "-f", "text", "--timeout", "20s")
	if r.code != 0 || r.stdout != "ping\npong\n" {
		t.Errorf("dial through proxy: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	out := p.waitOutput(4)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var sent, back []string
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "#1 > "):
			sent = append(sent, line[5:])
		case strings.HasPrefix(line, "#1 < "):
			back = append(back, line[5:])
		default:
			t.Errorf("proxy line %q", line)
		}
	}
	want := []string{"ping", "pong"}
	if !cmp.Equal(sent, want) || !cmp.Equal(back, want) {
		t.Errorf("proxy printed %q", out)
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(); code != 0 {
		t.Errorf("proxy after SIGINT: exit %d", code)
	}

	// The tap has a 4-byte limit: the long line is an error in the tap,
	// not in the relay, which carries every byte.
	p2 := start(t, true, "proxy", "127.0.0.1:0", l.addr, "-c", "lines", "--max", "4", "-f", "json")
	r = framecat(t, []byte("ok\na much longer line\nok\n"), "dial", p2.addr, "-c", "lines", "-f", "text", "--timeout", "20s")
	if r.code != 0 || r.stdout != "ok\na much longer line\nok\n" {
		t.Errorf("dial through proxy with a tap error: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	out = p2.waitOutput(2)
	for _, dir := range []string{"c>s", "s>c"} {
		if !regexp.MustCompile(`\{"len":2,"hex":"6f6b","conn":1,"peer":"127\.0\.0\.1:\d+","dir":"` + dir + `"\}`).MatchString(out) {
			t.Errorf("proxy json output %q lacks the %s frame", out, dir)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, stderr := p2.output()
		// The tap says it stops decoding that direction.
		if regexp.MustCompile(`(?m)^framecat: #1 127\.0\.0\.1:\d+ c>s: frame 2 at offset 3: .*; stops decoding c>s, relays the rest unchanged$`).MatchString(stderr) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy stderr %q", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := p2.stop(); code != 0 {
		t.Errorf("proxy after SIGTERM: exit %d", code)
	}
}

// TestBench: one summary line whose numbers agree with each other.
func TestBench(t *testing.T) {
	for _, spec := range []string{"u32be", "cobs"} {
		r := framecat(t, nil, "bench", "-c", spec, "--size", "1KiB", "--duration", "300ms", "--conns", "2")
		m := regexp.MustCompile(`^frames=(\d+) frames/s=(\d+) MB/s=(\d+\.\d)\n$`).FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil {
			t.Fatalf("bench -c %s: exit %d, stdout %q, stderr %q", spec, r.code, r.stdout, r.stderr)
		}
		frames, _ := strconv.ParseFloat(m[1], 64)
		perSec, _ := strconv.ParseFloat(m[2], 64)
		mbs, _ := strconv.ParseFloat(m[3], 64)
		if frames < 1 || perSec < frames || perSec > 5*frames {
			t.Errorf("bench -c %s: %q: frames/s does not fit 300ms", spec, r.stdout)
		}
		if want := perSec * 1024 / 1e6; mbs < want-0.1 || mbs > want+0.1 {
			t.Errorf("bench -c %s: %q: MB/s should be %.1f", spec, r.stdout, want)
		}
		if r.stderr != "" {
			t.Errorf("bench -c %s: stderr %q (not a terminal: no progress)", spec, r.stderr)
		}
	}
}

// TestDemo: the demo shows glued and split reads, then every message intact
// through framekit, within 10 s and 80 columns.
func TestDemo(t *testing.T) {
	began := time.Now()
	r := framecat(t, nil, "demo")
	if el := time.Since(began); el > 10*time.Second {
		t.Errorf("demo took %v", el)
	}
	if r.code != 0 {
		t.Fatalf("demo: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
	for i, line := range strings.Split(r.stdout, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, len([]rune(line)), line)
		}
	}
	counts := regexp.MustCompile(`reads (\d+) +intact (\d+) +split (\d+) +glued (\d+)`).FindAllStringSubmatch(r.stdout, -1)
	if len(counts) != 2 {
		t.Fatalf("demo output has %d count lines, want 2:\n%s", len(counts), r.stdout)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	naive, framed := counts[0], counts[1]
	if n(naive[3]) == 0 || n(naive[4]) == 0 {
		t.Errorf("naive reads: split %s, glued %s; want both above zero", naive[3], naive[4])
	}
	if n(framed[1]) != 200 || n(framed[2]) != 200 || n(framed[3]) != 0 || n(framed[4]) != 0 {
		t.Errorf("framekit reads: %q, want 200 reads, 200 intact", framed[0])
	}
	// What a newcomer reads first: the reads in order with the messages'
	// bounds marked, and a legend for counts that need not add up; no
	// internal names.
	if strings.Contains(r.stdout, "fuzz.") || strings.Contains(r.stdout, "Cut") {
		t.Errorf("the demo names the fuzz package's API:\n%s", r.stdout)
	}
	reads := regexp.MustCompile(`(?m)^   read (\d+)  (.*)$`).FindAllStringSubmatch(r.stdout, -1)
	if len(reads) < 3 || !strings.HasPrefix(reads[0][2], "[#000 ") {
		t.Errorf("the reads shown: %q", reads)
	}
	var shown string
	for i, m := range reads {
		if m[1] != strconv.Itoa(i+1) {
			t.Errorf("read %s shown as number %d", m[1], i+1)
		}
		if strings.Contains(m[2], " ... ") {
			break // a long read (a slow server) shown in part
		}
		shown += m[2]
	}
	if len(shown) > 200 && !strings.Contains(shown, "][#001 ") {
		t.Errorf("no message boundary inside a read among %q", reads)
	}
	msgs := demoStream()
	if plain := strings.NewReplacer("[", "", "]", "").Replace(shown); !strings.HasPrefix(string(bytes.Join(msgs, nil)), plain) {
		t.Errorf("the reads shown, %q, are not the start of the stream", plain)
	}
	for _, want := range []string{"intact: ", "split: ", "glued: ", "need not add\n   up to 200"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the legend lacks %q:\n%s", want, r.stdout)
		}
	}
	if !regexp.MustCompile(`\n   [\d,]+ frames/s, [\d.]+ MB/s`).MatchString(r.stdout) {
		t.Errorf("no throughput figure:\n%s", r.stdout)
	}
}

func writeFile(name, data string) error { return os.WriteFile(name, []byte(data), 0o644) }

// TestSkipIntoEOF: under --skip, a stream that ends inside the frame being
// skipped names that frame, not the one after it; a stream that ends in a
// frame after a skipped one names the later frame.
func TestSkipIntoEOF(t *testing.T) {
	for _, tc := range []struct {
		spec, in, stdout, lastErr string
	}{
		{"u8", "\x02ab\x06abc", "6162\n",
			"framecat: frame 2 at offset 3: unexpected EOF: 3 more bytes needed to end the frame being skipped\n"},
		{"u8", "\x02ab\x06abcdef\x05ab", "6162\n",
			"framecat: frame 3 at offset 10: unexpected EOF: 3 more bytes needed to end the frame being skipped\n"},
		{"u8", "\x02ab\x06abcdef\x02a", "6162\n",
			"framecat: frame 3 at offset 10: unexpected EOF: 1 more bytes needed\n"},
		{"lines", "ab\nabcdefgh", "6162\n",
			"framecat: frame 2 at offset 3: unexpected EOF before the end of the frame being skipped\n"},
		{"lines", "ab\nabcdefgh\nxy", "6162\n",
			"framecat: frame 3 at offset 12: unexpected EOF: 2 bytes of the frame received, more needed\n"},
		{"cobs", "\x03ab\x00\x09abcdefgh", "6162\n",
			"framecat: frame 2 at offset 4: unexpected EOF before the end of the frame being skipped\n"},
	} {
		r := framecat(t, []byte(tc.in), "decode", "-c", tc.spec, "--max", "3", "--skip", "-f", "hex")
		lines := strings.SplitAfter(r.stderr, "\n")
		last := ""
		if len(lines) >= 2 {
			last = lines[len(lines)-2]
		}
		if r.code != 1 || r.stdout != tc.stdout || last != tc.lastErr {
			t.Errorf("decode -c %s of %q: exit %d, stdout %q, stderr %q; want last line %q", tc.spec, tc.in, r.code, r.stdout, r.stderr, tc.lastErr)
		}
	}
}

// TestEncodeBoundsLines: encode refuses an input line too long for a frame
// within --max as soon as it has read that much, without holding the line,
// and numbers lines and frames alike.
func TestEncodeBoundsLines(t *testing.T) {
	for _, format := range []string{"hex", "text", "json"} {
		s := start(t, false, "encode", "-c", "u32be", "--max", "1KiB", "-f", format)
		first := "6869\n"
		if format == "text" {
			first = "hi\n"
		} else if format == "json" {
			first = `{"hex":"6869"}` + "\n"
		}
		s.stdin.Write([]byte(first))
		// A line of 64 KiB and more, never ended: stdin stays open, so
		// only a bounded reader gives up.
		s.stdin.Write(bytes.Repeat([]byte("6"), 64<<10))
		code := s.wait()
		_, stderr := s.output()
		if code != 1 || !strings.HasPrefix(stderr, "framecat: stdin line 2: over ") ||
			!strings.Contains(stderr, "longer than a frame within --max 1024 can be") {
			t.Errorf("-f %s: exit %d, stderr %q", format, code, stderr)
		}
		s.stdin.Close()
	}
}
