package fuzz_test

import (
	"fmt"
	"io"
	"net"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// Outside a test, Check runs the whole suite and returns what failed; in a
// test, fuzz.Conformance(t, codec, nil) does the same with subtests.
func Example() {
	failures := fuzz.Check(lengthprefix.U32BE, nil)
	fmt.Println(len(failures), "failures")
	// Output: 0 failures
}

// A Pipe delivers writes re-cut: here three writes arrive as reads of at
// most 4 bytes, glued together across the writes' boundaries.
func ExamplePipe() {
	a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(4)})
	a.Write([]byte("abc"))
	a.Write([]byte("defgh"))
	a.Write([]byte("ij"))
	a.CloseWrite()
	buf := make([]byte, 64)
	for {
		n, err := b.Read(buf)
		if err == io.EOF {
			break
		}
		fmt.Printf("%q ", buf[:n])
	}
	fmt.Println()
	// Output: "abcd" "efgh" "ij"
}

// The proxy re-cuts a real TCP connection; framing reads whole frames
// through it all the same.
func ExampleNewProxy() {
	l, _ := framing.Listen("tcp", "127.0.0.1:0", lengthprefix.U16BE, nil)
	defer l.Close()
	go func() {
		c, _ := l.AcceptFramed()
		defer c.Close()
		for {
			msg, err := c.ReadFrame()
			if err != nil {
				return
			}
			c.WriteFrame(msg)
		}
	}()
	p, _ := fuzz.NewProxy(l.Addr().String(), &fuzz.ProxyOptions{Cut: fuzz.CutEvery(1), Back: fuzz.CutRandom(1, 3)})
	defer p.Close()
	nc, _ := net.Dial("tcp", p.Addr())
	c := framing.NewConn(nc, lengthprefix.U16BE, nil)
	defer c.Close()
	c.WriteFrame([]byte("split into 1-byte pieces"))
	echo, _ := c.ReadFrame()
	fmt.Println(string(echo))
	// Output: split into 1-byte pieces
}
