package interop

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// TestRsyslogOctetCounting: Debian's rsyslogd forwards messages with
// RFC 6587 octet-counted framing (omfwd TCP_Framing="octet-counted")
// through the re-cutting proxy to a framekit listener
// (textframe.OctetCounting). The messages hold line feeds, which only
// octet counting carries intact; each must arrive whole, in order.
func TestRsyslogOctetCounting(t *testing.T) {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		missingPeer(t, "rsyslogd", "apt-get install -y rsyslog")
	}
	seed := seedFor(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	proxy := newProxy(t, l.Addr().String(), seed)
	_, port, _ := net.SplitHostPort(proxy.Addr())
	dir := t.TempDir()
	sock := filepath.Join(dir, "log.sock")
	conf := fmt.Sprintf(`global(workDirectory=%q parser.escapeControlCharactersOnReceive="off" parser.dropTrailingLFOnReception="off" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q RateLimit.Interval="0")
template(name="msgonly" type="string" string="%%msg%%")
action(type="omfwd" target="127.0.0.1" port=%q protocol="tcp" TCP_Framing="octet-counted" template="msgonly")
`, dir, sock, port)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startPeer(t, "rsyslogd", dir, bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	for end := time.Now().Add(20 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("rsyslogd did not create its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	us, err := net.Dial("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer us.Close()
	r := rand.New(rand.NewSource(seed))
	const count = 2000
	want := make([]string, count)
	for i := range want {
		var b strings.Builder
		fmt.Fprintf(&b, "m%d", i)
		for range r.Intn(40) {
			b.WriteString([]string{" word", "\nsecond line", " é日", " 12 digits 34", "\r\n"}[r.Intn(5)])
		}
		want[i] = b.String()
	}
	go func() {
		for i, m := range want {
			if _, err := fmt.Fprintf(us, "<13>framekit[%d]: %s", i, m); err != nil {
				return
			}
		}
	}()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(time.Minute))
	nc, err := l.Accept()
	if err != nil {
		t.Fatalf("rsyslogd did not connect: %v", err)
	}
	c := framing.NewConn(nc, textframe.OctetCounting, nil)
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	lf := 0
	for i, w := range want {
		f, err := c.ReadFrame()
		if errors.Is(err, io.EOF) {
			t.Fatalf("connection ended after %d of %d messages", i, count)
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := strings.TrimPrefix(string(f), " "); got != w {
			t.Fatalf("message %d: %q, want %q", i, f, w)
		}
		lf += strings.Count(w, "\n")
	}
	t.Logf("%d messages holding %d line feeds, octet-counted, whole and in order", count, lf)
}
