package lengthprefix

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

func mustDecoder(t *testing.T, c Config) *Decoder {
	t.Helper()
	d, err := NewDecoder(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCorrupt(t *testing.T) {
	cases := []struct {
		name string
		dec  framing.Decoder
		in   []byte
		want string
	}{
		{"adjusted length negative", mustDecoder(t, Config{Size: 1, Adjust: -10}), []byte{5, 0, 0, 0, 0, 0}, "adjusted length -5"},
		{"length counts the header, smaller than it", mustDecoder(t, Config{Size: 4, IncludesHeader: true, Strip: 4}), []byte{0, 0, 0, 3, 0}, "adjusted length -1"},
		{"length 0 with IncludesHeader", mustDecoder(t, Config{Offset: 1, Size: 2, IncludesHeader: true}), []byte{9, 0, 0}, "adjusted length -3"},
		{"Netty example 7 with a short length", mustDecoder(t, Config{Offset: 1, Size: 2, Adjust: -3, Strip: 3}), []byte{0xCA, 0x00, 0x02, 0xFE}, "adjusted length -1"},
		{"Kafka -1", Kafka, []byte{0xFF, 0xFF, 0xFF, 0xFF}, "negative length -1 "},
		{"Kafka min int32", Kafka, []byte{0x80, 0, 0, 0}, "negative length -2147483648"},
		{"signed 1 byte", mustDecoder(t, Config{Size: 1, Signed: true}), []byte{0x80}, "negative length -128"},
		{"signed 2 bytes little-endian", mustDecoder(t, Config{Size: 2, Signed: true, Order: LittleEndian}), []byte{0xFE, 0xFF}, "negative length -2"},
		{"signed 3 bytes", mustDecoder(t, Config{Offset: 2, Size: 3, Signed: true}), []byte{1, 2, 0xFF, 0xFF, 0xF0}, "negative length -16"},
		{"8 bytes 2^63", U64BE, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, "negative length -9223372036854775808"},
		{"8 bytes all ones", U64BE, bytes.Repeat([]byte{0xFF}, 8), "negative length -1 "},
		{"8 bytes little-endian 2^63", mustDecoder(t, Config{Size: 8, Order: LittleEndian}), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}, "negative"},
		{"varint 11 bytes", Uvarint, append(bytes.Repeat([]byte{0x80}, 10), 0), "longer than 10 bytes"},
		{"varint 10 continuation bytes", Uvarint, bytes.Repeat([]byte{0xFF}, 10), "longer than 10 bytes"},
		{"varint overflows 64 bits", Uvarint, append(bytes.Repeat([]byte{0xFF}, 9), 0x02), "overflows 64 bits"},
		{"varint 2^64-1", Uvarint, append(bytes.Repeat([]byte{0xFF}, 9), 0x01), "larger than 2^63-1"},
		{"varint 2^63", Uvarint, append(bytes.Repeat([]byte{0x80}, 9), 0x01), "larger than 2^63-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustCorrupt(t, decodeErr(t, tc.dec, tc.in, framing.DefaultMaxFrameSize), tc.want)
			// Byte by byte: the error comes as soon as the header is complete.
			res := feed(t, tc.dec, tc.in, framing.DefaultMaxFrameSize, ones)
			mustCorrupt(t, res.fatal, tc.want)
			// A Reader, under either policy: corrupt is fatal, even when
			// skipping oversized frames.
			for _, p := range []framing.OversizePolicy{framing.Fail, framing.Skip} {
				res := read(t, tc.dec, tc.in, &framing.Options{Oversize: p}, fuzz.CutEvery(1))
				if len(res.events) != 1 {
					t.Fatalf("policy %v: %+v", p, res)
				}
				mustCorrupt(t, res.fatal, tc.want)
			}
		})
	}
}

// With a validated Config a frame is never shorter than Strip; the check
// stays for safety, tested here on a layout patched past validation.
func TestShorterThanStrip(t *testing.T) {
	d := mustDecoder(t, Config{Size: 1, Adjust: 2, Strip: 3})
	if got := decodeOne(t, d, []byte{0, 'a', 'b'}); len(got) != 0 {
		t.Fatalf("smallest frame: % x", got)
	}
	d.l.strip = 5
	mustCorrupt(t, decodeErr(t, d, []byte{1, 'a', 'b', 'c'}, 100), "shorter than the 5 bytes to strip")
}

