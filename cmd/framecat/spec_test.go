package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/framekit/framekit/textframe"
	"github.com/google/go-cmp/cmp"
)

// TestLenSpec checks that len: SPECs mean what the library means: strip
// defaults to offset+size, includes is IncludesHeader, and only the
// layouts the library can encode have an encoder.
func TestLenSpec(t *testing.T) {
	type configured interface{ Config() lengthprefix.Config }
	for _, tc := range []struct {
		spec   string
		want   lengthprefix.Config
		encode bool
	}{
		{"len:size=2", lengthprefix.Config{Size: 2, Strip: 2}, true},
		{"len:size=4,includes=true", lengthprefix.Config{Size: 4, IncludesHeader: true, Strip: 4}, true},
		{"len:strip=0,size=2,offset=3", lengthprefix.Config{Offset: 3, Size: 2}, true},
		{"len:size=2,offset=1,adjust=1", lengthprefix.Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3}, false},
		{"len:size=3,order=le,adjust=-3,strip=1", lengthprefix.Config{Size: 3, Order: lengthprefix.LittleEndian, Adjust: -3, Strip: 1}, false},
		{"len:size=8,order=be,includes=false", lengthprefix.Config{Size: 8, Strip: 8}, true},
	} {
		c, err := parseSpec(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		got := c.dec.(configured).Config()
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.spec, diff)
		}
		if (c.enc != nil) != tc.encode {
			t.Errorf("%s: encoder %v, want %v", tc.spec, c.enc != nil, tc.encode)
		}
	}
}

