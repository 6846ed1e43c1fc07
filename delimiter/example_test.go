package delimiter_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
)

func ExampleLines() {
	r := framing.NewReader(bytes.NewReader([]byte("PING\r\nhello\n")), delimiter.Lines, nil)
	for {
		line, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		fmt.Printf("%q\n", line)
	}
	out, _ := delimiter.Lines.AppendFrame(nil, []byte("PONG"))
	fmt.Printf("%q\n", out)
	_, err := delimiter.Lines.AppendFrame(nil, []byte("two\nlines"))
	fmt.Println(err)
	// Output:
	// "PING"
	// "hello"
	// "PONG\n"
	// framing: cannot frame a payload of 9 bytes: contains the delimiter "\n"
}

// Several delimiters: the one that gives the shortest frame wins.
func ExampleNew() {
	c, _ := delimiter.New(delimiter.Config{Delimiters: [][]byte{[]byte("\r\n\r\n"), []byte(";")}})
	r := framing.NewReader(bytes.NewReader([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\na;b;")), c, nil)
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		fmt.Printf("%q\n", f)
	}
	// Output:
	// "GET / HTTP/1.1\r\nHost: x"
	// "a"
	// "b"
}

func ExampleFixed() {
	c, _ := delimiter.Fixed(4)
	r := framing.NewReader(bytes.NewReader([]byte("ABCDEFGH")), c, nil)
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		fmt.Printf("%s\n", f)
	}
	_, err := c.AppendFrame(nil, []byte("ABC"))
	fmt.Println(err)
	// Output:
	// ABCD
	// EFGH
	// framing: cannot frame a payload of 3 bytes: frames are exactly 4 bytes
}

// Any binary payload, zeros included, framed by 0x00.
func ExampleCOBS() {
	wire, _ := delimiter.COBS.AppendFrame(nil, []byte{0x11, 0x22, 0x00, 0x33})
	fmt.Printf("% x\n", wire)
	f, _ := framing.NewReader(bytes.NewReader(wire), delimiter.COBS, nil).ReadFrame()
	fmt.Printf("% x\n", f)
	// Output:
	// 03 11 22 02 33 00
	// 11 22 00 33
}

func ExampleSLIP() {
	wire, _ := delimiter.SLIP.AppendFrame(nil, []byte{0x01, 0xC0, 0x02, 0xDB})
	fmt.Printf("% x\n", wire)
	f, _ := framing.NewReader(bytes.NewReader(wire), delimiter.SLIP, nil).ReadFrame()
	fmt.Printf("% x\n", f)
	// Output:
	// 01 db dc 02 db dd c0
	// 01 c0 02 db
}