// The limit is the engine's: a length decoder reports the frame's bounds
// from its header, and the Reader refuses or skips the frame before any of
// its body is buffered.
func TestLimit(t *testing.T) {
	const limit = framing.DefaultMaxFrameSize
	huge := []byte{0xFF, 0xFF, 0xFF, 0xFF} // just the header: no body was buffered
	t.Run("fail", func(t *testing.T) {
		st := framing.DecodeState{Limit: limit}
		d, err := U32BE.Decode(huge, false, &st)
		if err != nil || d != framing.NeedFrame(4, 4+math.MaxUint32, 4+math.MaxUint32) {
			t.Fatalf("got %v, %v; want the frame's bounds", d, err)
		}
		res := read(t, U32BE, huge, nil, fuzz.CutEvery(1))
		var fe *framing.FrameTooLargeError
		if !errors.As(res.fatal, &fe) || !errors.Is(res.fatal, framing.ErrFrameTooLarge) || len(res.events) != 1 {
			t.Fatalf("got %+v; want a *framing.FrameTooLargeError", res)
		}
		if *fe != (framing.FrameTooLargeError{Size: math.MaxUint32, Limit: limit}) {
			t.Fatalf("got %+v", *fe)
		}
	})
	t.Run("skip", func(t *testing.T) {
		// The whole frame is discarded, header included: the stream ends
		// 2^32-1 bytes short of its end.
		res := read(t, U32BE, huge, &framing.Options{Oversize: framing.Skip}, fuzz.CutEvery(1))
		var fe *framing.FrameTooLargeError
		if len(res.events) != 2 || !errors.As(res.events[0].err, &fe) ||
			*fe != (framing.FrameTooLargeError{Size: math.MaxUint32, Limit: limit, Skipped: true}) {
			t.Fatalf("got %+v", res)
		}
		if framing.Classify(fe) != framing.Rejected {
			t.Fatalf("class %v", framing.Classify(fe))
		}
		var ue *framing.UnexpectedEOFError
		if !errors.As(res.fatal, &ue) || ue.Missing != math.MaxUint32 {
			t.Fatalf("then %v; want an unexpected EOF %d bytes short", res.fatal, uint32(math.MaxUint32))
		}
	})
	t.Run("u16 never over the default limit", func(t *testing.T) {
		p := bytes.Repeat([]byte{'x'}, 65535)
		frame, err := U16BE.AppendFrame(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeOne(t, U16BE, frame); !bytes.Equal(got, p) {
			t.Fatalf("got %d bytes", len(got))
		}
	})
	t.Run("limit counts the returned bytes", func(t *testing.T) {
		for _, tc := range []struct {
			dec   framing.Decoder
			frame []byte
			size  int64
		}{
			{U32BE, []byte{0, 0, 0, 11}, 11},
			{Uvarint, []byte{11}, 11},
			{TLSRecord, []byte{0x17, 3, 3, 0, 6}, 11}, // header kept: 5 + 6
			{mustDecoder(t, Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3}), []byte{0xCA, 0, 10}, 11}, // 0xFE + 10
		} {
			st := framing.DecodeState{Limit: 10}
			d, err := tc.dec.Decode(tc.frame, false, &st)
			start, end, total, ok := d.Located()
			if err != nil || !ok || end-int64(start) != tc.size {
				t.Fatalf("%T % x: %v, %v; want a payload of %d bytes", tc.dec, tc.frame, d, err, tc.size)
			}
			stream := append(bytes.Clone(tc.frame), make([]byte, int(total)-len(tc.frame))...)
			var fe *framing.FrameTooLargeError
			res := feed(t, tc.dec, stream, 10, all)
			if !errors.As(res.fatal, &fe) || fe.Size != tc.size {
				t.Errorf("%T % x: %+v, want a frame of %d over the limit", tc.dec, tc.frame, res, tc.size)
			}
			res = read(t, tc.dec, stream, &framing.Options{MaxFrameSize: 10}, fuzz.CutWhole())
			if !errors.As(res.fatal, &fe) || fe.Size != tc.size {
				t.Errorf("%T % x, Reader: %+v, want a frame of %d over the limit", tc.dec, tc.frame, res, tc.size)
			}
			if res := feed(t, tc.dec, stream, 11, all); res.fatal != nil || len(res.frames()) != 1 || len(res.frames()[0]) != 11 {
				t.Errorf("%T % x with limit 11: %+v", tc.dec, tc.frame, res)
			}
		}
	})
	t.Run("skip through a stream", func(t *testing.T) {
		rng := rand.New(rand.NewSource(2))
		for _, c := range []framing.Codec{U8, U16LE, U32BE, Kafka, U64BE, Uvarint} {
			var stream []byte
			var want []event
			for i := 0; i < 30; i++ {
				n := rng.Intn(40)
				p := bytes.Repeat([]byte{byte(i)}, n)
				stream, _ = c.AppendFrame(stream, p)
				if n > 20 {
					want = append(want, event{err: &framing.FrameTooLargeError{Size: int64(n), Limit: 20, Skipped: true}})
				} else {
					want = append(want, event{frame: p})
				}
			}
			opts := &framing.Options{MaxFrameSize: 20, Oversize: framing.Skip}
			for _, cut := range []fuzz.Cutting{fuzz.CutEvery(1), fuzz.CutWhole(), fuzz.CutRandom(rng.Int63(), 50)} {
				res := read(t, c, stream, opts, cut)
				if diff := cmp.Diff(want, res.events, eventOpts...); diff != "" || res.fatal != nil {
					t.Fatalf("%T, %v (-want +got):\n%s\n%+v", c, cut, diff, res)
				}
			}
		}
	})
	t.Run("frame larger than an int", func(t *testing.T) {
		// 8-byte field: 2^63-1 plus the header overflows int64; it cannot
		// even be skipped: the codec reports it, fatal under both policies.
		for _, tc := range []struct {
			dec framing.Decoder
			in  []byte
		}{
			{U64BE, []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
			{Uvarint, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}},
		} {
			st := framing.DecodeState{Limit: limit}
			_, err := tc.dec.Decode(tc.in, false, &st)
			var fe *framing.FrameTooLargeError
			if !errors.As(err, &fe) || *fe != (framing.FrameTooLargeError{Size: math.MaxInt64, Limit: limit}) {
				t.Fatalf("%T: %v", tc.dec, err)
			}
			for _, p := range []framing.OversizePolicy{framing.Fail, framing.Skip} {
				res := read(t, tc.dec, tc.in, &framing.Options{Oversize: p}, fuzz.CutWhole())
				if !errors.As(res.fatal, &fe) || fe.Size != math.MaxInt64 || fe.Skipped || len(res.events) != 1 {
					t.Fatalf("%T, policy %v: %+v", tc.dec, p, res)
				}
			}
		}
		// A payload within the limit in a frame longer than the largest
		// int on a 32-bit platform (a big stripped header): its bounds are
		// reported as they are, for the engine to refuse or skip.
		d := mustDecoder(t, Config{Offset: 100, Size: 4, Strip: 104})
		in := make([]byte, 104)
		copy(in[100:], []byte{0x7F, 0xFF, 0xFF, 0xF0}) // MaxInt32 - 15
		st := framing.DecodeState{Limit: math.MaxInt}
		const total = 104 + math.MaxInt32 - 15
		if got, err := d.Decode(in, false, &st); err != nil || got != framing.NeedFrame(104, total, total) {
			t.Fatalf("%v, %v", got, err)
		}
	})
}

