package datagram

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/google/go-cmp/cmp"
)

// encode builds one datagram of the given frames, as a Conn sends it.
func encode(ps ...[]byte) []byte {
	d := startDatagram(nil)
	for _, p := range ps {
		d = appendFrame(d, p)
	}
	seal(d)
	return d
}

func TestWireExample(t *testing.T) {
	// The diagram in the package documentation.
	got := encode([]byte("abc"), []byte("defg"))
	want := []byte{0xFD, 0x01, 0x00, 0x0D, 3, 'a', 'b', 'c', 4, 'd', 'e', 'f', 'g'}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("encoding (-want +got):\n%s", diff)
	}
	frames, err := split(nil, got, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]byte{[]byte("abc"), []byte("defg")}, frames); diff != "" {
		t.Fatalf("frames (-want +got):\n%s", diff)
	}
}

func TestMaxPayload(t *testing.T) {
	// Brute force: the largest n with HeaderSize + varint(n) + n <= max,
	// for every max a Conn accepts.
	n := 0
	for max := HeaderSize + 1; max <= MaxUDPPayload; max++ {
		for HeaderSize+encodedSize(n+1) <= max {
			n++
		}
		if got := maxPayload(max); got != n {
			t.Fatalf("maxPayload(%d) = %d, want %d", max, got, n)
		}
	}
}

