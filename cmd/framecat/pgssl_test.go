package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/google/go-cmp/cmp"
)

// pgSend is what one segment of a scripted PostgreSQL capture carries:
// msgs, glued, from dir at that direction's next offset.
type pgSend struct {
	dir  int
	msgs [][]byte
}

// pgSegs lays sends as segments, in order, each direction's offsets
// counted on; it returns them and each direction's length.
func pgSegs(sends ...pgSend) ([]capgen.Seg, [2]int64) {
	var n [2]int64
	var segs []capgen.Seg
	for _, s := range sends {
		var b []byte
		for _, m := range s.msgs {
			b = append(b, m...)
		}
		segs = append(segs, capgen.Seg{Dir: s.dir, Off: n[s.dir], Data: b, Flags: layers.ACK | layers.PSH})
		n[s.dir] += int64(len(b))
	}
	return segs, n
}

// pgDecode writes a capture of one connection, its handshake then segs,
// the packets 1 ms apart, and decodes it with -c postgres -f json (and
// args). It returns the output in order, frames as "DIR @OFFSET tK HEX"
// (K: the index in segs of the packet that carried the frame's last
// byte) and events as "EVENT DIR @OFFSET BYTES: MSG", with the exit
// status; each event's message must also be on stderr.
func pgDecode(t *testing.T, segs []capgen.Seg, args ...string) ([]string, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	cv := &conv{c: &capgen.Conn{Client: netip.MustParseAddrPort("10.0.0.2:51000"), Server: netip.MustParseAddrPort("10.0.0.1:5432"),
		ISN: [2]uint32{rng.Uint32(), rng.Uint32()}}}
	hs := cv.c.Handshake()
	pkts := cv.packets(pcap.LinkEthernet, append(hs, segs...), t0)
	r := framecat(t, nil, append([]string{"decode", "--pcap", writePcap(t, pcap.LinkEthernet, pkts), "-c", "postgres", "-f", "json"}, args...)...)
	parseJSONEvents(t, r.stdout, r.stderr)
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if strings.HasPrefix(line, `{"event":`) {
			var e jsonEvent
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			n := "-"
			if e.Bytes != nil {
				n = fmt.Sprint(*e.Bytes)
			}
			out = append(out, fmt.Sprintf("%s %s @%d %s: %s", e.Event, e.Dir, e.Offset, n, e.Msg))
			continue
		}
		var f jsonFrame
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ts, err := time.Parse(captureTime, f.Time)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		k := (ts.UnixNano()-t0)/1e6 - int64(len(hs))
		out = append(out, fmt.Sprintf("%s @%d t%d %s", f.Dir, f.Offset, k, f.Hex))
	}
	return out, r.code
}

// frameLine and eventLine are pgDecode's lines; n < 0: no "bytes".
func frameLine(dir string, off int64, k int, payload []byte) string {
	return fmt.Sprintf("%s @%d t%d %x", dir, off, k, payload)
}

func eventLine(event, dir string, off, n int64, msg string) string {
	b := "-"
	if n >= 0 {
		b = fmt.Sprint(n)
	}
	return fmt.Sprintf("%s %s @%d %s: %s", event, dir, off, b, msg)
}

func finalLine(dir string, off int64, why string) string {
	return eventLine("final", dir, off, -1, fmt.Sprintf("the frame ending at offset %d is final (%s); what follows is not decoded", off, why))
}

func unframedLine(dir string, off, n int64) string {
	return eventLine("unframed", dir, off, n, fmt.Sprintf("%d bytes followed the final frame at offset %d, not decoded (0 more lost in gaps)", n, off))
}

// The messages of a session in clear, and TLS-like bytes (a record
// header that is no PostgreSQL message: framed by mistake, it would stop
// the direction as corrupt).
var (
	pgStartup = pgUntyped(3<<16, "user\x00postgres\x00database\x00postgres\x00\x00")
	pgQuery   = pgMsg('Q', "select 1\x00")
	pgTerm    = pgMsg('X', "")
	pgAuth    = pgMsg('R', "\x00\x00\x00\x00")
	pgParam   = pgMsg('S', "client_encoding\x00UTF8\x00")
	pgReady   = pgMsg('Z', "I")
	pgDone    = pgMsg('C', "SELECT 1\x00")
)

