package main

import (
	"bytes"
	"compress/flate"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// A framing of the guess corpus: the SPEC that is the truth, and a
// frame's bytes for a payload size drawn from a distribution.
type corpusFraming struct {
	spec  string
	frame func(rng *rand.Rand, size int) []byte
	max   int // the largest payload the framing carries
}

// layout builds a length-field framing: prefix bytes (before the field),
// the field, then the rest of the frame: adjust bytes of header when
// adjust > 0, and the payload.
func layout(spec string, off, size int, le bool, adjust int, prefix func(rng *rand.Rand, b []byte)) corpusFraming {
	limit := 1<<(8*min(size, 3)) - 1 - max(0, -adjust)
	return corpusFraming{spec: spec, max: min(limit, 20000), frame: func(rng *rand.Rand, p int) []byte {
		v := uint64(p + max(0, -adjust))
		b := make([]byte, off+size+p+max(adjust, 0))
		if prefix != nil {
			prefix(rng, b[:off])
		}
		for i := 0; i < size; i++ {
			sh := 8 * (size - 1 - i)
			if le {
				sh = 8 * i
			}
			b[off+i] = byte(v >> sh)
		}
		fill(rng, b[off+size:])
		return b
	}}
}

// varintLayout builds a framing with prefix bytes, then the payload's
// length as a varint, then the payload (MQTT's fixed header at off 1).
func varintLayout(spec string, off int, prefix func(rng *rand.Rand, b []byte)) corpusFraming {
	return corpusFraming{spec: spec, max: 20000, frame: func(rng *rand.Rand, p int) []byte {
		b := make([]byte, off, off+4+p)
		prefix(rng, b)
		b = binary.AppendUvarint(b, uint64(p))
		payload := make([]byte, p)
		fill(rng, payload)
		return append(b, payload...)
	}}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

func printable(rng *rand.Rand, n int) []byte {
	words := []string{"GET", "user", "id", "value", "ok", "42", "status", "hello", "world", "the", "key", "=", ":", "ERR", "{\"a\":1}"}
	var b []byte
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

// text builds a text framing: frame turns a printable payload into the
// frame's text.
func text(spec string, frame func(payload []byte) string) corpusFraming {
	return corpusFraming{spec: spec, max: 2000, frame: func(rng *rand.Rand, p int) []byte {
		return []byte(frame(printable(rng, p)))
	}}
}

// stuffed frames a payload with a codec of spec (COBS, SLIP, uvarint).
func encoded(t *testing.T, spec string, most int) corpusFraming {
	c, err := parseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	return corpusFraming{spec: spec, max: most, frame: func(rng *rand.Rand, p int) []byte {
		if spec == "slip" {
			p = max(p, 1) // SLIP has no empty frames
		}
		payload := make([]byte, p)
		fill(rng, payload)
		b, err := c.enc.AppendFrame(nil, payload)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}}
}

func corpusFramings(t *testing.T) []corpusFraming {
	var fs []corpusFraming
	// Every preset of the length-field table.
	for _, name := range []string{"u8", "u16be", "u16le", "u24be", "u32be", "u32le", "u64be"} {
		if _, ok := presets[name]; !ok {
			t.Fatalf("preset %s is gone from spec.go's table", name)
		}
		fs = append(fs, encoded(t, name, map[string]int{"u8": 255}[name]+20000*btoi(name != "u8")))
	}
	letters := func(set string) func(rng *rand.Rand, b []byte) {
		return func(rng *rand.Rand, b []byte) {
			for i := range b {
				b[i] = set[rng.IntN(len(set))]
			}
		}
	}
	constant := func(c ...byte) func(rng *rand.Rand, b []byte) {
		return func(rng *rand.Rand, b []byte) { copy(b, c) }
	}
	var seq uint16
	fs = append(fs,
		layout("len:offset=1,size=4,adjust=-4", 1, 4, false, -4, letters("QDPBESXCZT")),                                                                  // PostgreSQL
		layout("len:size=3,order=le,adjust=1", 0, 3, true, 1, nil),                                                                                       // MySQL
		layout("len:offset=3,size=2", 3, 2, false, 0, constant(0x17, 0x03, 0x03)),                                                                        // TLS records
		layout("len:size=4,order=le,adjust=-4", 0, 4, true, -4, nil),                                                                                     // MongoDB
		layout("len:offset=4,size=2", 4, 2, false, 0, func(rng *rand.Rand, b []byte) { seq++; b[0], b[1] = byte(seq>>8), byte(seq) }),                    // Modbus MBAP
		layout("len:offset=2,size=2,adjust=-4", 2, 2, false, -4, constant(3, 0)),                                                                         // TPKT
		layout("len:offset=1,size=3", 1, 3, false, 0, constant(0)),                                                                                       // SMB2 direct TCP
		layout("len:offset=1,size=3,adjust=-4", 1, 3, false, -4, constant(1)),                                                                            // Diameter
		layout("len:offset=16,size=2,adjust=-18", 16, 2, false, -18, constant(bytes.Repeat([]byte{0xff}, 16)...)),                                        // BGP
		layout("len:offset=2,size=2,adjust=-4", 2, 2, false, -4, letters("\x04")),                                                                        // OpenFlow (as TPKT: same layout)
		layout("len:offset=8,size=4,adjust=12", 8, 4, false, 12, constant(0x81, 0x0c, 0, 0, 0, 0, 0, 0)),                                                 // memcached binary
		layout("len:offset=5,size=4", 5, 4, false, 0, constant(0x84, 0, 0, 1, 8)),                                                                        // Cassandra v4
		layout("len:offset=16,size=4,order=le,adjust=4", 16, 4, true, 4, constant([]byte("\xf9\xbe\xb4\xd9inv\x00\x00\x00\x00\x00\x00\x00\x00\x00")...)), // Bitcoin
		encoded(t, "uvarint", 20000),
		varintLayout("mqtt", 1, letters("\x10\x20\x30\x32\x34\x40\x50\x62\x70\x82\x90\xa2\xb0\xc0\xd0\xe0")), // MQTT control packets
		varintLayout("len:varint=true,offset=2,size=4", 2, func(rng *rand.Rand, b []byte) { b[0], b[1] = 0xfe, byte(rng.IntN(4)) }),
		encoded(t, "cobs", 20000),
		encoded(t, "slip", 20000),
		// The text framings (issue 19), payloads of printable words.
		text("lsp", func(p []byte) string {
			body := `{"jsonrpc":"2.0","method":"` + string(p) + `"}`
			return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
		}),
		text("netstring", func(p []byte) string { return fmt.Sprintf("%d:%s,", len(p), p) }),
		text("syslog", func(p []byte) string {
			m := "<34>1 2026-12-05T09:00:00Z host app - - - " + string(p)
			return fmt.Sprintf("%d %s", len(m), m)
		}),
		text("pktline", func(p []byte) string { return fmt.Sprintf("%04x%s", len(p)+4, p) }),
		text("chunked", func(p []byte) string { return fmt.Sprintf("%x\r\n%s\r\n", len(p)+1, append(p, '.')) }),
		text("stomp", func(p []byte) string {
			return fmt.Sprintf("SEND\ndestination:/queue/a\ncontent-length:%d\n\n%s\x00", len(p), p)
		}),
		text("json", func(p []byte) string {
			return fmt.Sprintf(`{"id":%d,"params":["%s"]} `, len(p), strings.ReplaceAll(string(p), `"`, `'`))
		}),
		corpusFraming{spec: "lines", max: 2000, frame: func(rng *rand.Rand, p int) []byte { return append(printable(rng, p), '\n') }},
		corpusFraming{spec: "crlf", max: 2000, frame: func(rng *rand.Rand, p int) []byte { return append(printable(rng, p), '\r', '\n') }},
		corpusFraming{spec: `delim:\x00`, max: 2000, frame: func(rng *rand.Rand, p int) []byte {
			return append(append([]byte("SEND\ndestination:/queue/a\n\n"), printable(rng, p)...), 0)
		}},
	)
	// Fixed sizes, with the structure real fixed records have: a sync
	// byte, a type, a sequence number.
	for _, n := range []int{16, 64, 100} {
		n := n
		var seq uint16
		fs = append(fs, corpusFraming{spec: fmt.Sprintf("fixed:%d", n), max: n, frame: func(rng *rand.Rand, _ int) []byte {
			b := make([]byte, n)
			fill(rng, b)
			seq++
			b[0], b[1], b[2], b[3] = 0xa5, byte(1+rng.IntN(3)), byte(seq>>8), byte(seq)
			return b
		}})
	}
	return fs
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// corpusFrames is the frames of a corpus stream.
const corpusFrames = 100

// The payload-size distributions.
var sizeDists = []struct {
	name string
	draw func(rng *rand.Rand) int
}{
	{"small", func(rng *rand.Rand) int { return 1 + rng.IntN(48) }},
	{"medium", func(rng *rand.Rand) int { return rng.IntN(600) }},
	{"mixed", func(rng *rand.Rand) int {
		if rng.IntN(5) == 0 {
			return 1000 + rng.IntN(15000)
		}
		return rng.IntN(100)
	}},
}

// frameEnds is where spec's frames end in s (nil if it fails).
func frameEnds(spec string, s []byte) []int64 {
	ends, _, ok := parseAll(spec, [][]byte{s}, 1<<24)
	if !ok {
		return nil
	}
	return ends
}

// TestGuessCorpus is the evaluation of guess: 38 framings × 3 size
// distributions, corpusFrames frames a stream; a guess is right when its SPEC parses
// the stream exactly as the truth does. At least 90% right first, all
// within the top 3.
func TestGuessCorpus(t *testing.T) {
	framings := corpusFramings(t)
	if len(framings) < 25 {
		t.Fatalf("%d framings, want at least 25", len(framings))
	}
	rng := rand.New(rand.NewPCG(2026, 21))
	var total, first, top3 int
	var misses []string
	for _, f := range framings {
		for _, dist := range sizeDists {
			var s []byte
			for i := 0; i < corpusFrames; i++ {
				s = append(s, f.frame(rng, min(dist.draw(rng), f.max))...)
			}
			truth := frameEnds(f.spec, s)
			if len(truth) != corpusFrames {
				t.Fatalf("%s: the truth parses %d frames of %d", f.spec, len(truth), corpusFrames)
			}
			ps := guessStreams([][]byte{s}, guessOptions{max: 1 << 24})
			total++
			rank := -1
			var got []string
			for i, p := range ps {
				if i >= 3 {
					break
				}
				got = append(got, p.spec)
				if rank < 0 && p.preamble == 0 && fmt.Sprint(frameEnds(p.spec, s)) == fmt.Sprint(truth) {
					rank = i
				}
			}
			switch {
			case rank == 0:
				first++
				top3++
			case rank > 0:
				top3++
				misses = append(misses, fmt.Sprintf("%s/%s: %d. (first %v)", f.spec, dist.name, rank+1, got))
			default:
				misses = append(misses, fmt.Sprintf("%s/%s: not in the top 3 %v", f.spec, dist.name, got))
			}
		}
	}
	t.Logf("%d streams: %d right first (%.0f%%), %d within the top 3", total, first, 100*float64(first)/float64(total), top3)
	for _, m := range misses {
		t.Log(m)
	}
	if first*10 < total*9 || top3 != total {
		t.Fatalf("want at least 90%% right first and all within the top 3")
	}
}

// TestGuessRepeats: real traffic repeats messages byte for byte (the
// same query, a sync with no payload); that is no reason to doubt a
// layout. A PostgreSQL-like stream of 5 distinct messages.
func TestGuessRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := [][]byte{[]byte("QSELECT 1\x00"), []byte("QBEGIN\x00"), []byte("QCOMMIT\x00"), []byte("S"), []byte("PUPDATE t SET v = v + 1\x00")}
	var s []byte
	for i := 0; i < 80; i++ {
		m := msgs[rng.IntN(len(msgs))]
		s = append(s, m[0], 0, 0, 0, byte(len(m)+3))
		s = append(s, m[1:]...)
	}
	const truth = "len:offset=1,size=4,adjust=-4"
	ps := guessStreams([][]byte{s}, guessOptions{max: 8 << 20})
	if len(ps) == 0 || fmt.Sprint(frameEnds(ps[0].spec, s)) != fmt.Sprint(frameEnds(truth, s)) {
		t.Fatalf("proposals %v, want %s's frames first", ps[:min(len(ps), 2)], truth)
	}
}

// TestGuessNoise: random and compressed bytes get no framing proposed.
func TestGuessNoise(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 10 // the race detector slows guess tenfold; 100 each run without it
	}
	t.Logf("%d samples of 1 MiB each of crypto/rand and of DEFLATE output", n)
	buf := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		crand.Read(buf)
		if ps := guessStreams([][]byte{buf}, guessOptions{max: 8 << 20}); len(ps) > 0 {
			t.Fatalf("random sample %d: proposed %s (%.0f bits)", i, ps[0].spec, ps[0].bits)
		}
	}
	// Compressed: text of words and numbers (compressible, as logs and
	// JSON are) through DEFLATE, cut into 1 MiB samples.
	rng := rand.New(rand.NewPCG(5, 6))
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	for z.Len() < n<<20+1<<20 {
		var line bytes.Buffer
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&line, `{"id":%d,"user":"%s","value":%d}`+"\n", rng.IntN(1e6), strings.Repeat("x", rng.IntN(8)), rng.Int64())
		}
		w.Write(line.Bytes())
	}
	w.Close()
	for i := 0; i < n; i++ {
		sample := z.Bytes()[i<<20 : (i+1)<<20]
		if ps := guessStreams([][]byte{sample}, guessOptions{max: 8 << 20}); len(ps) > 0 {
			t.Fatalf("compressed sample %d: proposed %s (%.0f bits)", i, ps[0].spec, ps[0].bits)
		}
	}
}