// TestNamedSpecs: the names are the library's presets and codecs.
func TestNamedSpecs(t *testing.T) {
	for spec, want := range map[string]framing.Decoder{
		"u8": lengthprefix.U8, "u16be": lengthprefix.U16BE, "u16le": lengthprefix.U16LE,
		"u24be": lengthprefix.U24BE, "u32be": lengthprefix.U32BE, "u32le": lengthprefix.U32LE,
		"u64be": lengthprefix.U64BE, "uvarint": lengthprefix.Uvarint,
		"lines": delimiter.Lines, "crlf": delimiter.CRLF, "cobs": delimiter.COBS, "slip": delimiter.SLIP,
	} {
		c, err := parseSpec(spec)
		if err != nil || c.dec != want || c.enc == nil {
			t.Errorf("%s: %v, %v", spec, c, err)
		}
	}
	c, err := parseSpec("fixed:7")
	if err != nil || c.fixed != 7 || c.dec.(*delimiter.FixedCodec).Size() != 7 {
		t.Errorf("fixed:7: %v, %v", c, err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`\r\n\r\n`: "\r\n\r\n", `a\tb`: "a\tb", `\\`: `\`, `\x00\xFF\xab`: "\x00\xff\xab", `|`: "|",
	} {
		got, err := unescape(in)
		if err != nil || string(got) != want {
			t.Errorf("unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`\`, `\x`, `\x1`, `\xg0`, `\a`, `\0`} {
		if got, err := unescape(in); err == nil {
			t.Errorf("unescape(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "512": 512, "64B": 64, "16KiB": 16 << 10, "8MiB": 8 << 20, "2GiB": 2 << 30,
	} {
		if got, err := parseSize("max", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "B", "1KB", "1k", "1.5MiB", "-1", "+1", " 1", "1 KiB", "99999999999GiB", "0x10"} {
		var ue *usageError
		if got, err := parseSize("max", in); !errors.As(err, &ue) {
			t.Errorf("parseSize(%q) = %d, %v; want a usage error", in, got, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	cl, err := parseArgs("dial", []string{"--timeout", "2s", "host:1", "-c=u8", "--count=3", "--", "-f"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"host:1", "-f"}, cl.pos); diff != "" {
		t.Errorf("positional (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"timeout": "2s", "codec": "u8", "count": "3"}, cl.flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	if d, err := parseDuration("timeout", cl.flags["timeout"]); err != nil || d != 2*time.Second {
		t.Errorf("timeout %v, %v", d, err)
	}
	for _, args := range [][]string{{"--echo"}, {"-c"}, {"--skip=true"}, {"-c", "a", "--codec", "b"}} {
		if _, err := parseArgs("decode", args); err == nil {
			t.Errorf("parseArgs(decode, %q): no error", args)
		}
	}
}

// TestClassify checks the demo's counting on reads whose answer is known.
func TestClassify(t *testing.T) {
	msgs := [][]byte{[]byte("aaaa"), []byte("bbbb"), []byte("cccc"), []byte("dddd")}
	reads := [][]byte{[]byte("aaaa"), []byte("bb"), []byte("bbcc"), []byte("cc"), []byte("dddd")}
	st, err := classify(msgs, reads)
	if err != nil {
		t.Fatal(err)
	}
	want := stats{intact: 2, split: 2, glued: 2}
	if diff := cmp.Diff(want, st, cmp.AllowUnexported(stats{})); diff != "" {
		t.Errorf("classify (-want +got):\n%s", diff)
	}
	wantLines := []string{"[aaaa]", "[bb", "bb][cc", "cc]", "[dddd]"}
	if diff := cmp.Diff(wantLines, markReads(msgs, reads, 10)); diff != "" {
		t.Errorf("markReads (-want +got):\n%s", diff)
	}
	if _, err := classify(msgs, reads[1:]); err == nil {
		t.Error("classify of reads that lost bytes: no error")
	}
}

// TestProtocolSpecs: every catalogue preset parses by name, is listed in
// the usage, and frames what its encoder wrote.
func TestProtocolSpecs(t *testing.T) {
	for name, p := range protocols {
		if !strings.Contains(specForms, name) {
			t.Errorf("usage does not list %q", name)
		}
		c, err := parseSpec(name)
		if err != nil || c.dec != p || c.enc != p || !c.length {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
	}
	for name, p := range stagedProtocols {
		c, err := parseSpec(name)
		if !strings.Contains(specForms, name) || err != nil || c.dec != p.c || c.enc != p.c {
			t.Errorf("%s: %+v, %v (listed: %v)", name, c, err, strings.Contains(specForms, name))
		}
	}
	if n := len(strings.Fields(protocolNames)); n != len(protocols)+len(stagedProtocols) {
		t.Errorf("protocolNames lists %d names, the tables have %d", n, len(protocols)+len(stagedProtocols))
	}
}

// TestLenExtensionKeys: the len: keys of the Config extensions give the
// Config they name, and bad values are usage errors.
func TestLenExtensionKeys(t *testing.T) {
	c, err := parseSpec("len:offset=1,size=4,varint=true")
	if err != nil || c.dec.(interface{ Config() lengthprefix.Config }).Config() != (lengthprefix.Config{Offset: 1, Size: 4, Varint: true}) {
		t.Fatalf("varint: %+v, %v", c, err)
	}
	c, err = parseSpec("len:size=2,strip=2,crc=crc32,crcfrom=2,crcorder=le,resync=true,signed=true")
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.dec.(interface{ Config() lengthprefix.Config }).Config()
	s := cfg.Checks.Checksum
	if !cfg.Signed || !cfg.Checks.Resync || s.Algorithm != lengthprefix.CRC32IEEE || s.From != 2 || s.Order != lengthprefix.LittleEndian || c.enc == nil {
		t.Errorf("crc: %+v %+v", cfg, s)
	}
	// "hi" framed with a CRC-32 trailer (little-endian) over the payload.
	wire, err := c.enc.AppendFrame(nil, []byte("hi"))
	if err != nil || len(wire) != 2+2+4 || wire[1] != 6 {
		t.Errorf("encoded % x, %v", wire, err)
	}
	c, err = parseSpec("len:offset=2,size=2,includes=true,strip=0,fixed=0:03,trailer=ce")
	if err != nil {
		t.Fatal(err)
	}
	cfg = c.dec.(interface{ Config() lengthprefix.Config }).Config()
	if f := cfg.Checks.Fixed; len(f) != 1 || f[0].Offset != 0 || f[0].Bytes[0] != 3 || cfg.Checks.Trailer[0] != 0xce {
		t.Errorf("fixed, trailer: %+v", cfg.Checks)
	}
	for _, bad := range []string{"len:size=4,crc=md5", "len:size=4,fixed=0", "len:size=4,trailer=zz", "len:size=11,varint=true",
		"len:size=5", "len:size=4,resync=maybe", "len:size=4,resync=true", "len:size=4,crcat=-1,crc=crc16"} {
		if _, err := parseSpec(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		} else if _, ok := err.(*specError); !ok {
			t.Errorf("%s: %T %v, want a specError", bad, err, err)
		}
	}
}

// TestTextSpecs: issue 19's names are textframe's codecs, and decode
// prints their frames.
func TestTextSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec, stream, want string
	}{
		{"lsp", "Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]", "{}\n[1]\n"},
		{"json", `{"a":1} [2] 3` + "\n", "{\"a\":1}\n[2]\n3\n"},
		{"json-elements", `[{"a":1}, 2]`, "{\"a\":1}\n2\n"},
		{"netstring", "2:hi,3:abc,", "hi\nabc\n"},
		{"syslog", "5 <1>hi<2>x\n", "<1>hi\n<2>x\n"},
		{"pktline", "0006hi0000", "hi\n\n"},
		{"chunked", "2\r\nhi\r\n0\r\nA: b\r\n\r\n", "hi\nA: b\\r\\n\n"},
		{"resp", "+OK\r\n$3\r\na\\\x00\r\n", "+OK\\r\\n\n$3\\r\\na\\\\\\x00\\r\\n\n"},
		{"lines-eof", "a\nb", "a\nb\n"},
		{"stomp", "\nSEND\n\nhi\x00", "SEND\\n\\nhi\n"},
	} {
		c, err := parseSpec(tc.spec)
		if err != nil || c.enc == nil {
			t.Errorf("%s: %v, %v", tc.spec, c, err)
			continue
		}
		r := framecat(t, []byte(tc.stream), "decode", "-c", tc.spec, "-f", "text")
		if r.stdout != tc.want {
			t.Errorf("%s: decode printed %q, want %q (stderr %q)", tc.spec, r.stdout, tc.want, r.stderr)
		}
	}
	if c, err := parseSpec("chunked"); err != nil || c.dec != textframe.HTTPChunked {
		t.Errorf("chunked: %v, %v", c, err)
	}
}
