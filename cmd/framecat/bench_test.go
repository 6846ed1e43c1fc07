package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/lengthprefix"
)

// TestBenchClock: with slow dials, no frame is sent (or counted) while
// connections are still being dialled, the clock starts with the first
// frame, and the run ends when --duration has passed since.
func TestBenchClock(t *testing.T) {
	const conns = 40
	var (
		mu       sync.Mutex
		received []time.Time
		lastDial time.Time
	)
	hooks := &benchHooks{
		dial: func(ctx context.Context, addr string) (net.Conn, error) {
			time.Sleep(5 * time.Millisecond) // 200 ms of dialling in all
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			mu.Lock()
			lastDial = time.Now()
			mu.Unlock()
			return c, err
		},
		received: func(at time.Time) {
			mu.Lock()
			received = append(received, at)
			mu.Unlock()
		},
	}
	dur := 200 * time.Millisecond
	began := time.Now()
	r, err := runBench(lengthprefix.U32BE, nil, bytes.Repeat([]byte{'x'}, 64), conns, dur, nil, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(began); el > 10*time.Second {
		t.Errorf("bench of %v took %v", dur, el)
	}
	mu.Lock()
	defer mu.Unlock()
	if r.start.Before(lastDial) {
		t.Errorf("clock started %v before the last dial", lastDial.Sub(r.start))
	}
	early := 0
	counted := int64(0)
	for _, at := range received {
		if at.Before(r.start) {
			early++
		}
		if !at.After(r.start.Add(r.elapsed)) {
			counted++
		}
	}
	if early > 0 {
		t.Errorf("%d frames arrived before the clock started", early)
	}
	if r.frames < 1 || r.frames > counted {
		t.Errorf("bench counted %d frames; %d arrived within its %v", r.frames, counted, r.elapsed)
	}
	if r.elapsed < dur || r.elapsed > dur+2*time.Second {
		t.Errorf("elapsed %v for --duration %v", r.elapsed, dur)
	}
}

// closeCounter counts the connections it hands out that were closed.
type closeCounter struct {
	net.Conn
	closed *atomic.Int32
	once   sync.Once
}

func (c *closeCounter) Close() error {
	c.once.Do(func() { c.closed.Add(1) })
	return c.Conn.Close()
}

// TestBenchDialError: a dial that fails ends the bench with the error, and
// every connection opened before it is closed.
func TestBenchDialError(t *testing.T) {
	var opened, closed atomic.Int32
	hooks := &benchHooks{
		dial: func(ctx context.Context, addr string) (net.Conn, error) {
			if opened.Load() == 4 {
				return nil, errors.New("refused by the test")
			}
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			opened.Add(1)
			return &closeCounter{Conn: c, closed: &closed}, nil
		},
	}
	_, err := runBench(lengthprefix.U32BE, nil, []byte("x"), 10, time.Second, nil, hooks)
	if err == nil || err.Error() != "bench: connection 5 of 10: refused by the test" {
		t.Errorf("error %v", err)
	}
	if o, c := opened.Load(), closed.Load(); o != 4 || c != 4 {
		t.Errorf("%d connections opened, %d closed; want 4 and 4", o, c)
	}
}
