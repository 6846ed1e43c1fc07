package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/google/go-cmp/cmp"
)

// sentFrame is a frame a test put on the wire: its payload, the stream
// offset of its first byte and of the byte after its last.
type sentFrame struct {
	payload    []byte
	start, end int64
}

// conv is a synthetic connection: frames each way, framed with a codec.
type conv struct {
	c      *capgen.Conn
	frames [2][]sentFrame
	stream [2][]byte
}

func newConv(t *testing.T, spec string, client, server string, n int, rng *rand.Rand, payload func(*rand.Rand) []byte) *conv {
	t.Helper()
	c, err := parseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	cv := &conv{c: &capgen.Conn{Client: netip.MustParseAddrPort(client), Server: netip.MustParseAddrPort(server),
		ISN: [2]uint32{rng.Uint32(), rng.Uint32()}}}
	for dir := 0; dir < 2; dir++ {
		for i := 0; i < n; i++ {
			p := payload(rng)
			start := int64(len(cv.stream[dir]))
			cv.stream[dir], err = c.enc.AppendFrame(cv.stream[dir], p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(spec, "strip=0") { // the length is filled into the frame, which is the payload
				p = cv.stream[dir][start:]
			}
			cv.frames[dir] = append(cv.frames[dir], sentFrame{p, start, int64(len(cv.stream[dir]))})
		}
	}
	return cv
}

// segments cuts both directions into segments of 1..max bytes, the
// directions interleaved, each in order.
func (cv *conv) segments(rng *rand.Rand, max int) []capgen.Seg {
	a := capgen.Cut(0, 0, cv.stream[0], max, rng)
	b := capgen.Cut(1, 0, cv.stream[1], max, rng)
	var out []capgen.Seg
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && rng.IntN(2) == 0) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

func (cv *conv) fins() []capgen.Seg {
	return []capgen.Seg{capgen.Fin(0, int64(len(cv.stream[0]))), capgen.Fin(1, int64(len(cv.stream[1])))}
}

// packet is a captured packet of a synthetic capture.
type packet struct {
	ts   int64
	data []byte
	orig int
	ifc  int
	link int
	// seg is the segment it carries (nil for others); cv its connection.
	seg *capgen.Seg
	cv  *conv
}

const t0 = int64(1_764_900_000_000_000_000)

// packets lays segments in link-layer packets 1 ms apart from at.
func (cv *conv) packets(link int, segs []capgen.Seg, at int64, vlans ...uint16) []packet {
	var out []packet
	for i := range segs {
		d := capgen.Link(link, cv.c.IP(segs[i]), vlans...)
		out = append(out, packet{ts: at + int64(i)*1e6, data: d, orig: len(d), link: link, seg: &segs[i], cv: cv})
	}
	return out
}

func writePcap(t *testing.T, link int, pkts []packet) string {
	t.Helper()
	var b bytes.Buffer
	w, err := pcap.NewWriter(&b, link, 65535, true, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		w.WritePacket(p.ts, p.data, p.orig)
	}
	name := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// jsonFrame is a line of decode --pcap -f json.
type jsonFrame struct {
	Len    int    `json:"len"`
	Hex    string `json:"hex"`
	Time   string `json:"time"`
	Conn   int64  `json:"conn"`
	Flow   string `json:"flow"`
	Dir    string `json:"dir"`
	Offset int64  `json:"offset"`
}

// parseJSONFrames returns the frames of decode --pcap -f json output,
// leaving out the event records (parseJSONEvents).
func parseJSONFrames(t *testing.T, out string) []jsonFrame {
	t.Helper()
	var fs []jsonFrame
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, `{"event":`) {
			continue
		}
		var f jsonFrame
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if f.Len*2 != len(f.Hex) {
			t.Fatalf("line %q: len and hex disagree", line)
		}
		fs = append(fs, f)
	}
	return fs
}

