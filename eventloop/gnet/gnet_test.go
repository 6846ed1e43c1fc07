package gnetframe_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	gnetframe "github.com/framekit/framekit/eventloop/gnet"
	"github.com/framekit/framekit/eventloop/internal/looptest"
	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// server is a Handler that learns its port once gnet has bound it.
type server struct {
	*gnetframe.Handler
	eng chan gnet.Engine
}

func (s *server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng <- eng
	return gnet.None
}

// listenAddr returns the address of the engine's listener (bound to port 0).
func listenAddr(t *testing.T, eng gnet.Engine) string {
	fd, err := eng.Dup()
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T, cfg looptest.Config) *looptest.Server {
	ends := make(chan error, 1024)
	var h *gnetframe.Handler
	h, err := gnetframe.NewHandler(gnetframe.Config{
		Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: func(c *gnetframe.Conn, f []byte) {
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
		OnClose: func(_ *gnetframe.Conn, err error) { ends <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Handler: h, eng: make(chan gnet.Engine, 1)}
	stopped := make(chan error, 1)
	go func() {
		stopped <- gnet.Run(s, "tcp://127.0.0.1:0", gnet.WithLogLevel(logging.ErrorLevel), gnet.WithTCPNoDelay(gnet.TCPNoDelay))
	}()
	var eng gnet.Engine
	select {
	case eng = <-s.eng:
	case err := <-stopped:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = eng.Stop(ctx)
		<-stopped
	})
	return &looptest.Server{Addr: listenAddr(t, eng), Ends: ends}
}

// fanout writes from many goroutines at once on one connection.
func fanout(c *gnetframe.Conn) {
	for w := 0; w < looptest.Fanout; w++ {
		go func() {
			for i := 0; i < looptest.FanoutFrames; i++ {
				done := make(chan error, 1)
				p := []byte("w" + strconv.Itoa(w) + ":" + strconv.Itoa(i) + ":")
				if err := c.AsyncWriteFrame(p, func(err error) { done <- err }); err != nil || <-done != nil {
					return
				}
			}
		}()
	}
}

func TestGnet(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "gnet", Start: start})
}
