package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Mixed concurrent use of WriteFrame/WriteFrames(with rejected payloads)/
// BufferFrame/Flush; the reader checks per-writer order and content.
func TestMixedWritersStress(t *testing.T) {
	client, server := net.Pipe()
	wc := NewConn(client, nl{}, nil)
	rc := NewConn(server, nl{}, nil)
	const G, N = 16, 300
	var wg sync.WaitGroup
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < N; i++ {
				p := []byte(string(rune('a'+g)) + ":" + string(bytes.Repeat([]byte{'x'}, i%50)) + ":" + itoa(i))
				if i%4 == 1 {
					err := wc.WriteFrames([][]byte{p, []byte("bad\nframe")})
					if !errors.Is(err, ErrPayload) {
						t.Errorf("want payload error, got %v", err)
					}
				}
				err := writeInTurn(wc, i, p)
				if err != nil {
					t.Error(err)
					return
				}
			}
			wc.Flush()
		}(g)
	}
	go func() { wg.Wait(); wc.Flush(); client.Close() }()
	next := make([]int, G)
	for {
		f, err := rc.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		parts := bytes.Split(f, []byte(":"))
		g := int(parts[0][0] - 'a')
		i := atoi(string(parts[2]))
		if i != next[g] || len(parts[1]) != i%50 {
			t.Fatalf("writer %d: got %d want %d", g, i, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != N {
			t.Errorf("writer %d: %d frames", g, n)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
func atoi(s string) int { v, _ := strconv.Atoi(s); return v }

var _ = binary.BigEndian

// Close while many writers are blocked on a peer that does not read.
func TestCloseWhileWritersBlocked(t *testing.T) {
	client, _ := tcpPair(t)
	c := NewConn(client, u32{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := c.WriteFrame(make([]byte, 64<<10)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	done := make(chan struct{})
	go func() { c.Close(); wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("deadlock")
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrWriterBroken) {
			t.Errorf("%v", err)
		}
	}
}

// writeInTurn writes p as one frame with each of the Conn's write calls in
// turn: WriteFrame, WriteFrames, BufferFrame, BufferFrame then Flush.
func writeInTurn(c *Conn, i int, p []byte) error {
	switch i % 4 {
	case 0:
		return c.WriteFrame(p)
	case 1:
		return c.WriteFrames([][]byte{p})
	case 2:
		return c.BufferFrame(p)
	default:
		if err := c.BufferFrame(p); err != nil {
			return err
		}
		return c.Flush()
	}
}
