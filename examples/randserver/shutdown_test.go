package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// TestShutdownUnderPipelining: 300 clients pipeline requests (up to 32 in
// flight each) when the server shuts down. Every reply the server wrote
// reaches its client whole, every client then reads a clean EOF, and no
// connection is reset, on either side.
func TestShutdownUnderPipelining(t *testing.T) {
	const clients = 300
	var answered atomic.Int64
	s := startServer(t, func(req []byte) []byte {
		answered.Add(1)
		return answer(req)
	})
	var (
		replies, ready atomic.Int64
		errs           = make(chan error, 2*clients)
		wg             sync.WaitGroup
		begin          = make(chan struct{}) // closed once every client is dialled
	)
	for range clients {
		c, err := framing.Dial("tcp", s.addr, lengthprefix.U32BE, frameOptions)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		wg.Add(2)
		slots := make(chan struct{}, 32)
		stop := make(chan struct{})
		written := make(chan struct{})
		go func() { // writer: pipelines until the reader sees EOF
			defer wg.Done()
			defer close(written)
			<-begin
			for {
				select {
				case slots <- struct{}{}:
				case <-stop:
					if err := c.CloseWrite(); err != nil {
						errs <- fmt.Errorf("CloseWrite: %w", err)
					}
					return
				}
				if err := c.WriteFrame([]byte("1 6")); err != nil {
					errs <- fmt.Errorf("write: %w", err)
					<-stop
					return
				}
			}
		}()
		go func() { // reader: every reply whole, then EOF
			defer wg.Done()
			defer c.Close()
			defer func() { close(stop); <-written }()
			n := 0
			for {
				reply, err := c.ReadFrame()
				if err == io.EOF {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("after %d replies: %w", n, err)
					return
				}
				if len(reply) != 1 || reply[0] < '1' || reply[0] > '6' {
					errs <- fmt.Errorf("reply %q", reply)
					return
				}
				n++
				replies.Add(1)
				if n == 5 {
					ready.Add(1)
				}
				<-slots
			}
		}()
	}
	start := time.Now()
	close(begin)
	// Shut down once every client is pipelining.
	deadline := time.Now().Add(20 * time.Second)
	for ready.Load() < clients {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d clients got 5 replies", ready.Load(), clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
	shutAt := time.Now()
	s.shutdown()
	wg.Wait()
	t.Logf("clients pipelining after %v; all ended %v after the shutdown", shutAt.Sub(start), time.Since(shutAt))
	close(errs)
	var msgs []string
	for err := range errs {
		msgs = append(msgs, err.Error())
	}
	resets := 0
	for _, m := range msgs {
		if strings.Contains(m, "reset") || strings.Contains(m, "broken pipe") || strings.Contains(m, "not connected") {
			resets++
		}
	}
	if len(msgs) > 0 {
		t.Errorf("%d errors (%d resets), the first: %s", len(msgs), resets, msgs[0])
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if r, a := replies.Load(), answered.Load(); r != a {
		t.Errorf("clients read %d replies; the server answered %d", r, a)
	}
	t.Logf("%d clients, %d replies", clients, replies.Load())
}

// TestClientFlags: the client's flags are checked before anything is sent,
// and -c shares the requests among connections.
func TestClientFlags(t *testing.T) {
	addr := startServer(t, answer).addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-dial", addr, "-n", "-1"}, "-n -1: want at least 1"},
		{[]string{"-dial", addr, "-n", "0"}, "-n 0: want at least 1"},
		{[]string{"-dial", addr, "-min", "7", "-max", "6"}, "-min 7 is larger than -max 6"},
		{[]string{"-dial", addr, "-c", "0"}, "-c 0: want 1 to 1000"},
		{[]string{"-dial", addr, "-c", "5000"}, "-c 5000: want 1 to 1000"},
		{[]string{"-dial", addr, "stray"}, `unexpected argument "stray"`},
	} {
		var out, errOut strings.Builder
		err := run(ctx, tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() > 0 {
			t.Errorf("run %q: %v, stdout %q; want %q", tc.args, err, out.String(), tc.want)
		}
	}
	var out, errOut strings.Builder
	if err := run(ctx, []string{"-dial", addr, "-n", "50", "-c", "8", "-min", "3", "-max", "3"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); len(got) != 50 || strings.Trim(strings.Join(got, ""), "3") != "" {
		t.Errorf("-n 50 -c 8 printed %q", out.String())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the client took 10 s")
	}
}
