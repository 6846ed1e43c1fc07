//go:build linux

package main

import (
	"bytes"
	"cmp"
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
	FramesPerSec     float64
	MBPerSec         float64 // payload bytes echoed, both ways not double-counted
	ClientCPU        float64 // of one CPU, over the window
	ClientNsPerFrame float64 // client CPU time per echoed frame
	ServerCPU        float64 // of one CPU, over the window; -1 without a server pid
	ServerNsPerFrame float64 // server CPU time per echoed frame; -1 without a server pid
}

// cpuMeter reads the client's and (given its pid) the server's CPU time.
type cpuMeter struct{ serverPID int }

func (m cpuMeter) read() (client, server time.Duration, err error) {
	client = cpuTime()
	if m.serverPID > 0 {
		server, err = procCPU(m.serverPID)
		if err != nil {
			err = fmt.Errorf("server's CPU time: %w", err)
		}
	}
	return client, server, err
}

// figures returns CPU use (1.00 = one CPU) and CPU time per frame over
// secs seconds and frames frames; -1 for an unmeasured server.
func (m cpuMeter) figures(d time.Duration, secs, frames float64, measured bool) (use, nsPerFrame float64) {
	if !measured {
		return -1, -1
	}
	return d.Seconds() / secs, float64(d.Nanoseconds()) / max(frames, 1)
}

// EchoError is an echo that is not the frames sent: a wrong byte at a
// checked offset, more bytes than were sent, or the end of the stream
// before every frame sent came back.
type EchoError struct {
	Frame  int64 // frames echoed before the fault
	Offset int   // the fault's offset in that frame
	Got    int   // the byte read (-1: the stream ended)
	Want   int   // the byte expected (-1: nothing more was sent)
}

func (e *EchoError) Error() string {
	switch {
	case e.Got < 0:
		return fmt.Sprintf("echo ended after %d frames and %d bytes of the next", e.Frame, e.Offset)
	case e.Want < 0:
		return fmt.Sprintf("echo longer than what was sent: byte %#02x after %d frames and %d bytes", e.Got, e.Frame, e.Offset)
	}
	return fmt.Sprintf("echo corrupt: frame %d byte %d is %#02x, want %#02x", e.Frame, e.Offset, e.Got, e.Want)
}

// echoCheck checks an echoed stream of identical frames as it arrives, in
// place: every frame's 4-byte header and its payload's last byte at their
// offsets, whatever the read boundaries, without copying frames out.
type echoCheck struct {
	frameLen int
	hdr      [4]byte
	last     byte  // the payload's last byte (a payload of 0 bytes has none)
	off      int   // position in the frame being received
	frames   int64 // complete frames received
}

func newEchoCheck(frame []byte) *echoCheck {
	e := &echoCheck{frameLen: len(frame), last: frame[len(frame)-1]}
	copy(e.hdr[:], frame)
	return e
}

// feed checks the next bytes of the echo.
func (e *echoCheck) feed(b []byte) error {
	hdr := binary.BigEndian.Uint32(e.hdr[:])
	for i := 0; i < len(b); {
		if e.off == 0 && len(b)-i >= e.frameLen { // a whole frame
			if binary.BigEndian.Uint32(b[i:]) != hdr {
				for k := 0; ; k++ {
					if b[i+k] != e.hdr[k] {
						return e.fault(k, b[i+k], e.hdr[k])
					}
				}
			}
			if end := i + e.frameLen - 1; end > i+3 && b[end] != e.last {
				return e.fault(e.frameLen-1, b[end], e.last)
			}
			i += e.frameLen
			e.frames++
			continue
		}
		if e.off < 4 { // a header cut by the read
			if b[i] != e.hdr[e.off] {
				return e.fault(e.off, b[i], e.hdr[e.off])
			}
			e.off++
			i++
		} else { // a payload cut by the read: only its last byte is checked
			n := min(len(b)-i, e.frameLen-e.off)
			if e.off+n == e.frameLen && b[i+n-1] != e.last {
				return e.fault(e.frameLen-1, b[i+n-1], e.last)
			}
			e.off += n
			i += n
		}
		if e.off == e.frameLen {
			e.off = 0
			e.frames++
		}
	}
	return nil
}

func (e *echoCheck) fault(off int, got, want byte) error {
	return &EchoError{Frame: e.frames, Offset: off, Got: int(got), Want: int(want)}
}

// pipeline drives one connection of the pipelined echo from one
// goroutine: it keeps at most two batches of per frames in flight,
// sending a batch each time a batch's worth has come back (no channel
// operation: the credit is the count of frames sent and not yet echoed),
// and checks the echo in place with an echoCheck.
type pipeline struct {
	frames []byte // 2 × per identical frames: the most ever in flight
	per    int    // frames per batch
	limit  int64  // frames to send in all; 0: until the connection fails
}

func newPipeline(size int) *pipeline {
	per := max(1, min(16, 8192/(size+4))) // frames per batch
	frame := binary.BigEndian.AppendUint32(nil, uint32(size))
	for i := 0; i < size; i++ {
		frame = append(frame, byte(i))
	}
	return &pipeline{frames: bytes.Repeat(frame, 2*per), per: per}
}

