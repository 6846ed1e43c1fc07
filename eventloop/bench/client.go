//go:build linux

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// dialAll opens n connections to addr, retrying a refused or reset dial
// (a listener's backlog overflows when thousands connect at once).
func dialAll(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for len(conns) < n {
		var c net.Conn
		var err error
		for try := 0; try < 50; try++ {
			if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("dial %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// throughputResult is one pipelined echo run.
type throughputResult struct {
	FramesPerSec float64
	MBPerSec     float64 // payload bytes echoed, both ways not double-counted
	ClientCPU    float64 // of one CPU, over the window
}

// throughput runs the pipelined echo: on each connection a writer sends
// batches of frames (at most two batches in flight) and a reader checks
// every echoed frame; the frames echoed within the window are counted.
func throughput(addr string, conns, size int, warmup, window time.Duration) (throughputResult, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return throughputResult{}, err
	}
	defer closeAll(cs)
	per := max(1, min(16, 8192/(size+4))) // frames per batch
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	var batch []byte
	for i := 0; i < per; i++ {
		batch = binary.BigEndian.AppendUint32(batch, uint32(size))
		batch = append(batch, payload...)
	}
	var echoed atomic.Int64
	var stop atomic.Bool
	done := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 2*conns)
	for _, c := range cs {
		sem := make(chan struct{}, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				select {
				case sem <- struct{}{}:
				case <-done:
					return
				}
				if _, err := c.Write(batch); err != nil {
					errc <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(c, 64<<10)
			buf := make([]byte, 4+size)
			for got := 0; ; got++ {
				if _, err := io.ReadFull(r, buf); err != nil {
					errc <- err
					return
				}
				if binary.BigEndian.Uint32(buf) != uint32(size) || buf[4+size-1] != payload[size-1] {
					errc <- fmt.Errorf("echo corrupt")
					return
				}
				echoed.Add(1)
				if got%per == per-1 {
					select {
					case <-sem:
					case <-done:
						return
					}
				}
			}
		}()
	}
	time.Sleep(warmup)
	f0, cpu0, t0 := echoed.Load(), cpuTime(), time.Now()
	time.Sleep(window)
	f1, cpu1, t1 := echoed.Load(), cpuTime(), time.Now()
	stop.Store(true)
	close(done)
	closeAll(cs) // ends the readers and writers
	wg.Wait()
	select {
	case err := <-errc:
		if !stop.Load() {
			return throughputResult{}, err
		}
	default:
	}
	secs := t1.Sub(t0).Seconds()
	frames := float64(f1 - f0)
	return throughputResult{
		FramesPerSec: frames / secs,
		MBPerSec:     frames * float64(size) / secs / 1e6,
		ClientCPU:    (cpu1 - cpu0).Seconds() / secs,
	}, nil
}

// histogram counts latencies in buckets 1/32 of a power of two wide
// (about 2 % resolution).
type histogram struct{ counts [64 * 32]int64 }

func (h *histogram) add(d time.Duration) {
	ns := max(float64(d.Nanoseconds()), 1)
	i := int(math.Log2(ns) * 32)
	h.counts[min(max(i, 0), len(h.counts)-1)]++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for _, c := range h.counts {
		total += c
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= want && c > 0 {
			return time.Duration(math.Exp2(float64(i+1) / 32))
		}
	}
	return 0
}

// latencyResult is one closed-loop run.
type latencyResult struct {
	P50, P99  time.Duration
	Requests  int64
	ClientCPU float64
}

// latency runs one request/response per connection at a time (closed
// loop) for d, recording each round trip in a histogram.
func latency(addr string, conns, size int, d time.Duration) (latencyResult, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return latencyResult{}, err
	}
	defer closeAll(cs)
	req := binary.BigEndian.AppendUint32(nil, uint32(size))
	req = append(req, make([]byte, size)...)
	var mu sync.Mutex
	var all histogram
	var wg sync.WaitGroup
	var failed atomic.Value
	cpu0, t0 := cpuTime(), time.Now()
	end := t0.Add(d)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := new(histogram)
			buf := make([]byte, len(req))
			_ = c.SetDeadline(end.Add(10 * time.Second))
			for time.Now().Before(end) {
				start := time.Now()
				if _, err := c.Write(req); err != nil {
					failed.Store(err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					failed.Store(err)
					return
				}
				h.add(time.Since(start))
			}
			mu.Lock()
			all.merge(h)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	if err, ok := failed.Load().(error); ok {
		return latencyResult{}, err
	}
	var n int64
	for _, c := range all.counts {
		n += c
	}
	return latencyResult{P50: all.quantile(0.5), P99: all.quantile(0.99), Requests: n,
		ClientCPU: (cpuTime() - cpu0).Seconds() / secs}, nil
}
