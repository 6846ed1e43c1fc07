package interop

// The PROXY protocol codec (lengthprefix.NewProxyHeader) against HAProxy
// from Debian: haproxy's send-proxy and send-proxy-v2 headers read by a
// framekit server, and framekit-encoded v1 and v2 headers accepted by
// haproxy's accept-proxy and passed on with the addresses they claimed.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// proxyInfo is what a PROXY header says.
type proxyInfo struct {
	version  int
	src, dst netip.AddrPort
	crc      bool // a v2 header had a PP2_TYPE_CRC32C TLV, and it held
}

func (p proxyInfo) String() string {
	if p.crc {
		return fmt.Sprintf("v%d %v -> %v, CRC-32C checked", p.version, p.src, p.dst)
	}
	return fmt.Sprintf("v%d %v -> %v", p.version, p.src, p.dst)
}

// proxyV1 is a PROXY protocol v1 line for a TCP connection from src to dst.
func proxyV1(src, dst netip.AddrPort) []byte {
	fam := "TCP4"
	if src.Addr().Is6() {
		fam = "TCP6"
	}
	return fmt.Appendf(nil, "PROXY %s %s %s %d %d\r\n", fam, src.Addr(), dst.Addr(), src.Port(), dst.Port())
}

// proxyV2 is a PROXY protocol v2 header (command PROXY, TCP) for a
// connection from src to dst, followed by the TLVs tlv (already encoded).
func proxyV2(src, dst netip.AddrPort, tlv []byte) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21")
	var addrs []byte
	if src.Addr().Is4() {
		b = append(b, 0x11)
		s, d := src.Addr().As4(), dst.Addr().As4()
		addrs = append(append(addrs, s[:]...), d[:]...)
	} else {
		b = append(b, 0x21)
		s, d := src.Addr().As16(), dst.Addr().As16()
		addrs = append(append(addrs, s[:]...), d[:]...)
	}
	addrs = binary.BigEndian.AppendUint16(addrs, src.Port())
	addrs = binary.BigEndian.AppendUint16(addrs, dst.Port())
	addrs = append(addrs, tlv...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)))
	return append(b, addrs...)
}

// parseProxy reads a whole PROXY header, v1 or v2 (TCP over IPv4 or
// IPv6), as the spec (haproxy's doc/proxy-protocol.txt) describes it.
func parseProxy(h []byte) (proxyInfo, error) {
	if line, ok := bytes.CutPrefix(h, []byte("PROXY ")); ok {
		f := strings.Fields(strings.TrimSuffix(string(line), "\r\n"))
		if len(f) != 5 || !bytes.HasSuffix(h, []byte("\r\n")) || (f[0] != "TCP4" && f[0] != "TCP6") {
			return proxyInfo{}, fmt.Errorf("v1 line %q", h)
		}
		src, err1 := netip.ParseAddrPort(net.JoinHostPort(f[1], f[3]))
		dst, err2 := netip.ParseAddrPort(net.JoinHostPort(f[2], f[4]))
		if err := errors.Join(err1, err2); err != nil {
			return proxyInfo{}, fmt.Errorf("v1 line %q: %v", h, err)
		}
		return proxyInfo{version: 1, src: src, dst: dst}, nil
	}
	if len(h) < 16 || !bytes.Equal(h[:12], []byte("\r\n\r\n\x00\r\nQUIT\n")) || h[12] != 0x21 {
		return proxyInfo{}, fmt.Errorf("not a v2 PROXY header: % x", head(h))
	}
	if n := int(binary.BigEndian.Uint16(h[14:])); n != len(h)-16 {
		return proxyInfo{}, fmt.Errorf("v2 header says %d bytes of addresses, the frame has %d", n, len(h)-16)
	}
	a := h[16:]
	var info proxyInfo
	switch {
	case h[13] == 0x11 && len(a) >= 12:
		info = proxyInfo{version: 2,
			src: netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:])),
			dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:]))}
		a = a[12:]
	case h[13] == 0x21 && len(a) >= 36:
		info = proxyInfo{version: 2,
			src: netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:])),
			dst: netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:]))}
		a = a[36:]
	default:
		return proxyInfo{}, fmt.Errorf("v2 header of family %#02x with %d bytes of addresses", h[13], len(a))
	}
	// The TLVs fill the rest exactly. A CRC-32C TLV is computed over the
	// whole header with its own value zeroed, so it holds only if the
	// frame is exactly the header haproxy wrote.
	for off := len(h) - len(a); off < len(h); {
		if len(h)-off < 3 || len(h)-off-3 < int(binary.BigEndian.Uint16(h[off+1:])) {
			return proxyInfo{}, fmt.Errorf("v2 header: a TLV overruns the header at byte %d", off)
		}
		n := int(binary.BigEndian.Uint16(h[off+1:]))
		if h[off] == 0x03 {
			if n != 4 {
				return proxyInfo{}, fmt.Errorf("v2 CRC-32C TLV of %d bytes", n)
			}
			z := bytes.Clone(h)
			clear(z[off+3 : off+7])
			if got, want := crc32.Checksum(z, crc32.MakeTable(crc32.Castagnoli)), binary.BigEndian.Uint32(h[off+3:]); got != want {
				return proxyInfo{}, fmt.Errorf("v2 CRC-32C %#08x, the header's bytes give %#08x", want, got)
			}
			info.crc = true
		}
		off += 3 + n
	}
	return info, nil
}