// jsonEvent is an event record of decode --pcap -f json.
type jsonEvent struct {
	Event  string `json:"event"`
	Time   string `json:"time"`
	Conn   int64  `json:"conn"`
	Flow   string `json:"flow"`
	Dir    string `json:"dir"`
	Offset int64  `json:"offset"`
	Bytes  *int64 `json:"bytes"`
	Msg    string `json:"msg"`
}

// parseJSONEvents returns the event records of decode --pcap -f json
// output, as "EVENT DIR @OFFSET BYTES" (BYTES "-" when left out), each
// checked to say in msg what stderr says.
func parseJSONEvents(t *testing.T, out, stderr string) []string {
	t.Helper()
	var es []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, `{"event":`) {
			continue
		}
		var e jsonEvent
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if !strings.Contains(stderr, fmt.Sprintf("#%d %s %s: %s\n", e.Conn, e.Flow, e.Dir, e.Msg)) {
			t.Errorf("event %q is not on stderr:\n%s", line, stderr)
		}
		n := "-"
		if e.Bytes != nil {
			n = fmt.Sprint(*e.Bytes)
		}
		es = append(es, fmt.Sprintf("%s %s @%d %s", e.Event, e.Dir, e.Offset, n))
	}
	return es
}

// expect returns the lines a correct decode prints for cv's frames that
// pass keep: the time is that of the first packet that carried the
// frame's last byte (the bytes that arrive first win).
func (cv *conv) expect(id int64, pkts []packet, base [2]int64, keep func(dir int, f sentFrame) bool) [2][]jsonFrame {
	var out [2][]jsonFrame
	for dir := 0; dir < 2; dir++ {
		for _, f := range cv.frames[dir] {
			if !keep(dir, f) {
				continue
			}
			var ts int64 = -1
			for _, p := range pkts {
				if p.cv == cv && p.seg != nil && p.seg.Dir == dir && p.seg.Off <= f.end-1 && f.end-1 < p.seg.Off+int64(len(p.seg.Data)) {
					ts = p.ts
					break
				}
			}
			mark := [2]string{"c>s", "s>c"}[dir]
			out[dir] = append(out[dir], jsonFrame{Len: len(f.payload), Hex: hex.EncodeToString(f.payload),
				Time: time.Unix(0, ts).UTC().Format(captureTime), Conn: id,
				Flow: cv.c.Client.String() + ">" + cv.c.Server.String(), Dir: mark, Offset: f.start - base[dir]})
		}
	}
	return out
}

// byDir splits decoded lines by connection and direction.
func byDir(fs []jsonFrame, conn int64) [2][]jsonFrame {
	var out [2][]jsonFrame
	for _, f := range fs {
		if f.Conn != conn {
			continue
		}
		d := 0
		if f.Dir == "s>c" {
			d = 1
		}
		out[d] = append(out[d], f)
	}
	return out
}

func all(int, sentFrame) bool { return true }

