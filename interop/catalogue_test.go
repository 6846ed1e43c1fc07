package interop

// Issue 18's protocol catalogue against the real servers from Debian (and
// Node's own http2): each session runs client -> re-cutting proxy -> tap ->
// re-cutting proxy -> server. The tap frames each direction with the
// catalogue codec, records every frame's kind and first byte, and forwards
// what the codec's encoder makes of the frame, so a server that accepts the
// session accepted framekit's re-encoding, byte for byte.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// peerUser runs the servers that refuse root (interop/ci.sh creates it).
const peerUser = "framekit-peer"

// finalKind marks, in a tap's record, the Final frame that handed the
// stream over (ErrFinal), after which bytes pass unframed.
const finalKind = 1 << 31

// tapFrame is one frame a tap saw.
type tapFrame struct {
	kind uint32
	typ  byte // the frame's first byte (0 for an empty frame)
	b3   byte // its fourth byte (an HTTP/2 frame's type)
	size int
}

// tap frames both directions of every connection through it.
type tap struct {
	mu     sync.Mutex
	frames [2][]tapFrame // 0: client to server, 1: server to client
	errs   []error
	wg     sync.WaitGroup
}

func (tp *tap) record(dir int, f tapFrame) {
	tp.mu.Lock()
	tp.frames[dir] = append(tp.frames[dir], f)
	tp.mu.Unlock()
}

func (tp *tap) fail(err error) {
	tp.mu.Lock()
	tp.errs = append(tp.errs, err)
	tp.mu.Unlock()
}

// seen returns what the tap saw, once every connection through it ended.
func (tp *tap) seen(t *testing.T) [2][]tapFrame {
	t.Helper()
	done := make(chan struct{})
	go func() { tp.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("tap: connections still open 30 s after the session")
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, err := range tp.errs {
		t.Errorf("tap: %v", err)
	}
	return tp.frames
}

// types is the frames' first bytes as a string, Final hand-overs as '|'.
func types(fs []tapFrame) string {
	var b strings.Builder
	for _, f := range fs {
		if f.kind == finalKind {
			b.WriteByte('|')
			continue
		}
		b.WriteByte(f.typ)
	}
	return b.String()
}

// newTap starts a tap in front of upstream and returns the address
// clients dial (a re-cutting proxy in front of the tap).
func newTap(t *testing.T, upstream string, up, down framing.Codec) (string, *tap) {
	t.Helper()
	seed := seedFor(t)
	return newTapVia(t, newProxy(t, upstream, seed).Addr(), up, down, seed)
}

// newTapAligned is newTap for a server that cannot read a message cut
// into pieces: the tap's re-encoded frames, one write each, reach it
// whole (the client's bytes are re-cut before the tap, the server's
// before the tap and after it).
func newTapAligned(t *testing.T, upstream string, up, down framing.Codec) (string, *tap) {
	t.Helper()
	seed := seedFor(t)
	toServer := newProxyWith(t, upstream, &fuzz.ProxyOptions{Cut: fuzz.CutWhole(), Back: fuzz.CutRandom(seed+1, 512)})
	return newTapVia(t, toServer.Addr(), up, down, seed)
}

// newTapVia starts a tap whose connections go to toServer, behind a
// re-cutting proxy that clients dial.
func newTapVia(t *testing.T, toServer string, up, down framing.Codec, seed int64) (string, *tap) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{}
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.DialTimeout("tcp", toServer, 10*time.Second)
			if err != nil {
				tp.fail(err)
				c.Close()
				continue
			}
			conns.Store(c, true)
			conns.Store(s, true)
			tp.wg.Add(2)
			go tp.pump(0, s, c, up)
			go tp.pump(1, c, s, down)
		}
	}()
	return newProxy(t, ln.Addr().String(), seed+2).Addr(), tp
}

