package gnetframe_test

import (
	"context"
	"net"
	"os"
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
	e := looptest.NewEcho[*gnetframe.Conn](cfg)
	h, err := gnetframe.NewHandler(gnetframe.Config{Codec: cfg.Codec, Options: cfg.Options, Owned: cfg.Owned,
		OnFrame: e.OnFrame, OnClose: e.OnClose})
	if err != nil {
		t.Fatal(err)
	}
	counts := gnetframe.Count(h)
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
	return e.Server(listenAddr(t, eng), counts)
}

func TestGnet(t *testing.T) {
	looptest.Run(t, looptest.Loop{Name: "gnet", Start: start})
}