func TestNeed(t *testing.T) {
	st := framing.DecodeState{Limit: 1 << 20}
	for _, tc := range []struct {
		dec  framing.Decoder
		in   []byte
		want framing.Decoded
	}{
		{U32BE, nil, framing.Need(4)},
		{U32BE, []byte{0, 0}, framing.Need(4)},
		{U32BE, []byte{0, 0, 1, 0}, framing.NeedFrame(4, 4+256, 4+256)},
		{U32BE, []byte{0, 0, 1, 0, 'x'}, framing.NeedFrame(4, 4+256, 4+256)},
		{U32BE, []byte{0, 0, 0, 1, 'x'}, framing.Frame(4, 5, 5)},
		{TLSRecord, []byte{0x17, 3, 3, 0}, framing.Need(5)},
		{TLSRecord, []byte{0x17, 3, 3, 0, 1}, framing.NeedFrame(0, 6, 6)},
		{TLSRecord, []byte{0x17, 3, 3, 0, 1, 'x'}, framing.NeedFrame(0, 6, 6)},
		{mustDecoder(t, Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3}), []byte{0xCA, 0, 12}, framing.NeedFrame(3, 16, 16)},
		{Uvarint, nil, framing.Need(1)},
		{Uvarint, []byte{0xAC}, framing.Need(2)},
		{Uvarint, []byte{0xAC, 0x02}, framing.NeedFrame(2, 302, 302)},
		{Uvarint, []byte{0xFF, 0xFF, 0xFF}, framing.Need(4)},
	} {
		d, err := tc.dec.Decode(tc.in, false, &st)
		if err != nil || d != tc.want {
			t.Errorf("%T % x: %v, %v; want %v", tc.dec, tc.in, d, err, tc.want)
		}
		// atEOF changes nothing: the Reader reports the truncation.
		if d2, _ := tc.dec.Decode(tc.in, true, &st); d2 != d {
			t.Errorf("%T % x at EOF: %v, want %v", tc.dec, tc.in, d2, d)
		}
	}
}