// pump frames src with codec, records each frame and writes its
// re-encoding to dst; after a Final frame it hands the rest over unframed.
func (tp *tap) pump(dir int, dst, src net.Conn, codec framing.Codec) {
	defer tp.wg.Done()
	r := framing.NewReader(src, codec, &framing.Options{MaxFrameSize: 64 << 20})
	var out []byte
	for {
		f, err := r.ReadFrame()
		if err == nil {
			tf := tapFrame{kind: r.Kind(), size: len(f)}
			if len(f) > 0 {
				tf.typ = f[0]
			}
			if len(f) > 3 {
				tf.b3 = f[3]
			}
			tp.record(dir, tf)
			if out, err = codec.AppendFrame(out[:0], f); err != nil {
				tp.fail(fmt.Errorf("direction %d: re-encoding a frame of %d bytes: %v", dir, len(f), err))
				break
			}
			if _, err := dst.Write(out); err != nil {
				break
			}
			continue
		}
		if errors.Is(err, framing.ErrFinal) {
			tp.record(dir, tapFrame{kind: finalKind})
			if _, err := dst.Write(r.Detach()); err == nil {
				io.Copy(dst, src)
			}
		} else if err != io.EOF && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
			tp.fail(fmt.Errorf("direction %d: %v", dir, err))
		}
		break
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// server is a peer process, its log, and how to stop it.
type server struct {
	cmd *exec.Cmd
	log lockedBuffer
}

// lockedBuffer is a bytes.Buffer that a process's output goroutine writes
// while the test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts argv (as peerUser when running as root, since some
// servers refuse root) in its own process group, killed when the test
// ends; it fails the test with the server's log if addr does not accept
// connections within 60 s.
func startServer(t *testing.T, name, addr string, asPeer bool, argv ...string) *server {
	t.Helper()
	return startServerIn(t, "", name, addr, asPeer, argv...)
}

// startServerIn is startServer in the working directory wd.
func startServerIn(t *testing.T, wd, name, addr string, asPeer bool, argv ...string) *server {
	t.Helper()
	return startServerWait(t, wd, name, addr, asPeer, 60*time.Second, argv...)
}

// startServerWait is startServerIn for a server that may take up to wait
// to listen.
func startServerWait(t *testing.T, wd, name, addr string, asPeer bool, wait time.Duration, argv ...string) *server {
	t.Helper()
	if asPeer && os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", peerUser, "--"}, argv...)
	}
	s := &server{cmd: exec.Command(argv[0], argv[1:]...)}
	s.cmd.Dir = wd
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		missingPeer(t, name+": "+err.Error(), "bash interop/ci.sh")
	}
	exited := make(chan struct{})
	go func() { s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s; its log:\n%s", name, addr, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within %v; its log:\n%s", name, addr, wait, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback port nobody listens on now, for the servers
// that cannot be told to bind port 0 and report it.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// peerDir is a temporary directory the peer user owns.
func peerDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "framekit-i18-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup(peerUser)
		if err != nil {
			missingPeer(t, "user "+peerUser, "bash interop/ci.sh")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// need fails (in CI) or skips when a program is missing.
func need(t *testing.T, install string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if strings.Contains(p, "*") {
			if m, _ := filepath.Glob(p); len(m) > 0 {
				return m[len(m)-1]
			}
			continue
		}
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	missingPeer(t, strings.Join(paths, " or "), install)
	return ""
}

// runPeerClient runs a client program with a time bound and returns its output.
func runPeerClient(t *testing.T, timeout time.Duration, stdin []byte, argv ...string) []byte {
	t.Helper()
	out, err := runClientErr(timeout, stdin, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runClientErr is runPeerClient for goroutines other than the test's: it
// returns what failed instead of failing the test.
func runClientErr(timeout time.Duration, stdin []byte, argv ...string) ([]byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, out.String(), errb.String())
		}
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("%s: no end within %v\nstderr:\n%s", strings.Join(argv, " "), timeout, errb.String())
	}
	return out.Bytes(), nil
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir, owned
// by the peer user (PostgreSQL insists on a private key file of its own).
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	if os.Geteuid() == 0 {
		u, _ := user.Lookup(peerUser)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(certFile, uid, gid)
		os.Chown(keyFile, uid, gid)
	}
	return certFile, keyFile
}

// collapse writes runs of a byte as "X*n" (n > 1), so that message
// sequences read as the protocol's shape.
func collapse(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		b.WriteByte(s[i])
		if j-i > 1 {
			fmt.Fprintf(&b, "*%d", j-i)
		}
		i = j
	}
	return b.String()
}

