package lengthprefix

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
)

func TestConfigRejected(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // in the Reason
	}{
		{Config{Size: 0}, "Size 0"},
		{Config{Size: 5}, "Size 5"},
		{Config{Size: 6}, "Size 6"},
		{Config{Size: 7}, "Size 7"},
		{Config{Size: 16}, "Size 16"},
		{Config{Size: -4}, "Size -4"},
		{Config{Size: 4, Order: 2}, "Order 2"},
		{Config{Size: 4, Order: -1}, "Order -1"},
		{Config{Offset: -1, Size: 2}, "Offset -1"},
		{Config{Offset: math.MaxInt, Size: 2}, "too large"},
		{Config{Offset: math.MaxInt - 3, Size: 4}, "too large"},
		{Config{Size: 2, Strip: -1}, "Strip -1"},
		// Strip beyond Offset+Size+max(Adjust, 0).
		{Config{Size: 2, Strip: 3}, "Strip 3"},
		{Config{Offset: 3, Size: 4, Strip: 8}, "Strip 8"},
		{Config{Size: 2, Adjust: -1, Strip: 3}, "Strip 3"},
		{Config{Size: 2, IncludesHeader: true, Strip: 3}, "Strip 3"},
		{Config{Offset: 1, Size: 2, Adjust: 1, Strip: 5}, "Strip 5"},
		{Config{Size: 4, Adjust: 10, Strip: 15}, "Strip 15"},
		{Config{Size: 2, Strip: math.MaxInt}, "Strip"},
		// IncludesHeader with an Adjust.
		{Config{Size: 4, IncludesHeader: true, Adjust: -4}, "IncludesHeader"},
		{Config{Size: 4, IncludesHeader: true, Adjust: 1}, "IncludesHeader"},
		// Adjust that makes every frame corrupt: Lmax + Adjust < 0.
		{Config{Size: 1, Adjust: -256}, "Adjust -256"},
		{Config{Size: 1, Signed: true, Adjust: -128}, "Adjust -128"},
		{Config{Size: 2, Adjust: -65536}, "Adjust -65536"},
		{Config{Size: 3, Adjust: -(1 << 24)}, "corrupt"},
		{Config{Size: 4, Signed: true, Adjust: math.MinInt32}, "corrupt"},
		{Config{Offset: 300, Size: 1, IncludesHeader: true}, "corrupt"},
		{Config{Offset: 70000, Size: 2, Signed: true, IncludesHeader: true}, "corrupt"},
		// Adjust so large that no frame fits an int.
		{Config{Size: 4, Adjust: math.MaxInt}, "larger than"},
		{Config{Offset: 10, Size: 8, Adjust: math.MaxInt - 17}, "larger than"},
	}
	if math.MaxInt == math.MaxInt64 {
		minus2to32 := -(int64(1) << 32)
		cases = append(cases,
			struct {
				cfg  Config
				want string
			}{Config{Size: 8, Adjust: math.MinInt}, "corrupt"},
			struct {
				cfg  Config
				want string
			}{Config{Size: 4, Adjust: int(minus2to32)}, "corrupt"},
		)
	}
	for _, tc := range cases {
		for _, build := range []func(Config) (any, error){
			func(c Config) (any, error) { return New(c) },
			func(c Config) (any, error) { return NewDecoder(c) },
		} {
			_, err := build(tc.cfg)
			var ce *framing.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%+v: got %v, want a *framing.ConfigError", tc.cfg, err)
				continue
			}
			if ce.Codec != "lengthprefix" || !strings.Contains(ce.Reason, tc.want) {
				t.Errorf("%+v: %v; want Codec lengthprefix and %q in the reason", tc.cfg, err, tc.want)
			}
		}
	}
}

func TestConfigAccepted(t *testing.T) {
	valid := []Config{
		{Size: 1},
		{Size: 1, Adjust: -255},                    // only L = 255 is a frame
		{Size: 1, Signed: true, Adjust: -127},      // only L = 127
		{Size: 2, Strip: 2},                        // Strip = Offset+Size
		{Size: 2, Adjust: 3, Strip: 5},             // Strip up to Offset+Size+Adjust
		{Offset: 4, Size: 8, Strip: 1},             // part of the header
		{Size: 8, Adjust: math.MinInt32},           // 2^63-1 - 2^31 >= 0
		{Size: 4, Adjust: math.MaxInt32 - 4},       // largest frame 2^32+2^31-2, but the smallest fits
		{Offset: 1 << 20, Size: 2, Strip: 1 << 20}, // a big fixed header
		{Size: 3, Order: LittleEndian, Signed: true, IncludesHeader: true, Strip: 3},
	}
	for _, c := range valid {
		if _, err := NewDecoder(c); err != nil {
			t.Errorf("NewDecoder(%+v): %v", c, err)
		}
	}
}