func TestEncodeRefused(t *testing.T) {
	dst := []byte("keep")
	check := func(name string, c framing.WrapEncoder, p []byte) {
		t.Helper()
		in := bytes.Clone(p)
		out, err := c.AppendFrame(dst, in)
		var pe *framing.PayloadError
		if !errors.Is(err, framing.ErrPayload) || !errors.As(err, &pe) || pe.Size != len(p) {
			t.Errorf("%s: AppendFrame(%d bytes): %v, want a *framing.PayloadError", name, len(p), err)
		}
		if string(out) != "keep" || string(dst) != "keep" {
			t.Errorf("%s: AppendFrame changed dst: %q", name, out)
		}
		out, skip, err2 := c.AppendHeader(dst, in)
		if err2 == nil || err2.Error() != err.Error() || string(out) != "keep" || skip != 0 {
			t.Errorf("%s: AppendHeader: %q, %d, %v; want %v and dst unchanged", name, out, skip, err2, err)
		}
		if !bytes.Equal(in, p) {
			t.Errorf("%s: payload modified", name)
		}
		if framing.Classify(err) != framing.Rejected {
			t.Errorf("%s: class %v", name, framing.Classify(err))
		}
		t.Logf("%s: %v", name, err)
	}
	mustNewT := func(c Config) *Codec {
		cd, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		return cd
	}
	check("U16BE 70000", U16BE, make([]byte, 70000))
	check("U16LE 65536", U16LE, make([]byte, 65536))
	check("U8 256", U8, make([]byte, 256))
	check("signed u8 128", mustNewT(Config{Size: 1, Signed: true, Strip: 1}), make([]byte, 128))
	check("u8 including header 255", mustNewT(Config{Size: 1, IncludesHeader: true, Strip: 1}), make([]byte, 255))
	check("adjust 2, payload 1", mustNewT(Config{Size: 2, Adjust: 2, Strip: 2}), []byte{1})
	check("TLS record shorter than its header", TLSRecord, []byte{0x17, 3, 3, 0})
	check("TLS record empty", TLSRecord, nil)
	check("TLS record 65541", TLSRecord, make([]byte, 5+65536))
	check("strip 0, frame shorter than Adjust", mustNewT(Config{Size: 3, Adjust: 2}), []byte{0, 0, 0, 0xCA})
	check("strip 0, length counts the frame, 1-byte field", mustNewT(Config{Offset: 1, Size: 1, IncludesHeader: true}), make([]byte, 256))

	// The largest payloads that fit are accepted.
	for _, tc := range []struct {
		c     *Codec
		n     int
		field []byte
	}{
		{U16BE, 65535, []byte{0xFF, 0xFF}},
		{U8, 255, []byte{0xFF}},
		{mustNewT(Config{Size: 1, Signed: true, Strip: 1}), 127, []byte{0x7F}},
		{mustNewT(Config{Size: 1, IncludesHeader: true, Strip: 1}), 254, []byte{0xFF}},
		{mustNewT(Config{Size: 2, Adjust: 2, Strip: 2}), 2, []byte{0, 0}},
		{TLSRecord, 5, []byte{0x17, 3, 3, 0, 0}},
		{TLSRecord, 5 + 65535, []byte{0x17, 3, 3, 0xFF, 0xFF}},
	} {
		p := make([]byte, tc.n)
		copy(p, []byte{0x17, 3, 3, 9, 9})
		out, err := tc.c.AppendFrame(nil, p)
		if err != nil || !bytes.HasPrefix(out, tc.field) {
			t.Errorf("%+v, %d bytes: % x..., %v", tc.c.Config(), tc.n, out[:min(len(out), 8)], err)
		}
	}
}

