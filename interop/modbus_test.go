package interop

// Modbus/TCP (the ModbusTCP preset) against pymodbus 3.0 from Debian
// (python3-pymodbus, whose server imports serial and serial_asyncio from
// python3-serial and python3-serial-asyncio, packages it only recommends
// or does not name): its client and its asyncio server through the tap,
// and a framekit client pipelining requests to the server.
//
// pymodbus 3.0.0's server cannot read a request cut into pieces: its
// ModbusSocketFramer.processIncomingPacket, given more than the 7-byte
// header but less than the whole request, finds checkFrame false and
// throws the buffer away ("Frame check failed, ignoring!!"), and the
// client waits for an answer that never comes. So requests reach it
// whole, as the tap writes them (one frame a write); everything the
// server sends, and every byte the client sends to the tap, is re-cut.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// modbusPeer is a pymodbus TCP server (unit 1: 10,000 coils and holding
// registers, zero-based) and a client that makes count random requests
// (write and read multiple registers and coils, up to the protocol's
// limits, and some reads past the end that the server answers with an
// exception) and checks every answer against its own model.
const modbusPeer = `
import random, sys
if sys.argv[1] == 'server':
    from pymodbus.server import StartTcpServer
    from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
    store = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [0] * 10000), co=ModbusSequentialDataBlock(0, [0] * 10000),
        hr=ModbusSequentialDataBlock(0, [0] * 10000), ir=ModbusSequentialDataBlock(0, [0] * 10000),
        zero_mode=True)
    StartTcpServer(context=ModbusServerContext(slaves={1: store}, single=False), address=('127.0.0.1', int(sys.argv[2])))
    sys.exit(0)

from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient('127.0.0.1', port=int(sys.argv[2]), timeout=30, retries=0)
if not c.connect():
    print('FAIL connect', flush=True)
    sys.exit(1)
r = random.Random(int(sys.argv[4]))
count = int(sys.argv[3])
hr, co = [0] * 10000, [False] * 10000
errors = 0
def fail(*a):
    print('FAIL', *a, flush=True)
    sys.exit(1)
for i in range(count):
    op = r.randrange(5)
    if op == 0:
        n = r.randint(1, 123); a = r.randrange(10000 - n)
        vals = [r.randrange(65536) for _ in range(n)]
        if c.write_registers(a, vals, slave=1).isError(): fail(i, 'write_registers', a, n)
        hr[a:a + n] = vals
    elif op == 1:
        n = r.randint(1, 125); a = r.randrange(10000 - n)
        res = c.read_holding_registers(a, n, slave=1)
        if res.isError() or res.registers != hr[a:a + n]: fail(i, 'read_holding_registers', a, n, res)
    elif op == 2:
        n = r.randint(1, 1968); a = r.randrange(10000 - n)
        vals = [r.random() < 0.5 for _ in range(n)]
        if c.write_coils(a, vals, slave=1).isError(): fail(i, 'write_coils', a, n)
        co[a:a + n] = vals
    elif op == 3:
        n = r.randint(1, 2000); a = r.randrange(10000 - n)
        res = c.read_coils(a, n, slave=1)
        if res.isError() or res.bits[:n] != co[a:a + n]: fail(i, 'read_coils', a, n, res)
    else:
        res = c.read_holding_registers(9990, 100, slave=1)
        if not res.isError(): fail(i, 'a read past the end answered', res)
        errors += 1
c.close()
print('OK', count, errors, flush=True)
`

// modbusRequest is a Modbus/TCP ADU for unit 1, its length field left
// for the encoder to fill in.
func modbusRequest(tid uint16, pdu ...byte) []byte {
	return append([]byte{byte(tid >> 8), byte(tid), 0, 0, 0, 0, 1}, pdu...)
}