func randPayload(lo, hi int) func(*rand.Rand) []byte {
	return func(rng *rand.Rand) []byte {
		b := make([]byte, lo+rng.IntN(hi-lo+1))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
}

func textPayload(rng *rand.Rand) []byte {
	b := make([]byte, rng.IntN(80))
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return b
}

// TestPcapFaults: reordered, duplicated and overlapping segments give
// every frame, each way, with its offset and time.
func TestPcapFaults(t *testing.T) {
	for _, spec := range []string{"u32be", "lines", "cobs", "len:offset=1,size=2,adjust=-3,strip=0"} {
		t.Run(spec, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, uint64(len(spec))))
			payload := randPayload(0, 300)
			if spec == "lines" {
				payload = textPayload
			}
			if strings.HasPrefix(spec, "len:") {
				payload = func(rng *rand.Rand) []byte { p := randPayload(3, 300)(rng); p[1], p[2] = 0, 0; return p }
			}
			cv := newConv(t, spec, "10.0.0.2:51000", "10.0.0.1:5432", 60, rng, payload)
			body := cv.segments(rng, 200)
			var faulty []capgen.Seg
			for i := 0; i < len(body); i++ {
				s := body[i]
				switch rng.IntN(6) {
				case 0: // reordered with the next
					if i+1 < len(body) {
						faulty = append(faulty, body[i+1], s)
						i++
						continue
					}
				case 1: // duplicated
					faulty = append(faulty, s, s)
					continue
				case 2: // an overlapping retransmission of it and the next of its direction
					faulty = append(faulty, s)
					for j := i + 1; j < len(body); j++ {
						if body[j].Dir == s.Dir {
							half := len(s.Data) / 2
							data := cv.stream[s.Dir][s.Off+int64(half) : body[j].Off+int64(len(body[j].Data))]
							faulty = append(faulty, capgen.Seg{Dir: s.Dir, Off: s.Off + int64(half), Data: data, Flags: s.Flags})
							break
						}
					}
					continue
				}
				faulty = append(faulty, s)
			}
			segs := append(append(cv.c.Handshake(), faulty...), cv.fins()...)
			pkts := cv.packets(pcap.LinkEthernet, segs, t0)
			r := framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkEthernet, pkts), "-c", spec, "-f", "json")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got := byDir(parseJSONFrames(t, r.stdout), 1)
			want := cv.expect(1, pkts, [2]int64{}, all)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// TestPcapGaps: a dropped segment is a gap at its offset; the frame it
// cut is lost and decoding resumes after it (a length codec at the next
// frame's known start, a delimiter codec after the next delimiter, a
// fixed size at the next multiple).
func TestPcapGaps(t *testing.T) {
	for _, spec := range []string{"u16be", "lines", "fixed:24", "uvarint"} {
		t.Run(spec, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(spec))))
			payload := randPayload(0, 200)
			switch spec {
			case "lines":
				payload = textPayload
			case "fixed:24":
				payload = randPayload(24, 24)
			}
			cv := newConv(t, spec, "[fd00::2]:40000", "[fd00::1]:7000", 50, rng, payload)
			body := cv.segments(rng, 60)
			var drop []capgen.Seg
			var kept []capgen.Seg
			for i, s := range body {
				if s.Dir == 0 && (i == len(body)/3 || i == 2*len(body)/3) {
					drop = append(drop, s)
					continue
				}
				kept = append(kept, s)
			}
			segs := append(append(cv.c.Handshake(), kept...), cv.fins()...)
			pkts := cv.packets(pcap.LinkSLL2, segs, t0)
			r := framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkSLL2, pkts), "-c", spec, "-f", "json")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (gaps); stderr %q", r.code, r.stderr)
			}
			t.Logf("stderr:\n%s", r.stderr)
			for _, s := range drop {
				if !strings.Contains(r.stderr, fmt.Sprintf("gap of %d bytes at offset %d", len(s.Data), s.Off)) {
					t.Errorf("stderr does not report the gap at %d: %q", s.Off, r.stderr)
				}
			}
			// Lost: the frames the gaps touch; for a delimiter codec, a
			// frame that starts right at a gap's end too (its start
			// cannot be told from the middle of a frame).
			keep := func(dir int, f sentFrame) bool {
				for _, s := range drop {
					if s.Dir != dir {
						continue
					}
					gs, ge := s.Off, s.Off+int64(len(s.Data))
					if f.start < ge && gs < f.end || spec == "lines" && f.start == ge {
						return false
					}
				}
				return true
			}
			got := byDir(parseJSONFrames(t, r.stdout), 1)
			want := cv.expect(1, pkts, [2]int64{}, keep)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s\nstderr: %s", d, r.stderr)
			}
		})
	}
}

