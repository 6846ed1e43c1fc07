package interop

// Apache Thrift's TFramedTransport (Debian python3-thrift) against the
// ThriftFramed preset: a Python Thrift client and server, with the
// TBinaryProtocol message code that the Thrift compiler would generate
// written by hand for one method, talk through the tap; and a framekit
// client pipelines calls to the Python server.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// peerMissing fails the test, in CI or not, naming what installs the
// peer: the peers of issue 18's second round are never skipped.
func peerMissing(t *testing.T, what, install string) {
	t.Helper()
	t.Fatalf("peer not available: %s; install it with: %s (interop/ci.sh does)", what, install)
}

// needPeer returns the first of paths found (a name on PATH or an
// absolute path), or fails the test.
func needPeer(t *testing.T, install string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	peerMissing(t, strings.Join(paths, " or "), install)
	return ""
}

// debianPython is the Debian python3 (its packages are in its own
// dist-packages, which another python3 on PATH may not see), checked to
// import modules.
func debianPython(t *testing.T, pkgs string, modules ...string) string {
	t.Helper()
	py := needPeer(t, "apt-get install python3", "/usr/bin/python3")
	args := []string{"-c", "import " + strings.Join(modules, ", ")}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		peerMissing(t, fmt.Sprintf("%s with %s (%v: %s)", py, strings.Join(modules, ", "), err, bytes.TrimSpace(out)), "apt-get install "+pkgs)
	}
	return py
}

// thriftPeer is a Thrift "echo" service over TFramedTransport and
// TBinaryProtocol: args struct {1: binary data}, result struct {0: binary
// success} holding the data reversed. The server serves the given number
// of connections, one after the other; the client makes count calls with
// payloads drawn from its seed and checks every reply.
const thriftPeer = `
import random, sys, threading
from thrift.Thrift import TMessageType, TType
from thrift.transport import TSocket, TTransport
from thrift.protocol import TBinaryProtocol

def size(r, i):
    if i % 250 == 7:
        return r.randint(1 << 20, 4 << 20)
    b = r.randrange(100)
    if b < 3:
        return 0
    if b < 60:
        return r.randrange(256)
    if b < 90:
        return r.randrange(4096)
    return r.randrange(64 << 10)

def read_data(p, fid):
    data = None
    p.readStructBegin()
    while True:
        _, ftype, got = p.readFieldBegin()
        if ftype == TType.STOP:
            break
        if got == fid and ftype == TType.STRING:
            data = p.readBinary()
        else:
            p.skip(ftype)
        p.readFieldEnd()
    p.readStructEnd()
    return data

def write_data(p, sname, fname, fid, data):
    p.writeStructBegin(sname)
    p.writeFieldBegin(fname, TType.STRING, fid)
    p.writeBinary(data)
    p.writeFieldEnd()
    p.writeFieldStop()
    p.writeStructEnd()

def serve(t):
    p = TBinaryProtocol.TBinaryProtocol(t)
    n = 0
    while True:
        try:
            name, mtype, seqid = p.readMessageBegin()
        except TTransport.TTransportException as e:
            if e.type == TTransport.TTransportException.END_OF_FILE:
                break
            raise
        data = read_data(p, 1)
        p.readMessageEnd()
        if name != 'echo' or mtype != TMessageType.CALL or data is None:
            print('FAIL bad call', name, mtype, seqid, flush=True)
            sys.exit(1)
        p.writeMessageBegin(name, TMessageType.REPLY, seqid)
        write_data(p, 'echo_result', 'success', 0, data[::-1])
        p.writeMessageEnd()
        t.flush()
        n += 1
    t.close()
    print('SERVED', n, flush=True)

def server(conns):
    sock = TSocket.TServerSocket(host='127.0.0.1', port=0)
    sock.listen()
    print('PORT', sock.handle.getsockname()[1], flush=True)
    for _ in range(conns):
        threading.Thread(target=serve, args=(TTransport.TFramedTransport(sock.accept()),)).start()

def client(addr, count, seed):
    host, port = addr.rsplit(':', 1)
    t = TTransport.TFramedTransport(TSocket.TSocket(host, int(port)))
    p = TBinaryProtocol.TBinaryProtocol(t)
    t.open()
    r = random.Random(seed)
    total = 0
    for i in range(count):
        data = r.randbytes(size(r, i))
        p.writeMessageBegin('echo', TMessageType.CALL, i)
        write_data(p, 'echo_args', 'data', 1, data)
        p.writeMessageEnd()
        t.flush()
        name, mtype, seqid = p.readMessageBegin()
        got = read_data(p, 0)
        p.readMessageEnd()
        if (name, mtype, seqid) != ('echo', TMessageType.REPLY, i) or got != data[::-1]:
            print('FAIL call', i, name, mtype, seqid, len(data), None if got is None else len(got), flush=True)
            sys.exit(1)
        total += len(data)
    t.close()
    print('OK', count, total, flush=True)

if sys.argv[1] == 'server':
    server(int(sys.argv[2]))
else:
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
`

