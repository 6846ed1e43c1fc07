package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A fake PostgreSQL pair for proxy -c postgres: the client asks for TLS
// (SSLRequest), the server answers 'S', and from there both sides send
// bytes that are not PostgreSQL messages (as TLS records are not), which
// the proxy must relay unframed and unchanged.

// pgMsg is a typed PostgreSQL message: type, length counting itself, body.
func pgMsg(typ byte, body string) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

// pgUntyped is an untyped message: length counting itself, code, body.
func pgUntyped(code uint32, body string) []byte {
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	binary.BigEndian.PutUint32(b[4:], code)
	return append(b, body...)
}

var sslRequest = pgUntyped(80877103, "")

// fakeServer accepts one connection, reads want bytes, sends reply, then
// echoes every byte until EOF, and reports what it received.
func fakeServer(t *testing.T, want int, reply []byte) (addr string, got func() []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		first := make([]byte, want)
		if _, err := io.ReadFull(c, first); err != nil {
			done <- first
			return
		}
		c.Write(reply)
		var rest bytes.Buffer
		io.Copy(io.MultiWriter(c, &rest), c)
		done <- append(first, rest.Bytes()...)
	}()
	return ln.Addr().String(), func() []byte {
		select {
		case b := <-done:
			return b
		case <-time.After(25 * time.Second):
			t.Fatal("the fake server got no EOF")
			return nil
		}
	}
}

