package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type rec struct {
	Time           int64
	Link, If, Sect int
	Data           string
	Orig           int
}

func readAll(t *testing.T, b []byte) ([]rec, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []rec
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec{p.Time, p.Link, p.Interface, p.Section, string(p.Data), p.OrigLen})
	}
}

func TestPcap(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nanos := range []bool{false, true} {
			t.Run(fmt.Sprint(order, nanos), func(t *testing.T) {
				var buf bytes.Buffer
				w, err := NewWriter(&buf, LinkEthernet, 65535, nanos, order)
				if err != nil {
					t.Fatal(err)
				}
				times := []int64{1_700_000_000_123_456_789, 1_700_000_001_000_001_000}
				w.WritePacket(times[0], []byte("first"), 0)
				w.WritePacket(times[1], []byte("cut"), 1500)
				got, err := readAll(t, buf.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				want0 := times[0]
				if !nanos {
					want0 = want0 / 1000 * 1000
				}
				want := []rec{{want0, 1, 0, 0, "first", 5}, {times[1], 1, 0, 0, "cut", 1500}}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatal(d)
				}
				// Every truncation is a clear error after the packets
				// before it.
				full := buf.Bytes()
				for n := 1; n < len(full); n++ {
					got, err := readAll(t, full[:n])
					if n == 24 || n == 24+16+5 { // record boundaries
						if err != nil || len(got) != (n-24)/21 {
							t.Fatalf("cut at %d (a record boundary): %v, %d packets", n, err, len(got))
						}
						continue
					}
					if !errors.Is(err, ErrTruncated) {
						t.Fatalf("cut at %d: %v, want ErrTruncated", n, err)
					}
					if wantN := 0; n > 24+16+5 && len(got) != 1 || n < 24+16+5 && len(got) != wantN {
						t.Fatalf("cut at %d: %d packets before the error", n, len(got))
					}
				}
			})
		}
	}
}

func TestPcapNG(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var buf bytes.Buffer
		w, err := NewNGWriter(&buf, order)
		if err != nil {
			t.Fatal(err)
		}
		w.Interface(LinkEthernet, 65535, 6)
		w.Interface(LinkSLL2, 65535, 9)
		w.WritePacket(1, 1_700_000_000_123_456_789, []byte("on if 1"), 0)
		w.Block(5, make([]byte, 12)) // an interface statistics block: passed over
		w.WritePacket(0, 1_700_000_000_123_456, []byte("on if 0"), 100)
		w.Section()
		w.Interface(LinkNull, 65535, 0x80|10) // 2^-10 s
		w.WritePacket(0, 3*1024+512, []byte("section 2"), 0)
		got, err := readAll(t, buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want := []rec{
			{1_700_000_000_123_456_789, LinkSLL2, 1, 0, "on if 1", 7},
			{1_700_000_000_123_456_000, LinkEthernet, 0, 0, "on if 0", 100},
			{3_500_000_000, LinkNull, 0, 1, "section 2", 9},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatal(d)
		}
		full := buf.Bytes()
		for n := 1; n < len(full); n++ {
			_, err := readAll(t, full[:n])
			if err != nil && !errors.Is(err, ErrTruncated) {
				t.Fatalf("cut at %d: %v, want ErrTruncated or a clean end", n, err)
			}
		}
	}
}

func TestCorrupt(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkEthernet, 65535, false, binary.LittleEndian)
	w.WritePacket(1e9, []byte("ok"), 0)
	w.WritePacket(2e9, []byte("bad"), 0)
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[24+16+2+8:], 1<<30) // the second record's length
	got, err := readAll(t, b)
	if !errors.Is(err, ErrCorrupt) || len(got) != 1 {
		t.Fatalf("%v, %d packets; want ErrCorrupt after 1", err, len(got))
	}
	if _, err := readAll(t, []byte("GET / HTTP/1.1\r\n")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%v, want ErrCorrupt for a file that is no capture", err)
	}
	if _, err := readAll(t, nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("%v, want ErrTruncated for an empty file", err)
	}
	var ng bytes.Buffer
	nw, _ := NewNGWriter(&ng, binary.LittleEndian)
	nw.WritePacket(3, 0, []byte("x"), 0)
	if _, err := readAll(t, ng.Bytes()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%v, want ErrCorrupt for a packet on an interface not described", err)
	}
}
