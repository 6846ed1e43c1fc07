package tcpassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/layers"
)

// recorder keeps what a Handler is told, per direction, and checks that
// offsets are contiguous.
type recorder struct {
	t    testing.TB
	got  [2][]byte // delivered bytes, gaps as missing
	gaps [2][][2]int64
	off  [2]int64
	ends [2]string
	endN [2]int
}

func (r *recorder) Data(f *Flow, dir int, off int64, data []byte, ts int64) {
	if off != r.off[dir] {
		r.t.Fatalf("dir %d: data at %d, want %d", dir, off, r.off[dir])
	}
	if r.ends[dir] != "" {
		r.t.Fatalf("dir %d: data after the end", dir)
	}
	r.got[dir] = append(r.got[dir], data...)
	r.off[dir] += int64(len(data))
}

func (r *recorder) Gap(f *Flow, dir int, off, n int64, reason string) {
	if off != r.off[dir] || n <= 0 {
		r.t.Fatalf("dir %d: gap of %d at %d, want at %d", dir, n, off, r.off[dir])
	}
	r.gaps[dir] = append(r.gaps[dir], [2]int64{off, n})
	r.got[dir] = append(r.got[dir], make([]byte, n)...)
	r.off[dir] += n
}

func (r *recorder) End(f *Flow, dir int, off int64, reason string) {
	if off != r.off[dir] {
		r.t.Fatalf("dir %d: end at %d, want %d", dir, off, r.off[dir])
	}
	r.ends[dir] = reason
	r.endN[dir]++
}

var (
	client = netip.MustParseAddrPort("10.0.0.2:51000")
	server = netip.MustParseAddrPort("10.0.0.1:5432")
)

// feed decodes each segment through layers (as a capture would be read)
// and adds it.
func feed(t testing.TB, a *Assembler, c *capgen.Conn, segs []capgen.Seg) {
	var d layers.Decoder
	for i, s := range segs {
		var seg layers.Segment
		if err := d.Decode(1, capgen.Link(1, c.IP(s)), 0, int64(i)*1e6, &seg); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		a.Add(&seg, int64(i)*1e6)
	}
}

func stream(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  func(rng *rand.Rand, segs []capgen.Seg) []capgen.Seg
		gapped bool
	}{
		{"in order", func(_ *rand.Rand, s []capgen.Seg) []capgen.Seg { return s }, false},
		{"reordered", func(rng *rand.Rand, s []capgen.Seg) []capgen.Seg {
			for i := 3; i+3 < len(s); i += 4 {
				s[i], s[i+2] = s[i+2], s[i]
			}
			return s
		}, false},
		{"duplicated", func(rng *rand.Rand, s []capgen.Seg) []capgen.Seg {
			var out []capgen.Seg
			for i, x := range s {
				out = append(out, x)
				if i%3 == 0 {
					out = append(out, x)
				}
			}
			return out
		}, false},
		{"overlapping", func(rng *rand.Rand, s []capgen.Seg) []capgen.Seg {
			// Each data segment is followed by one that spans it and the
			// next (a retransmission that coalesced them).
			var out []capgen.Seg
			for i, x := range s {
				out = append(out, x)
				if i > 3 && i+2 < len(s) && len(x.Data) > 0 && x.Dir == s[i+1].Dir && s[i+1].Off == x.Off+int64(len(x.Data)) {
					both := append(append([]byte(nil), x.Data[len(x.Data)/2:]...), s[i+1].Data...)
					out = append(out, capgen.Seg{Dir: x.Dir, Off: x.Off + int64(len(x.Data)/2), Data: both, Flags: x.Flags})
				}
			}
			return out
		}, false},
		{"dropped", func(rng *rand.Rand, s []capgen.Seg) []capgen.Seg {
			return append(s[:10:10], s[11:]...)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(len(tc.name))
			rng := rand.New(rand.NewPCG(seed, 7))
			c := &capgen.Conn{Client: client, Server: server, ISN: [2]uint32{0xfffffff0, 12345}} // wraps
			data := [2][]byte{stream(rng, 5000), stream(rng, 3000)}
			segs := c.Handshake()
			body := append(capgen.Cut(0, 0, data[0], 300, rng), capgen.Cut(1, 0, data[1], 300, rng)...)
			rng.Shuffle(len(body), func(i, j int) { // interleave the directions, keeping each in order
				if body[i].Dir != body[j].Dir {
					body[i], body[j] = body[j], body[i]
				}
			})
			segs = append(segs, tc.fault(rng, body)...)
			segs = append(segs, capgen.Fin(0, 5000), capgen.Fin(1, 3000))
			r := &recorder{t: t}
			a := New(Config{}, r)
			feed(t, a, c, segs)
			a.Close()
			for dir := 0; dir < 2; dir++ {
				if r.endN[dir] != 1 {
					t.Fatalf("dir %d ended %d times", dir, r.endN[dir])
				}
				if !tc.gapped {
					if !bytes.Equal(r.got[dir], data[dir]) || len(r.gaps[dir]) > 0 || r.ends[dir] != "FIN" {
						t.Fatalf("dir %d: %d bytes, gaps %v, end %q; want %d bytes intact, FIN", dir, len(r.got[dir]), r.gaps[dir], r.ends[dir], len(data[dir]))
					}
				}
			}
			if tc.gapped {
				dropped := body[10]
				d := dropped.Dir
				want := append([]byte(nil), data[d]...)
				copy(want[dropped.Off:], make([]byte, len(dropped.Data)))
				wantGap := [][2]int64{{dropped.Off, int64(len(dropped.Data))}}
				if !bytes.Equal(r.got[d], want) || fmt.Sprint(r.gaps[d]) != fmt.Sprint(wantGap) {
					t.Fatalf("gaps %v, want %v; bytes equal: %v", r.gaps[d], wantGap, bytes.Equal(r.got[d], want))
				}
			}
		})
	}
}