func TestTLSRecordInputUntouched(t *testing.T) {
	rec := append([]byte{0x17, 0x03, 0x03, 0xAB, 0xCD}, "hello"...)
	orig := bytes.Clone(rec)
	want := append([]byte{0x17, 0x03, 0x03, 0x00, 0x05}, "hello"...)

	dst := make([]byte, 0, 64)
	out, err := TLSRecord.AppendFrame(dst, rec)
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("AppendFrame: % x, %v", out, err)
	}
	hdr, skip, err := TLSRecord.AppendHeader(dst, rec)
	if err != nil || skip != 5 || !bytes.Equal(hdr, want[:5]) {
		t.Fatalf("AppendHeader: % x, %d, %v", hdr, skip, err)
	}
	if !bytes.Equal(rec, orig) {
		t.Fatalf("the caller's record was modified: % x", rec)
	}
	// Appending where the header's own bytes are: still a copy.
	buf := append(bytes.Clone(rec), make([]byte, 64)...)[:len(rec)]
	out, err = TLSRecord.AppendFrame(buf, buf[:len(rec)])
	if err != nil || !bytes.Equal(out[len(rec):], want) || !bytes.Equal(out[:len(rec)], orig) {
		t.Fatalf("AppendFrame onto its own input: % x, %v", out, err)
	}
}

func TestVarint(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{127, []byte{0x7F}},
		{128, []byte{0x80, 0x01}},
		{300, []byte{0xAC, 0x02}},
		{16383, []byte{0xFF, 0x7F}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{math.MaxUint32, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F}},
	} {
		if got := binaryAppendUvarint(tc.n); !bytes.Equal(got, tc.want) {
			t.Fatalf("hand-computed %d: % x, encoding/binary says % x", tc.n, tc.want, got)
		}
		// Decoding the prefix alone: the frame's bounds.
		st := framing.DecodeState{Limit: math.MaxInt}
		d, err := Uvarint.Decode(tc.want, false, &st)
		total := int64(len(tc.want)) + int64(tc.n)
		if err != nil || d != framing.NeedFrame(len(tc.want), total, total) {
			t.Errorf("decoding % x: %v, %v", tc.want, d, err)
		}
		if tc.n > 1<<20 {
			continue
		}
		p := bytes.Repeat([]byte{'v'}, int(tc.n))
		out, err := Uvarint.AppendFrame([]byte{0xEE}, p)
		if err != nil || !bytes.Equal(out, cat([]byte{0xEE}, tc.want, p)) {
			t.Errorf("AppendFrame(%d bytes): % x..., %v; want prefix % x", tc.n, out[:min(len(out), 8)], err, tc.want)
		}
		hdr, skip, err := Uvarint.AppendHeader(nil, p)
		if err != nil || skip != 0 || !bytes.Equal(hdr, tc.want) || len(Uvarint.AppendTrailer(nil, p)) != 0 {
			t.Errorf("AppendHeader(%d bytes): % x, %d, %v", tc.n, hdr, skip, err)
		}
		if got := decodeOne(t, Uvarint, out[1:]); !bytes.Equal(got, p) {
			t.Errorf("round trip of %d bytes: %d bytes", tc.n, len(got))
		}
	}

	// Non-minimal encodings are accepted.
	for _, in := range [][]byte{
		{0x80, 0x00},
		{0x85, 0x80, 0x00, 'a', 'b', 'c', 'd', 'e'},
		{0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 'a', 'b', 'c', 'd', 'e'}, // 10 bytes
	} {
		got := decodeOne(t, Uvarint, in)
		if want := in[len(in)-len(got):]; len(got) != int(in[0]&0x7F) || !bytes.Equal(got, want) {
			t.Errorf("non-minimal % x: %q", in, got)
		}
	}

	// A split varint asks for one more byte at a time, then gives the
	// frame's bounds.
	frame := cat([]byte{0x80, 0x80, 0x01}, make([]byte, 16384))
	st := framing.DecodeState{Limit: 1 << 20}
	for n := 0; n < 3; n++ {
		d, err := Uvarint.Decode(frame[:n], false, &st)
		if err != nil || d != (framing.Need(n+1)) {
			t.Fatalf("%d prefix bytes: %+v, %v", n, d, err)
		}
	}
	for _, n := range []int{3, 4, len(frame)} {
		d, err := Uvarint.Decode(frame[:n], false, &st)
		if err != nil || d != framing.NeedFrame(3, 3+16384, 3+16384) {
			t.Fatalf("%d bytes: %v, %v", n, d, err)
		}
	}
	var zero VarintCodec // the zero value works
	if got := decodeOne(t, zero, frame); len(got) != 16384 {
		t.Fatalf("zero VarintCodec: %d bytes", len(got))
	}
}