// thriftCall is the TBinaryProtocol (strict) message a generated client
// sends for echo(data): version 0x8001 and type CALL (1), the method's
// name, the sequence id, the args struct.
func thriftCall(seq int32, data []byte) []byte {
	return thriftMessage(1, seq, 1, data)
}

// thriftMessage is a TBinaryProtocol message of type typ whose struct
// holds data as a binary field fid.
func thriftMessage(typ byte, seq int32, fid int16, data []byte) []byte {
	b := []byte{0x80, 0x01, 0x00, typ, 0, 0, 0, 4, 'e', 'c', 'h', 'o'}
	b = binary.BigEndian.AppendUint32(b, uint32(seq))
	b = append(b, 11) // TType.STRING
	b = binary.BigEndian.AppendUint16(b, uint16(fid))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	return append(b, 0) // STOP
}

// TestThriftFramed: 3,000 echo calls (three clients at once; 0 B to
// 4 MiB, every 250th over 1 MiB) from Python's Thrift client to its
// threaded server through the tap
// (ThriftFramed both ways, every frame re-encoded by framekit); then a
// framekit client pipelines 2,000 calls to the same server, batches of
// up to 50 in one vectored write, and checks each reply byte for byte.
func TestThriftFramed(t *testing.T) {
	py := debianPython(t, "python3-thrift", "thrift")
	dir := t.TempDir()
	script := filepath.Join(dir, "thrift_peer.py")
	if err := os.WriteFile(script, []byte(thriftPeer), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startPeer(t, "thrift server", dir, py, script, "server", "4")
	port := strings.TrimSpace(srv.expect(t, "PORT ", 30*time.Second))
	addr := "127.0.0.1:" + port
	seed := seedFor(t)

	// Three clients at once, 1,000 calls each.
	const clients, calls = 3, 1000
	clientAddr, tp := newTap(t, addr, lengthprefix.ThriftFramed, lengthprefix.ThriftFramed)
	start := time.Now()
	type result struct {
		out []byte
		err error
	}
	outs := make(chan result, clients)
	for k := range clients {
		go func() {
			out, err := runClientErr(5*time.Minute, nil, py, script, "client", clientAddr, strconv.Itoa(calls), strconv.FormatInt(seed+int64(k), 10))
			outs <- result{out, err}
		}()
	}
	for range clients {
		res := <-outs
		if res.err != nil {
			t.Fatal(res.err)
		}
		out := res.out
		if f := strings.Fields(string(out)); len(f) != 3 || f[0] != "OK" || f[1] != strconv.Itoa(calls) {
			t.Fatalf("thrift client: %q", out)
		}
		t.Logf("Python client: %s", strings.TrimSpace(string(out)))
	}
	t.Logf("%d Python clients, %d calls each through the tap, in %v", clients, calls, time.Since(start).Round(time.Millisecond))
	for range clients {
		if got := srv.expect(t, "SERVED ", 30*time.Second); got != strconv.Itoa(calls) {
			t.Errorf("server served %s calls, want %d", got, calls)
		}
	}
	seen := tp.seen(t)
	for dir, typ := range []byte{1, 2} {
		largest := 0
		for i, f := range seen[dir] {
			largest = max(largest, f.size)
			if f.typ != 0x80 || f.b3 != typ {
				t.Fatalf("direction %d, frame %d: starts % x..% x, want a TBinaryProtocol message of type %d", dir, i, f.typ, f.b3, typ)
			}
		}
		if len(seen[dir]) != clients*calls || largest < 1<<20 {
			t.Errorf("direction %d: %d frames, largest %d bytes; want %d, one over 1 MiB", dir, len(seen[dir]), largest, clients*calls)
		}
	}

	// framekit's own client, pipelining.
	c, err := framing.Dial("tcp", newProxy(t, addr, seed+3).Addr(), lengthprefix.ThriftFramed, &framing.Options{MaxFrameSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	r := rand.New(rand.NewSource(seed + 4))
	const pipelined = 2000
	payloads := frames(seed+5, pipelined, func(r *rand.Rand) []byte { return randomBytes(r, sizeOf(r, 256<<10)) })
	werr := make(chan error, 1)
	go func() {
		for i := 0; i < pipelined; {
			n := min(1+r.Intn(50), pipelined-i)
			batch := make([][]byte, n)
			for k := range batch {
				batch[k] = thriftCall(int32(i+k), payloads[i+k])
			}
			if err := c.WriteFrames(batch); err != nil {
				werr <- err
				return
			}
			i += n
		}
		werr <- c.CloseWrite()
	}()
	for i, p := range payloads {
		got, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		back := slices.Clone(p)
		slices.Reverse(back)
		if want := thriftMessage(2, int32(i), 0, back); !bytes.Equal(got, want) {
			t.Fatalf("reply %d: %s", i, difference(got, want))
		}
	}
	if err := <-werr; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if got := srv.expect(t, "SERVED ", 30*time.Second); got != strconv.Itoa(pipelined) {
		t.Errorf("server served %s pipelined calls, want %d", got, pipelined)
	}
}