func TestMidStreamAndClientGuess(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &capgen.Conn{Client: client, Server: server, ISN: [2]uint32{100, 200}}
	data := stream(rng, 2000)
	segs := capgen.Cut(1, 0, data, 200, rng) // the server speaks first, no handshake captured
	r := &recorder{t: t}
	a := New(Config{}, r)
	var flow *Flow
	h := &flowGrab{recorder: r, f: &flow}
	a.h = h
	feed(t, a, c, segs[3:])
	a.Close()
	if !bytes.Equal(r.got[1], data[segs[3].Off:]) {
		t.Fatalf("got %d bytes, want the %d after the first captured", len(r.got[1]), len(data)-int(segs[3].Off))
	}
	if flow.Client != client || !flow.MidStream[1] {
		t.Fatalf("client %v midstream %v, want %v (the higher port) and true", flow.Client, flow.MidStream, client)
	}
}

type flowGrab struct {
	*recorder
	f **Flow
}

func (g *flowGrab) Data(f *Flow, dir int, off int64, data []byte, ts int64) {
	*g.f = f
	g.recorder.Data(f, dir, off, data, ts)
}

func TestBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := &capgen.Conn{Client: client, Server: server, ISN: [2]uint32{1, 2}}
	data := stream(rng, 10000)
	segs := append(c.Handshake(), capgen.Cut(0, 0, data, 100, rng)...)
	// The first data segment is lost: everything after it is held until
	// the cap, then the gap is declared.
	lost := segs[3]
	segs = append(segs[:3:3], segs[4:]...)
	r := &recorder{t: t}
	a := New(Config{MaxPending: 1000}, r)
	feed(t, a, c, segs)
	if len(r.gaps[0]) != 1 || r.gaps[0][0] != [2]int64{0, int64(len(lost.Data))} {
		t.Fatalf("gaps %v, want one of %d bytes at 0", r.gaps[0], len(lost.Data))
	}
	if r.off[0] != int64(len(data)) {
		t.Fatalf("delivered up to %d before the end, want %d", r.off[0], len(data))
	}
	// Idle in capture time, and the limit of connections.
	ends := &endCounter{}
	a = New(Config{Idle: 10e9, MaxFlows: 2}, ends)
	var d layers.Decoder
	add := func(port uint16, ts int64) {
		c := &capgen.Conn{Client: netip.AddrPortFrom(client.Addr(), port), Server: server}
		var seg layers.Segment
		if err := d.Decode(1, capgen.Link(1, c.IP(capgen.Seg{Dir: 0, Data: []byte("x"), Flags: layers.ACK})), 0, ts, &seg); err != nil {
			t.Fatal(err)
		}
		a.Add(&seg, ts)
	}
	add(60000, 0)
	add(60001, 1e9)
	add(60002, 2e9) // evicts 60000
	if a.Flows() != 2 || fmt.Sprint(ends.ends) != "[60000 evicted (over the limit of connections)]" {
		t.Fatalf("flows %d, ends %v", a.Flows(), ends.ends)
	}
	add(60003, 11.5e9) // 60001 idle for 10.5s, 60002 for 9.5s
	if a.Flows() != 2 || fmt.Sprint(ends.ends[1:]) != "[60001 idle]" {
		t.Fatalf("flows %d, ends %v", a.Flows(), ends.ends)
	}
}