// TestPcapGapLosesHeader: a gap that takes a length field leaves the next
// frame's start unknown: the first boundary after the gap is searched
// for, as at the start of a capture taken mid-connection.
func TestPcapGapLosesHeader(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cv := newConv(t, "u16be", "10.0.0.2:51000", "10.0.0.1:5432", 40, rng, randPayload(20, 200))
	lost := cv.frames[0][10]
	s := cv.stream[0]
	from, to := lost.start-3, lost.start+5
	segs := append(cv.c.Handshake(),
		capgen.Seg{Dir: 0, Off: 0, Data: s[:from], Flags: layers.ACK},
		capgen.Seg{Dir: 0, Off: to, Data: s[to:], Flags: layers.ACK},
		capgen.Fin(0, int64(len(s))))
	pkts := cv.packets(pcap.LinkEthernet, segs, t0)
	r := framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkEthernet, pkts), "-c", "u16be", "-f", "json", "--max", "1000")
	if r.code != 1 || !strings.Contains(r.stderr, "gap of 8 bytes at offset "+fmt.Sprint(from)) ||
		!strings.Contains(r.stderr, "looking for the next frame boundary") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	keep := func(dir int, f sentFrame) bool { return dir == 0 && (f.end <= from || f.start > lost.start) }
	if d := cmp.Diff(cv.expect(1, pkts, [2]int64{}, keep), byDir(parseJSONFrames(t, r.stdout), 1)); d != "" {
		t.Fatalf("%s\nstderr: %s", d, r.stderr)
	}
	// The gap, the frame it lost, and where decoding resumed are records
	// of the JSON output too (the boundary search drops the bytes up to
	// the next frame after the gap). The frame the gap cut first is the
	// one before the frame whose header it took.
	next := cv.frames[0][11]
	want := []string{
		fmt.Sprintf("gap c>s @%d 8", from),
		fmt.Sprintf("lost c>s @%d -", cv.frames[0][9].start),
		fmt.Sprintf("resync c>s @%d %d", next.start, next.start-to),
	}
	if d := cmp.Diff(want, parseJSONEvents(t, r.stdout, r.stderr)); d != "" {
		t.Errorf("events (-want +got):\n%s\nstdout: %s", d, r.stdout)
	}
}

// TestPcapMidStream: a capture that starts inside a connection (no
// handshake, the first segment mid-frame) is decoded from the first frame
// boundary found; offsets count from the first byte captured.
func TestPcapMidStream(t *testing.T) {
	for _, spec := range []string{"u16be", "u32le", "lines", "slip"} {
		t.Run(spec, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, uint64(len(spec))))
			payload := randPayload(1, 200)
			if spec == "lines" {
				payload = textPayload
			}
			cv := newConv(t, spec, "192.168.1.20:33000", "192.168.1.10:6379", 40, rng, payload)
			body := cv.segments(rng, 100)
			// The capture begins with each direction's 4th segment.
			var base [2]int64
			var segs []capgen.Seg
			seen := [2]int{}
			for _, s := range body {
				seen[s.Dir]++
				if seen[s.Dir] < 4 {
					continue
				}
				if seen[s.Dir] == 4 {
					base[s.Dir] = s.Off
				}
				segs = append(segs, s)
			}
			segs = append(segs, cv.fins()...)
			pkts := cv.packets(pcap.LinkEthernet, segs, t0, 100)
			r := framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkEthernet, pkts), "-c", spec, "-f", "json")
			if r.code != 0 {
				t.Fatalf("exit %d; stderr %q", r.code, r.stderr)
			}
			keep := func(dir int, f sentFrame) bool {
				if spec == "lines" || spec == "slip" {
					return f.start > base[dir] // a delimiter codec drops up to the first delimiter
				}
				return f.start >= base[dir]
			}
			got := byDir(parseJSONFrames(t, r.stdout), 1)
			want := cv.expect(1, pkts, base, keep)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s\nstderr: %s", d, r.stderr)
			}
		})
	}
}

