//go:build linux

package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/framekit/framekit/eventloop/internal/looptest"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// TestBareCodecs holds the loops' hand-written u32 codecs (the bare
// baselines; the adapters run the same cuttings in looptest) to echoing
// every frame whole and in order whatever the cutting: the client's bytes cut into
// 1 to 7 byte pieces and into coalesced bursts by the re-cutting proxy,
// the replies re-cut on the way back; frames from empty to 200 KiB, so
// that headers and frames straddle every read and the loops' buffers.
func TestBareCodecs(t *testing.T) {
	type cut struct {
		name string
		opts fuzz.ProxyOptions
	}
	cuts := []cut{{"burst", fuzz.ProxyOptions{Cut: fuzz.CutRandom(1, 16<<10), Back: fuzz.CutRandom(2, 4096), Hold: 2 * time.Millisecond}}}
	for n := 1; n <= 7; n++ {
		cuts = append(cuts, cut{fmt.Sprintf("every%d", n), fuzz.ProxyOptions{Cut: fuzz.CutEvery(n), Back: fuzz.CutRandom(int64(n), 4096)}})
	}
	for _, impl := range []string{"gnet-bare", "netpoll-bare", "nbio-bare"} {
		t.Run(impl, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			stop, err := servers[impl](ln)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			for i, c := range cuts {
				p, err := fuzz.NewProxy(addr, &c.opts)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(uint64(i), 20))
				n, max := 60, 200<<10
				if c.name != "burst" {
					n, max = 20, 400 // a few bytes a piece through the proxy is slow
				}
				ps := make([][]byte, n)
				for k := range ps {
					size := rng.IntN(max + 1)
					if k%4 == 0 {
						size = rng.IntN(8) // empty and header-sized frames
					}
					ps[k] = make([]byte, size)
					for j := range ps[k] {
						ps[k][j] = byte(rng.Uint32())
					}
				}
				fc, err := framing.Dial("tcp", p.Addr(), lengthprefix.U32BE, nil)
				if err != nil {
					t.Fatal(err)
				}
				_ = fc.SetDeadline(time.Now().Add(30 * time.Second))
				got, err := looptest.RoundTrip(fc, ps)
				_ = fc.Close()
				_ = p.Close()
				if err != nil {
					t.Fatalf("%s: %v after %d frames", c.name, err, len(got))
				}
				if diff := looptest.DiffFrames(ps, got); diff != "" {
					t.Fatalf("%s: echoed frames differ (-sent +got):\n%s", c.name, diff)
				}
			}
		})
	}
}
