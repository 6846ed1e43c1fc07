package interop

// BGP-4 (the BGP preset) against BIRD 2 from Debian (bird2): a framekit
// speaker opens a session with bird through the re-cutting proxy, sends
// OPEN, KEEPALIVE and UPDATE messages, and reads bird's OPEN, KEEPALIVE,
// UPDATE and NOTIFICATION messages; every message's marker is checked by
// the preset, and bird's routing table shows the route framekit sent.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

const birdConfig = `router id 192.0.2.254;
log stderr all;
protocol device { }
protocol static routes4 {
	ipv4;
%[2]s}
protocol bgp framekit {
	local 127.0.0.1 port %[1]d as 65001;
	neighbor 127.0.0.1 as 65002;
	passive on;
	multihop;
	hold time 90;
	ipv4 { import all; export all; gateway recursive; igp table master4; next hop address 192.0.2.254; };
}
`

// bgpMessage is a whole BGP message of type typ, the marker and length
// left for the preset's encoder to fill in.
func bgpMessage(typ byte, body ...byte) []byte {
	return append(append(make([]byte, 18, 19+len(body)), typ), body...)
}

// bgpOpen is an OPEN from AS 65002 (router id 192.0.2.2, hold time 90)
// with the capabilities multiprotocol IPv4 unicast and 4-octet AS.
func bgpOpen() []byte {
	caps := []byte{
		2, 6, 1, 4, 0, 1, 0, 1, // capability: multiprotocol, AFI 1, SAFI 1
		2, 6, 65, 4, 0, 0, 0xFD, 0xEA, // capability: 4-octet AS 65002
	}
	body := []byte{4, 0xFD, 0xEA, 0, 90, 192, 0, 2, 2, byte(len(caps))}
	return bgpMessage(1, append(body, caps...)...)
}

// bgpUpdate announces the prefixes (each 10.x.y.0/24) from AS 65002 with
// next hop 10.200.0.1.
func bgpUpdate(prefixes [][3]byte) []byte {
	attrs := []byte{
		0x40, 1, 1, 0, // ORIGIN IGP
		0x40, 2, 6, 2, 1, 0, 0, 0xFD, 0xEA, // AS_PATH: AS_SEQUENCE of one 4-octet AS, 65002
		0x40, 3, 4, 10, 200, 0, 1, // NEXT_HOP, within bird's static 10.200.0.0/24
	}
	body := []byte{0, 0} // no withdrawn routes
	body = binary.BigEndian.AppendUint16(body, uint16(len(attrs)))
	body = append(body, attrs...)
	for _, p := range prefixes {
		body = append(body, 24, p[0], p[1], p[2])
	}
	return bgpMessage(2, body...)
}

