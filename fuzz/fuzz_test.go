package fuzz_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// codecFrom picks a codec and its settings from the fuzzer's config bytes,
// so that two targets cover every codec framekit has: the presets, any
// length-field layout (decode-only ones too, for decoding), delimiters of
// the fuzzer's choosing, COBS, SLIP and fixed sizes. roundTrip reports
// whether what ReadFrame returns is what WriteFrame was given (layouts
// that rewrite or strip part of the payload are for decoding only).
// crcResync is a CRC-32C trailer under Resync, so that the fuzzer reaches
// the resynchronising scan.
var crcResync, _ = lengthprefix.New(lengthprefix.Config{Size: 2, Strip: 2, Checks: &lengthprefix.Checks{
	Checksum: &lengthprefix.Checksum{Algorithm: lengthprefix.CRC32C, From: 2}, Resync: true}})

func codecFrom(cfg []byte) (dec framing.Decoder, codec framing.Codec, roundTrip bool) {
	at := func(i int) int {
		if i < len(cfg) {
			return int(cfg[i])
		}
		return 0
	}
	// Issue 19's text codecs: a config starting 0xF1 (see textcodecs_test.go).
	if dec, codec, ok := textCodecFrom(cfg); dec != nil {
		return dec, codec, ok
	}
	presets := []framing.Codec{lengthprefix.U8, lengthprefix.U16BE, lengthprefix.U16LE, lengthprefix.U24BE,
		lengthprefix.U32BE, lengthprefix.U32LE, lengthprefix.U64BE, lengthprefix.Uvarint, lengthprefix.Kafka,
		delimiter.Lines, delimiter.CRLFLines, delimiter.CRLF, delimiter.COBS, delimiter.SLIP}
	// The protocol catalogue: their encoders take whole frames, so
	// arbitrary payloads do not round-trip.
	catalogue := []framing.Codec{lengthprefix.MQTT, lengthprefix.AMQP, lengthprefix.HTTP2Frame, lengthprefix.GRPC,
		lengthprefix.ModbusTCP, lengthprefix.TPKT, lengthprefix.SMB2, lengthprefix.Diameter, lengthprefix.BGP,
		lengthprefix.OpenFlow, lengthprefix.MemcachedRequest, lengthprefix.CQL, lengthprefix.MongoDB,
		lengthprefix.Bitcoin, lengthprefix.ThriftFramed, crcResync}
	switch k := at(0) % 4; k {
	case 0:
		if i := at(1) % (len(presets) + len(catalogue)); i >= len(presets) {
			c := catalogue[i-len(presets)]
			return c, c, false
		}
		c := presets[at(1)%(len(presets)+len(catalogue))]
		return c, c, true
	case 1: // any length layout
		order := lengthprefix.BigEndian
		if at(3)&1 == 1 {
			order = lengthprefix.LittleEndian
		}
		c := lengthprefix.Config{
			Offset:         at(1) % 4,
			Size:           []int{1, 2, 3, 4, 8}[at(2)%5],
			Order:          order,
			Adjust:         int(int8(at(4))) % 16,
			IncludesHeader: at(3)&2 == 2,
			Signed:         at(3)&4 == 4,
		}
		c.Strip = at(5) % (c.Offset + c.Size + 1)
		if c.IncludesHeader {
			c.Adjust = 0
		}
		d, err := lengthprefix.NewDecoder(c)
		if err != nil {
			return nil, nil, false
		}
		if e, err := lengthprefix.New(c); err == nil && c.Offset == 0 && c.Strip == c.Size {
			return d, e, true
		}
		return d, nil, false
	case 2: // one to three delimiters of 1 to 3 bytes from the config
		var ds [][]byte
		rest := cfg[min(len(cfg), 2):]
		for i := 0; i < 1+at(1)%3 && len(rest) > 0; i++ {
			n := min(1+int(rest[0])%3, len(rest)-1)
			if n <= 0 {
				break
			}
			ds = append(ds, rest[1:1+n])
			rest = rest[1+n:]
		}
		if len(ds) == 0 {
			ds = [][]byte{{'\n'}}
		}
		c, err := delimiter.New(delimiter.Config{Delimiters: ds, KeepDelimiter: at(1)&8 == 8})
		if err != nil {
			return nil, nil, false
		}
		return c, c, at(1)&8 == 0
	default:
		c, err := delimiter.Fixed(1 + at(1)%64)
		if err != nil {
			return nil, nil, false
		}
		return c, c, true
	}
}

// FuzzDecode: arbitrary bytes into any decoder never panic, never give a
// frame over the limit, end, and cost memory in proportion to the input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 4}, []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0, 7}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{1, 2, 1, 0, 0xfc, 0}, []byte{0xca, 0xfe, 0x00, 0x10, 0x01})
	f.Add([]byte{2, 1, 1, '\r', '\n', 0, 'E'}, []byte("abc\r\ndefE\r"))
	f.Add([]byte{0, 12}, []byte{3, 0x11, 0x22, 2, 0x33, 0, 0, 1, 0xff})
	f.Add([]byte{3, 4}, []byte("0123456789"))
	f.Add([]byte{0, 14}, []byte{0x30, 0x02, 'h', 'i', 0xc0, 0x00, 0x30, 0xff, 0xff, 0xff, 0xff})           // MQTT
	f.Add([]byte{0, 29}, []byte{0, 2, 'h', 'i', 0x7c, 0x7e, 0x25, 0x34, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 2}) // CRC-32C, Resync

	addTextSeeds(f)
	f.Fuzz(func(t *testing.T, cfg, data []byte) {
		dec, _, _ := codecFrom(cfg)
		if dec == nil {
			return
		}
		fuzz.Decode(t, dec, data)
	})
}

