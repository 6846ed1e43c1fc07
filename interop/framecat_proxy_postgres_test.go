package interop

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// framecatProxy is a running `framecat proxy`, its stdout kept.
type framecatProxy struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	out  bytes.Buffer
	errb bytes.Buffer
	done chan struct{}
}

func (p *framecatProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// startFramecatProxy runs framecat proxy 127.0.0.1:0 upstream args...
// and waits for its "listening on" line; it is killed at the end of the
// test if it still runs.
func startFramecatProxy(t *testing.T, upstream string, args ...string) *framecatProxy {
	t.Helper()
	bin, err := buildFramecat()
	if err != nil {
		t.Fatal(err)
	}
	p := &framecatProxy{done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"proxy", "127.0.0.1:0", upstream}, args...)...)
	p.cmd.Stdout = p
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for n := 0; sc.Scan(); n++ {
			if n == 0 {
				first <- sc.Text()
			}
			p.mu.Lock()
			p.errb.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("framecat proxy: first line %q", line)
		}
		p.addr = addr
	case <-time.After(20 * time.Second):
		t.Fatal("framecat proxy: no \"listening on\" line")
	}
	return p
}

// waitFor waits (10 s at most) until the records printed so far satisfy
// done: psql may exit before the proxy has printed the last frames it
// relayed, or seen the other side close.
func (p *framecatProxy) waitFor(t *testing.T, done func(map[string][]proxyRecord) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		out := p.out.String()
		p.mu.Unlock()
		if out != "" && done(proxyRecords(t, out[:strings.LastIndexByte(out, '\n')+1])) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the proxy (SIGTERM) and returns its stdout and stderr.
func (p *framecatProxy) stop(t *testing.T) (stdout, stderr string) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("framecat proxy did not exit on SIGTERM")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String(), p.errb.String()
}

