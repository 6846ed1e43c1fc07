package framing

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

func TestMixedWritersLargeU32(t *testing.T) {
	for _, kind := range []string{"pipe", "tcp", "vec"} {
		t.Run(kind, func(t *testing.T) {
			var client, server net.Conn
			if kind == "pipe" {
				client, server = net.Pipe()
			} else {
				client, server = tcpPair(t)
			}
			var dst net.Conn = client
			if kind == "vec" {
				dst = &countConn{Conn: client}
			}
			wc := NewConn(dst, u32{}, nil)
			rc := NewConn(server, u32{}, nil)
			const G, N = 8, 200
			var wg sync.WaitGroup
			for g := 0; g < G; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < N; i++ {
						size := 8 + (i*997+g*31)%9000
						p := make([]byte, size)
						binary.BigEndian.PutUint32(p, uint32(g))
						binary.BigEndian.PutUint32(p[4:], uint32(i))
						for j := 8; j < size; j++ {
							p[j] = byte(g + i + j)
						}
						err := writeInTurn(wc, i, p)
						// scribble: the caller may reuse p now
						for j := range p {
							p[j] = 0xEE
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
					wc.Flush()
				}(g)
			}
			go func() {
				wg.Wait()
				if err := wc.Flush(); err != nil {
					t.Error(err)
				}
				client.Close()
			}()
			next := make([]int, G)
			for {
				f, err := rc.ReadFrame()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				g, i := int(binary.BigEndian.Uint32(f)), int(binary.BigEndian.Uint32(f[4:]))
				if g >= G || i != next[g] || len(f) != 8+(i*997+g*31)%9000 {
					t.Fatalf("bad frame g=%d i=%d len=%d", g, i, len(f))
				}
				for j := 8; j < len(f); j++ {
					if f[j] != byte(g+i+j) {
						t.Fatalf("corrupt g=%d i=%d at %d", g, i, j)
					}
				}
				next[g]++
			}
			for g, n := range next {
				if n != N {
					t.Errorf("writer %d: %d frames", g, n)
				}
			}
		})
	}
}