// TestGuessPreambleAndCLI: a preamble before the first frame is found and
// its length reported; the command prints SPECs that decode accepts, and
// "no framing found" exits 1.
func TestGuessPreambleAndCLI(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	var s []byte
	s = append(s, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"...) // 24 bytes, as HTTP/2's preface
	c, _ := parseSpec("u24be")
	for i := 0; i < 60; i++ {
		p := make([]byte, rng.IntN(300))
		fill(rng, p)
		s, _ = c.enc.AppendFrame(s, p)
	}
	ps := guessStreams([][]byte{s}, guessOptions{max: 1 << 24})
	if len(ps) == 0 || ps[0].preamble != 24 || fmt.Sprint(frameEnds(ps[0].spec, s[24:])) != fmt.Sprint(frameEnds("u24be", s[24:])) {
		t.Fatalf("proposals %+v, want u24be's frames after a preamble of 24", ps[:min(len(ps), 1)])
	}
	r := framecat(t, s, "guess")
	if r.code != 0 || !strings.Contains(r.stdout, "a preamble of 24 bytes comes first") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The first line's SPEC goes to decode as printed.
	var u16 []byte
	c, _ = parseSpec("u16be")
	for i := 0; i < 60; i++ {
		p := make([]byte, rng.IntN(300))
		fill(rng, p)
		u16, _ = c.enc.AppendFrame(u16, p)
	}
	r = framecat(t, u16, "guess")
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) < 2 || !strings.HasPrefix(lines[1], "best      ") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	spec := strings.TrimPrefix(lines[1], "best      ")
	d := framecat(t, u16, "decode", "-c", spec, "-f", "hex")
	if d.code != 0 || strings.Count(d.stdout, "\n") != 60 {
		t.Fatalf("decode -c %s: exit %d, %d frames, want 60", spec, d.code, strings.Count(d.stdout, "\n"))
	}
	noise := make([]byte, 100000)
	crand.Read(noise)
	if r := framecat(t, noise, "guess"); r.code != 1 || !strings.Contains(r.stderr, "no framing found") {
		t.Fatalf("random: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestGuessInputCap: guess reads 4 MiB unless --max asks for more.
func TestGuessInputCap(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	c, _ := parseSpec("u16be")
	var s []byte
	for len(s) < 5<<20 {
		p := make([]byte, rng.IntN(2000))
		fill(rng, p)
		s, _ = c.enc.AppendFrame(s, p)
	}
	r := framecat(t, s, "guess")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "guessing from 4194304 bytes in 1 streams\nbest      u16be\n") ||
		!strings.Contains(r.stdout, "parses up to a truncated last frame") {
		t.Errorf("default cap: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = framecat(t, s, "guess", "--max", "8MiB")
	if r.code != 0 || !strings.HasPrefix(r.stdout, fmt.Sprintf("guessing from %d bytes in 1 streams\nbest      u16be\n", len(s))) ||
		!strings.Contains(r.stdout, "parses to the end") {
		t.Errorf("--max 8MiB: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
