// Command echo is a framed (u32 length prefix) echo server on nbio.
package main

import (
	"flag"
	"log"

	nbioframe "github.com/framekit/framekit/eventloop/nbio"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/lesismal/nbio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{*addr}})
	err := nbioframe.Attach(g, nbioframe.Config{
		Codec:   lengthprefix.U32BE,
		OnFrame: func(c *nbioframe.Conn, f []byte) { _ = c.WriteFrame(f) },
	})
	if err == nil {
		err = g.Start()
	}
	if err != nil {
		log.Fatal(err)
	}
	g.Wait()
}
