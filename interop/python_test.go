package interop

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// pythonLimit is the StreamReader limit of the server that shows what
// readline() does at its limit.
const pythonLimit = 1024

func pythonPeer(t *testing.T) []string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		missingPeer(t, "python3", "apt-get install -y python3")
	}
	return []string{py, "-u", "peer.py"}
}

// pythonSpecs are the classic Python patterns as framekit codecs.
func pythonSpecs(t testing.TB) []spec {
	// struct.pack('i', n) is the machine's byte order, 4 bytes, signed.
	order := lengthprefix.BigEndian
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		order = lengthprefix.LittleEndian
	}
	i32, err := lengthprefix.New(lengthprefix.Config{Size: 4, Order: order, Signed: true, Strip: 4})
	return []spec{
		{name: "u32be", codec: lengthprefix.U32BE, gen: binaryUpTo(64 << 10)},
		{name: "i32", codec: mustCodec(t, i32, err), gen: binaryUpTo(64 << 10)},
		{name: "lines", codec: delimiter.Lines, gen: func(r *rand.Rand) []byte { return lineBytes(r, sizeOf(r, 64<<10)) }},
	}
}

// TestPython exchanges 1,000 frames each way with asyncio servers and
// clients using struct.pack('>I'), struct.pack('i') and readline(),
// through the re-cutting proxy.
func TestPython(t *testing.T) {
	py := pythonPeer(t)
	dir := testdata(t, "python")
	specs := pythonSpecs(t)
	args := append([]string(nil), py...)
	args = append(args, "server")
	for _, s := range specs {
		args = append(args, s.name)
	}
	limitSpec := fmt.Sprintf("lines:%d", pythonLimit)
	args = append(args, limitSpec)
	server := startPeer(t, "python server", dir, args...)
	addrs := server.listening(t)

	for _, s := range specs {
		t.Run("framekit-python-framekit/"+s.name, func(t *testing.T) {
			seed := seedFor(t)
			p := newProxy(t, addrs[s.name], seed)
			exchange(t, p.Addr(), s.codec, nil, frames(seed, frameCount, s.gen), seed)
		})
	}

	t.Run("python-framekit-python", func(t *testing.T) {
		seed := seedFor(t)
		runClient(t, seed, specs, append(py, "client"), dir, "python client")
	})

	// readline() at the StreamReader limit: a line of exactly the limit
	// is read, one byte more raises ValueError (the line is dropped), and
	// the stream goes on.
	t.Run("limit-framekit-python/lines", func(t *testing.T) {
		c, err := framing.Dial("tcp", addrs[limitSpec], delimiter.Lines, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := newRand(seedFor(t))
		payloads := [][]byte{lineBytes(r, pythonLimit), lineBytes(r, pythonLimit+1), lineBytes(r, 10)}
		if err := c.WriteFrames(payloads); err != nil {
			t.Fatal(err)
		}
		readEcho(t, c, payloads[0])
		readEcho(t, c, payloads[2])
		exc := server.waitFor("EXCEPTION "+limitSpec+" ", 5*time.Second)
		if len(exc) != 1 {
			t.Fatalf("Python reported %q, want one exception", exc)
		}
		t.Logf("Python readline() at limit %d: %s; then it went on with the next line", pythonLimit, exc[0])
	})
}

// runClient starts echo servers (each behind a proxy) for specs, runs a
// peer's client against all of them, and checks that what each server
// received is what the client says it sent (the client checks the echo).
func runClient(t *testing.T, seed int64, specs []spec, argv []string, dir, name string) {
	t.Helper()
	servers := map[string]*echoServer{}
	args := append(append([]string(nil), argv...), fmt.Sprint(seed), fmt.Sprint(frameCount))
	for i, s := range specs {
		e := startEcho(t, s.codec, nil)
		servers[s.name] = e
		p := newProxy(t, e.addr, seed+int64(i)*2)
		args = append(args, s.name+"="+p.Addr())
	}
	client := startPeer(t, name, dir, args...)
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			line := client.expect(t, "", 3*exchangeTimeout)
			done, failed := doneLines([]string{line})
			if why, ok := failed[s.name]; ok {
				t.Fatalf("%s: %s", name, why)
			}
			sent, ok := done[s.name]
			if !ok {
				t.Fatalf("%s printed %q, want DONE %s", name, line, s.name)
			}
			got, err := servers[s.name].wait(t)
			if err != nil {
				t.Fatalf("framekit echo server: %v", err)
			}
			if got != sent {
				t.Fatalf("framekit received %s, %s sent %s", got, name, sent)
			}
			if !strings.HasPrefix(got, fmt.Sprint(frameCount)+" ") {
				t.Fatalf("framekit received %s, want %d frames", got, frameCount)
			}
		})
	}
}
