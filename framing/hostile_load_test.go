package framing_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// TestMixedHostileLoad runs hundreds of connections at once against a
// framekit echo server with a slow-peer guard and a memory budget: slow
// ones that dribble a large frame, oversized headers, corrupt (negative)
// lengths, streams cut off mid-frame, and good ones. Every good
// connection gets all its frames back intact and in order, the hostile
// ones are cut off with the right errors, and memory stays within the
// budget.
func TestMixedHostileLoad(t *testing.T) {
	const (
		good, slow, oversized, corrupt, truncated = 60, 60, 40, 40, 40
		budgetSize                                = 8 << 20
	)
	codec := lengthprefix.Kafka // signed: a negative length is corrupt
	budget := framing.NewBudget(budgetSize)
	stats := new(framing.Stats)
	opts := &framing.Options{
		MaxFrameSize: 256 << 10,
		FrameTimeout: 500 * time.Millisecond,
		Budget:       budget,
		BudgetWait:   true,
		Stats:        stats,
	}
	l, err := framing.Listen("tcp", "127.0.0.1:0", codec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var serverErrs sync.Map // error kind -> *atomic.Int64
	countErr := func(err error) {
		kind := "other"
		switch {
		case errors.Is(err, io.EOF):
			kind = "eof"
		case errors.Is(err, framing.ErrSlowPeer):
			kind = "slow"
		case errors.Is(err, framing.ErrFrameTooLarge):
			kind = "toolarge"
		case errors.Is(err, framing.ErrCorrupt):
			kind = "corrupt"
		case errors.Is(err, io.ErrUnexpectedEOF):
			kind = "truncated"
		}
		v, _ := serverErrs.LoadOrStore(kind, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var serving sync.WaitGroup
	go func() {
		for {
			c, err := l.AcceptFramed()
			if err != nil {
				return
			}
			serving.Add(1)
			go func() {
				defer serving.Done()
				defer c.Close()
				for {
					f, err := c.ReadFrame()
					if err != nil {
						countErr(err)
						return
					}
					if err := c.WriteFrame(f); err != nil {
						countErr(err)
						return
					}
				}
			}()
		}
	}()

	// Sample the budget while the load runs.
	stopSampling := make(chan struct{})
	var maxInUse atomic.Int64
	go func() {
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if u := budget.InUse(); u > maxInUse.Load() {
				maxInUse.Store(u)
			}
		}
	}()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Error(err)
			return nil
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c
	}
	hdr := func(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

	var wg sync.WaitGroup
	var goodFailures atomic.Int64
	run := func(n int, f func(i int)) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); f(i) }(i)
		}
	}
	run(good, func(i int) {
		nc := dial()
		if nc == nil {
			return
		}
		defer nc.Close()
		c := framing.NewConn(nc, codec, &framing.Options{MaxFrameSize: 1 << 20})
		rng := rand.New(rand.NewSource(int64(i)))
		for k := 0; k < 20; k++ {
			p := make([]byte, rng.Intn(32<<10))
			rng.Read(p)
			if err := c.WriteFrame(p); err != nil {
				t.Errorf("good conn %d, frame %d: write: %v", i, k, err)
				goodFailures.Add(1)
				return
			}
			got, err := c.ReadFrame()
			if err != nil || !bytes.Equal(got, p) {
				t.Errorf("good conn %d, frame %d: echo of %d bytes: got %d bytes, %v", i, k, len(p), len(got), err)
				goodFailures.Add(1)
				return
			}
		}
	})
	run(slow, func(int) {
		nc := dial()
		if nc == nil {
			return
		}
		defer nc.Close()
		nc.Write(append(hdr(200<<10), make([]byte, 40<<10)...)) // holds a buffer
		for k := 0; k < 30; k++ {                               // 3 s at most, the guard fires at 0.5 s
			if _, err := nc.Write([]byte{byte(k)}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	run(oversized, func(int) {
		if nc := dial(); nc != nil {
			defer nc.Close()
			nc.Write(hdr(1 << 30))
			io.Copy(io.Discard, nc) // until the server closes
		}
	})
	run(corrupt, func(int) {
		if nc := dial(); nc != nil {
			defer nc.Close()
			nc.Write(hdr(-5))
			io.Copy(io.Discard, nc)
		}
	})
	run(truncated, func(i int) {
		if nc := dial(); nc != nil {
			defer nc.Close()
			nc.Write(append(hdr(100<<10), make([]byte, 10<<10+i)...))
			nc.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, nc)
		}
	})
	wg.Wait()
	close(stopSampling)

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	l.Close()
	serving.Wait()

	counts := map[string]int64{}
	serverErrs.Range(func(k, v any) bool {
		counts[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	t.Logf("server errors %v; budget peak %d KiB; heap grew %d KiB; %v",
		counts, maxInUse.Load()>>10, (int64(after.HeapInuse)-int64(before.HeapInuse))>>10, stats.Snapshot())
	if goodFailures.Load() != 0 {
		t.Fatalf("%d good connections failed", goodFailures.Load())
	}
	for kind, want := range map[string]int64{"eof": good, "slow": slow, "toolarge": oversized, "corrupt": corrupt, "truncated": truncated} {
		if counts[kind] != want {
			t.Errorf("%s: %d connections ended that way, want %d", kind, counts[kind], want)
		}
	}
	if maxInUse.Load() > budgetSize {
		t.Errorf("budget in use peaked at %d, over its %d", maxInUse.Load(), budgetSize)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > budgetSize+16<<20 {
		t.Errorf("heap grew %d MiB, over the budget plus 16 MiB", grown>>20)
	}
	if got := stats.FramesRead.Load(); got != good*20 {
		t.Errorf("Stats.FramesRead = %d, want %d", got, good*20)
	}
	if budget.InUse() != 0 {
		t.Errorf("%d bytes of budget still held after every connection ended", budget.InUse())
	}
}
