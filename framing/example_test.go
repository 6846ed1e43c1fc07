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
	w := framing.NewWriter(&stream, lengthprefix.U16BE, nil)
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
	w := framing.NewWriter(&stream, lengthprefix.U32BE, nil)
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

// A Deframer is the engine without the reads: an event loop (or a TCP
// reassembler) pushes the bytes it has, in whatever pieces they came,
// and takes out the frames. Frames that lie whole in a push are views
// into it; only a frame cut by the end of a push is copied.
func ExampleDeframer() {
	stream, _ := lengthprefix.U16BE.AppendFrame(nil, []byte("hello"))
	stream, _ = lengthprefix.U16BE.AppendFrame(stream, []byte("split"))
	stream, _ = lengthprefix.U16BE.AppendFrame(stream, []byte("packets"))

	d := framing.NewDeframer(lengthprefix.U16BE, nil)
	for _, piece := range [][]byte{stream[:3], stream[3:12], stream[12:]} {
		d.Push(piece) // e.g. what one OnTraffic callback got
		for {
			f, err := d.Next()
			if err == framing.ErrNeedMore {
				break // piece may be reused now
			}
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("%q at offset %d\n", f, d.Offset()-int64(2+len(f)))
		}
	}
	d.End()
	_, err := d.Next()
	fmt.Println(err)
	// Output:
	// "hello" at offset 0
	// "split" at offset 7
	// "packets" at offset 14
	// EOF
}
