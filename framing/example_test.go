package framing_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// The README's tour: an echo server and a client over loopback TCP.
func Example_serverAndClient() {
	l, _ := framing.Listen("tcp", "127.0.0.1:0", lengthprefix.U32BE, nil)
	defer l.Close()
	go func() { // echo server: one goroutine per connection in real code
		c, _ := l.AcceptFramed()
		defer c.Close()
		for {
			msg, err := c.ReadFrame() // always one whole message
			if err != nil {
				return // io.EOF when the client is done
			}
			c.WriteFrame(append([]byte("echo: "), msg...))
		}
	}()
	c, _ := framing.Dial("tcp", l.Addr().String(), lengthprefix.U32BE, nil)
	defer c.Close()
	c.WriteFrame([]byte("hello"))
	reply, _ := c.ReadFrame()
	fmt.Println(string(reply))
	// Output: echo: hello
}

// A stream cut anywhere still yields whole frames.
func ExampleReader() {
	var stream bytes.Buffer
	w := framing.NewWriter(&stream, lengthprefix.U16BE)
	w.WriteFrames([][]byte{[]byte("split"), []byte("and"), []byte("sticky")})

	// Deliver the stream one byte per Read.
	r := framing.NewReader(oneByteReader{&stream}, lengthprefix.U16BE, nil)
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		fmt.Printf("%q\n", f)
	}
	// Output:
	// "split"
	// "and"
	// "sticky"
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }

// A hostile header costs nothing but an error; with the Skip policy the
// oversized frame is dropped and reading goes on.
func ExampleOptions_skip() {
	var stream bytes.Buffer
	w := framing.NewWriter(&stream, lengthprefix.U32BE)
	w.WriteFrames([][]byte{[]byte("small"), make([]byte, 5000), []byte("next")})

	r := framing.NewReader(&stream, lengthprefix.U32BE, &framing.Options{
		MaxFrameSize: 1024,
		Oversize:     framing.Skip,
	})
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if errors.Is(err, framing.ErrFrameTooLarge) {
			fmt.Println(framing.Classify(err), err)
			continue
		}
		fmt.Printf("%q\n", f)
	}
	// Output:
	// "small"
	// rejected framing: frame of 5000 bytes exceeds the limit of 1024 bytes (skipped)
	// "next"
}