func TestSplitRejects(t *testing.T) {
	type want struct {
		truncated bool
		offset    int
	}
	tests := []struct {
		name string
		d    []byte
		full bool
		want want
	}{
		{"empty datagram", nil, false, want{offset: 0}},
		{"shorter than header", []byte{0xFD, 1, 0}, true, want{offset: 0}},
		{"text", []byte("hello, server"), false, want{offset: 0}},
		{"version 2", []byte{0xFD, 2, 0, 5, 0}, false, want{offset: 1}},
		{"header only", []byte{0xFD, 1, 0, 4}, false, want{offset: 4}},
		{"size larger, buffer not full: forged", []byte{0xFD, 1, 0, 9, 1, 'x'}, false, want{offset: 2}},
		{"size larger, buffer full: truncated", []byte{0xFD, 1, 0, 9, 1, 'x'}, true, want{truncated: true}},
		{"size smaller: trailing bytes", []byte{0xFD, 1, 0, 6, 1, 'x', 'y'}, false, want{offset: 2}},
		{"size smaller, buffer full", []byte{0xFD, 1, 0, 6, 1, 'x', 'y'}, true, want{offset: 2}},
		{"length overruns", []byte{0xFD, 1, 0, 7, 3, 'x', 'y'}, false, want{offset: 4}},
		{"second length overruns", []byte{0xFD, 1, 0, 9, 1, 'x', 5, 'y', 'z'}, false, want{offset: 6}},
		{"varint cut at the end", []byte{0xFD, 1, 0, 5, 0x80}, false, want{offset: 4}},
		{"varint not minimal", []byte{0xFD, 1, 0, 7, 0x81, 0x00, 'x'}, false, want{offset: 4}},
		{"varint overflows", append([]byte{0xFD, 1, 0, 15}, bytes.Repeat([]byte{0xFF}, 11)...), false, want{offset: 4}},
		{"huge length", []byte{0xFD, 1, 0, 14, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, false, want{offset: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sentinel := []byte("keep")
			frames, err := split([][]byte{sentinel}, tt.d, tt.full)
			if diff := cmp.Diff([][]byte{sentinel}, frames); diff != "" {
				t.Errorf("split appended frames of a rejected datagram (-want +got):\n%s", diff)
			}
			if framing.Classify(err) != framing.Rejected {
				t.Errorf("error %v is %v, want rejected", err, framing.Classify(err))
			}
			var te *TruncatedError
			var ce *CorruptError
			switch {
			case tt.want.truncated:
				if !errors.As(err, &te) || !errors.Is(err, ErrTruncated) {
					t.Fatalf("error %v, want a *TruncatedError", err)
				}
				if te.Size != 9 || te.Received != len(tt.d) {
					t.Errorf("TruncatedError{Size: %d, Received: %d}, want {9, %d}", te.Size, te.Received, len(tt.d))
				}
			default:
				if !errors.As(err, &ce) || !errors.Is(err, framing.ErrCorrupt) {
					t.Fatalf("error %v, want a *CorruptError", err)
				}
				if ce.Offset != tt.want.offset {
					t.Errorf("offset %d, want %d (%v)", ce.Offset, tt.want.offset, err)
				}
			}
		})
	}
}

func TestSplitEmptyFrames(t *testing.T) {
	frames, err := split(nil, encode(nil, []byte("a"), nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]byte{{}, []byte("a"), {}}, frames); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Hostile datagrams: random bytes, and valid datagrams with bytes flipped,
// cut or added. split must never panic, and either return a typed error or
// frames that encode back to exactly the datagram (the format has one
// encoding per frame list, so anything else was accepted wrongly).
func TestSplitHostile(t *testing.T) {
	const seed = 8
	r := rand.New(rand.NewSource(seed))
	valid := func() []byte {
		ps := make([][]byte, 1+r.Intn(5))
		for i := range ps {
			sizes := []int{0, 1, 127, 128, 200}
			ps[i] = make([]byte, sizes[r.Intn(len(sizes))])
			r.Read(ps[i])
		}
		return encode(ps...)
	}
	accepted := 0
	for i := 0; i < 20000; i++ {
		var d []byte
		switch i % 4 {
		case 0: // random bytes behind a valid header
			d = make([]byte, HeaderSize+r.Intn(40))
			r.Read(d)
			d[0], d[1] = magic, version
			if r.Intn(2) == 0 {
				seal(d)
			}
		case 1: // a flipped byte
			d = valid()
			d[r.Intn(len(d))] ^= byte(1 + r.Intn(255))
		case 2: // cut short or lengthened
			d = valid()
			if r.Intn(2) == 0 {
				d = d[:r.Intn(len(d))]
			} else {
				d = append(d, byte(r.Intn(256)))
			}
		case 3: // entirely random
			d = make([]byte, r.Intn(64))
			r.Read(d)
		}
		full := r.Intn(2) == 0
		frames, err := split(nil, d, full)
		if err != nil {
			var te *TruncatedError
			var ce *CorruptError
			if !errors.As(err, &ce) && !(errors.As(err, &te) && full) {
				t.Fatalf("seed %d, datagram %x: untyped error %v", seed, d, err)
			}
			continue
		}
		accepted++
		if got := encode(frames...); !bytes.Equal(got, d) {
			t.Fatalf("seed %d: accepted %x as %q, which encodes as %x", seed, d, frames, got)
		}
	}
	if accepted == 0 {
		t.Fatalf("seed %d: no datagram accepted; the generator is broken", seed)
	}
}

func TestSplitFramesDoNotAlias(t *testing.T) {
	// A caller appending to a returned frame must not overwrite the next.
	d := encode([]byte("ab"), []byte("cd"))
	frames, err := split(nil, d, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(frames[0], 'X')
	if string(frames[1]) != "cd" {
		t.Fatalf("appending to frame 0 changed frame 1 to %q", frames[1])
	}
}

// FuzzSplit: any received bytes, whole or cut short by the receive buffer,
// split without a panic into frames or one typed, rejected error; and a
// datagram that splits is the one encoding of its frames.
func FuzzSplit(f *testing.F) {
	f.Add(encode([]byte("hello"), nil, []byte("world")), false)
	f.Add(encode(bytes.Repeat([]byte{0xfd}, 300)), true)
	f.Add([]byte{0xfd, 1, 0, 9, 0x80, 0x00}, false)
	f.Add([]byte{0xfd, 1, 0xff, 0xff, 3, 'a'}, true)
	f.Fuzz(func(t *testing.T, d []byte, full bool) {
		frames, err := split(nil, d, full)
		if err != nil {
			if len(frames) != 0 {
				t.Fatalf("error %v with %d frames appended", err, len(frames))
			}
			var te *TruncatedError
			var ce *CorruptError
			if !errors.As(err, &te) && !errors.As(err, &ce) || framing.Classify(err) != framing.Rejected {
				t.Fatalf("error %v (%T) is neither a rejected TruncatedError nor CorruptError", err, err)
			}
			return
		}
		if again := encode(frames...); !bytes.Equal(again, d) {
			t.Fatalf("accepted %x, which re-encodes as %x", d, again)
		}
	})
}