// proxied is what a framekit server behind haproxy saw on one connection.
type proxied struct {
	header []byte
	kind   uint32
	frames int
	err    error
}

// startProxiedEcho starts a framekit server for connections that begin
// with a PROXY header: it reads them with NewProxyHeader(U32BE), echoes
// every frame after the header with U32BE, and reports each connection.
func startProxiedEcho(t *testing.T) (string, <-chan proxied) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan proxied, 16)
	codec := lengthprefix.NewProxyHeader(lengthprefix.U32BE)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(exchangeTimeout))
				r := framing.NewReader(c, codec, nil)
				w := framing.NewWriter(c, lengthprefix.U32BE, nil)
				var res proxied
				defer func() { out <- res }()
				h, err := r.ReadFrame()
				if err != nil {
					res.err = fmt.Errorf("reading the PROXY header: %w", err)
					return
				}
				res.header, res.kind = bytes.Clone(h), r.Kind()
				for {
					p, err := r.ReadFrame()
					if err == io.EOF {
						c.(*net.TCPConn).CloseWrite()
						return
					}
					if err == nil && r.Kind() != lengthprefix.KindMessage {
						err = fmt.Errorf("frame %d of kind %d after the header", res.frames, r.Kind())
					}
					if err == nil {
						err = w.WriteFrame(p)
					}
					if err != nil {
						res.err = err
						return
					}
					res.frames++
				}
			}()
		}
	}()
	return ln.Addr().String(), out
}

// splitCodec decodes with one codec and encodes with another: a
// client's side of a stream whose first message only it sends (a PROXY
// header, AMQP's protocol header).
type splitCodec struct {
	framing.Decoder
	framing.Encoder
}

var headerFirst = splitCodec{lengthprefix.U32BE, lengthprefix.NewProxyHeader(lengthprefix.U32BE)}

const haproxyConfig = `global
	maxconn 64
	log stderr format raw local0 info
defaults
	mode tcp
	log global
	option tcplog
	timeout connect 10s
	timeout client 90s
	timeout server 90s
frontend plain_v1
	bind 127.0.0.1:%[1]d
	default_backend send_v1
frontend plain_v2
	bind 127.0.0.1:%[2]d
	default_backend send_v2
frontend accept_to_v1
	bind 127.0.0.1:%[3]d accept-proxy
	default_backend send_v1
frontend accept_to_v2
	bind 127.0.0.1:%[4]d accept-proxy
	default_backend send_v2
backend send_v1
	server framekit %[5]s send-proxy
backend send_v2
	server framekit %[5]s send-proxy-v2 proxy-v2-options crc32c
`