// run drives c until limit frames came back (returning their number) or
// the connection fails; buf (the reads' buffer, at least len(p.frames)
// bytes: no read can return more than is in flight) is reused, echoed
// gets each read's count of complete frames.
func (p *pipeline) run(c net.Conn, buf []byte, echoed *atomic.Int64) (int64, error) {
	frameLen := len(p.frames) / (2 * p.per)
	chk := newEchoCheck(p.frames[:frameLen])
	var sent int64
	for {
		room := int64(2*p.per) - (sent - chk.frames) // frames that may go out
		n := room / int64(p.per) * int64(p.per)
		if p.limit > 0 {
			n = min(n, p.limit-sent)
			if chk.frames == p.limit {
				return chk.frames, nil
			}
		}
		if n > 0 {
			if _, err := c.Write(p.frames[:n*int64(frameLen)]); err != nil {
				return chk.frames, err
			}
			sent += n
		}
		k, err := c.Read(buf)
		if k > 0 {
			before := chk.frames
			ferr := chk.feed(buf[:k])
			echoed.Add(chk.frames - before)
			if ferr != nil {
				return chk.frames, ferr
			}
			if chk.frames > sent || chk.frames == sent && chk.off > 0 {
				return chk.frames, &EchoError{Frame: sent, Offset: chk.off, Got: int(buf[k-1]), Want: -1}
			}
		}
		if err == io.EOF {
			return chk.frames, &EchoError{Frame: chk.frames, Offset: chk.off, Got: -1}
		}
		if err != nil {
			return chk.frames, err
		}
	}
}

// throughput runs the pipelined echo on conns connections, one goroutine
// each (a pipeline); the frames echoed within the window are counted, and
// the client's and the server's CPU time over it are read.
func throughput(addr string, conns, size int, warmup, window time.Duration, serverPID int) (throughputResult, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return throughputResult{}, err
	}
	defer closeAll(cs)
	p := newPipeline(size)
	var echoed atomic.Int64
	var stopped atomic.Bool
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.run(c, make([]byte, len(p.frames)), &echoed)
			if err != nil && !stopped.Load() { // after the window every connection is closed
				failed.CompareAndSwap(nil, &err)
			}
		}()
	}
	meter := cpuMeter{serverPID}
	time.Sleep(warmup)
	f0, t0 := echoed.Load(), time.Now()
	c0, s0, err0 := meter.read()
	time.Sleep(window)
	f1, t1 := echoed.Load(), time.Now()
	c1, s1, err1 := meter.read()
	stopped.Store(true)
	closeAll(cs) // ends the pipelines
	wg.Wait()
	if err := failed.Load(); err != nil {
		return throughputResult{}, *err
	}
	if err := cmp.Or(err0, err1); err != nil {
		return throughputResult{}, err
	}
	secs := t1.Sub(t0).Seconds()
	frames := float64(f1 - f0)
	if frames == 0 {
		return throughputResult{}, fmt.Errorf("no frame echoed in %v", window)
	}
	res := throughputResult{FramesPerSec: frames / secs, MBPerSec: frames * float64(size) / secs / 1e6}
	res.ClientCPU, res.ClientNsPerFrame = meter.figures(c1-c0, secs, frames, true)
	res.ServerCPU, res.ServerNsPerFrame = meter.figures(s1-s0, secs, frames, serverPID > 0)
	return res, nil
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
	P50, P99           time.Duration
	Requests           int64
	ClientCPU          float64
	ServerCPU          float64 // of one CPU, over the run; -1 without a server pid
	ServerNsPerRequest float64 // server CPU time per request; -1 without a server pid
}

// latency runs one request/response per connection at a time (closed
// loop) for d, recording each round trip in a histogram and checking each
// reply's header and last byte.
func latency(addr string, conns, size int, d time.Duration, serverPID int) (latencyResult, error) {
	cs, err := dialAll(addr, conns)
	if err != nil {
		return latencyResult{}, err
	}
	defer closeAll(cs)
	req := binary.BigEndian.AppendUint32(nil, uint32(size))
	for i := 0; i < size; i++ {
		req = append(req, byte(i))
	}
	var mu sync.Mutex
	var all histogram
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	meter := cpuMeter{serverPID}
	t0 := time.Now()
	c0, s0, err0 := meter.read()
	end := t0.Add(d)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := new(histogram)
			buf := make([]byte, len(req))
			chk := newEchoCheck(req)
			_ = c.SetDeadline(end.Add(10 * time.Second))
			for time.Now().Before(end) {
				start := time.Now()
				if _, err := c.Write(req); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				if err := chk.feed(buf); err != nil {
					failed.CompareAndSwap(nil, &err)
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
	c1, s1, err1 := meter.read()
	if err := failed.Load(); err != nil {
		return latencyResult{}, *err
	}
	if err := cmp.Or(err0, err1); err != nil {
		return latencyResult{}, err
	}
	var n int64
	for _, c := range all.counts {
		n += c
	}
	res := latencyResult{P50: all.quantile(0.5), P99: all.quantile(0.99), Requests: n}
	res.ClientCPU, _ = meter.figures(c1-c0, secs, float64(n), true)
	res.ServerCPU, res.ServerNsPerRequest = meter.figures(s1-s0, secs, float64(n), serverPID > 0)
	return res, nil
}