func tlsLike(seed int64, n int) []byte {
	b := randomBytes(seed, n)
	copy(b, "\x16\x03\x01")
	return b
}

// TestPcapSSLRefused: an SSLRequest the server answers 'N' is not final:
// the client's direction says that framing resumes after it and frames
// the StartupMessage and the typed messages after it, in whichever order
// the capture holds the two directions' packets. Each frame keeps the
// time of the packet that carried its last byte, also when it was held
// while the answer was awaited.
func TestPcapSSLRefused(t *testing.T) {
	const c, s = 0, 1
	resumed := eventLine("resumed", "c>s", 8, -1, "the server refused the SSLRequest ('N'): framing resumes at offset 8")
	n := []byte("N")
	for _, tc := range []struct {
		name  string
		sends []pgSend
		// order gives the packets' order in the capture (indices into
		// sends); nil: as they are.
		order []int
		want  []string
	}{
		{"in turn", []pgSend{
			{c, [][]byte{sslRequest}}, {s, [][]byte{n}}, {c, [][]byte{pgStartup}}, {s, [][]byte{pgAuth, pgParam, pgReady}},
			{c, [][]byte{pgQuery}}, {s, [][]byte{pgDone, pgReady}}, {c, [][]byte{pgTerm}},
		}, nil, []string{
			frameLine("c>s", 0, 0, sslRequest), frameLine("s>c", 0, 1, n), resumed,
			frameLine("c>s", 8, 2, pgStartup),
			frameLine("s>c", 1, 3, pgAuth), frameLine("s>c", 10, 3, pgParam), frameLine("s>c", 36, 3, pgReady),
			frameLine("c>s", 49, 4, pgQuery), frameLine("s>c", 42, 5, pgDone), frameLine("s>c", 56, 5, pgReady),
			frameLine("c>s", 63, 6, pgTerm),
		}},
		{"the answer captured before the request", []pgSend{
			{c, [][]byte{sslRequest}}, {s, [][]byte{n}}, {c, [][]byte{pgStartup}}, {s, [][]byte{pgAuth, pgParam, pgReady}},
			{c, [][]byte{pgQuery}}, {s, [][]byte{pgDone, pgReady}}, {c, [][]byte{pgTerm}},
		}, []int{1, 0, 2, 3, 4, 5, 6}, []string{
			frameLine("s>c", 0, 0, n), frameLine("c>s", 0, 1, sslRequest), resumed,
			frameLine("c>s", 8, 2, pgStartup),
			frameLine("s>c", 1, 3, pgAuth), frameLine("s>c", 10, 3, pgParam), frameLine("s>c", 36, 3, pgReady),
			frameLine("c>s", 49, 4, pgQuery), frameLine("s>c", 42, 5, pgDone), frameLine("s>c", 56, 5, pgReady),
			frameLine("c>s", 63, 6, pgTerm),
		}},
		{"the client's next messages captured before the answer", []pgSend{
			{c, [][]byte{sslRequest}}, {c, [][]byte{pgStartup}}, {c, [][]byte{pgQuery}}, {s, [][]byte{n}},
			{s, [][]byte{pgAuth, pgParam, pgReady}}, {s, [][]byte{pgDone, pgReady}}, {c, [][]byte{pgTerm}},
		}, nil, []string{
			frameLine("c>s", 0, 0, sslRequest), frameLine("s>c", 0, 3, n), resumed,
			frameLine("c>s", 8, 1, pgStartup), frameLine("c>s", 49, 2, pgQuery),
			frameLine("s>c", 1, 4, pgAuth), frameLine("s>c", 10, 4, pgParam), frameLine("s>c", 36, 4, pgReady),
			frameLine("s>c", 42, 5, pgDone), frameLine("s>c", 56, 5, pgReady),
			frameLine("c>s", 63, 6, pgTerm),
		}},
		// The request and the StartupMessage in one segment, and the
		// answer's packet captured after the server's next one: the
		// reassembly holds that one until the answer comes.
		{"the answer in a later packet than the server's next", []pgSend{
			{c, [][]byte{sslRequest, pgStartup}}, {s, [][]byte{n}}, {s, [][]byte{pgAuth, pgParam, pgReady}},
			{c, [][]byte{pgQuery}}, {s, [][]byte{pgDone, pgReady}}, {c, [][]byte{pgTerm}},
		}, []int{0, 2, 1, 3, 4, 5}, []string{
			frameLine("c>s", 0, 0, sslRequest), frameLine("s>c", 0, 2, n), resumed,
			frameLine("c>s", 8, 0, pgStartup),
			frameLine("s>c", 1, 1, pgAuth), frameLine("s>c", 10, 1, pgParam), frameLine("s>c", 36, 1, pgReady),
			frameLine("c>s", 49, 3, pgQuery), frameLine("s>c", 42, 4, pgDone), frameLine("s>c", 56, 4, pgReady),
			frameLine("c>s", 63, 5, pgTerm),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs, end := pgSegs(tc.sends...)
			if tc.order != nil {
				ordered := make([]capgen.Seg, len(segs))
				for i, j := range tc.order {
					ordered[i] = segs[j]
				}
				segs = ordered
			}
			segs = append(segs, capgen.Fin(c, end[c]), capgen.Fin(s, end[s]))
			got, code := pgDecode(t, segs)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
		})
	}
}

