package nbioframe_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/framekit/framekit/eventloop/internal/looptest"
	nbioframe "github.com/framekit/framekit/eventloop/nbio"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
)

func start(t *testing.T, cfg looptest.Config) *looptest.Server {
	ends := make(chan error, 1024)
	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{"127.0.0.1:0"}, NPoller: 1})
	err := nbioframe.Attach(g, nbioframe.Config{
		Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: func(c *nbioframe.Conn, f []byte) {
			if string(f) == "fanout" {
				fanout(c)
				return
			}
			if cfg.Frame != nil {
				cfg.Frame(f)
			}
			// Buffered, written when the round ends (fanout's writers
			// write at once). A failed write (the peer gone) is seen by
			// the client's checks, which read every echo.
			_ = c.BufferFrame(f)
		},
		OnClose: func(_ *nbioframe.Conn, err error) { ends <- err },
	})
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
	return &looptest.Server{Addr: g.Addrs[0], Ends: ends}
}

// fanout writes from many goroutines at once on one connection.
func fanout(c *nbioframe.Conn) {
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

func TestMain(m *testing.M) {
	logging.SetLevel(logging.LevelError)
	m.Run()
}

func TestNbio(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "nbio", Start: start})
}
