//go:build linux || darwin

package netpollframe_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/framekit/framekit/eventloop/internal/looptest"
	netpollframe "github.com/framekit/framekit/eventloop/netpoll"
)

func start(t *testing.T, cfg looptest.Config) *looptest.Server {
	ends := make(chan error, 1024)
	loop, err := netpollframe.NewEventLoop(netpollframe.Config{
		Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: func(c *netpollframe.Conn, f []byte) {
			if string(f) == "fanout" {
				fanout(c)
				return
			}
			if cfg.Frame != nil {
				cfg.Frame(f)
			}
			// A failed write (the peer gone) is seen by the client's
			// checks, which read every echo.
			// Buffered, flushed by the adapter at the end of the round
			// (fanout's writers use WriteFrame).
			_ = c.BufferFrame(f)
		},
		OnClose: func(_ *netpollframe.Conn, err error) { ends <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := netpoll.CreateListener("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- loop.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = loop.Shutdown(ctx)
		<-stopped
	})
	return &looptest.Server{Addr: ln.Addr().String(), Ends: ends}
}

// fanout writes from many goroutines at once on one connection.
func fanout(c *netpollframe.Conn) {
	for w := 0; w < looptest.Fanout; w++ {
		go func() {
			for i := 0; i < looptest.FanoutFrames; i++ {
				if c.WriteFrame([]byte("w"+strconv.Itoa(w)+":"+strconv.Itoa(i)+":")) != nil {
					return
				}
			}
		}()
	}
}

func TestNetpoll(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "netpoll", Start: start, ReadsRegardless: true})
}