// record is a line of proxy -f json: a frame or an event.
type record struct {
	Event  string `json:"event,omitempty"`
	Len    int    `json:"len,omitempty"`
	Hex    string `json:"hex,omitempty"`
	Dir    string `json:"dir"`
	Kind   string `json:"kind,omitempty"`
	Fault  string `json:"fault,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// records parses proxy's JSON lines, per direction.
func records(t *testing.T, out string) map[string][]record {
	t.Helper()
	m := map[string][]record{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("proxy line %q: %v", line, err)
		}
		m[r.Dir] = append(m[r.Dir], r)
		r.Dir = ""
	}
	return m
}

// TestProxyHandOver: after SSLRequest and 'S' (final frames of
// postgres-fe and postgres-be) the rest of each direction is relayed
// unframed and unchanged, and the proxy says where that began and how
// many bytes it was; --recut still re-cuts it, and --dup (a per-frame
// fault) duplicates the framed SSLRequest but nothing after the hand-over.
func TestProxyHandOver(t *testing.T) {
	// Bytes that would be corrupt as PostgreSQL messages, as a TLS
	// ClientHello is (its length high byte 0x16 is far over 10,000).
	tlsish := randomBytes(7, 3000)
	tlsish[0] = 0x16
	for _, tc := range []struct {
		name  string
		args  []string
		sslRq int // times the server receives the SSLRequest
		fault string
	}{
		{"plain", []string{"-c", "postgres"}, 1, ""},
		{"per direction, recut", []string{"--c2s", "postgres-fe", "--s2c", "postgres-be", "--recut", "3"}, 1, ""},
		{"dup", []string{"-c", "postgres", "--dup", "1"}, 2, "dup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, got := fakeServer(t, tc.sslRq*len(sslRequest), []byte("S"))
			p := start(t, true, append([]string{"proxy", "127.0.0.1:0", addr, "-f", "json"}, tc.args...)...)
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			c.Write(sslRequest)
			answer := make([]byte, tc.sslRq) // 'S', duplicated under --dup
			if _, err := io.ReadFull(c, answer); err != nil || strings.Trim(string(answer), "S") != "" {
				t.Fatalf("answer %q, %v", answer, err)
			}
			c.Write(tlsish)
			echo := make([]byte, len(tlsish))
			if _, err := io.ReadFull(c, echo); err != nil || !bytes.Equal(echo, tlsish) {
				t.Fatalf("echo through the proxy differs (%v)", err)
			}
			c.(*net.TCPConn).CloseWrite()
			if rest, _ := io.ReadAll(c); len(rest) != 0 {
				t.Errorf("%d bytes more than echoed", len(rest))
			}
			want := append(bytes.Repeat(sslRequest, tc.sslRq), tlsish...)
			if b := got(); !bytes.Equal(b, want) {
				t.Errorf("the server received %d bytes, want the SSLRequest x%d and %d bytes unchanged", len(b), tc.sslRq, len(tlsish))
			}
			p.stop()
			out, _ := p.output()
			recs := records(t, out)
			wantRecs := map[string][]record{
				"c>s": {
					{Len: 8, Hex: hex.EncodeToString(sslRequest), Dir: "c>s", Kind: "ssl-request", Fault: tc.fault},
					{Event: "final", Dir: "c>s", Offset: 8},
					{Event: "unframed", Dir: "c>s", Offset: 8, Bytes: int64(len(tlsish))},
				},
				"s>c": {
					{Len: 1, Hex: "53", Dir: "s>c", Kind: "ssl-accepted", Fault: tc.fault},
					{Event: "final", Dir: "s>c", Offset: 1},
					{Event: "unframed", Dir: "s>c", Offset: 1, Bytes: int64(len(tlsish))},
				},
			}
			if diff := cmp.Diff(wantRecs, recs); diff != "" {
				t.Errorf("proxy records (-want +got):\n%s\noutput:\n%s", diff, out)
			}
		})
	}
}

// TestProxyPostgresClear: a session without TLS through proxy -c
// postgres: the startup message (untyped) then typed messages client to
// server; typed messages server to client; each printed with its kind and
// nothing reported as unframed.
func TestProxyPostgresClear(t *testing.T) {
	startup := pgUntyped(3<<16, "user\x00postgres\x00\x00")
	query := pgMsg('Q', "select 1\x00")
	term := pgMsg('X', "")
	backend := bytes.Join([][]byte{
		pgMsg('R', "\x00\x00\x00\x00"), pgMsg('S', "client_encoding\x00UTF8\x00"),
		pgMsg('K', "\x00\x00\x00\x01\x00\x00\x00\x02"), pgMsg('Z', "I"),
	}, nil)
	addr, got := fakeServer(t, len(startup), backend)
	p := start(t, true, "proxy", "127.0.0.1:0", addr, "-c", "postgres", "-f", "json")
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write(startup)
	back := make([]byte, len(backend))
	if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, backend) {
		t.Fatalf("backend messages through the proxy differ (%v)", err)
	}
	c.Write(append(query, term...))
	io.ReadFull(c, make([]byte, len(query)+len(term))) // the fake server's echo
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	got()
	p.stop()
	out, _ := p.output()
	// Each frame as its kind or its type letter; the fake server's echo
	// of Q and X comes back as typed backend messages.
	seq := map[string]string{}
	for dir, rs := range records(t, out) {
		for _, r := range rs {
			b, _ := hex.DecodeString(r.Hex)
			switch {
			case r.Event != "":
				seq[dir] += " " + r.Event
			case r.Kind != "":
				seq[dir] += " " + r.Kind
			case len(b) > 0:
				seq[dir] += " " + string(b[:1])
			}
		}
	}
	want := map[string]string{"c>s": " startup Q X", "s>c": " R S K Z Q X"}
	if diff := cmp.Diff(want, seq); diff != "" {
		t.Errorf("message sequences (-want +got):\n%s\noutput:\n%s", diff, out)
	}
}

// pgStep is one step of a scripted PostgreSQL session: the client's
// messages, then the server's reply.
type pgStep struct {
	client, server [][]byte
}

// times repeats each message k times, as --dup 1 sends them on.
func times(msgs [][]byte, k int) []byte {
	var b []byte
	for _, m := range msgs {
		for range k {
			b = append(b, m...)
		}
	}
	return b
}

// scriptedServer accepts one connection and plays script: it reads the
// client's messages (each k times, as the proxy sends them on) and writes
// its reply; after the last step it reads to EOF and closes. done reports
// the first difference.
func scriptedServer(t *testing.T, k int, script []pgStep) (addr string, done func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	res := make(chan error, 1)
	go func() {
		res <- func() error {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			for i, x := range script {
				want := times(x.client, k)
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil {
					return fmt.Errorf("step %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					return fmt.Errorf("step %d: the server received %x, want %x", i, got, want)
				}
				if _, err := c.Write(bytes.Join(x.server, nil)); err != nil {
					return err
				}
			}
			if rest, err := io.ReadAll(c); err != nil || len(rest) > 0 {
				return fmt.Errorf("after the script: %d bytes more, %v", len(rest), err)
			}
			return nil
		}()
	}()
	return ln.Addr().String(), func() error {
		select {
		case err := <-res:
			return err
		case <-time.After(25 * time.Second):
			return fmt.Errorf("the scripted server did not end")
		}
	}
}

// playClient plays script's client side through the proxy at addr: it
// sends its messages and reads the server's reply, each message k times.
func playClient(t *testing.T, addr string, k int, script []pgStep) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	for i, x := range script {
		if _, err := c.Write(bytes.Join(x.client, nil)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want := times(x.server, k)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("step %d: the client received %x (%v), want %x", i, got, err, want)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if rest, err := io.ReadAll(c); err != nil || len(rest) > 0 {
		t.Errorf("after the script: %d bytes more, %v", len(rest), err)
	}
}

// frameRecs are the JSON records of msgs as frames going dir.
func frameRecs(dir, fault string, msgs ...[]byte) []record {
	var rs []record
	for _, m := range msgs {
		r := record{Len: len(m), Hex: hex.EncodeToString(m), Dir: dir, Fault: fault}
		switch {
		case bytes.Equal(m, sslRequest) || bytes.Equal(m, gssencRequest):
			r.Kind = "ssl-request"
		case string(m) == "N":
			r.Kind = "ssl-refused"
		case string(m) == "S" || string(m) == "G":
			r.Kind = "ssl-accepted"
		case m[0] == 0:
			r.Kind = "startup"
		}
		rs = append(rs, r)
	}
	return rs
}

var gssencRequest = pgUntyped(80877104, "")

// TestProxySSLRefused: when the server answers 'N' to SSLRequest (or to
// GSSENCRequest), the client goes on in clear, and so does the proxy's
// framing: it says so ("resumed" at the offset after the request) and
// prints the StartupMessage and the typed messages after it in both
// directions, with the stream's offsets; under --dup (frames held and sent
// on one by one) every frame goes on twice, those after the resumption
// too. GSSENCRequest refused, then SSLRequest accepted: framing resumes
// once, then the rest is relayed unframed.
func TestProxySSLRefused(t *testing.T) {
	startup := pgUntyped(3<<16, "user\x00postgres\x00database\x00postgres\x00\x00")
	query := pgMsg('Q', "select 1\x00")
	term := pgMsg('X', "")
	auth, ready := pgMsg('R', "\x00\x00\x00\x00"), pgMsg('Z', "I")
	param := pgMsg('S', "client_encoding\x00UTF8\x00")
	rowDesc := pgMsg('T', "\x00\x01?column?\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00")
	row, done := pgMsg('D', "\x00\x01\x00\x00\x00\x011"), pgMsg('C', "SELECT 1\x00")
	clear := []pgStep{
		{[][]byte{startup}, [][]byte{auth, param, ready}},
		{[][]byte{query}, [][]byte{rowDesc, row, done, ready}},
		{[][]byte{term}, nil},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			args  []string
			k     int
			fault string
		}{
			{"plain", []string{"-c", "postgres"}, 1, ""},
			{"recut", []string{"--c2s", "postgres-fe", "--s2c", "postgres-be", "--recut", "3"}, 1, ""},
			{"dup", []string{"-c", "postgres", "--dup", "1"}, 2, "dup"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				script := append([]pgStep{{[][]byte{sslRequest}, [][]byte{[]byte("N")}}}, clear...)
				addr, serverDone := scriptedServer(t, tc.k, script)
				p := start(t, true, append([]string{"proxy", "127.0.0.1:0", addr, "-f", "json"}, tc.args...)...)
				playClient(t, p.addr, tc.k, script)
				if err := serverDone(); err != nil {
					t.Fatal(err)
				}
				p.stop()
				out, _ := p.output()
				want := map[string][]record{
					"c>s": append(append(frameRecs("c>s", tc.fault, sslRequest),
						record{Event: "resumed", Dir: "c>s", Offset: 8}),
						frameRecs("c>s", tc.fault, startup, query, term)...),
					"s>c": frameRecs("s>c", tc.fault, []byte("N"), auth, param, ready, rowDesc, row, done, ready),
				}
				if diff := cmp.Diff(want, records(t, out)); diff != "" {
					t.Errorf("proxy records (-want +got):\n%s\noutput:\n%s", diff, out)
				}
			})
		}
	})
	t.Run("GSSENC refused, SSL accepted", func(t *testing.T) {
		tlsish := randomBytes(9, 2000)
		tlsish[0] = 0x16
		script := []pgStep{
			{[][]byte{gssencRequest}, [][]byte{[]byte("N")}},
			{[][]byte{sslRequest}, [][]byte{[]byte("S")}},
			{[][]byte{tlsish}, [][]byte{tlsish[:1000]}},
		}
		addr, serverDone := scriptedServer(t, 1, script)
		p := start(t, true, "proxy", "127.0.0.1:0", addr, "-c", "postgres", "-f", "json")
		playClient(t, p.addr, 1, script)
		if err := serverDone(); err != nil {
			t.Fatal(err)
		}
		p.stop()
		out, _ := p.output()
		want := map[string][]record{
			"c>s": append(append(frameRecs("c>s", "", gssencRequest),
				record{Event: "resumed", Dir: "c>s", Offset: 8}),
				append(frameRecs("c>s", "", sslRequest),
					record{Event: "final", Dir: "c>s", Offset: 16},
					record{Event: "unframed", Dir: "c>s", Offset: 16, Bytes: int64(len(tlsish))})...),
			"s>c": append(frameRecs("s>c", "", []byte("N"), []byte("S")),
				record{Event: "final", Dir: "s>c", Offset: 2},
				record{Event: "unframed", Dir: "s>c", Offset: 2, Bytes: 1000}),
		}
		if diff := cmp.Diff(want, records(t, out)); diff != "" {
			t.Errorf("proxy records (-want +got):\n%s\noutput:\n%s", diff, out)
		}
	})
	t.Run("server closes instead of answering", func(t *testing.T) {
		// The client waits for an answer that never comes: the proxy
		// must not wait for one either, and relays the client's
		// direction unframed (here: nothing more).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		received := make(chan []byte, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				received <- nil
				return
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			b := make([]byte, len(sslRequest))
			n, _ := io.ReadFull(c, b)
			c.Close()
			received <- b[:n]
		}()
		addr := ln.Addr().String()
		p := start(t, true, "proxy", "127.0.0.1:0", addr, "-c", "postgres", "-f", "json")
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		c.Write(sslRequest)
		if b, err := io.ReadAll(c); err != nil || len(b) > 0 {
			t.Fatalf("the client received %x (%v), want an EOF", b, err)
		}
		if b := <-received; !bytes.Equal(b, sslRequest) {
			t.Errorf("the server received %x, want the SSLRequest", b)
		}
		p.stop()
		out, _ := p.output()
		want := map[string][]record{
			"c>s": append(frameRecs("c>s", "", sslRequest),
				record{Event: "final", Dir: "c>s", Offset: 8},
				record{Event: "unframed", Dir: "c>s", Offset: 8}),
		}
		if diff := cmp.Diff(want, records(t, out)); diff != "" {
			t.Errorf("proxy records (-want +got):\n%s\noutput:\n%s", diff, out)
		}
	})
}