// TestHAProxy: haproxy 2.6 in TCP mode in front of a framekit server
// (through the re-cutting proxy). haproxy's send-proxy (v1) and
// send-proxy-v2 headers are one KindProxy frame each, name the client's
// real address and haproxy's frontend, and the U32BE frames after them
// are echoed byte for byte. Then framekit's encoder writes v1 and v2
// headers (IPv4 and IPv6, v2 with a TLV) to accept-proxy frontends
// (through a proxy that re-cuts haproxy's answers, not the header, which
// the protocol requires to arrive at once): haproxy accepts them and its
// own header to the server carries the claimed addresses.
func TestHAProxy(t *testing.T) {
	haproxy := needPeer(t, "apt-get install haproxy", "haproxy", "/usr/sbin/haproxy")
	seed := seedFor(t)
	srv, results := startProxiedEcho(t)
	toServer := newProxy(t, srv, seed)
	dir := peerDir(t)
	ports := [4]int{}
	for i := range ports {
		ports[i] = freePort(t)
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, fmt.Appendf(nil, haproxyConfig, ports[0], ports[1], ports[2], ports[3], toServer.Addr()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	front := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	start := time.Now()
	hap := startServer(t, "haproxy", front(3), true, haproxy, "-db", "-f", conf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy's log:\n%s", hap.log.String())
		}
	})
	t.Logf("haproxy listening after %v", time.Since(start).Round(time.Millisecond))

	payloads := func(k int64, least int) [][]byte {
		return frames(seed+k, 300, func(r *rand.Rand) []byte { return randomBytes(r, max(least, sizeOf(r, 64<<10))) })
	}
	var headers [][]byte // every header seen or written, for Netty
	check := func(t *testing.T, name string, want proxyInfo, sent int) {
		t.Helper()
		var res proxied
		select {
		case res = <-results:
		case <-time.After(exchangeTimeout):
			t.Fatalf("%s: the server saw no connection end", name)
		}
		if len(res.header) > 0 {
			headers = append(headers, res.header)
		}
		got, err := parseProxy(res.header)
		switch {
		case res.err != nil:
			t.Errorf("%s: server: %v (header % x)", name, res.err, res.header)
		case res.kind != lengthprefix.KindProxy:
			t.Errorf("%s: first frame of kind %d, want KindProxy", name, res.kind)
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case got != want:
			t.Errorf("%s: header says %v, want %v", name, got, want)
		case res.frames != sent:
			t.Errorf("%s: server echoed %d frames, want %d", name, res.frames, sent)
		default:
			t.Logf("%s: %d-byte header %v, %d frames echoed", name, len(res.header), got, res.frames)
		}
	}

	// haproxy writes the header: the client dials it directly, so the
	// header must name the client's own address.
	for i, version := range []int{1, 2} {
		name := fmt.Sprintf("send-proxy v%d", version)
		t.Run(name, func(t *testing.T) {
			c, err := framing.Dial("tcp", front(i), lengthprefix.U32BE, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ps := payloads(int64(i), 0)
			exchangeOn(t, c, ps, seed+int64(i))
			local := c.LocalAddr().(*net.TCPAddr).AddrPort()
			c.Close()
			check(t, name, proxyInfo{version, local, netip.MustParseAddrPort(front(i)), version == 2}, len(ps))
		})
	}

	// framekit writes the header: haproxy must accept it and forward the
	// addresses it claims. The payloads are 1 byte or more: an empty
	// frame after the header is lost (the empty subtest below).
	tlv := []byte{0x04, 0x00, 0x03, 'a', 'b', 'c'} // PP2_TYPE_NOOP with 3 bytes
	for i, c := range []struct {
		name     string
		header   []byte
		frontend int
		out      int
	}{
		{"accept-proxy v1 TCP4", proxyV1(netip.MustParseAddrPort("192.0.2.1:56324"), netip.MustParseAddrPort("198.51.100.1:443")), 3, 2},
		{"accept-proxy v2 TCP4 with a TLV", proxyV2(netip.MustParseAddrPort("203.0.113.9:1"), netip.MustParseAddrPort("198.51.100.7:65535"), tlv), 2, 1},
		{"accept-proxy v1 TCP6", proxyV1(netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8:0:1::2]:8443")), 2, 1},
		{"accept-proxy v2 TCP6", proxyV2(netip.MustParseAddrPort("[2001:db8::17]:1234"), netip.MustParseAddrPort("[2001:db8::2:1]:443"), nil), 3, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			claimed, err := parseProxy(c.header)
			if err != nil {
				t.Fatalf("the test's own header: %v", err)
			}
			headers = append(headers, c.header)
			// The PROXY protocol's sender "must always ensure that the
			// header is sent at once" (doc/proxy-protocol.txt, section 2),
			// and haproxy 2.6 drops a connection whose first read holds
			// part of it ("Truncated PROXY protocol header received"), so
			// the proxy passes the client's writes on as they come (the
			// header is one WriteFrame) and re-cuts only haproxy's bytes.
			p := newProxyWith(t, front(c.frontend), &fuzz.ProxyOptions{Cut: fuzz.CutWhole(), Back: fuzz.CutRandom(seed+10+int64(i), 512), Hold: time.Millisecond})
			conn, err := framing.Dial("tcp", p.Addr(), headerFirst, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.WriteFrame(c.header); err != nil {
				t.Fatalf("writing the header: %v", err)
			}
			ps := payloads(10+int64(i), 0)
			exchangeOn(t, conn, ps, seed+10+int64(i))
			conn.Close()
			check(t, c.name, proxyInfo{c.out, claimed.src, claimed.dst, c.out == 2}, len(ps))
		})
	}

	// An empty frame after the header, written by NewProxyHeader's
	// encoder, must reach the server as an empty U32BE frame (00 00 00 00).
	t.Run("empty frames after the header", func(t *testing.T) {
		conn, err := framing.Dial("tcp", front(3), headerFirst, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		hdr := proxyV1(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"))
		ps := [][]byte{{}, []byte("after an empty frame"), {}}
		if err := conn.WriteFrames(append([][]byte{hdr}, ps...)); err != nil {
			t.Fatal(err)
		}
		conn.CloseWrite()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		var got [][]byte
		for {
			p, err := conn.ReadFrameOwned()
			if err != nil {
				break
			}
			got = append(got, p)
		}
		want := fmt.Sprintf("%q", ps)
		if fmt.Sprintf("%q", got) != want {
			t.Errorf("echoed %q, want %q: NewProxyHeader(U32BE).AppendFrame(dst, []byte{}) appends nothing (an empty payload passes as a complete PROXY header), where U32BE appends 00 00 00 00", got, ps)
		}
		check(t, "empty frames", proxyInfo{2, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"), true}, len(got))
	})

	// Netty 4.1's HAProxyMessageDecoder, fed each header in pieces of 1
	// to 7 bytes, reads the same addresses and ends the header where
	// framekit's frame ends.
	t.Run("Netty HAProxyMessageDecoder", func(t *testing.T) {
		var in bytes.Buffer
		for _, h := range headers {
			fmt.Fprintf(&in, "%x\n", h)
		}
		out := strings.Split(strings.TrimSpace(string(runPeerClient(t, time.Minute, in.Bytes(), nettyProxyDecoder(t)...))), "\n")
		if len(out) != len(headers) || len(headers) < 6 {
			t.Fatalf("Netty printed %d lines for %d headers: %q", len(out), len(headers), out)
		}
		for i, h := range headers {
			want, _ := parseProxy(h)
			f := strings.Fields(out[i])
			if len(f) != 7 || f[0] != "OK" {
				t.Errorf("header % x: Netty: %s", head(h), out[i])
				continue
			}
			src, err1 := netip.ParseAddrPort(net.JoinHostPort(f[2], f[3]))
			dst, err2 := netip.ParseAddrPort(net.JoinHostPort(f[4], f[5]))
			if got := (proxyInfo{version: int(f[1][0] - '0'), src: src, dst: dst, crc: want.crc}); errors.Join(err1, err2) != nil || got != want || f[6] != "FRAMEKIT" {
				t.Errorf("header %q: Netty read %s, framekit %v", h, out[i], want)
			}
		}
		t.Logf("Netty read the %d headers as framekit did", len(headers))
	})
}

// nettyProxyDecoder returns the java command line that runs
// testdata/netty/ProxyDecode.java, compiling it if its class is missing
// or older than its source.
func nettyProxyDecoder(t *testing.T) []string {
	t.Helper()
	var cp []string
	for _, j := range []string{"common", "buffer", "transport", "codec", "codec-haproxy"} {
		p := "/usr/share/java/netty-" + j + ".jar"
		if _, err := os.Stat(p); err != nil {
			peerMissing(t, "Netty 4.1 ("+p+")", "apt-get install libnetty-java default-jdk-headless")
		}
		cp = append(cp, p)
	}
	java := needPeer(t, "apt-get install default-jdk-headless", "java")
	dir := testdata(t, "netty")
	src := filepath.Join(dir, "ProxyDecode.java")
	build := filepath.Join(dir, "build")
	if stale(filepath.Join(build, "ProxyDecode.class"), src) {
		javac := needPeer(t, "apt-get install default-jdk-headless", "javac")
		run(t, dir, 2*time.Minute, javac, "-cp", strings.Join(cp, ":"), "-d", build, src)
	}
	return []string{java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", strings.Join(append([]string{build}, cp...), ":"), "ProxyDecode"}
}