// proxyRecord is a line of framecat proxy -f json: a frame, or an event
// ("final", "unframed").
type proxyRecord struct {
	Event  string `json:"event"`
	Len    int    `json:"len"`
	Hex    string `json:"hex"`
	Dir    string `json:"dir"`
	Kind   string `json:"kind"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
}

// proxyRecords parses framecat proxy's JSON lines, per direction.
func proxyRecords(t *testing.T, out string) map[string][]proxyRecord {
	t.Helper()
	m := map[string][]proxyRecord{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r proxyRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("framecat proxy line %q: %v", line, err)
		}
		m[r.Dir] = append(m[r.Dir], r)
	}
	return m
}

// typeLetters is the first byte of each frame of rs (a message's type
// letter; 0x00 for an untyped message), "!" for an event.
func typeLetters(rs []proxyRecord) string {
	var b strings.Builder
	for _, r := range rs {
		h, _ := hex.DecodeString(r.Hex)
		switch {
		case r.Event != "":
			b.WriteByte('!')
		case len(h) > 0:
			b.WriteByte(h[0])
		}
	}
	return b.String()
}

// TestFramecatProxyPostgres: psql against PostgreSQL 15 through
// `framecat proxy -c postgres` (which also re-cuts both directions into
// pieces of 1 to 7 bytes): with sslmode=disable, the exact sequence of
// message types each way from framecat's JSON output; with
// sslmode=require, the SSLRequest, the 'S' answer and the hand-over are
// reported, and psql still works over the TLS relayed unframed; with
// sslmode=prefer against a server with ssl=off, the SSLRequest, the 'N'
// answer, framing resumed, and the exact message types after it.
func TestFramecatProxyPostgres(t *testing.T) {
	bin := need(t, "apt-get install postgresql", "/usr/lib/postgresql/*/bin/postgres")
	initdb := filepath.Join(filepath.Dir(bin), "initdb")
	psql := need(t, "apt-get install postgresql-client", "psql")
	dir := peerDir(t)
	data := filepath.Join(dir, "data")
	argv := []string{initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"}
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", peerUser, "--"}, argv...)
	}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	cert, key := selfSigned(t, dir)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "postgres", addr, true, bin, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "ssl=on", "-c", "ssl_cert_file="+cert, "-c", "ssl_key_file="+key, "-c", "fsync=off")

	p := startFramecatProxy(t, addr, "-c", "postgres", "-f", "json", "--recut", "7")
	host, pp, _ := net.SplitHostPort(p.addr)
	conn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres gssencmode=disable", host, pp)
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
		t.Errorf("psql through framecat proxy printed %q, want %q", out, want.String())
	}
	p.waitFor(t, func(m map[string][]proxyRecord) bool {
		return strings.HasSuffix(typeLetters(m["c>s"]), "X") && strings.HasSuffix(typeLetters(m["s>c"]), "CZ")
	})
	stdout, stderr := p.stop(t)
	recs := proxyRecords(t, stdout)
	// The frontend: the startup message (untyped: its first byte is the
	// length's 0x00), four simple queries, Terminate; no hand-over.
	fe := recs["c>s"]
	if got := typeLetters(fe); got != "\x00QQQQX" || fe[0].Kind != "startup" {
		t.Errorf("frontend messages %q (first kind %q), want the startup message, Q Q Q Q, X", got, fe[0].Kind)
	}
	// The backend: AuthenticationOk, ParameterStatus messages (how many
	// depends on the server's version), BackendKeyData, ReadyForQuery,
	// then per query its CommandComplete, RowDescription and DataRows,
	// and ReadyForQuery.
	got := collapse(typeLetters(recs["s>c"]))
	if i := strings.Index(got, "S*"); i != 1 || !strings.HasPrefix(got, "RS*") {
		t.Errorf("backend messages %q: want R, then ParameterStatus messages", got)
	} else if rest := got[strings.IndexByte(got, 'K'):]; rest != "KZCZCZTDCZTD*100CZ" {
		t.Errorf("backend messages %q: after the ParameterStatus messages %q, want KZCZCZTDCZTD*100CZ", got, rest)
	}
	if strings.Contains(stderr, "stops decoding") {
		t.Errorf("framecat proxy stderr: %s", stderr)
	}
	clear := fmt.Sprintf("frontend %q, backend %q", typeLetters(fe), got)

	// sslmode=require: SSLRequest (final), 'S' (final), then TLS relayed
	// unframed.
	p = startFramecatProxy(t, addr, "-c", "postgres", "-f", "json", "--recut", "7")
	host, pp, _ = net.SplitHostPort(p.addr)
	conn = fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres gssencmode=disable sslmode=require", host, pp)
	out = runPeerClient(t, 60*time.Second, nil, psql, conn, "-X", "-A", "-t", "-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
	if string(out) != "t\n" {
		t.Errorf("psql over TLS through framecat proxy printed %q, want the server to report TLS", out)
	}
	p.waitFor(t, func(m map[string][]proxyRecord) bool {
		return len(m["c>s"]) == 3 && len(m["s>c"]) == 3
	})
	stdout, stderr = p.stop(t)
	recs = proxyRecords(t, stdout)
	for _, c := range []struct {
		dir, kind, hex string
		at             int64
	}{{"c>s", "ssl-request", "0000000804d2162f", 8}, {"s>c", "ssl-accepted", "53", 1}} {
		rs := recs[c.dir]
		if len(rs) != 3 || rs[0].Kind != c.kind || rs[0].Hex != c.hex ||
			rs[1].Event != "final" || rs[1].Offset != c.at ||
			rs[2].Event != "unframed" || rs[2].Offset != c.at || rs[2].Bytes < 100 {
			t.Errorf("%s: %+v, want the %s frame %s, the final event at offset %d, then the TLS bytes relayed unframed", c.dir, rs, c.kind, c.hex, c.at)
		}
	}
	if strings.Contains(stderr, "stops decoding") {
		t.Errorf("framecat proxy stderr: %s", stderr)
	}
	t.Logf("in clear: %s; with TLS: frontend %+v, backend %+v", clear, recs["c>s"], recs["s>c"])

	// sslmode=prefer against a second server with ssl=off: it answers the
	// SSLRequest 'N', psql goes on in clear, and so does framecat's
	// framing: "resumed" after the request, then the startup message and
	// the session, each message type in order.
	data = filepath.Join(dir, "data-nossl")
	argv = []string{initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"}
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", peerUser, "--"}, argv...)
	}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port = freePort(t)
	noSSL := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "postgres (ssl=off)", noSSL, true, bin, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "ssl=off", "-c", "fsync=off")
	p = startFramecatProxy(t, noSSL, "-c", "postgres", "-f", "json", "--recut", "7")
	host, pp, _ = net.SplitHostPort(p.addr)
	conn = fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres gssencmode=disable sslmode=prefer", host, pp)
	out = runPeerClient(t, 60*time.Second, nil, psql, conn, "-X", "-A", "-t",
		"-c", "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
		"-c", "select i from generate_series(1, 3) i")
	if string(out) != "f\n1\n2\n3\n" {
		t.Errorf("psql sslmode=prefer through framecat proxy printed %q, want the server to report no TLS, then 1 2 3", out)
	}
	p.waitFor(t, func(m map[string][]proxyRecord) bool {
		return strings.HasSuffix(typeLetters(m["c>s"]), "X") && strings.HasSuffix(typeLetters(m["s>c"]), "CZ")
	})
	stdout, stderr = p.stop(t)
	recs = proxyRecords(t, stdout)
	fe = recs["c>s"]
	if got := typeLetters(fe); got != "\x00!\x00QQX" ||
		fe[0].Kind != "ssl-request" || fe[0].Hex != "0000000804d2162f" ||
		fe[1].Event != "resumed" || fe[1].Offset != 8 || fe[2].Kind != "startup" {
		t.Errorf("frontend %+v: want the SSLRequest, framing resumed at offset 8, the startup message, Q Q X", fe)
	}
	be := recs["s>c"]
	got = collapse(typeLetters(be))
	if len(be) == 0 || be[0].Kind != "ssl-refused" || be[0].Hex != "4e" {
		t.Errorf("backend %+v: want the 'N' answer first", be)
	} else if i := strings.Index(got, "S*"); i != 2 || !strings.HasPrefix(got, "NRS*") {
		t.Errorf("backend messages %q: want N, R, then ParameterStatus messages", got)
	} else if rest := got[strings.IndexByte(got, 'K'):]; rest != "KZTDCZTD*3CZ" {
		t.Errorf("backend messages %q: after the ParameterStatus messages %q, want KZTDCZTD*3CZ", got, rest)
	}
	for _, r := range append(fe, be...) {
		if r.Event == "final" || r.Event == "unframed" {
			t.Errorf("%s: %+v: nothing is relayed unframed after 'N'", r.Dir, r)
		}
	}
	if strings.Contains(stderr, "stops decoding") {
		t.Errorf("framecat proxy stderr: %s", stderr)
	}
	t.Logf("SSL refused: frontend %q, backend %q", typeLetters(fe), got)
}
