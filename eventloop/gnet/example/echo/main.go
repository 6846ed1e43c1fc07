// Command echo is a framed (u32 length prefix) echo server on gnet.
package main

import (
	"flag"
	"log"

	gnetframe "github.com/framekit/framekit/eventloop/gnet"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/panjf2000/gnet/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	h, err := gnetframe.NewHandler(gnetframe.Config{
		Codec:   lengthprefix.U32BE,
		OnFrame: func(c *gnetframe.Conn, f []byte) { _ = c.WriteFrame(f) },
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(gnet.Run(h, "tcp://"+*addr, gnet.WithMulticore(true)))
}