// TestPcapSSLAccepted: an SSLRequest the server answers 'S' is final, as
// is the 'S': the TLS bytes after each are counted, not decoded. A
// GSSENCRequest refused before it lets framing resume once first.
func TestPcapSSLAccepted(t *testing.T) {
	const c, s = 0, 1
	tc1, ts1, tc2 := tlsLike(1, 300), tlsLike(2, 400), randomBytes(3, 100)
	t.Run("SSLRequest accepted", func(t *testing.T) {
		segs, end := pgSegs(pgSend{c, [][]byte{sslRequest}}, pgSend{s, [][]byte{[]byte("S")}},
			pgSend{c, [][]byte{tc1}}, pgSend{s, [][]byte{ts1}}, pgSend{c, [][]byte{tc2}})
		got, code := pgDecode(t, append(segs, capgen.Fin(c, end[c]), capgen.Fin(s, end[s])))
		want := []string{
			frameLine("c>s", 0, 0, sslRequest), frameLine("s>c", 0, 1, []byte("S")),
			finalLine("c>s", 8, "the server accepted the SSLRequest"),
			finalLine("s>c", 1, "it ends the framed stream"),
			unframedLine("c>s", 8, 400), unframedLine("s>c", 1, 400),
		}
		if d := cmp.Diff(want, got); d != "" || code != 0 {
			t.Errorf("exit %d; output (-want +got):\n%s", code, d)
		}
	})
	t.Run("GSSENCRequest refused, SSLRequest accepted", func(t *testing.T) {
		segs, end := pgSegs(pgSend{c, [][]byte{gssencRequest}}, pgSend{s, [][]byte{[]byte("N")}},
			pgSend{c, [][]byte{sslRequest}}, pgSend{s, [][]byte{[]byte("S")}},
			pgSend{c, [][]byte{tc1}}, pgSend{s, [][]byte{ts1}})
		got, code := pgDecode(t, append(segs, capgen.Fin(c, end[c]), capgen.Fin(s, end[s])))
		want := []string{
			frameLine("c>s", 0, 0, gssencRequest), frameLine("s>c", 0, 1, []byte("N")),
			eventLine("resumed", "c>s", 8, -1, "the server refused the GSSENCRequest ('N'): framing resumes at offset 8"),
			frameLine("c>s", 8, 2, sslRequest), frameLine("s>c", 1, 3, []byte("S")),
			finalLine("c>s", 16, "the server accepted the SSLRequest"),
			finalLine("s>c", 2, "it ends the framed stream"),
			unframedLine("c>s", 16, 300), unframedLine("s>c", 2, 400),
		}
		if d := cmp.Diff(want, got); d != "" || code != 0 {
			t.Errorf("exit %d; output (-want +got):\n%s", code, d)
		}
	})
}

