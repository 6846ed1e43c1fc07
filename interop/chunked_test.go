package interop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/textproto"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// headCodec reads an HTTP/1.1 message head: everything up to the empty
// line, kept.
var headCodec = func() *delimiter.Codec {
	c, err := delimiter.New(delimiter.Config{Delimiters: [][]byte{[]byte("\r\n\r\n")}, KeepDelimiter: true})
	if err != nil {
		panic(err)
	}
	return c
}()

// readHead reads one message head from rd with framekit and returns it,
// parsed, and the bytes read after it.
func readHead(rd io.Reader) (textproto.MIMEHeader, string, []byte, error) {
	r := framing.NewReader(rd, headCodec, nil)
	head, err := r.ReadFrame()
	if err != nil {
		return nil, "", nil, err
	}
	status, rest, _ := strings.Cut(string(head), "\r\n")
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(rest))).ReadMIMEHeader()
	if err != nil {
		return nil, "", nil, fmt.Errorf("head %q: %w", head, err)
	}
	return h, status, r.Detach(), nil
}

// TestNodeChunked: Node's http server writes chunked responses on one
// kept-alive connection through the re-cutting proxy; a framekit client
// reads each head, then the body with textframe.HTTPChunked (one frame per
// chunk, the last chunk final with its trailers), and with Detach goes on
// to the next response, which must start intact right after the body.
func TestNodeChunked(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		missingPeer(t, "node", "apt-get install -y nodejs")
	}
	seed := seedFor(t)
	p := startPeer(t, "node chunked", "testdata/node", "node", "chunked.mjs")
	addr := p.listening(t)["chunked"]
	proxy := newProxy(t, addr, seed)
	nc, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	r := rand.New(rand.NewSource(seed))
	const responses = 200
	var pending []byte // read after the last body, not yet framed
	chunksTotal, trailers := 0, 0
	for i := range responses {
		n := 1 + r.Intn(24)
		fmt.Fprintf(nc, "GET /?chunks=%d HTTP/1.1\r\nHost: peer\r\n\r\n", n)
		h, status, rest, err := readHead(io.MultiReader(bytes.NewReader(pending), nc))
		if err != nil {
			t.Fatalf("response %d: head: %v", i, err)
		}
		if status != "HTTP/1.1 200 OK" || h.Get("Transfer-Encoding") != "chunked" {
			t.Fatalf("response %d: %q, Transfer-Encoding %q", i, status, h.Get("Transfer-Encoding"))
		}
		body := framing.NewReader(io.MultiReader(bytes.NewReader(rest), nc), textframe.HTTPChunked, nil)
		sum := sha256.New()
		chunks := 0
		var last []byte
		for {
			f, err := body.ReadFrame()
			if errors.Is(err, framing.ErrFinal) {
				break
			}
			if err != nil {
				t.Fatalf("response %d: chunk %d: %v", i, chunks, err)
			}
			if body.Kind() == textframe.ChunkLast {
				last = append([]byte(nil), f...)
				continue
			}
			sum.Write(f)
			chunks++
		}
		pending = body.Detach()
		if got := hex.EncodeToString(sum.Sum(nil)); got != h.Get("X-Body-Sha256") {
			t.Fatalf("response %d: body digest %s, header says %s", i, got, h.Get("X-Body-Sha256"))
		}
		if want, _ := strconv.Atoi(h.Get("X-Chunks")); chunks != want {
			t.Fatalf("response %d: %d chunks, Node wrote %d", i, chunks, want)
		}
		if n%2 == 1 {
			v, ok := textframe.Header(last).Get("X-Trailer-Sha256")
			if !ok || string(v) != h.Get("X-Body-Sha256") {
				t.Fatalf("response %d: trailer section %q", i, last)
			}
			trailers++
		} else if len(last) != 0 {
			t.Fatalf("response %d: trailers %q, none sent", i, last)
		}
		chunksTotal += chunks
	}
	if len(pending) != 0 {
		t.Errorf("%d bytes after the last response", len(pending))
	}
	t.Logf("%d responses, %d chunks, %d with trailers, one connection", responses, chunksTotal, trailers)
}

// TestPythonChunked: a framekit server encodes chunked bodies with
// textframe.HTTPChunked (and AppendLastChunk) for Python's http.client,
// which decodes them through the re-cutting proxy on one kept-alive
// connection and checks each body's digest.
func TestPythonChunked(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		missingPeer(t, "python3", "apt-get install -y python3")
	}
	seed := seedFor(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const responses = 200
	served := make(chan error, 1)
	accepted := 0
	go func() {
		r := rand.New(rand.NewSource(seed))
		nc, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		accepted++
		defer nc.Close()
		var pending []byte
		for i := range responses {
			_, _, rest, err := readHead(io.MultiReader(bytes.NewReader(pending), nc))
			if err != nil {
				served <- fmt.Errorf("request %d: %w", i, err)
				return
			}
			pending = rest
			var chunks [][]byte
			sum := sha256.New()
			for range r.Intn(20) {
				c := randomBytes(r, 1+sizeOf(r, 64<<10))
				chunks = append(chunks, c)
				sum.Write(c)
			}
			out := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Body-Sha256: %x\r\n\r\n", sum.Sum(nil))
			for _, c := range chunks {
				if out, err = textframe.HTTPChunked.AppendFrame(out, c); err != nil {
					served <- err
					return
				}
			}
			var trailer []byte
			if i%2 == 1 {
				trailer = []byte("X-Trailer: yes\r\n")
			}
			out = textframe.AppendLastChunk(out, trailer)
			if _, err := nc.Write(out); err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()
	proxy := newProxy(t, l.Addr().String(), seed)
	host, port, _ := net.SplitHostPort(proxy.Addr())
	p := startPeer(t, "python chunked", "testdata/python", "python3", "chunked_client.py", host, port, strconv.Itoa(responses))
	if got := p.expect(t, "DONE ", 2*time.Minute); got != strconv.Itoa(responses) {
		t.Fatalf("python: DONE %s; failures: %v", got, p.matching("FAIL"))
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if accepted != 1 {
		t.Errorf("%d connections, want one kept alive", accepted)
	}
}
