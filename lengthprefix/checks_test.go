package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

// Checksum layouts, with the check values of "123456789" (the CRC
// catalogue's test string) as their vectors.
var checksumCases = []struct {
	name string
	c    Config
	wire string // the frame of "123456789"
}{
	{"CRC-32 trailer BE", Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE, From: 2}}},
		"000D 313233343536373839 CBF43926"},
	{"CRC-32 trailer LE", Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE, Order: LittleEndian, From: 2}}},
		"000D 313233343536373839 2639F4CB"},
	{"CRC-32C trailer", Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32C, From: 2}}},
		"000D 313233343536373839 E3069283"},
	{"CRC-16/CCITT trailer", Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC16CCITT, From: 2}}},
		"000B 313233343536373839 29B1"},
	{"CRC-16 in the header over the payload", Config{Size: 2, Adjust: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC16CCITT, InHeader: true, At: 2, From: 4}}},
		"0009 29B1 313233343536373839"},
	{"CRC-32 over header and payload, then a fixed trailer", Config{Offset: 1, Size: 2, Adjust: 5, Checks: &Checks{
		Fixed:    []Fixed{{Offset: 0, Bytes: []byte{0xA5}}},
		Checksum: &Checksum{Algorithm: CRC32IEEE},
		Trailer:  []byte{0x0A},
	}}, "A5 0009 313233343536373839 @A50009313233343536373839 0A"},
	{"varint length and CRC-32C", Config{Offset: 1, Size: 4, Varint: true, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32C, From: 2}}},
		"07 0D 313233343536373839 E3069283"},
}

// expand replaces "@hex" by the big-endian CRC-32 of those bytes.
func expand(t *testing.T, s string) []byte {
	var out []byte
	for _, f := range bytes.Fields([]byte(s)) {
		if f[0] == '@' {
			var v [4]byte
			binary.BigEndian.PutUint32(v[:], crc32IEEE(hx(t, string(f[1:]))))
			out = append(out, v[:]...)
			continue
		}
		out = append(out, hx(t, string(f))...)
	}
	return out
}

func crc32IEEE(b []byte) uint32 {
	s := &sum{alg: CRC32IEEE}
	s.table32 = castagnoliOrIEEE(CRC32IEEE)
	v, _ := s.over(nil, b)
	return v
}

func TestCRCCheckValues(t *testing.T) {
	in := []byte("123456789")
	for alg, want := range map[Algorithm]uint32{CRC32IEEE: 0xCBF43926, CRC32C: 0xE3069283, CRC16CCITT: 0x29B1} {
		s := &sum{alg: alg, table32: castagnoliOrIEEE(alg)}
		if got, _ := s.over(nil, in); got != want {
			t.Errorf("%v(123456789) = %#x, want %#x", alg, got, want)
		}
		// Split anywhere, the same value.
		for i := range in {
			if got, _ := s.over(in[:i], in[i:]); got != want {
				t.Errorf("%v split at %d = %#x, want %#x", alg, i, got, want)
			}
		}
	}
}

func TestChecksumVectors(t *testing.T) {
	for _, tc := range checksumCases {
		c, err := New(tc.c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wire := expand(t, tc.wire)
		payload := wire[tc.c.Strip : len(wire)-c.l.tlen]
		got, err := c.AppendFrame(nil, payload)
		if err != nil || !bytes.Equal(got, wire) {
			t.Errorf("%s: AppendFrame = % x, %v; want % x", tc.name, got, err, wire)
		}
		// The vectored path gives the same bytes.
		h, skip, err := c.AppendHeader(nil, payload)
		if v := c.AppendTrailer(append(h, payload[skip:]...), payload); err != nil || !bytes.Equal(v, wire) {
			t.Errorf("%s: AppendHeader+AppendTrailer = % x, %v; want % x", tc.name, v, err, wire)
		}
		frames, errs := readAll(t, c, wire, 1, nil)
		if diff := cmp.Diff([][]byte{payload}, frames); diff != "" || errs != nil {
			t.Errorf("%s: errors %v, frames (-want +got):\n%s", tc.name, errs, diff)
		}
	}
}

func TestChecksumConformance(t *testing.T) {
	for _, tc := range checksumCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			fuzz.Conformance(t, c, &fuzz.Options{Payload: canonical(c), MaxPayload: 300})
		})
	}
}

