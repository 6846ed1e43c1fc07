package nbioframe_test

import (
	"context"
	"testing"
	"time"

	"github.com/framekit/framekit/eventloop/internal/looptest"
	nbioframe "github.com/framekit/framekit/eventloop/nbio"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
)

func start(t *testing.T, cfg looptest.Config) *looptest.Server {
	e := looptest.NewEcho[*nbioframe.Conn](cfg)
	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{"127.0.0.1:0"}, NPoller: 1})
	counts, err := nbioframe.AttachCounted(g, nbioframe.Config{Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: e.OnFrame, OnClose: e.OnClose})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return e.Server(g.Addrs[0], counts)
}

func TestMain(m *testing.M) {
	logging.SetLevel(logging.LevelError)
	m.Run()
}

func TestNbio(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "nbio", Start: start})
}