func TestNewDecodeOnly(t *testing.T) {
	for _, c := range []Config{
		{Offset: 1, Size: 2, Adjust: 1, Strip: 3}, // Netty example 6
		{Offset: 2, Size: 2, Strip: 4},            // whole header stripped, but Offset > 0
		{Offset: 2, Size: 2, Strip: 2},            // bytes before the field stripped
		{Size: 4, Strip: 2},                       // part of the field stripped
		{Size: 2, Adjust: 3, Strip: 5},            // bytes after the field stripped
	} {
		_, err := New(c)
		var ce *framing.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "decode-only") {
			t.Errorf("New(%+v): %v; want a decode-only *framing.ConfigError", c, err)
		}
		d, err := NewDecoder(c)
		if err != nil {
			t.Errorf("NewDecoder(%+v): %v", c, err)
			continue
		}
		if d.Config() != c {
			t.Errorf("Config() = %+v, want %+v", d.Config(), c)
		}
	}
}

func TestPresets(t *testing.T) {
	for name, p := range map[string]struct {
		c    *Codec
		want Config
	}{
		"U8":         {U8, Config{Size: 1, Strip: 1}},
		"U16BE":      {U16BE, Config{Size: 2, Strip: 2}},
		"U16LE":      {U16LE, Config{Size: 2, Order: LittleEndian, Strip: 2}},
		"U24BE":      {U24BE, Config{Size: 3, Strip: 3}},
		"U32BE":      {U32BE, Config{Size: 4, Strip: 4}},
		"U32LE":      {U32LE, Config{Size: 4, Order: LittleEndian, Strip: 4}},
		"U64BE":      {U64BE, Config{Size: 8, Strip: 8}},
		"DNSOverTCP": {DNSOverTCP, Config{Size: 2, Strip: 2}},
		"Kafka":      {Kafka, Config{Size: 4, Signed: true, Strip: 4}},
		"TLSRecord":  {TLSRecord, Config{Offset: 3, Size: 2}},
	} {
		if p.c.Config() != p.want {
			t.Errorf("%s: %+v, want %+v", name, p.c.Config(), p.want)
		}
	}
	for _, tc := range []struct {
		c    framing.Codec
		p    string
		wire string
	}{
		{U8, "hi", "\x02hi"},
		{U16BE, "hi", "\x00\x02hi"},
		{U16LE, "hi", "\x02\x00hi"},
		{U24BE, "hi", "\x00\x00\x02hi"},
		{U32BE, "hi", "\x00\x00\x00\x02hi"},
		{U32LE, "hi", "\x02\x00\x00\x00hi"},
		{U64BE, "hi", "\x00\x00\x00\x00\x00\x00\x00\x02hi"},
		{Uvarint, "hi", "\x02hi"},
		{DNSOverTCP, "hi", "\x00\x02hi"},
		{Kafka, "hi", "\x00\x00\x00\x02hi"},
		{TLSRecord, "\x17\x03\x03??hi", "\x17\x03\x03\x00\x02hi"},
	} {
		got, err := tc.c.AppendFrame(nil, []byte(tc.p))
		if err != nil || string(got) != tc.wire {
			t.Errorf("%T %q: AppendFrame % x, %v; want % x", tc.c, tc.p, got, err, tc.wire)
		}
		want := tc.p
		if tc.c == TLSRecord {
			want = tc.wire
		}
		if got := decodeOne(t, tc.c, []byte(tc.wire)); string(got) != want {
			t.Errorf("%T: decoded %q, want %q", tc.c, got, want)
		}
	}
}

func TestByteOrderString(t *testing.T) {
	for o, want := range map[ByteOrder]string{BigEndian: "BigEndian", LittleEndian: "LittleEndian", 7: "ByteOrder(7)"} {
		if o.String() != want {
			t.Errorf("%d: %q, want %q", int(o), o.String(), want)
		}
	}
}
