package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// jsonrpcMessages is how many requests and notifications each direction
// sends.
const jsonrpcMessages = 10000

// rpcText returns a string of about n UTF-8 bytes mixing 1- to 4-byte
// characters and bytes JSON escapes.
func rpcText(r *rand.Rand, n int) string {
	pieces := []string{"a", "é", "日", "😀", `"`, `\`, "\n", " "}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(pieces[r.Intn(len(pieces))])
	}
	return b.String()
}

// rpcSize: 1% exactly 1 MiB, 2% empty, most under 4 KiB, some to 64 KiB.
func rpcSize(r *rand.Rand) int {
	switch b := r.Intn(100); {
	case b < 1:
		return 1 << 20
	case b < 3:
		return 0
	case b < 60:
		return r.Intn(256)
	case b < 90:
		return r.Intn(4096)
	}
	return r.Intn(65536)
}

type rpcMessage struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   json.RawMessage  `json:"error,omitempty"`
}

type rpcParams struct {
	I int    `json:"i"`
	S string `json:"s"`
}

type rpcSummary struct {
	Count  int    `json:"count"`
	SHA256 string `json:"sha256"`
}

// jsonrpcPeer runs npm ci once and returns the peer's directory.
func jsonrpcPeer(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		missingPeer(t, "node", "apt-get install -y nodejs")
	}
	dir := "testdata/jsonrpc"
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "vscode-jsonrpc", "package.json")); err != nil {
		missingPeer(t, "vscode-jsonrpc", "(cd interop/testdata/jsonrpc && npm ci)")
	}
	return dir
}

// TestJSONRPCFramekitClient: a framekit client (textframe.LSP) sends
// 10,000 requests and notifications to a vscode-jsonrpc server through the
// re-cutting proxy, pipelined, and checks every echo and the server's
// digest of the notifications.
func TestJSONRPCFramekitClient(t *testing.T) {
	dir := jsonrpcPeer(t)
	seed := seedFor(t)
	p := startPeer(t, "vscode-jsonrpc server", dir, "node", "peer.mjs", "server")
	proxy := newProxy(t, p.listening(t)["jsonrpc"], seed)
	nc, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := framing.NewConn(nc, textframe.LSP, nil)
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	r := rand.New(rand.NewSource(seed))
	want := map[int][32]byte{}
	notes := sha256.New()
	noteCount := 0
	var msgs [][]byte
	for i := range jsonrpcMessages {
		s := rpcText(r, rpcSize(r))
		params, _ := json.Marshal(rpcParams{I: i, S: s})
		var m []byte
		if i%2 == 0 {
			m = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"echo","params":%s}`, i, params)
			want[i] = sha256.Sum256([]byte(s))
		} else {
			m = fmt.Appendf(nil, `{"jsonrpc":"2.0","method":"note","params":%s}`, params)
			notes.Write([]byte(s))
			noteCount++
		}
		msgs = append(msgs, m)
	}
	msgs = append(msgs, []byte(`{"jsonrpc":"2.0","id":-1,"method":"summary"}`))
	errc := make(chan error, 1)
	go func() { errc <- sendMixed(c, msgs, seed) }()
	answered, total := 0, len(want)+1
	for answered < total {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("after %d responses: %v; peer: %v", answered, err, p.matching("EXCEPTION"))
		}
		var m rpcMessage
		if err := json.Unmarshal(f, &m); err != nil || m.ID == nil || m.Error != nil {
			t.Fatalf("response %d: %q: %v", answered, clipStr(f), err)
		}
		id, _ := strconv.Atoi(string(*m.ID))
		answered++
		if id == -1 {
			var s rpcSummary
			if err := json.Unmarshal(m.Result, &s); err != nil {
				t.Fatal(err)
			}
			if s.Count != noteCount || s.SHA256 != hex.EncodeToString(notes.Sum(nil)) {
				t.Fatalf("summary %+v, sent %d notes %x", s, noteCount, notes.Sum(nil))
			}
			continue
		}
		var res rpcParams
		if err := json.Unmarshal(m.Result, &res); err != nil {
			t.Fatal(err)
		}
		w, ok := want[id]
		if !ok || res.I != id || sha256.Sum256([]byte(res.S)) != w {
			t.Fatalf("echo %d differs (%d bytes)", id, len(res.S))
		}
		delete(want, id)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(want) != 0 {
		t.Fatalf("%d requests unanswered", len(want))
	}
}

// TestJSONRPCFramekitServer: a vscode-jsonrpc client sends 10,000
// requests and notifications through the re-cutting proxy to a framekit
// server (textframe.LSP), which answers each request with its params and
// the final summary with its digest of the notifications.
func TestJSONRPCFramekitServer(t *testing.T) {
	dir := jsonrpcPeer(t)
	seed := seedFor(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		c := framing.NewConn(nc, textframe.LSP, nil)
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Minute))
		sum := sha256.New()
		count := 0
		for {
			f, err := c.ReadFrame()
			if errors.Is(err, io.EOF) {
				served <- nil
				return
			}
			if err != nil {
				served <- err
				return
			}
			var m rpcMessage
			if err := json.Unmarshal(f, &m); err != nil {
				served <- fmt.Errorf("message %q: %w", clipStr(f), err)
				return
			}
			var reply []byte
			switch m.Method {
			case "echo":
				reply = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`, *m.ID, m.Params)
			case "note":
				var p rpcParams
				if err := json.Unmarshal(m.Params, &p); err != nil {
					served <- err
					return
				}
				sum.Write([]byte(p.S))
				count++
				continue
			case "summary":
				res, _ := json.Marshal(rpcSummary{Count: count, SHA256: hex.EncodeToString(sum.Sum(nil))})
				reply = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`, *m.ID, res)
			default:
				served <- fmt.Errorf("unexpected message %q", clipStr(f))
				return
			}
			if err := c.WriteFrame(reply); err != nil {
				served <- err
				return
			}
		}
	}()
	proxy := newProxy(t, l.Addr().String(), seed)
	p := startPeer(t, "vscode-jsonrpc client", dir, "node", "peer.mjs", "client", proxy.Addr(), strconv.Itoa(jsonrpcMessages))
	if got := p.expect(t, "DONE ", 3*time.Minute); got != strconv.Itoa(jsonrpcMessages) {
		t.Fatalf("client: DONE %s", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the framekit server did not see the client close")
	}
}
