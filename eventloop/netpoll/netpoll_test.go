//go:build linux || darwin

package netpollframe_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/framekit/framekit/eventloop/internal/looptest"
	netpollframe "github.com/framekit/framekit/eventloop/netpoll"
)

func start(t *testing.T, cfg looptest.Config) *looptest.Server {
	e := looptest.NewEcho[*netpollframe.Conn](cfg)
	loop, counts, err := netpollframe.NewEventLoopCounted(netpollframe.Config{Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: e.OnFrame, OnClose: e.OnClose})
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
	return e.Server(ln.Addr().String(), counts)
}

func TestNetpoll(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "netpoll", Start: start, ReadsRegardless: true})
}
