//go:build linux || darwin

// Command echo is a framed (u32 length prefix) echo server on netpoll.
package main

import (
	"log"

	"github.com/cloudwego/netpoll"
	netpollframe "github.com/framekit/framekit/eventloop/netpoll"
	"github.com/framekit/framekit/lengthprefix"
)

func main() {
	ln, err := netpoll.CreateListener("tcp", "127.0.0.1:9000")
	if err != nil {
		log.Fatal(err)
	}
	loop, err := netpollframe.NewEventLoop(netpollframe.Config{
		Codec:   lengthprefix.U32BE,
		OnFrame: func(c *netpollframe.Conn, f []byte) { _ = c.WriteFrame(f) },
	})
	if err == nil {
		err = loop.Serve(ln)
	}
	log.Fatal(err)
}