// TestPcapNGInterfaces: a pcapng file with two interfaces of different
// link types and time resolutions, a connection on each, one over IPv4
// fragments.
func TestPcapNGInterfaces(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a := newConv(t, "u32le", "10.1.0.2:50000", "10.1.0.1:9000", 30, rng, randPayload(0, 3000))
	b := newConv(t, "u32le", "[fd00::2]:50001", "[fd00::1]:9001", 30, rng, randPayload(0, 100))
	pa := a.packets(pcap.LinkEthernet, append(append(a.c.Handshake(), a.segments(rng, 2000)...), a.fins()...), t0)
	pb := b.packets(pcap.LinkSLL, append(append(b.c.Handshake(), b.segments(rng, 100)...), b.fins()...), t0+5e5)
	var pkts []packet
	for len(pa) > 0 || len(pb) > 0 {
		if len(pb) == 0 || (len(pa) > 0 && pa[0].ts < pb[0].ts) {
			pkts, pa = append(pkts, pa[0]), pa[1:]
		} else {
			pb[0].ifc = 1
			pkts, pb = append(pkts, pb[0]), pb[1:]
		}
	}
	var buf bytes.Buffer
	w, _ := pcap.NewNGWriter(&buf, binary.BigEndian)
	w.Interface(pcap.LinkEthernet, 65535, 6)
	w.Interface(pcap.LinkSLL, 65535, 9)
	for _, p := range pkts {
		if p.ifc == 0 {
			// Large segments go as IPv4 fragments.
			ip := p.data[14:]
			for _, f := range capgen.FragmentV4(ip, 1480) {
				d := capgen.Link(pcap.LinkEthernet, f)
				w.WritePacket(0, uint64(p.ts/1000), d, len(d))
			}
			continue
		}
		w.WritePacket(1, uint64(p.ts), p.data, len(p.data))
	}
	name := filepath.Join(t.TempDir(), "two.pcapng")
	os.WriteFile(name, buf.Bytes(), 0o644)
	r := framecat(t, nil, "decode", "--pcap", name, "-c", "u32le", "-f", "json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	fs := parseJSONFrames(t, r.stdout)
	if d := cmp.Diff(a.expect(1, pkts, [2]int64{}, all), byDir(fs, 1)); d != "" {
		t.Fatal(d)
	}
	if d := cmp.Diff(b.expect(2, pkts, [2]int64{}, all), byDir(fs, 2)); d != "" {
		t.Fatal(d)
	}
	// --flow picks one connection, by endpoint; --summary counts.
	r = framecat(t, nil, "decode", "--pcap", name, "-c", "u32le", "--flow", ":9001", "--summary")
	want := fmt.Sprintf("#2 %s > frames=30 bytes=%d gaps=0 end=FIN\n#2 %s < frames=30 bytes=%d gaps=0 end=FIN\n",
		"[fd00::2]:50001>[fd00::1]:9001", payloadBytes(b.frames[0]), "[fd00::2]:50001>[fd00::1]:9001", payloadBytes(b.frames[1]))
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d, stdout %q, want %q; stderr %q", r.code, r.stdout, want, r.stderr)
	}
}

func payloadBytes(fs []sentFrame) int {
	n := 0
	for _, f := range fs {
		n += len(f.payload)
	}
	return n
}

