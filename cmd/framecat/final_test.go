package main

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/google/go-cmp/cmp"
)

// TestDecodeFinal: a codec's final frame ends the decode cleanly (exit 0):
// the frames before it and it are printed, and the bytes after it are
// counted, on stderr and, with -f json, in "final" and "unframed"
// records.
func TestDecodeFinal(t *testing.T) {
	body := "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
	next := "HTTP/1.1 200 OK\r\n\r\n"
	for _, tc := range []struct {
		name, spec, stream string
		args               []string
		stdout, stderr     string
	}{
		{"chunked json", "chunked", body + next, []string{"-f", "json"},
			`{"len":5,"hex":"68656c6c6f"}` + "\n" + `{"len":8,"hex":"582d543a20310d0a"}` + "\n" +
				`{"event":"final","offset":23}` + "\n" + `{"event":"unframed","offset":23,"bytes":19}` + "\n",
			"framecat: frame 2, ending at offset 23, is final (it ends the framed stream): 19 bytes follow, not decoded\n"},
		{"chunked text, nothing after", "chunked", body, []string{"-f", "text"},
			"hello\nX-T: 1\\r\\n\n",
			"framecat: frame 2, ending at offset 23, is final (it ends the framed stream): 0 bytes follow, not decoded\n"},
		{"postgres-be after S", "postgres-be", "S\x16\x03\x03\x00\x05hello", []string{"-f", "hex"},
			"53\n",
			"framecat: frame 1, ending at offset 1, is final (it ends the framed stream): 10 bytes follow, not decoded\n"},
		{"postgres-fe after SSLRequest", "postgres-fe", string(sslRequest) + "\x16\x03\x01", []string{"-f", "json"},
			`{"len":8,"hex":"0000000804d2162f"}` + "\n" + `{"event":"final","offset":8}` + "\n" + `{"event":"unframed","offset":8,"bytes":3}` + "\n",
			"framecat: frame 1, ending at offset 8, is final (it ends the framed stream): 3 bytes follow, not decoded\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := framecat(t, []byte(tc.stream), append([]string{"decode", "-c", tc.spec}, tc.args...)...)
			if r.code != 0 || r.stdout != tc.stdout || r.stderr != tc.stderr {
				t.Errorf("exit %d\nstdout %q, want %q\nstderr %q, want %q", r.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
		})
	}
}

// TestPcapPairFinal: decode --pcap -c postgres frames each direction with
// its codec; after SSLRequest and 'S' the TLS bytes are counted, not
// decoded, and that is no problem (exit 0).
func TestPcapPairFinal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tls := [2][]byte{randomBytes(1, 500), randomBytes(2, 700)}
	cv := &conv{c: &capgen.Conn{Client: netip.MustParseAddrPort("10.0.0.2:51000"), Server: netip.MustParseAddrPort("10.0.0.1:5432"),
		ISN: [2]uint32{rng.Uint32(), rng.Uint32()}}}
	cv.stream[0] = append(append([]byte(nil), sslRequest...), tls[0]...)
	cv.stream[1] = append([]byte("S"), tls[1]...)
	segs := append(cv.c.Handshake(), cv.segments(rng, 90)...)
	segs = append(segs, cv.fins()...)
	pkts := cv.packets(pcap.LinkEthernet, segs, t0)
	file := writePcap(t, pcap.LinkEthernet, pkts)
	r := framecat(t, nil, "decode", "--pcap", file, "-c", "postgres", "-f", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	fs := byDir(parseJSONFrames(t, r.stdout), 1)
	if len(fs[0]) != 1 || fs[0][0].Hex != hex.EncodeToString(sslRequest) || len(fs[1]) != 1 || fs[1][0].Hex != "53" {
		t.Errorf("frames %+v, want the SSLRequest client to server and 'S' back", fs)
	}
	es := parseJSONEvents(t, r.stdout, r.stderr)
	slices.Sort(es)
	want := []string{"final c>s @8 -", "final s>c @1 -", "unframed c>s @8 500", "unframed s>c @1 700"}
	if d := cmp.Diff(want, es); d != "" {
		t.Errorf("events (-want +got):\n%s\nstderr: %s", d, r.stderr)
	}
	// A single codec for both directions is still taken, and a pair
	// outside proxy and decode --pcap is refused with its halves named.
	if r := framecat(t, nil, "decode", "--pcap", file, "--c2s", "postgres-fe", "--s2c", "postgres-be", "-f", "json"); r.code != 0 {
		t.Errorf("--c2s/--s2c: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := framecat(t, nil, "decode", "-c", "postgres"); r.code != 2 || !strings.Contains(r.stderr, "postgres-fe client to server, postgres-be server to client") {
		t.Errorf("decode -c postgres: exit %d, stderr %q", r.code, r.stderr)
	}
}
