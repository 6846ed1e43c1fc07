package loopcore

import (
	"bytes"
	"testing"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

func encoderOf(c framing.Codec) *Encoder {
	e := &Encoder{codec: c}
	e.wrap, _ = c.(framing.WrapEncoder)
	return e
}

// stream encodes payloads with c, and returns the stream and each
// payload's view into it, as a round's Decode passes them on.
func stream(t *testing.T, c framing.Codec, payloads ...[]byte) (data []byte, views [][]byte) {
	t.Helper()
	for _, p := range payloads {
		var err error
		if data, err = c.AppendFrame(data, p); err != nil {
			t.Fatal(err)
		}
	}
	d := framing.NewDeframer(c, nil)
	d.Push(data)
	for {
		f, err := d.Next()
		if err == framing.ErrNeedMore {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, f)
	}
	if len(views) != len(payloads) {
		t.Fatalf("decoded %d frames, want %d", len(views), len(payloads))
	}
	return data, views
}

// send writes b and returns the bytes and the number of buffers written.
func send(t *testing.T, b *Batch) ([]byte, int) {
	t.Helper()
	var out []byte
	bufs := 0
	err := b.Send(func(iov [][]byte) (int, error) {
		for _, v := range iov {
			out = append(out, v...)
		}
		bufs += len(iov)
		return len(out), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, bufs
}

func encodeAll(t *testing.T, c framing.Codec, payloads [][]byte) []byte {
	t.Helper()
	var want []byte
	for _, p := range payloads {
		var err error
		if want, err = c.AppendFrame(want, p); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func sizes(ns ...int) [][]byte {
	var ps [][]byte
	for i, n := range ns {
		ps = append(ps, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	return ps
}

func mustCodec(t *testing.T, cfg lengthprefix.Config) *lengthprefix.Codec {
	t.Helper()
	c, err := lengthprefix.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refs counts the segments of b that reference data.
func refs(b *Batch, data []byte) int {
	n := 0
	for _, s := range b.segs {
		if Within(s.p, data) {
			n++
		}
	}
	return n
}

// An echo of a round's large frames goes out as the round's bytes, in one
// buffer, whatever the codec's header and trailer; small frames are
// copied; a frame not passed on as it came is encoded anew.
func TestBatchInPlace(t *testing.T) {
	codecs := map[string]framing.Codec{
		"u32":          lengthprefix.U32BE,
		"strip 0":      mustCodec(t, lengthprefix.Config{Size: 4, Strip: 0}),
		"crc trailer":  mustCodec(t, lengthprefix.Config{Size: 2, Strip: 2, Checks: &lengthprefix.Checks{Checksum: &lengthprefix.Checksum{Algorithm: lengthprefix.CRC32IEEE}}}),
		"fixed bytes":  mustCodec(t, lengthprefix.Config{Size: 2, Strip: 2, Checks: &lengthprefix.Checks{Trailer: []byte{0xCE}}}),
		"varint field": lengthprefix.Uvarint,
	}
	for name, c := range codecs {
		t.Run(name, func(t *testing.T) {
			e := encoderOf(c)
			data, views := stream(t, c, sizes(3000, 5000, copyBelow, 4096)...)
			data = append(data, data[:7]...) // an incomplete frame after them
			b := NewBatch()
			for _, v := range views {
				if err := b.Add(e, v, data); err != nil {
					t.Fatal(err)
				}
			}
			got, bufs := send(t, b)
			if want := data[:len(data)-7]; !bytes.Equal(got, want) || bufs != 1 {
				t.Fatalf("echo: %d bytes in %d buffers, want the round's %d bytes in 1", len(got), bufs, len(want))
			}

			payloads := sizes(10, 3000, 4, 64, 5000, 5)
			data, views = stream(t, c, payloads...)

			// Every other frame passed on, in reverse: the large ones
			// referenced in place (not joined: not contiguous), the small
			// ones copied.
			b = NewBatch()
			var sent [][]byte
			large := 0
			for i := len(views) - 1; i >= 0; i -= 2 {
				if err := b.Add(e, views[i], data); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, views[i])
				if len(views[i]) >= copyBelow {
					large++
				}
			}
			if n := refs(b, data); n != large {
				t.Fatalf("%d segments reference the round's bytes, want %d (its large frames)", n, large)
			}
			if got, _ := send(t, b); !bytes.Equal(got, encodeAll(t, c, sent)) {
				t.Fatal("frames passed on out of order: wrong bytes")
			}

			// Parts of frames: their bytes in data are not their frames.
			b = NewBatch()
			sent = nil
			for _, v := range views {
				if len(v) < 6 {
					continue // a Strip 0 frame must keep its header
				}
				v = v[1 : len(v)-1]
				if err := b.Add(e, v, data); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, v)
			}
			if got, _ := send(t, b); !bytes.Equal(got, encodeAll(t, c, sent)) {
				t.Fatal("parts of frames: wrong bytes")
			}
		})
	}
}

// A small frame is copied when added: the caller may change its bytes
// (build the next reply in them) before the round ends.
func TestBatchSmallFrameReused(t *testing.T) {
	c := lengthprefix.U32BE
	e := encoderOf(c)
	data, views := stream(t, c, []byte("hello"))
	b := NewBatch()
	if err := b.Add(e, views[0], data); err != nil {
		t.Fatal(err)
	}
	ack := append(views[0][:0], "ack"...)
	if err := b.Add(e, ack, data); err != nil {
		t.Fatal(err)
	}
	if got, _ := send(t, b); !bytes.Equal(got, []byte("\x00\x00\x00\x05hello\x00\x00\x00\x03ack")) {
		t.Fatalf("got %q", got)
	}
}

// A large payload at the very start of data has no room for a header
// before it: it is referenced, its header copied.
func TestBatchNoRoomBefore(t *testing.T) {
	c := lengthprefix.U32BE
	e := encoderOf(c)
	data := bytes.Repeat([]byte{7}, 3000)
	b := NewBatch()
	if err := b.Add(e, data, data); err != nil {
		t.Fatal(err)
	}
	if refs(b, data) != 1 {
		t.Fatal("the payload is not referenced")
	}
	if got, _ := send(t, b); !bytes.Equal(got, encodeAll(t, c, [][]byte{data})) {
		t.Fatal("wrong bytes")
	}
}

// A frame whose stored trailer is wrong in data is encoded anew, with the
// right one.
func TestBatchInPlaceTrailerDiffers(t *testing.T) {
	c := mustCodec(t, lengthprefix.Config{Size: 2, Strip: 2, Checks: &lengthprefix.Checks{Trailer: []byte{0xCE}}})
	e := encoderOf(c)
	payloads := sizes(3000, 20)
	data, views := stream(t, c, payloads...)
	data[2+3000] = 0xCF // the first frame's trailer, after Decode checked it
	b := NewBatch()
	for _, v := range views {
		if err := b.Add(e, v, data); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := send(t, b); !bytes.Equal(got, encodeAll(t, c, payloads)) {
		t.Fatal("wrong bytes")
	}
}

// A codec that is not a header and trailer copies its frames.
func TestBatchNotWrap(t *testing.T) {
	c := struct{ framing.Codec }{delimiter.Lines} // its Codec methods only
	e := encoderOf(c)
	if e.wrap != nil {
		t.Fatal("the test codec is a WrapEncoder")
	}
	payloads := [][]byte{[]byte("one"), []byte("two"), bytes.Repeat([]byte("x"), 3000)}
	data, views := stream(t, c, payloads...)
	b := NewBatch()
	for _, v := range views {
		if err := b.Add(e, v, data); err != nil {
			t.Fatal(err)
		}
	}
	if refs(b, data) != 0 {
		t.Fatal("a frame of a codec that is not a header and trailer was referenced")
	}
	if got, _ := send(t, b); !bytes.Equal(got, encodeAll(t, c, payloads)) {
		t.Fatal("wrong bytes")
	}
}

// InPlace finds a frame passed on as it came where it lies, and nothing
// else: a part of a frame, a copy, a frame whose bytes differ.
func TestInPlace(t *testing.T) {
	c := mustCodec(t, lengthprefix.Config{Size: 2, Strip: 2, Checks: &lengthprefix.Checks{Trailer: []byte{0xCE}}})
	e := encoderOf(c)
	s := NewScratch()
	defer s.Free()
	payloads := sizes(10, 3000, 1)
	data, views := stream(t, c, payloads...)
	at := 0
	for i, v := range views {
		f, ok, err := e.InPlace(s, v, data)
		want, _ := c.AppendFrame(nil, payloads[i])
		if err != nil || !ok || !bytes.Equal(f, want) || !Within(f, data) || offset(f, data) != at {
			t.Fatalf("frame %d: ok %v, err %v, %d bytes", i, ok, err, len(f))
		}
		at += len(f)
		for _, p := range [][]byte{v[1:], v[:len(v)-1], bytes.Clone(v)} {
			if _, ok, _ := e.InPlace(s, p, data); ok {
				t.Fatalf("frame %d: a part or a copy of it was found in place", i)
			}
		}
	}
	data[2+10] = 0xCF // the first frame's trailer
	if _, ok, _ := e.InPlace(s, views[0], data); ok {
		t.Fatal("a frame whose trailer differs was found in place")
	}
	if _, ok, _ := encoderOf(delimiter.Lines).InPlace(s, views[1], data); ok {
		t.Fatal("in place for a codec that is not a header and trailer")
	}
}