// TestPcapBadInput: a truncated capture prints what came before the
// damage; a snapshot length that cut packets gives gaps; a capture without
// TCP and a file that is no capture are errors. All exit 1.
func TestPcapBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	cv := newConv(t, "u32be", "10.0.0.2:51000", "10.0.0.1:5432", 20, rng, randPayload(10, 100))
	segs := append(append(cv.c.Handshake(), capgen.Cut(0, 0, cv.stream[0], 100, rng)...), cv.fins()...)
	pkts := cv.packets(pcap.LinkEthernet, segs, t0)
	name := writePcap(t, pcap.LinkEthernet, pkts)
	full, _ := os.ReadFile(name)
	// Cut inside the 12th packet's data.
	cut := 24
	for _, p := range pkts[:11] {
		cut += 16 + len(p.data)
	}
	cut += 16 + 30
	os.WriteFile(name, full[:cut], 0o644)
	r := framecat(t, nil, "decode", "--pcap", name, "-c", "u32be", "-f", "json")
	if r.code != 1 || !strings.Contains(r.stderr, "capture truncated") || !strings.Contains(r.stderr, "the frames before it were printed") {
		t.Fatalf("truncated: exit %d stderr %q", r.code, r.stderr)
	}
	got := byDir(parseJSONFrames(t, r.stdout), 1)
	end := pkts[10].seg.Off + int64(len(pkts[10].seg.Data)) // the last byte before the damage
	want := cv.expect(1, pkts, [2]int64{}, func(dir int, f sentFrame) bool { return dir == 0 && f.end <= end })
	if len(want[0]) == 0 || !cmp.Equal(want, got) {
		t.Fatalf("truncated: %s", cmp.Diff(want, got))
	}

	// Snapshot length 60: every data packet is cut; gaps are reported.
	var snap []packet
	for _, p := range pkts {
		q := p
		if len(q.data) > 60 {
			q.data = q.data[:60]
		}
		snap = append(snap, q)
	}
	r = framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkEthernet, snap), "-c", "u32be")
	if r.code != 1 || !strings.Contains(r.stderr, "cut by the capture's snapshot length") {
		t.Fatalf("snaplen: exit %d stderr %q", r.code, r.stderr)
	}

	// No TCP.
	udp := capgen.Link(pcap.LinkEthernet, capgen.IP(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 17, make([]byte, 8)))
	r = framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkEthernet, []packet{{ts: t0, data: udp, orig: len(udp)}}), "-c", "u32be")
	if r.code != 1 || !strings.Contains(r.stderr, "no TCP segments in 1 packets (1 not TCP") {
		t.Fatalf("no TCP: exit %d stderr %q", r.code, r.stderr)
	}
	// Not a capture.
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("hello, world\n"), 0o644)
	r = framecat(t, nil, "decode", "--pcap", junk, "-c", "u32be")
	if r.code != 1 || !strings.Contains(r.stderr, "not a pcap or pcapng file") {
		t.Fatalf("junk: exit %d stderr %q", r.code, r.stderr)
	}
	// Usage.
	for _, args := range [][]string{
		{"decode", "--pcap", name, "-c", "u32be", "--flow", "nonsense"},
		{"decode", "--pcap", name, "-c", "u32be", "--max-ooo", "0"},
		{"decode", "-c", "u32be", "--summary"},
		{"decode", "--pcap", name, "-c", "u32be", "extra"},
	} {
		if r := framecat(t, nil, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2", args, r.code)
		}
	}
}

// TestPcapText checks the text line layout once.
func TestPcapText(t *testing.T) {
	cv := &conv{c: &capgen.Conn{Client: netip.MustParseAddrPort("10.0.0.2:51000"), Server: netip.MustParseAddrPort("10.0.0.1:7")}}
	segs := append(cv.c.Handshake(), capgen.Seg{Dir: 0, Data: []byte("PING\nHEL"), Flags: layers.ACK}, capgen.Seg{Dir: 0, Off: 8, Data: []byte("LO\n"), Flags: layers.ACK})
	pkts := cv.packets(pcap.LinkNull, segs, t0)
	r := framecat(t, nil, "decode", "--pcap", writePcap(t, pcap.LinkNull, pkts), "-c", "lines", "-f", "text")
	want := "2025-12-05T02:00:00.003000000Z #1 10.0.0.2:51000>10.0.0.1:7 > @0 PING\n" +
		"2025-12-05T02:00:00.004000000Z #1 10.0.0.2:51000>10.0.0.1:7 > @5 HELLO\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d stderr %q\n%s", r.code, r.stderr, cmp.Diff(want, r.stdout))
	}
}