// TestBGPBird: bird 2.0 in passive mode with 300 static routes; a
// framekit speaker (BGP preset, through the re-cutting proxy) opens the
// session, announces 200 routes in UPDATEs of 1 to 100 prefixes, reads
// bird's OPEN, KEEPALIVE and the UPDATEs carrying bird's 300 routes, then
// birdc disables the protocol and bird's NOTIFICATION (Cease,
// administrative shutdown) is the last message before the end of the
// stream. birdc shows the 200 routes imported. framekit's messages are
// written with zeros where the marker and length go: the preset's encoder
// fills both in, and bird accepting them proves it.
//
// bird refuses a neighbor on a local address unless the session is
// multihop ("Invalid remote address"), and will not export a route whose
// next hop is the neighbor's own address: the config says multihop and
// sets the next hop to 192.0.2.254.
func TestBGPBird(t *testing.T) {
	bird := needPeer(t, "apt-get install bird2", "bird", "/usr/sbin/bird")
	birdc := needPeer(t, "apt-get install bird2", "birdc", "/usr/sbin/birdc")
	dir := peerDir(t)
	port := freePort(t)
	var static strings.Builder
	for i := range 300 {
		fmt.Fprintf(&static, "\troute 10.%d.%d.0/24 blackhole;\n", 200+i/256, i%256)
	}
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, birdConfig, port, static.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bird.ctl")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	srv := startServer(t, "bird", addr, true, bird, "-f", "-c", conf, "-s", sock)
	t.Logf("bird listening after %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bird's log:\n%s", srv.log.String())
		}
	})
	ctl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(birdc, append([]string{"-s", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("birdc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	seed := seedFor(t)
	c, err := framing.Dial("tcp", newProxy(t, addr, seed).Addr(), lengthprefix.BGP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(90 * time.Second))

	type msg struct {
		typ  byte
		body []byte
	}
	msgs := make(chan msg, 1024)
	rerr := make(chan error, 1)
	go func() {
		for {
			f, err := c.ReadFrameOwned()
			if err != nil {
				close(msgs)
				rerr <- err
				return
			}
			if !bytes.Equal(f[:16], bytes.Repeat([]byte{0xFF}, 16)) || int(binary.BigEndian.Uint16(f[16:])) != len(f) {
				close(msgs)
				rerr <- fmt.Errorf("a frame that is not one BGP message: % x", head(f))
				return
			}
			msgs <- msg{f[18], f[19:]}
		}
	}()
	next := func(what string) msg {
		t.Helper()
		m, ok := <-msgs
		if !ok {
			t.Fatalf("waiting for %s: %v", what, <-rerr)
		}
		return m
	}

	if err := c.WriteFrame(bgpOpen()); err != nil {
		t.Fatal(err)
	}
	open := next("bird's OPEN")
	if open.typ != 1 || len(open.body) < 10 || open.body[0] != 4 || binary.BigEndian.Uint16(open.body[1:]) != 65001 {
		t.Fatalf("bird's first message: type %d % x, want an OPEN of version 4 from AS 65001", open.typ, head(open.body))
	}
	if m := next("bird's KEEPALIVE"); m.typ != 4 || len(m.body) != 0 {
		t.Fatalf("after the OPEN: type %d (%d bytes), want a KEEPALIVE", m.typ, len(m.body))
	}
	// KEEPALIVE, then 200 routes in UPDATEs of 1 to 100 prefixes, in one
	// batch (one vectored write).
	batch := [][]byte{bgpMessage(4)}
	var sent [][3]byte
	r := newRand(seed)
	for len(sent) < 200 {
		n := min(1+r.Intn(100), 200-len(sent))
		var ps [][3]byte
		for range n {
			ps = append(ps, [3]byte{77, byte(len(sent) / 256), byte(len(sent) % 256)})
			sent = append(sent, ps[len(ps)-1])
		}
		batch = append(batch, bgpUpdate(ps))
	}
	if err := c.WriteFrames(batch); err != nil {
		t.Fatal(err)
	}

	// bird's UPDATEs: its 300 static routes (and maybe an End-of-RIB, an
	// UPDATE with nothing in it), and KEEPALIVEs.
	prefixes := 0
	for prefixes < 300 {
		m := next("bird's UPDATEs")
		switch m.typ {
		case 4:
		case 2:
			wd := int(binary.BigEndian.Uint16(m.body))
			attrs := int(binary.BigEndian.Uint16(m.body[2+wd:]))
			for nlri := m.body[4+wd+attrs:]; len(nlri) > 0; {
				plen := (int(nlri[0]) + 7) / 8
				nlri = nlri[1+plen:]
				prefixes++
			}
		default:
			t.Fatalf("waiting for bird's routes (%d so far): a message of type %d: % x", prefixes, m.typ, head(m.body))
		}
	}
	if prefixes != 300 {
		t.Errorf("bird announced %d prefixes, want its 300 static routes", prefixes)
	}

	// bird imported what framekit sent.
	deadline := time.Now().Add(30 * time.Second)
	var routes string
	for {
		routes = ctl("show", "route", "count", "protocol", "framekit")
		if strings.Contains(routes, "\n200 of ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(routes, "\n200 of ") {
		t.Errorf("birdc show route count protocol framekit: %q, want the 200 routes framekit announced", routes)
	}

	ctl("disable", "framekit")
	for {
		m := next("bird's NOTIFICATION")
		if m.typ == 4 || m.typ == 2 {
			continue
		}
		if m.typ != 3 || len(m.body) < 2 || m.body[0] != 6 || m.body[1] != 2 {
			t.Fatalf("after birdc disable: type %d % x, want a NOTIFICATION Cease (6), administrative shutdown (2)", m.typ, head(m.body))
		}
		break
	}
	if _, ok := <-msgs; ok {
		t.Errorf("a message after bird's NOTIFICATION")
	} else if err := <-rerr; err != io.EOF {
		t.Errorf("after bird's NOTIFICATION: %v, want the end of the stream", err)
	}
	t.Logf("bird: OPEN, KEEPALIVE, %d prefixes in UPDATEs, NOTIFICATION 6/2; %s", prefixes, strings.TrimSpace(routes))
}
