package lengthprefix

import (
	"testing"

	"github.com/framekit/framekit/framing"
)

func TestZeroAllocs(t *testing.T) {
	payload := make([]byte, 100)
	rec := append([]byte{0x17, 3, 3, 0, 0}, payload...)
	dst := make([]byte, 0, 4096)
	netty6, err := NewDecoder(Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3})
	if err != nil {
		t.Fatal(err)
	}
	st := &framing.DecodeState{Limit: framing.DefaultMaxFrameSize}
	for _, tc := range []struct {
		name string
		c    framing.Decoder
		e    framing.WrapEncoder
		in   []byte
	}{
		{"U32BE", U32BE, U32BE, payload},
		{"U16LE", U16LE, U16LE, payload},
		{"U64BE", U64BE, U64BE, payload},
		{"Kafka", Kafka, Kafka, payload},
		{"TLSRecord", TLSRecord, TLSRecord, rec},
		{"Uvarint", Uvarint, Uvarint, payload},
		{"Netty example 6", netty6, nil, nil},
	} {
		var frame []byte
		if tc.e != nil {
			frame, _ = tc.e.AppendFrame(nil, tc.in)
		} else {
			frame = append([]byte{0xCA, 0, 100, 0xFE}, payload...)
		}
		if n := testing.AllocsPerRun(100, func() {
			for _, in := range [][]byte{frame, frame[:len(frame)-1]} {
				if d, err := tc.c.Decode(in, false, st); err != nil || total(d) != len(frame) {
					t.Fatal(d, err)
				}
			}
			if d, err := tc.c.Decode(frame[:1], false, st); err != nil || d.Advance() != 0 {
				t.Fatal(d, err)
			}
		}); n != 0 {
			t.Errorf("%s: Decode allocates %v times", tc.name, n)
		}
		if tc.e == nil {
			continue
		}
		if n := testing.AllocsPerRun(100, func() {
			if _, err := tc.e.AppendFrame(dst[:0], tc.in); err != nil {
				t.Fatal(err)
			}
			out, skip, err := tc.e.AppendHeader(dst[:0], tc.in)
			if err != nil {
				t.Fatal(err)
			}
			tc.e.AppendTrailer(append(out, tc.in[skip:]...), tc.in)
		}); n != 0 {
			t.Errorf("%s: encoding allocates %v times", tc.name, n)
		}
	}
}

// total returns the size of the frame d reports, complete or located; 0
// if none.
func total(d framing.Decoded) int {
	if _, _, t, ok := d.Located(); ok {
		return int(t)
	}
	return d.Advance()
}
