package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framekit/framekit/framing"
)

// benchCmd measures a framekit client and server over loopback.
func benchCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 0, 0, ""); err != nil {
		return err
	}
	s, err := newSetup(cl, true)
	if err != nil {
		return err
	}
	size := int64(64)
	if s.codec.fixed > 0 {
		size = int64(s.codec.fixed)
	}
	if v, ok := cl.flags["size"]; ok {
		if size, err = parseSize("size", v); err != nil {
			return err
		}
		if s.codec.fixed > 0 && size != int64(s.codec.fixed) {
			return usagef("--size %s: %s frames are %d bytes", v, s.codec.spec, s.codec.fixed)
		}
	}
	if size > int64(s.max) {
		return usagef("--size %d is over --max %d", size, s.max)
	}
	dur := 3 * time.Second
	if v, ok := cl.flags["duration"]; ok {
		if dur, err = parseDuration("duration", v); err != nil {
			return err
		}
	}
	conns := 1
	if v, ok := cl.flags["conns"]; ok {
		if conns, err = parseCount("conns", v); err != nil {
			return err
		}
		if conns > maxBenchConns {
			return usagef("--conns %d: at most %d", conns, maxBenchConns)
		}
	}
	payload, err := benchPayload(s.codec, int(size))
	if err != nil {
		return usagef("%v", err)
	}
	var progress func(frames int64, elapsed time.Duration)
	if f, ok := e.stderr.(*os.File); ok && isTerminal(f) {
		progress = func(frames int64, elapsed time.Duration) {
			r := rate(frames, len(payload), elapsed)
			fmt.Fprintf(e.stderr, "\r%s ", r)
		}
	}
	r, err := runBench(s.codec.enc, s.opts, payload, conns, dur, progress, nil)
	if progress != nil {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, r)
	return err
}

// benchPayload returns a payload of size bytes that the codec can frame.
func benchPayload(c *codec, size int) ([]byte, error) {
	var err error
	for _, fill := range []byte{'x', 'y', 0x01, 0xAA} {
		p := bytes.Repeat([]byte{fill}, size)
		if _, err = c.enc.AppendFrame(nil, p); err == nil {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%s cannot frame a payload of %d bytes: %s", c.spec, size, describe(err, c))
}

// benchResult is what a bench measured.
type benchResult struct {
	frames  int64
	size    int
	elapsed time.Duration
	start   time.Time // when the server read the first frame
}

func (r benchResult) String() string { return rate(r.frames, r.size, r.elapsed) }

func (r benchResult) perSecond() float64 { return float64(r.frames) / r.elapsed.Seconds() }

func rate(frames int64, size int, elapsed time.Duration) string {
	sec := math.Max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("frames=%d frames/s=%.0f MB/s=%.1f",
		frames, float64(frames)/sec, float64(frames)*float64(size)/sec/1e6)
}

// maxBenchConns bounds --conns: every connection is two goroutines and
// two sockets, and a loopback figure over more says nothing new.
const maxBenchConns = 1000

// benchDialTimeout bounds the dialling of all connections, which happens
// before the clock starts.
const benchDialTimeout = 10 * time.Second

// benchHooks lets a test watch a bench: dial replaces the dialler, and
// received is called for each frame the server reads.
type benchHooks struct {
	dial     func(ctx context.Context, addr string) (net.Conn, error)
	received func(time.Time)
}

// runBench sends payload as fast as conns framekit clients can for dur, to
// a framekit server on loopback that checks every frame, and counts the
// frames the server received in that time. Every connection is dialled
// before any client sends; the clock starts when the server reads the
// first frame and the count is taken when dur has passed since.
func runBench(c framing.Codec, opts *framing.Options, payload []byte, conns int, dur time.Duration,
	progress func(int64, time.Duration), hooks *benchHooks) (benchResult, error) {
	if hooks == nil {
		hooks = &benchHooks{}
	}
	ln, err := framing.Listen("tcp", "127.0.0.1:0", c, opts)
	if err != nil {
		return benchResult{}, err
	}

	var (
		frames   atomic.Int64
		started  = make(chan struct{}) // closed by the first frame
		first    sync.Once
		start    time.Time
		stopping atomic.Bool
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		all      []*framing.Conn
		mu       sync.Mutex
	)
	fail := func(err error) {
		if !stopping.Load() {
			errOnce.Do(func() { firstErr = err })
		}
	}
	track := func(c *framing.Conn) {
		mu.Lock()
		all = append(all, c)
		mu.Unlock()
	}
	// shut stops every goroutine and closes every connection opened so
	// far, whatever ended the run.
	shut := func() {
		stopping.Store(true)
		ln.Close()
		mu.Lock()
		for _, c := range all {
			c.NetConn().Close() // not Close: nothing buffered needs to go out
		}
		mu.Unlock()
		wg.Wait()
	}
	wg.Add(1)
	go func() { // server
		defer wg.Done()
		for range conns {
			sc, err := ln.AcceptFramed()
			if err != nil {
				fail(err)
				return
			}
			track(sc)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					f, err := sc.ReadFrame()
					if err != nil {
						if err != io.EOF {
							fail(err)
						}
						return
					}
					if !bytes.Equal(f, payload) {
						fail(errors.New("bench: the server read a frame that differs from the one sent"))
						return
					}
					first.Do(func() { start = time.Now(); close(started) })
					// The time is taken before the frame is counted, so a
					// frame in the count arrived before the count was read.
					at := time.Now()
					frames.Add(1)
					if hooks.received != nil {
						hooks.received(at)
					}
				}
			}()
		}
	}()

	dial := hooks.dial
	if dial == nil {
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchDialTimeout)
	defer cancel()
	clients := make([]*framing.Conn, 0, conns)
	for i := range conns {
		nc, err := dial(ctx, ln.Addr().String())
		if err != nil {
			shut()
			return benchResult{}, fmt.Errorf("bench: connection %d of %d: %w", i+1, conns, err)
		}
		cc := framing.NewConn(nc, c, opts)
		track(cc)
		clients = append(clients, cc)
	}
	for _, cc := range clients {
		wg.Add(1)
		go func() { // client: frames go out 64 KiB at a time
			defer wg.Done()
			for !stopping.Load() {
				if err := cc.BufferFrame(payload); err != nil {
					fail(err)
					return
				}
			}
		}()
	}

	select {
	case <-started:
	case <-time.After(benchDialTimeout):
		shut()
		if firstErr != nil {
			return benchResult{}, firstErr
		}
		return benchResult{}, errors.New("bench: no frame arrived")
	}
	deadline := start.Add(dur)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
wait:
	for {
		select {
		case <-tick.C:
			if progress != nil {
				progress(frames.Load(), time.Since(start))
			}
		case <-timer.C:
			break wait
		}
	}
	r := benchResult{frames: frames.Load(), size: len(payload), elapsed: time.Since(start), start: start}
	shut()
	if firstErr != nil {
		return r, firstErr
	}
	return r, nil
}
