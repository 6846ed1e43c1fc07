package interop

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/textframe"
)

// redisCommands is how many pipelined commands each protocol version sends.
const redisCommands = 10000

// startRedis runs a Debian redis-server on a free loopback port, with
// nothing saved and DEBUG enabled (DEBUG PROTOCOL sends every RESP3 type),
// and returns its address.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missingPeer(t, "redis-server", "apt-get install -y redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	startPeer(t, "redis-server", t.TempDir(), bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--dir", t.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for end := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(end) {
			t.Fatalf("redis-server did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// respCommand encodes a command as a RESP array of bulk strings.
func respCommand(args ...string) []byte {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// parseRESP parses one RESP value from the front of p, written here from
// the specification without textframe; it returns the bytes it used.
func parseRESP(p []byte) (int, error) {
	line := func(p []byte) (string, int, error) {
		i := bytes.Index(p, []byte("\r\n"))
		if i < 1 {
			return "", 0, errors.New("no line")
		}
		return string(p[1:i]), i + 2, nil
	}
	if len(p) == 0 {
		return 0, errors.New("empty")
	}
	s, n, err := line(p)
	if err != nil {
		return 0, err
	}
	switch p[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return n, nil
	case '$', '!', '=':
		k, err := strconv.Atoi(s)
		if err != nil {
			return 0, err
		}
		if k < 0 {
			return n, nil
		}
		if len(p) < n+k+2 || string(p[n+k:n+k+2]) != "\r\n" {
			return 0, errors.New("bad bulk")
		}
		return n + k + 2, nil
	case '*', '~', '>', '%', '|':
		k, err := strconv.Atoi(s)
		if err != nil {
			return 0, err
		}
		if p[0] == '%' || p[0] == '|' {
			k *= 2
		}
		if p[0] == '|' {
			k++ // the value the attribute annotates
		}
		for range max(k, 0) {
			m, err := parseRESP(p[n:])
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	}
	return 0, fmt.Errorf("type %q", p[0])
}

// redisCase is one command and what its reply must be.
type redisCase struct {
	cmd   []byte
	check func(reply []byte) error
}

func exact(want string) func([]byte) error {
	return func(r []byte) error {
		if string(r) != want {
			return fmt.Errorf("reply %q, want %q", clipStr(r), clipStr([]byte(want)))
		}
		return nil
	}
}

func typed(first string) func([]byte) error {
	return func(r []byte) error {
		if !strings.HasPrefix(string(r), first) {
			return fmt.Errorf("reply %q, want one starting %q", clipStr(r), first)
		}
		return nil
	}
}

func clipStr(p []byte) string {
	if len(p) > 60 {
		return string(p[:60]) + "..."
	}
	return string(p)
}

// redisCases returns the pipelined commands of one protocol version,
// covering every reply type Redis 7.0 sends in it.
func redisCases(r *rand.Rand, resp3 bool, prefix string) []redisCase {
	var cs []redisCase
	null, mapType, setType, double := "$-1\r\n", "*", "*", "$"
	if resp3 {
		null, mapType, setType, double = "_\r\n", "%", "~", ","
	}
	counter := 0
	for i := 0; len(cs) < redisCommands; i++ {
		key := fmt.Sprintf("%s:k%d", prefix, i)
		val := string(randomBytes(r, sizeOf(r, 16<<10)))
		cs = append(cs,
			redisCase{respCommand("SET", key, val), exact("+OK\r\n")},
			redisCase{respCommand("GET", key), exact(fmt.Sprintf("$%d\r\n%s\r\n", len(val), val))},
			redisCase{respCommand("GET", key+":missing"), exact(null)},
			redisCase{respCommand("INCR", prefix+":counter"), exact(fmt.Sprintf(":%d\r\n", counter+1))},
			redisCase{respCommand("NOSUCHCOMMAND", key), typed("-ERR unknown command")},
			redisCase{respCommand("RPUSH", prefix+":list", val), typed(":")},
			redisCase{respCommand("LRANGE", prefix+":list", "0", "2"), typed("*")},
			redisCase{respCommand("LRANGE", key+":none", "0", "-1"), exact("*0\r\n")},
			redisCase{respCommand("HSET", prefix+":hash", key, "v"), typed(":")},
			redisCase{respCommand("HGETALL", prefix+":small"), exact(mapType + "0\r\n")},
			redisCase{respCommand("SADD", prefix+":set", key), exact(":1\r\n")},
			redisCase{respCommand("SMEMBERS", prefix+":set1"), exact(setType + "0\r\n")},
			redisCase{respCommand("ZADD", prefix+":z", "1.5", "m"), typed(":")},
			redisCase{respCommand("ZSCORE", prefix+":z", "m"), typed(double)},
		)
		counter++
		if i%100 == 0 {
			nullArray := "*-1\r\n"
			if resp3 {
				nullArray = "_\r\n"
			}
			cs = append(cs, redisCase{respCommand("BLPOP", key+":none", "0.001"), exact(nullArray)})
		}
		if resp3 && i%10 == 0 {
			for _, d := range []struct{ what, first string }{
				{"bignum", "("}, {"true", "#t"}, {"false", "#f"}, {"verbatim", "="}, {"map", "%"},
				{"set", "~"}, {"double", ","}, {"null", "_"}, {"attrib", "|"}, {"push", ">"},
			} {
				cs = append(cs, redisCase{respCommand("DEBUG", "PROTOCOL", d.what), typed(d.first)})
			}
		}
	}
	return cs[:redisCommands]
}

// TestRedis: 10,000 pipelined commands to a real redis-server, in RESP2
// and after HELLO 3, through the re-cutting proxy, every reply framed by
// textframe.Redis and checked (its type, its exact bytes where they are
// known, and an independent parse that must use all of it); then RESP3
// pub/sub pushes, which arrive as frames of kind RESPPush.
func TestRedis(t *testing.T) {
	seed := seedFor(t)
	addr := startRedis(t)
	proxy := newProxy(t, addr, seed)
	for _, resp3 := range []bool{false, true} {
		name := map[bool]string{false: "RESP2", true: "RESP3"}[resp3]
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", proxy.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c := framing.NewConn(nc, textframe.Redis, nil)
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			cases := redisCases(rand.New(rand.NewSource(seed)), resp3, name)
			if resp3 {
				cases = append([]redisCase{{respCommand("HELLO", "3"), typed("%7\r\n")}}, cases...)
			}
			errc := make(chan error, 1)
			go func() {
				for _, cs := range cases {
					if err := c.BufferFrame(cs.cmd); err != nil {
						errc <- err
						return
					}
				}
				errc <- c.Flush()
			}()
			kinds := map[byte]int{}
			for i, cs := range cases {
				f, err := c.ReadFrame()
				if err != nil {
					t.Fatalf("reply %d of %d: %v", i, len(cases), err)
				}
				if c.Kind() == textframe.RESPPush {
					// DEBUG PROTOCOL push sends a push, then its reply.
					if f[0] != '>' || !bytes.Contains(cs.cmd, []byte("push")) {
						t.Fatalf("reply %d: unexpected push %q", i, clipStr(f))
					}
					kinds['>']++
					if f, err = c.ReadFrame(); err != nil {
						t.Fatalf("reply %d after its push: %v", i, err)
					}
					if err := exact("$40\r\nSome real reply following the push reply\r\n")(f); err != nil {
						t.Fatalf("reply %d after its push: %v", i, err)
					}
					continue
				}
				if err := cs.check(f); err != nil {
					t.Fatalf("reply %d to %q: %v", i, clipStr(cs.cmd), err)
				}
				if n, err := parseRESP(f); err != nil || n != len(f) {
					t.Fatalf("reply %d: the independent parse used %d of %d bytes: %v", i, n, len(f), err)
				}
				kinds[f[0]]++
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			var seen []string
			for k, n := range kinds {
				seen = append(seen, fmt.Sprintf("%c:%d", k, n))
			}
			t.Logf("%d replies by type: %s", len(cases), strings.Join(seen, " "))
			want := "+-:$*"
			if resp3 {
				want = "+-:$*%~_,#(=|>"
			}
			for _, k := range []byte(want) {
				if kinds[k] == 0 {
					t.Errorf("no reply of type %q", k)
				}
			}
		})
	}
	t.Run("RESP3-pubsub", func(t *testing.T) {
		sub, err := net.Dial("tcp", proxy.Addr())
		if err != nil {
			t.Fatal(err)
		}
		s := framing.NewConn(sub, textframe.Redis, nil)
		defer s.Close()
		s.SetDeadline(time.Now().Add(time.Minute))
		if err := s.WriteFrame(respCommand("HELLO", "3")); err != nil {
			t.Fatal(err)
		}
		if f, err := s.ReadFrame(); err != nil || f[0] != '%' {
			t.Fatalf("HELLO 3: %q, %v", f, err)
		}
		if err := s.WriteFrame(respCommand("SUBSCRIBE", "ch")); err != nil {
			t.Fatal(err)
		}
		if f, err := s.ReadFrame(); err != nil || s.Kind() != textframe.RESPPush ||
			string(f) != ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n" {
			t.Fatalf("SUBSCRIBE: %q kind %d, %v", f, s.Kind(), err)
		}
		pub, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		p := framing.NewConn(pub, textframe.Redis, nil)
		defer p.Close()
		r := rand.New(rand.NewSource(seed))
		const n = 500
		msgs := make([]string, n)
		for i := range msgs {
			msgs[i] = string(randomBytes(r, sizeOf(r, 4096)))
			if err := p.WriteFrame(respCommand("PUBLISH", "ch", msgs[i])); err != nil {
				t.Fatal(err)
			}
			if f, err := p.ReadFrame(); err != nil || string(f) != ":1\r\n" {
				t.Fatalf("PUBLISH %d: %q, %v", i, f, err)
			}
		}
		for i, m := range msgs {
			f, err := s.ReadFrame()
			want := fmt.Sprintf(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n", len(m), m)
			if err != nil || s.Kind() != textframe.RESPPush || string(f) != want {
				t.Fatalf("push %d: %q kind %d, %v", i, clipStr(f), s.Kind(), err)
			}
		}
	})
}