// TestPostgresPsql: psql against PostgreSQL through the tap with
// PostgresFrontend and PostgresBackend: in clear, the exact sequence of
// message types each way; with sslmode=require, the SSLRequest, the 'S'
// answer and the hand-over to TLS at the right byte (the session works).
func TestPostgresPsql(t *testing.T) {
	bin := need(t, "apt-get install postgresql", "/usr/lib/postgresql/*/bin/postgres")
	initdb := filepath.Join(filepath.Dir(bin), "initdb")
	psql := need(t, "apt-get install postgresql-client", "psql")
	dir := peerDir(t)
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", "-u", peerUser, "--", initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	cert, key := selfSigned(t, dir)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "postgres", addr, true, bin, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "ssl=on", "-c", "ssl_cert_file="+cert, "-c", "ssl_key_file="+key, "-c", "fsync=off")

	clientAddr, tp := newTap(t, addr, lengthprefix.PostgresFrontend, lengthprefix.PostgresBackend)
	host, p, _ := net.SplitHostPort(clientAddr)
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres gssencmode=disable", host, p)
	out := runPeerClient(t, 60*time.Second, nil, psql, conn+" sslmode=disable", "-X", "-A", "-t",
		"-c", "create table t (i int)",
		"-c", "insert into t select generate_series(1, 100)",
		"-c", "select count(*) from t",
		"-c", "select i from t order by i")
	var want strings.Builder
	want.WriteString("CREATE TABLE\nINSERT 0 100\n100\n")
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if string(out) != want.String() {
		t.Errorf("psql printed %q, want %q", out, want.String())
	}
	seen := tp.seen(t)
	// The frontend: the startup message (untyped: its first byte is the
	// length's 0x00), four simple queries, Terminate.
	if got := types(seen[0]); got != "\x00QQQQX" || seen[0][0].kind != lengthprefix.KindStartup {
		t.Errorf("frontend messages %q (first kind %d), want the startup message, Q Q Q Q, X", got, seen[0][0].kind)
	}
	// The backend: AuthenticationOk, ParameterStatus messages (how many
	// depends on the server's version), BackendKeyData, ReadyForQuery,
	// then per query its CommandComplete, RowDescription and DataRows,
	// and ReadyForQuery.
	got := collapse(types(seen[1]))
	if i := strings.Index(got, "S*"); i != 1 || !strings.HasPrefix(got, "RS*") {
		t.Errorf("backend messages %q: want R, then ParameterStatus messages", got)
	} else if rest := got[strings.IndexByte(got, 'K'):]; rest != "KZCZCZTDCZTD*100CZ" {
		t.Errorf("backend messages %q: after the ParameterStatus messages %q, want KZCZCZTDCZTD*100CZ", got, rest)
	}

	clear := fmt.Sprintf("frontend %q, backend %q", types(seen[0]), got)

	// sslmode=require: SSLRequest (Final), 'S' (Final), then TLS.
	clientAddr, tp = newTap(t, addr, lengthprefix.PostgresFrontend, lengthprefix.PostgresBackend)
	host, p, _ = net.SplitHostPort(clientAddr)
	conn = fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres gssencmode=disable sslmode=require", host, p)
	out = runPeerClient(t, 60*time.Second, nil, psql, conn, "-X", "-A", "-t", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
	if string(out) != "t\n" {
		t.Errorf("psql over TLS printed %q, want the server to report TLS", out)
	}
	seen = tp.seen(t)
	if len(seen[0]) != 2 || seen[0][0].kind != lengthprefix.KindSSLRequest || seen[0][0].size != 8 || seen[0][1].kind != finalKind {
		t.Errorf("frontend: %+v, want the 8-byte SSLRequest, then the hand-over", seen[0])
	}
	if len(seen[1]) != 2 || seen[1][0].kind != lengthprefix.KindSSLAccepted || seen[1][0].typ != 'S' || seen[1][1].kind != finalKind {
		t.Errorf("backend: %+v, want 'S', then the hand-over", seen[1])
	}
	t.Logf("in clear: %s; with TLS: frontend %+v, backend %+v", clear, seen[0], seen[1])
}

// TestMosquitto: mosquitto_pub and mosquitto_sub against mosquitto through
// the tap with MQTT both ways: QoS 0, 1 and 2, payloads of 0 B to 1 MiB.
func TestMosquitto(t *testing.T) {
	broker := need(t, "apt-get install mosquitto", "mosquitto", "/usr/sbin/mosquitto")
	pub := need(t, "apt-get install mosquitto-clients", "mosquitto_pub")
	sub := need(t, "apt-get install mosquitto-clients", "mosquitto_sub")
	dir := peerDir(t)
	port := freePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmessage_size_limit 0\n", port)), 0o644)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "mosquitto", addr, true, broker, "-c", conf)
	clientAddr, tp := newTap(t, addr, lengthprefix.MQTT, lengthprefix.MQTT)
	host, p, _ := net.SplitHostPort(clientAddr)

	r := mrand.New(mrand.NewSource(seedFor(t)))
	sizes := []int{0, 1, 1000, 64 << 10, 1 << 20}
	for qos := 0; qos <= 2; qos++ {
		var want []byte
		payloads := make([][]byte, len(sizes))
		for i, n := range sizes {
			payloads[i] = randomBytes(r, n)
			want = append(want, payloads[i]...)
		}
		topic := fmt.Sprintf("framekit/q%d", qos)
		subCmd := exec.Command(sub, "-h", host, "-p", p, "-t", topic, "-q", strconv.Itoa(qos), "-C", strconv.Itoa(len(sizes)), "-N", "-W", "60")
		var got, serr bytes.Buffer
		subCmd.Stdout, subCmd.Stderr = &got, &serr
		if err := subCmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Publish once the subscription is acknowledged (SUBACK, 0x90).
		deadline := time.Now().Add(30 * time.Second)
		for !tp.saw(1, 0x90, qos) {
			if time.Now().After(deadline) {
				subCmd.Process.Kill()
				subCmd.Wait()
				t.Fatalf("no SUBACK for %s; mosquitto_sub: %s", topic, serr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, pl := range payloads {
			args := []string{pub, "-h", host, "-p", p, "-t", topic, "-q", strconv.Itoa(qos), "-s"}
			if len(pl) == 0 {
				args = []string{pub, "-h", host, "-p", p, "-t", topic, "-q", strconv.Itoa(qos), "-n"}
			}
			runPeerClient(t, 60*time.Second, pl, args...)
		}
		if err := subCmd.Wait(); err != nil {
			t.Fatalf("mosquitto_sub: %v: %s", err, serr.String())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("QoS %d: the subscriber got %d bytes, want the %d published", qos, got.Len(), len(want))
		}
	}
	seen := tp.seen(t)
	count := func(dir int, typ byte) int {
		n := 0
		for _, f := range seen[dir] {
			if f.typ&0xF0 == typ {
				n++
			}
		}
		return n
	}
	// PUBLISH each way (to the broker from publishers, from it to the
	// subscriber), PUBACK for QoS 1, PUBREC/PUBREL/PUBCOMP for QoS 2.
	for _, c := range []struct {
		name    string
		dir     int
		typ     byte
		atLeast int
	}{
		{"PUBLISH to the broker", 0, 0x30, 3 * len(sizes)}, {"PUBLISH from the broker", 1, 0x30, 3 * len(sizes)},
		{"PUBACK", 0, 0x40, len(sizes)}, {"PUBREC", 0, 0x50, len(sizes)}, {"PUBREL", 0, 0x60, len(sizes)}, {"PUBCOMP", 0, 0x70, len(sizes)},
	} {
		if n := count(c.dir, c.typ); n < c.atLeast {
			t.Errorf("%s: %d packets, want at least %d", c.name, n, c.atLeast)
		}
	}
	largest := 0
	for _, f := range seen[1] {
		largest = max(largest, f.size)
	}
	if largest < 1<<20 {
		t.Errorf("largest packet from the broker %d bytes, want over 1 MiB", largest)
	}
}

// saw reports whether the tap has seen at least n+1 frames of type typ
// (the high nibble, MQTT's packet type) in direction dir.
func (tp *tap) saw(dir int, typ byte, n int) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	k := 0
	for _, f := range tp.frames[dir] {
		if f.typ&0xF0 == typ {
			k++
		}
	}
	return k > n
}

// TestOpenSSLRecords: openssl s_client fetches 10 MiB from openssl
// s_server (its -WWW file server) through the tap with TLSRecord both
// ways: the handshake and the data are whole records, and the client gets
// every byte.
func TestOpenSSLRecords(t *testing.T) {
	openssl := need(t, "apt-get install openssl", "openssl")
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	data := randomBytes(mrand.New(mrand.NewSource(seedFor(t))), 10<<20)
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServerIn(t, dir, "openssl s_server", addr, false, openssl, "s_server", "-accept", addr, "-cert", cert, "-key", key, "-WWW", "-quiet")
	clientAddr, tp := newTap(t, addr, lengthprefix.TLSRecord, lengthprefix.TLSRecord)
	out := runPeerClient(t, 120*time.Second, []byte("GET /data.bin HTTP/1.0\r\n\r\n"), openssl, "s_client", "-connect", clientAddr, "-quiet")
	if !bytes.HasSuffix(out, data) {
		t.Errorf("s_client printed %d bytes, not ending with the 10 MiB file", len(out))
	}
	seen := tp.seen(t)
	appData := [2]int{}
	for dir := range seen {
		for _, f := range seen[dir] {
			switch f.typ {
			case 0x14, 0x15, 0x16:
			case 0x17:
				appData[dir] += f.size - 5
			default:
				t.Fatalf("a record of content type %#x", f.typ)
			}
		}
	}
	if seen[0][0].typ != 0x16 || seen[1][0].typ != 0x16 || appData[1] < 10<<20 {
		t.Errorf("client records start with %#x, server's with %#x; %d bytes of application data records from the server, want the handshake then over 10 MiB",
			seen[0][0].typ, seen[1][0].typ, appData[1])
	}
	t.Logf("%d records from the client, %d from the server (%d bytes of application data)", len(seen[0]), len(seen[1]), appData[1])
}

// TestMemcachedBinary: set and get values of 0 B to 1 MiB against
// memcached through the tap (MemcachedRequest up, MemcachedResponse
// down), the requests written by framekit with the length filled in.
func TestMemcachedBinary(t *testing.T) {
	mc := need(t, "apt-get install memcached", "memcached")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "memcached", addr, true, mc, "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-I", "4m")
	clientAddr, tp := newTap(t, addr, lengthprefix.MemcachedRequest, lengthprefix.MemcachedResponse)
	nc, err := net.Dial("tcp", clientAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	w := framing.NewWriter(nc, lengthprefix.MemcachedRequest, nil)
	rd := framing.NewReader(nc, lengthprefix.MemcachedResponse, &framing.Options{MaxFrameSize: 8 << 20})
	req := func(op byte, key string, extras, value []byte) []byte {
		h := make([]byte, 24, 24+len(extras)+len(key)+len(value))
		h[0], h[1] = 0x80, op
		h[2], h[3] = byte(len(key)>>8), byte(len(key))
		h[4] = byte(len(extras))
		return append(append(append(h, extras...), key...), value...)
	}
	r := mrand.New(mrand.NewSource(seedFor(t)))
	sizes := []int{0, 1, 100, 4 << 10, 64 << 10, 1 << 20}
	for _, n := range sizes {
		key := fmt.Sprintf("k%d", n)
		val := randomBytes(r, n)
		if err := w.WriteFrame(req(0x01, key, make([]byte, 8), val)); err != nil {
			t.Fatal(err)
		}
		resp, err := rd.ReadFrame()
		if err != nil || resp[1] != 0x01 || resp[6] != 0 || resp[7] != 0 {
			t.Fatalf("set %d bytes: % x, %v", n, resp[:min(len(resp), 24)], err)
		}
		if err := w.WriteFrame(req(0x00, key, nil, nil)); err != nil {
			t.Fatal(err)
		}
		resp, err = rd.ReadFrame()
		if err != nil || resp[1] != 0x00 || resp[6] != 0 || resp[7] != 0 || resp[4] != 4 {
			t.Fatalf("get %d bytes: % x, %v", n, resp[:min(len(resp), 24)], err)
		}
		if got := resp[24+4:]; !bytes.Equal(got, val) {
			t.Errorf("get: %d bytes back for a value of %d", len(got), n)
		}
	}
	nc.Close()
	seen := tp.seen(t)
	if len(seen[0]) != 2*len(sizes) || len(seen[1]) != 2*len(sizes) {
		t.Errorf("tap saw %d requests and %d responses, want %d each", len(seen[0]), len(seen[1]), 2*len(sizes))
	}
}

// TestMariaDBContinuation: the mariadb client reads a row of 17,000,000
// bytes (over 16 MiB, so the server sends it in continued packets) through
// the tap with MySQL both ways: the row is one frame, and the client gets
// it whole from the re-encoded packets.
func TestMariaDBContinuation(t *testing.T) {
	mariadbd := need(t, "apt-get install mariadb-server", "mariadbd", "/usr/sbin/mariadbd")
	installDB := need(t, "apt-get install mariadb-server", "mariadb-install-db", "mysql_install_db")
	client := need(t, "apt-get install mariadb-client", "mariadb", "mysql")
	dir := peerDir(t)
	data := filepath.Join(dir, "data")
	cmd := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal", "--skip-test-db")
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", "-u", peerUser, "--", installDB, "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal", "--skip-test-db")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "mariadbd", addr, true, mariadbd, "--no-defaults", "--datadir="+data, "--socket="+filepath.Join(dir, "sock"),
		"--bind-address=127.0.0.1", "--port="+strconv.Itoa(port), "--max-allowed-packet=64M", "--skip-grant-tables",
		"--skip-ssl", "--pid-file="+filepath.Join(dir, "pid"), "--log-error="+filepath.Join(dir, "err.log"))
	clientAddr, tp := newTap(t, addr, lengthprefix.MySQL, lengthprefix.MySQL)
	host, p, _ := net.SplitHostPort(clientAddr)
	const n = 17_000_000
	out := runPeerClient(t, 120*time.Second, nil, client, "--no-defaults", "-h", host, "-P", p, "-u", "root", "--skip-ssl", "--protocol=tcp",
		"--max-allowed-packet=64M", "-N", "-B", "-e", fmt.Sprintf("select repeat('x', %d), 'end'", n))
	if want := strings.Repeat("x", n) + "\tend\n"; string(out) != want {
		t.Errorf("the client printed %d bytes, want the %d-byte row", len(out), len(want))
	}
	seen := tp.seen(t)
	largest := 0
	for _, f := range seen[1] {
		largest = max(largest, f.size)
	}
	if largest <= 0xFFFFFF {
		t.Errorf("largest message from the server %d bytes, want one over 16 MiB (continued packets joined)", largest)
	}
}

// http2Peer is Node's built-in http2: a cleartext server that answers
// every request with its path, and a client that makes count requests.
const http2Peer = `
const http2 = require('http2');
const [mode, arg, count] = process.argv.slice(2);
if (mode === 'server') {
  const s = http2.createServer();
  s.on('stream', (st, h) => { st.respond({':status': 200}); st.end(h[':path']); });
  s.listen(0, '127.0.0.1', () => console.log('PORT ' + s.address().port));
  process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
} else {
  const c = http2.connect('http://' + arg);
  let done = 0, ok = 0;
  for (let i = 0; i < +count; i++) {
    const r = c.request({':path': '/' + i});
    let body = '';
    r.setEncoding('utf8');
    r.on('data', d => body += d);
    r.on('end', () => { if (body === '/' + i) ok++; if (++done === +count) { console.log('OK ' + ok); c.close(); } });
  }
}
`

// TestNodeHTTP2: Node's http2 client makes 1,000 requests to Node's http2
// server in clear through the tap (HTTP2Client up: the preface, then
// frames; HTTP2Frame down).
func TestNodeHTTP2(t *testing.T) {
	node := need(t, "apt-get install nodejs", "node")
	dir := t.TempDir()
	script := filepath.Join(dir, "h2.js")
	os.WriteFile(script, []byte(http2Peer), 0o644)
	srv := exec.Command(node, script, "server")
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	var serr bytes.Buffer
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); srv.Process.Kill(); srv.Wait() })
	line := make([]byte, 64)
	n, _ := stdout.Read(line)
	var port int
	if _, err := fmt.Sscanf(string(line[:n]), "PORT %d", &port); err != nil {
		t.Fatalf("node http2 server: %q %v; stderr:\n%s", line[:n], err, serr.String())
	}
	clientAddr, tp := newTap(t, fmt.Sprintf("127.0.0.1:%d", port), lengthprefix.HTTP2Client, lengthprefix.HTTP2Frame)
	out := runPeerClient(t, 120*time.Second, nil, node, script, "client", clientAddr, "1000")
	if strings.TrimSpace(string(out)) != "OK 1000" {
		t.Errorf("client: %q, want OK 1000", out)
	}
	seen := tp.seen(t)
	count := func(dir int, typ byte) int {
		n := 0
		for _, f := range seen[dir] {
			if f.kind == lengthprefix.KindMessage && f.b3 == typ {
				n++
			}
		}
		return n
	}
	// HEADERS (type 1): one per request, one per response.
	if len(seen[0]) == 0 || seen[0][0].kind != lengthprefix.KindPreamble || seen[0][0].size != 24 ||
		count(0, 1) != 1000 || count(1, 1) != 1000 || count(1, 0) < 1000 {
		t.Errorf("first frame %+v; %d HEADERS frames from the client, %d HEADERS and %d DATA from the server; want the 24-byte preface, then 1,000 HEADERS each way and a DATA frame per response",
			seen[0][:min(1, len(seen[0]))], count(0, 1), count(1, 1), count(1, 0))
	}
}