// FuzzRoundTrip: fuzzer-chosen payloads cut at fuzzer-chosen points come
// back exactly, for every codec that can carry them.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 4}, []byte{5, 'h', 'e', 'l', 'l', 'o', 0, 2, 'h', 'i'}, []byte{0, 2, 0})
	f.Add([]byte{0, 7}, []byte{200}, []byte{2, 1, 1, 1})
	f.Add([]byte{2, 1, 1, '\r', '\n'}, []byte{3, 'a', '\r', 'b', 1, '\n'}, []byte{3, 0, 1})
	f.Add([]byte{0, 12}, []byte{4, 0, 0, 0, 0, 1, 0}, []byte{0, 0, 0, 0})
	f.Add([]byte{0, 13}, []byte{3, 0xc0, 0xdb, 0xdc}, []byte{1, 0})
	f.Add([]byte{3, 2}, []byte{9, '1', '2', '3', '4', '5', '6', '7', '8', '9'}, []byte{1})
	f.Fuzz(func(t *testing.T, cfg, data, cuts []byte) {
		_, codec, ok := codecFrom(cfg)
		if !ok || codec == nil {
			return
		}
		fuzz.RoundTrip(t, codec, fuzz.SplitPayloads(data), fuzz.CutBytes(cuts))
	})
}

// FuzzPush: arbitrary bytes pushed into the push engine (a Deframer) in
// fuzzer-chosen pieces give the frames, errors and error classes that a
// Reader's ReadFrame gives on the same bytes read whole, for every decoder.
func FuzzPush(f *testing.F) {
	f.Add([]byte{0, 4}, []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 2, 'h'}, []byte{0, 2, 0, 31})
	f.Add([]byte{0, 7}, []byte{0x85, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, []byte{1, 1, 1})
	f.Add([]byte{1, 1, 1, 0, 0xfc, 3}, []byte{0xca, 0x00, 0x10, 0xfe, 'h', 'e', 'l', 'l', 'o'}, []byte{0, 0, 0, 0, 0})
	f.Add([]byte{2, 1, 1, '\r', '\n', 0, 'E'}, []byte("abc\r\ndefE\rghi\r\n"), []byte{2, 0, 5})
	f.Add([]byte{0, 12}, []byte{3, 0x11, 0x22, 2, 0x33, 0, 0, 1, 0xff, 0x37, 0xfb, 0xcc, 0}, []byte{12})
	f.Add([]byte{0, 13}, []byte{0xdb, 'x', 'a', 'a', 0xc0, 'o', 'k', 0xc0, 0xdb, 0xdb, 0xdb}, []byte{0, 1})
	f.Add([]byte{3, 4}, []byte("0123456789"), []byte{3})
	// A kept two-byte delimiter among two, under the skip policy, at the
	// end of a long line.
	f.Add([]byte{2, 10, 1, 'a', 'b', 0, 'b'}, bytes.Repeat([]byte{'x'}, 100), []byte{7, 31, 31})
	f.Fuzz(func(t *testing.T, cfg, data, cuts []byte) {
		dec, _, _ := codecFrom(cfg)
		if dec == nil {
			return
		}
		fuzz.Push(t, dec, data, fuzz.CutBytes(cuts))
	})
}

// corpus reads the committed seed corpus of a fuzz target: each entry's
// []byte arguments.
func corpus(b *testing.B, target string) [][][]byte {
	dir := filepath.Join("testdata", "fuzz", target)
	files, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var out [][][]byte
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			b.Fatal(err)
		}
		var args [][]byte
		for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n")[1:] {
			s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
			if err != nil {
				b.Fatalf("%s: %q: %v", f.Name(), line, err)
			}
			args = append(args, []byte(s))
		}
		out = append(out, args)
	}
	return out
}

// BenchmarkTargetBodies runs the bodies of FuzzDecode and FuzzRoundTrip
// on their committed seed corpora: ns/op is the time per exec, averaged
// over the entries the body really runs. An entry whose config picks no
// decoder (FuzzDecode) or no codec that round-trips (FuzzRoundTrip) makes
// the body return at once; such entries are left out before the timer
// starts, so that a nearly free iteration never counts as an exec. The
// "entries" column says how many of the corpus's entries each runs.
//
//	go test -run '^$' -bench TargetBodies -benchmem ./fuzz
func BenchmarkTargetBodies(b *testing.B) {
	b.Run("Decode", func(b *testing.B) {
		var entries [][][]byte
		for _, e := range corpus(b, "FuzzDecode") {
			if dec, _, _ := codecFrom(e[0]); dec != nil {
				entries = append(entries, e)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := entries[i%len(entries)]
			dec, _, _ := codecFrom(e[0])
			fuzz.Decode(b, dec, e[1])
		}
		b.ReportMetric(float64(len(entries)), "entries") // after the loop: ResetTimer drops it
	})
	b.Run("RoundTrip", func(b *testing.B) {
		var entries [][][]byte
		for _, e := range corpus(b, "FuzzRoundTrip") {
			if _, codec, ok := codecFrom(e[0]); ok && codec != nil {
				entries = append(entries, e)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e := entries[i%len(entries)]
			_, codec, _ := codecFrom(e[0])
			fuzz.RoundTrip(b, codec, fuzz.SplitPayloads(e[1]), fuzz.CutBytes(e[2]))
		}
		b.ReportMetric(float64(len(entries)), "entries")
	})
}
