package nbioframe_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	nbioframe "github.com/framekit/framekit/eventloop/nbio"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/lesismal/nbio"
)

// An OnFrame that echoes a small request, then builds its reply in the
// request's bytes (the view is its own for the call): the echo goes out
// with its own bytes: a small frame is copied when written.
func TestSmallFrameReusedAfterWrite(t *testing.T) {
	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{"127.0.0.1:0"}, NPoller: 1})
	err := nbioframe.Attach(g, nbioframe.Config{Codec: lengthprefix.U32BE,
		OnFrame: func(c *nbioframe.Conn, f []byte) {
			_ = c.BufferFrame(f)
			_ = c.BufferFrame(append(f[:0], "ack"...))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	nc, err := net.Dial("tcp", g.Addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req, _ := lengthprefix.U32BE.AppendFrame(nil, []byte("hello"))
	if _, err := nc.Write(req); err != nil {
		t.Fatal(err)
	}
	want, _ := lengthprefix.U32BE.AppendFrame(req[:len(req):len(req)], []byte("ack"))
	got := make([]byte, len(want))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire %q, want %q", got, want)
	}
}