// TestModbusTCP: 1,000 requests from pymodbus's client to its server
// through the tap (ModbusTCP both ways, re-encoded by framekit); then a
// framekit client pipelines 1,000 requests (write then read back 1 to
// 123 registers) in batches of up to 20, one batch in flight at a time,
// and checks every response.
func TestModbusTCP(t *testing.T) {
	py := debianPython(t, "python3-pymodbus python3-serial python3-serial-asyncio", "pymodbus.server", "pymodbus.client")
	dir := t.TempDir()
	script := filepath.Join(dir, "modbus_peer.py")
	if err := os.WriteFile(script, []byte(modbusPeer), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startServer(t, "pymodbus server", addr, false, py, script, "server", strconv.Itoa(port))
	seed := seedFor(t)

	const requests = 1000
	clientAddr, tp := newTapAligned(t, addr, lengthprefix.ModbusTCP, lengthprefix.ModbusTCP)
	_, p, _ := strings.Cut(clientAddr, ":")
	start := time.Now()
	out := runPeerClient(t, 3*time.Minute, nil, py, script, "client", p, strconv.Itoa(requests), strconv.FormatInt(seed, 10))
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0] != "OK" || f[1] != strconv.Itoa(requests) || f[2] == "0" {
		t.Fatalf("pymodbus client: %q", out)
	}
	t.Logf("pymodbus client: %d requests (%s answered with an exception) through the tap in %v", requests, f[2], time.Since(start).Round(time.Millisecond))
	seen := tp.seen(t)
	if len(seen[0]) != requests || len(seen[1]) != requests {
		t.Errorf("tap saw %d requests and %d responses, want %d each", len(seen[0]), len(seen[1]), requests)
	}

	// framekit's own client, pipelining: for each request i, write
	// registers then read them back. Each batch is one vectored write of
	// at most 5,200 bytes, and the next is written once the batch's
	// answers are in: alone in flight, it reaches the server in one read
	// on loopback (pymodbus 3.0 drops a request cut across two reads,
	// which a proxy reading 32 KiB at a time did to write 447 of seed
	// 337041855 when every batch was written at once); the answers are
	// re-cut.
	toServer := newProxyWith(t, addr, &fuzz.ProxyOptions{Cut: fuzz.CutWhole(), Back: fuzz.CutRandom(seed+3, 512), Hold: time.Millisecond})
	c, err := framing.Dial("tcp", toServer.Addr(), lengthprefix.ModbusTCP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := rand.New(rand.NewSource(seed + 4))
	type op struct {
		addr uint16
		vals []uint16
	}
	const pairs = 500
	ops := make([]op, pairs)
	for i := range ops {
		n := 1 + r.Intn(123)
		ops[i] = op{addr: uint16(r.Intn(10000 - n)), vals: make([]uint16, n)}
		for k := range ops[i].vals {
			ops[i].vals[k] = uint16(r.Intn(65536))
		}
	}
	for first := 0; first < pairs; {
		n := min(1+r.Intn(10), pairs-first)
		var batch [][]byte
		for i, o := range ops[first : first+n] {
			tid := uint16(2 * (first + i))
			w := []byte{0x10, byte(o.addr >> 8), byte(o.addr), 0, byte(len(o.vals)), byte(2 * len(o.vals))}
			for _, v := range o.vals {
				w = binary.BigEndian.AppendUint16(w, v)
			}
			batch = append(batch,
				modbusRequest(tid, w...),
				modbusRequest(tid+1, 0x03, byte(o.addr>>8), byte(o.addr), 0, byte(len(o.vals))))
		}
		if err := c.WriteFrames(batch); err != nil {
			t.Fatalf("writing batch of %d at %d: %v", n, first, err)
		}
		for i := first; i < first+n; i++ {
			o, tid := ops[i], uint16(2*i)
			wrote, err := c.ReadFrameOwned()
			if err != nil {
				t.Fatalf("response to write %d: %v", i, err)
			}
			want := modbusRequest(tid, 0x10, byte(o.addr>>8), byte(o.addr), 0, byte(len(o.vals)))
			binary.BigEndian.PutUint16(want[4:], uint16(len(want)-6))
			if !bytes.Equal(wrote, want) {
				t.Fatalf("response to write %d: % x, want % x", i, wrote, want)
			}
			read, err := c.ReadFrame()
			if err != nil {
				t.Fatalf("response to read %d: %v", i, err)
			}
			want = modbusRequest(tid+1, 0x03, byte(2*len(o.vals)))
			for _, v := range o.vals {
				want = binary.BigEndian.AppendUint16(want, v)
			}
			binary.BigEndian.PutUint16(want[4:], uint16(len(want)-6))
			if !bytes.Equal(read, want) {
				t.Fatalf("response to read %d: %s", i, difference(read, want))
			}
		}
		first += n
	}
}
