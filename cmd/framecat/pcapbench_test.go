package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
)

// benchCapture writes (once, then reuses it from the temporary directory:
// it is not committed) a capture of about size bytes: 4 connections
// interleaved, each direction u32be frames of 200 to 1800 bytes, cut into
// Ethernet segments of at most 1448 payload bytes. It returns the file's
// name and the number of frames.
func benchCapture(b *testing.B, size int64) (string, int64) {
	name := filepath.Join(os.TempDir(), fmt.Sprintf("framecat-bench-u32be-%d.pcap", size))
	countFile := name + ".frames"
	if c, err := os.ReadFile(countFile); err == nil {
		var n int64
		if _, err := fmt.Sscan(string(c), &n); err == nil {
			return name, n
		}
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	pw, _ := pcap.NewWriter(w, pcap.LinkEthernet, 65535, false, binary.LittleEndian)
	rng := rand.New(rand.NewPCG(1, 1))
	conns := make([]*capgen.Conn, 4)
	offs := make([][2]int64, 4)
	var ts int64 = 1_700_000_000e9
	write := func(c *capgen.Conn, s capgen.Seg) int64 {
		d := capgen.Link(pcap.LinkEthernet, c.IP(s))
		ts += 10_000
		pw.WritePacket(ts, d, len(d))
		return int64(16 + len(d))
	}
	var written, frames int64 = 24, 0
	for i := range conns {
		conns[i] = &capgen.Conn{Client: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(40000+i)),
			Server: netip.MustParseAddrPort("10.0.0.1:9000"), ISN: [2]uint32{rng.Uint32(), rng.Uint32()}}
		for _, s := range conns[i].Handshake() {
			written += write(conns[i], s)
		}
	}
	payload := make([]byte, 1800+4)
	var pending [4][2][]byte
	for written < size {
		i, dir := rng.IntN(4), rng.IntN(2)
		p := &pending[i][dir]
		for len(*p) < 1448 {
			n := 200 + rng.IntN(1600)
			binary.BigEndian.PutUint32(payload, uint32(n))
			*p = append(*p, payload[:4+n]...)
			frames++
		}
		seg := capgen.Seg{Dir: dir, Off: offs[i][dir], Data: (*p)[:1448], Flags: layers.ACK}
		written += write(conns[i], seg)
		offs[i][dir] += 1448
		*p = append((*p)[:0], (*p)[1448:]...)
	}
	// The frames still pending, then the FINs.
	for i := range conns {
		for dir := 0; dir < 2; dir++ {
			if p := pending[i][dir]; len(p) > 0 {
				write(conns[i], capgen.Seg{Dir: dir, Off: offs[i][dir], Data: p, Flags: layers.ACK})
				offs[i][dir] += int64(len(p))
			}
			write(conns[i], capgen.Fin(dir, offs[i][dir]))
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	os.WriteFile(countFile, []byte(fmt.Sprint(frames)), 0o644)
	return name, frames
}

// BenchmarkDecodePcap runs framecat decode --pcap --summary (counting
// frames) over a generated 1 GiB capture of u32be frames and reports the
// input rate and the process's peak RSS (the bar: 300 MB/s in
// 64 MiB).
func BenchmarkDecodePcap(b *testing.B) {
	name, frames := benchCapture(b, 1<<30)
	fi, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	var rss int64
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "decode", "--pcap", name, "-c", "u32be", "--summary")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		got := int64(0)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var n int64
			if _, err := fmt.Sscanf(line[strings.Index(line, "frames="):], "frames=%d", &n); err != nil {
				b.Fatalf("summary line %q", line)
			}
			got += n
		}
		if got != frames {
			b.Fatalf("counted %d frames, want %d", got, frames)
		}
		rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss<<10)
	}
	b.ReportMetric(float64(rss)/(1<<20), "maxRSS-MiB")
	if rss > 64<<20 {
		b.Errorf("peak RSS %d MiB, over 64 MiB", rss>>20)
	}
}
