package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framekit/framekit/framing"
)

// Defaults of the flags that protect listen and proxy from their peers:
// memory for partial frames shared by every connection, and the slow-peer
// guard (a frame once started must arrive within a time and at a rate).
const (
	defaultBudget       = 64 << 20
	defaultFrameTimeout = time.Minute
	defaultMinRate      = 1 << 10
)

// guardSetup reads --budget, --frame-timeout and --min-rate into s.opts,
// and --time.
func guardSetup(cl *cmdline, s *setup) error {
	budget := max(int64(defaultBudget), 2*int64(s.max))
	if v, ok := cl.flags["budget"]; ok {
		n, err := parseSize("budget", v)
		if err != nil {
			return err
		}
		if n > 0 && n < int64(s.max) {
			return usagef("--budget %s is below --max %d: a frame of --max could never be held (0 turns the budget off)", v, s.max)
		}
		budget = n
	}
	if budget > 0 {
		s.opts.Budget = framing.NewBudget(budget)
	}
	s.opts.FrameTimeout = defaultFrameTimeout
	if v, ok := cl.flags["frame-timeout"]; ok {
		d, err := parseDurationOrZero("frame-timeout", v)
		if err != nil {
			return err
		}
		s.opts.FrameTimeout = d
	}
	s.opts.MinRate = defaultMinRate
	if v, ok := cl.flags["min-rate"]; ok {
		n, err := parseSize("min-rate", v)
		if err != nil {
			return err
		}
		if n > 1<<40 {
			return usagef("--min-rate %s: at most 1TiB a second", v)
		}
		s.opts.MinRate = int(n)
	}
	s.stamp = cl.has("time")
	return nil
}

// now returns the time for a frame's line: the time with --time, else zero.
func (s *setup) now() time.Time {
	if s.stamp {
		return time.Now()
	}
	return time.Time{}
}

// connSet numbers the connections of listen and proxy from 1 and closes
// the open ones when the command stops.
type connSet struct {
	ids    atomic.Int64
	mu     sync.Mutex
	open   map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// serveConns accepts connections on ln and serves each in its own
// goroutine, with its id, until ctx is done or Accept fails; then it
// closes ln and every connection still open and waits for their
// goroutines.
func serveConns(ctx context.Context, ln net.Listener, serve func(id int64, c net.Conn)) error {
	set := &connSet{open: map[net.Conn]bool{}}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				err = nil
			}
			break
		}
		set.mu.Lock()
		if set.closed {
			set.mu.Unlock()
			c.Close()
			continue
		}
		set.open[c] = true
		set.wg.Add(1)
		set.mu.Unlock()
		id := set.ids.Add(1)
		go func() {
			defer set.wg.Done()
			defer func() {
				set.mu.Lock()
				delete(set.open, c)
				set.mu.Unlock()
			}()
			serve(id, c)
		}()
	}
	ln.Close()
	set.mu.Lock()
	set.closed = true
	for c := range set.open {
		c.Close()
	}
	set.mu.Unlock()
	set.wg.Wait()
	return err
}

// connName is how stderr names a connection: "#3 127.0.0.1:5555".
func connName(id int64, c net.Conn) string {
	return fmt.Sprintf("#%d %s", id, c.RemoteAddr())
}