// endCounter records each connection's end (its client direction's).
type endCounter struct{ ends []string }

func (e *endCounter) Data(f *Flow, dir int, off int64, data []byte, ts int64) {}
func (e *endCounter) Gap(f *Flow, dir int, off, n int64, reason string)       {}
func (e *endCounter) End(f *Flow, dir int, off int64, reason string) {
	if dir == 0 {
		e.ends = append(e.ends, fmt.Sprint(f.Client.Port(), " ", reason))
	}
}

// FuzzReassemble cuts a stream into segments chosen by the input (any
// order, duplicated, overlapping, some bytes never sent), with sequence
// numbers that wrap, and checks what the Assembler delivers: contiguous
// offsets, the stream's own bytes, and, when nothing was held over the
// cap, gaps exactly where no segment carried the bytes.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 10, 10, 0, 0, 5, 20})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 30, 0, 40, 0, 5, 0, 0, 9, 0, 20, 3, 200})
	f.Add([]byte{2, 1, 2, 3, 4, 0, 100, 0, 50, 0, 0, 0, 60, 0, 40, 0, 255, 0, 90, 0, 30})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 5 {
			return
		}
		mode, isn := in[0], binary.BigEndian.Uint32(in[1:5])
		capped, mid := mode&1 != 0, mode&2 != 0
		const n = 400
		rng := rand.New(rand.NewPCG(uint64(isn), 1))
		data := stream(rng, n)
		c := &capgen.Conn{Client: client, Server: server, ISN: [2]uint32{isn, 0}}
		var segs []capgen.Seg
		if !mid {
			segs = append(segs, capgen.Seg{Dir: 0, Off: -1, Flags: layers.SYN})
		}
		covered := make([]bool, n)
		base := int64(-1) // offset 0 of the delivered stream
		for ops := in[5:]; len(ops) >= 3 && len(segs) < 200; ops = ops[3:] {
			start := int64(binary.BigEndian.Uint16(ops)) % n
			end := min(start+1+int64(ops[2]%64), n)
			segs = append(segs, capgen.Seg{Dir: 0, Off: start, Data: data[start:end], Flags: layers.ACK})
			if base < 0 {
				base = start
				if !mid {
					base = 0
				}
			}
			for i := start; i < end; i++ {
				if i >= base {
					covered[i] = true
				}
			}
		}
		if base < 0 {
			return
		}
		maxPending := 1 << 20
		if capped {
			maxPending = 32
		}
		r := &recorder{t: t}
		a := New(Config{MaxPending: maxPending}, r)
		feed(t, a, c, segs)
		a.Close()
		got := r.got[0]
		if r.endN[0] != 1 {
			t.Fatalf("ended %d times", r.endN[0])
		}
		if base+int64(len(got)) > n {
			t.Fatalf("%d bytes delivered from %d, past the stream's %d", len(got), base, n)
		}
		gap := make([]bool, len(got))
		for _, g := range r.gaps[0] {
			for i := g[0]; i < g[0]+g[1]; i++ {
				gap[i] = true
			}
		}
		for i := range got {
			at := base + int64(i)
			if !gap[i] && got[i] != data[at] {
				t.Fatalf("byte at offset %d is %#x, want %#x", i, got[i], data[at])
			}
			if !gap[i] && !covered[at] {
				t.Fatalf("byte at offset %d delivered but never sent", i)
			}
			if !capped && gap[i] && covered[at] {
				t.Fatalf("byte at offset %d declared lost but sent, with no cap reached", i)
			}
		}
		last := int64(-1)
		for i := n - 1; i >= int(base); i-- {
			if covered[i] {
				last = int64(i)
				break
			}
		}
		if int64(len(got)) != last-base+1 {
			t.Fatalf("delivered %d bytes, want up to the last byte sent: %d", len(got), last-base+1)
		}
	})
}