// TestPcapSSLUnanswered: without the server's answer in the capture the
// request is final, as it always was before answers were read: when the
// capture ends, when the server's direction ends or has a gap first, or
// when more than sslWaitLimit bytes of the client's come first (then an
// answer after them is framed on the server's side only). Each time a
// GSSENCRequest refused comes first, and framing resumes after it.
func TestPcapSSLUnanswered(t *testing.T) {
	const c, s = 0, 1
	const no = "no answer to it from the server is in the capture: "
	n := []byte("N")
	first := []pgSend{{c, [][]byte{gssencRequest}}, {s, [][]byte{n}}, {c, [][]byte{sslRequest}}}
	then := func(sends ...pgSend) []pgSend { return append(append([]pgSend(nil), first...), sends...) }
	refused := []string{
		frameLine("c>s", 0, 0, gssencRequest), frameLine("s>c", 0, 1, n),
		eventLine("resumed", "c>s", 8, -1, "the server refused the GSSENCRequest ('N'): framing resumes at offset 8"),
		frameLine("c>s", 8, 2, sslRequest),
	}
	wanted := func(lines ...string) []string { return append(append([]string(nil), refused...), lines...) }
	t.Run("the capture ends", func(t *testing.T) {
		segs, _ := pgSegs(then(pgSend{c, [][]byte{pgStartup}})...)
		got, code := pgDecode(t, segs)
		want := wanted(
			finalLine("c>s", 16, no+"the server's direction ended (end of capture) at offset 1"),
			unframedLine("c>s", 16, int64(len(pgStartup))),
		)
		if d := cmp.Diff(want, got); d != "" || code != 0 {
			t.Errorf("exit %d; output (-want +got):\n%s", code, d)
		}
	})
	t.Run("the server closes", func(t *testing.T) {
		segs, end := pgSegs(then(pgSend{c, [][]byte{pgStartup}})...)
		segs = append(segs[:3], capgen.Fin(s, end[s]), segs[3], capgen.Fin(c, end[c]))
		got, code := pgDecode(t, segs)
		want := wanted(
			finalLine("c>s", 16, no+"the server's direction ended (FIN) at offset 1"),
			unframedLine("c>s", 16, int64(len(pgStartup))),
		)
		if d := cmp.Diff(want, got); d != "" || code != 0 {
			t.Errorf("exit %d; output (-want +got):\n%s", code, d)
		}
	})
	t.Run("a gap in the server's direction", func(t *testing.T) {
		// The second answer's byte is not captured: the server's next
		// segment, out of order, is over --max-ooo, so the byte is a gap.
		segs, end := pgSegs(then(pgSend{s, [][]byte{n}}, pgSend{s, [][]byte{pgAuth}}, pgSend{c, [][]byte{pgStartup}})...)
		segs = append(segs[:3], segs[4:]...)
		got, code := pgDecode(t, append(segs, capgen.Fin(c, end[c]), capgen.Fin(s, end[s])), "--max-ooo", "1")
		want := wanted(
			eventLine("gap", "s>c", 1, 1, "gap of 1 bytes at offset 1 (missing while over 1 out-of-order bytes were held)"),
			eventLine("lost", "s>c", 1, -1, "the frame at offset 1 is lost; looking for the next frame boundary after offset 2"),
			finalLine("c>s", 16, no+"a gap at offset 1 in the server's direction"),
			unframedLine("c>s", 16, int64(len(pgStartup))),
			frameLine("s>c", 2, 3, pgAuth),
		)
		if d := cmp.Diff(want, got); d != "" || code != 1 {
			t.Errorf("exit %d, want 1 (a gap); output (-want +got):\n%s", code, d)
		}
	})
	t.Run("too many client bytes first", func(t *testing.T) {
		sends := then()
		junk := tlsLike(4, sslWaitLimit+1000)
		for i := 0; i < len(junk); i += 1400 {
			sends = append(sends, pgSend{c, [][]byte{junk[i:min(i+1400, len(junk))]}})
		}
		k := len(sends)
		sends = append(sends, pgSend{s, [][]byte{n}}, pgSend{s, [][]byte{pgAuth}})
		segs, end := pgSegs(sends...)
		got, code := pgDecode(t, append(segs, capgen.Fin(c, end[c]), capgen.Fin(s, end[s])))
		want := wanted(
			finalLine("c>s", 16, fmt.Sprintf("no answer to it from the server is in the capture within the %d bytes the client sent after it", sslWaitLimit)),
			frameLine("s>c", 1, k, n), frameLine("s>c", 2, k+1, pgAuth),
			unframedLine("c>s", 16, int64(len(junk))),
		)
		if d := cmp.Diff(want, got); d != "" || code != 0 {
			t.Errorf("exit %d; output (-want +got):\n%s", code, d)
		}
	})
}