// TestBadChecksAreTypedAndLoseNothing: a corrupt checksum, a wrong marker,
// a wrong trailer end the stream with a CorruptError at the bad frame's
// offset, after every frame before it.
func TestBadChecksAreTypedAndLoseNothing(t *testing.T) {
	crc, _ := New(checksumCases[0].c)
	good, _ := crc.AppendFrame(nil, []byte("good"))
	for _, tc := range []struct {
		name   string
		c      *Codec
		good   []byte
		bad    []byte
		reason string
	}{
		{"corrupt CRC-32", crc, good, func() []byte { b := bytes.Clone(good); b[3] ^= 1; return b }(), "CRC-32 mismatch"},
		{"BGP marker", BGP, hx(t, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0013 04"), hx(t, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00 0013 04"), "header bytes"},
		{"TPKT version", TPKT, hx(t, "03 00 0005 00"), hx(t, "04 00 0005 00"), "header bytes"},
		{"AMQP frame-end", AMQP, hx(t, "08 0000 00000000 CE"), hx(t, "08 0000 00000000 CD"), "frame ends with"},
		{"Bitcoin checksum", Bitcoin, hx(t, "F9BEB4D9 76657261636B000000000000 00000000 5DF6E0E2"), hx(t, "F9BEB4D9 76657261636B000000000000 00000000 5DF6E0E3"), "SHA-256d"},
		{"Modbus protocol id", ModbusTCP, hx(t, "0001 0000 0002 11 03"), hx(t, "0001 0001 0002 11 03"), "header bytes"},
	} {
		stream := append(append(bytes.Clone(tc.good), tc.good...), tc.bad...)
		stream = append(stream, tc.good...)
		for _, piece := range []int{1, 2, len(stream)} {
			frames, errs := readAll(t, tc.c, stream, piece, nil)
			var ce *framing.CorruptError
			if len(frames) != 2 || len(errs) != 1 || !errors.As(errs[0], &ce) ||
				ce.Offset != int64(2*len(tc.good)) || framing.Classify(errs[0]) != framing.Fatal ||
				!bytes.Contains([]byte(ce.Reason), []byte(tc.reason)) {
				t.Errorf("%s in pieces of %d: %d frames, errors %v; want 2 frames then a fatal CorruptError at offset %d saying %q",
					tc.name, piece, len(frames), errs, 2*len(tc.good), tc.reason)
			}
		}
	}
}

func TestChecksumMismatchMessage(t *testing.T) {
	c, _ := New(checksumCases[0].c)
	_, errs := readAll(t, c, hx(t, "000D 313233343536373839 CBF43927"), 1, nil)
	want := "CRC-32 mismatch: the frame says 0xcbf43927, its bytes give 0xcbf43926"
	if len(errs) != 1 || !bytes.Contains([]byte(errs[0].Error()), []byte(want)) {
		t.Errorf("%v, want it to say %q", errs, want)
	}
	c16, _ := New(checksumCases[3].c)
	_, errs = readAll(t, c16, hx(t, "000B 313233343536373839 0001"), 1, nil)
	want = "CRC-16/CCITT mismatch: the frame says 0x0001, its bytes give 0x29b1"
	if len(errs) != 1 || !bytes.Contains([]byte(errs[0].Error()), []byte(want)) {
		t.Errorf("%v, want it to say %q", errs, want)
	}
}

// TestTrailerChecksumFastPath: Decode's fast path for a checksum trailer
// says exactly what the general path says (the same layout with a Check
// that accepts everything, which takes the general path), on every prefix
// of good, corrupted and random frames: the same result, the same error.
func TestTrailerChecksumFastPath(t *testing.T) {
	configs := []Config{
		checksumCases[0].c, checksumCases[1].c, checksumCases[2].c, checksumCases[3].c,
		{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE}}},
		{Size: 4, Strip: 4, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32C, Order: LittleEndian, From: 1, Len: 6}}},
		{Size: 1, Strip: 0, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC16CCITT, Len: 3}, Trailer: []byte{0xCE, 0x0A}}},
		{Offset: 3, Size: 3, Order: LittleEndian, IncludesHeader: true, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE, From: 6}}},
		{Offset: 1, Size: 2, Adjust: 7, Strip: 3, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE}}},
		{Size: 1, Signed: true, Strip: 1, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC16CCITT, Order: LittleEndian}}},
	}
	accept := func([]byte) error { return nil }
	seed := int64(18)
	rng := rand.New(rand.NewSource(seed))
	inline := 0 // configs whose big-endian CRC-32/IEEE trailer is checked inline
	defer func() {
		if inline < 3 {
			t.Errorf("%d configs took the inline CRC-32/IEEE check, want 3", inline)
		}
	}()
	for i, c := range configs {
		fast, err := NewDecoder(c)
		if err != nil {
			t.Fatal(i, err)
		}
		slowC := c
		k := *c.Checks
		k.Check = accept
		slowC.Checks = &k
		slow, err := NewDecoder(slowC)
		if err != nil {
			t.Fatal(i, err)
		}
		if fast.l.ieeeAt > 0 {
			inline++
		}
		if !fast.l.sumTrail || slow.l.sumTrail {
			t.Fatalf("config %d: fast path %v and %v, want it on the first only", i, fast.l.sumTrail, slow.l.sumTrail)
		}
		enc, encErr := New(c)
		for range 200 {
			var b []byte
			if encErr == nil && rng.Intn(4) > 0 {
				p := make([]byte, rng.Intn(40))
				rng.Read(p)
				if c.Strip == 0 { // the encoder takes the whole frame: give it room for a header
					p = append(make([]byte, c.Offset+c.Size+max(c.Adjust, 0)), p...)
				}
				if b, err = enc.AppendFrame(nil, p); err != nil {
					continue
				}
				if rng.Intn(2) == 0 {
					b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
				}
			} else {
				b = make([]byte, rng.Intn(30))
				rng.Read(b)
			}
			for n := 0; n <= len(b); n++ {
				for _, eof := range []bool{false, true} {
					st1 := framing.DecodeState{Limit: 1 << 20}
					st2 := st1
					d1, err1 := fast.Decode(b[:n:n], eof, &st1)
					d2, err2 := slow.Decode(b[:n:n], eof, &st2)
					if d1 != d2 || st1 != st2 || fmt.Sprint(err1) != fmt.Sprint(err2) ||
						fmt.Sprintf("%T", err1) != fmt.Sprintf("%T", err2) {
						t.Fatalf("config %d (seed %d), % x (eof %v): fast path %v, %v; general path %v, %v",
							i, seed, b[:n], eof, d1, err1, d2, err2)
					}
				}
			}
		}
	}
}
