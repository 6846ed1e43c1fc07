package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
)

// TestListenBudgetBoundsPartialFrames is the load of issue 22: 200 clients
// each declare an 8 MiB frame and send 1 MiB of it, then wait. Without a
// budget listen holds 200 partial frames (over 200 MB); with --budget
// 16MiB the connections that cannot get memory are refused, and the heap
// in use, sampled all along, stays within the budget plus 32 MiB. Counted,
// not timed: every client is either held or refused, the budget is never
// exceeded, and it is back to zero when listen stops.
func TestListenBudgetBoundsPartialFrames(t *testing.T) {
	const (
		clients  = 200
		declared = 8 << 20
		sent     = 1 << 20
		budget   = 16 << 20
	)
	cl, err := parseArgs("listen", []string{"127.0.0.1:0", "-c", "u32be", "-f", "hex", "--budget", "16MiB", "--frame-timeout", "0", "--min-rate", "0"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSetup(cl, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := guardSetup(cl, s); err != nil {
		t.Fatal(err)
	}
	stats := new(framing.Stats)
	s.opts.Stats = stats
	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveConns(ctx, ln, listener(e, s, false)) }()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	// Heap in use counts garbage the collector has not reached yet: each
	// connection's buffer grows in steps, and under a busy machine the
	// collector lags by as much again as is live. A server that must stay
	// under a memory ceiling sets GOMEMLIMIT beside --budget; the test sets
	// the same soft limit, so that what it measures is what is held. Were
	// listen to hold more than the budget, no collection could bring the
	// heap back under the limit, and the check below would fail.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(base) + budget + 24<<20))
	var peakHeap, peakBudget atomic.Int64
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), int64(ms.HeapInuse)))
			peakBudget.Store(max(peakBudget.Load(), s.opts.Budget.InUse()))
			select {
			case <-sampling:
				return
			case <-tick.C:
			}
		}
	}()

	frame := make([]byte, 4+sent)
	binary.BigEndian.PutUint32(frame, declared)
	var held, refused atomic.Int32
	var wg sync.WaitGroup
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := c.Write(frame); err != nil {
				refused.Add(1)
				return
			}
			// Written: either listen holds it, or it refused it after
			// reading it all. A refused connection is closed: a read
			// returns at once; a held one times out.
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				refused.Add(1)
				return
			}
			held.Add(1)
		}()
	}
	wg.Wait()
	close(sampling)
	<-sampled
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}

	h, r := held.Load(), refused.Load()
	t.Logf("held %d, refused %d, over_budget %d; peak budget %d MiB, peak heap in use %d MiB over the %d MiB before",
		h, r, stats.OverBudget.Load(), peakBudget.Load()>>20, (peakHeap.Load()-int64(base))>>20, base>>20)
	if h+r != clients || r == 0 || h == 0 {
		t.Errorf("held %d and refused %d of %d clients; want both above 0", h, r, clients)
	}
	if got := stats.OverBudget.Load(); got < int64(r) {
		t.Errorf("over_budget %d, fewer than the %d refused", got, r)
	}
	if pb := peakBudget.Load(); pb > budget {
		t.Errorf("budget peak %d over its size %d", pb, budget)
	}
	if grew := peakHeap.Load() - int64(base); grew > budget+32<<20 {
		t.Errorf("heap in use grew by %d MiB, over the budget plus 32 MiB", grew>>20)
	}
	if n := s.opts.Budget.InUse(); n != 0 {
		t.Errorf("budget in use after listen stopped: %d", n)
	}
	if !strings.Contains(stderr.String(), "memory budget exhausted") {
		t.Errorf("stderr says nothing of the budget: %q", stderr.String())
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// lockedBuffer is a bytes.Buffer for many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
