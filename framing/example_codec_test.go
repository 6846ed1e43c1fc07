package framing_test

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/framekit/framekit/framing"
)

// netstring is a codec of its own: frames are "<decimal length>:<payload>,"
// (D. J. Bernstein's netstrings). Decode only looks at bytes; the Reader
// does the reads, the buffering, EOF, deadlines and the size limit checks
// the codec reports.
type netstring struct{}

func (netstring) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	colon := bytes.IndexByte(buf, ':')
	if colon < 0 {
		if len(buf) > 20 {
			return framing.Decoded{}, &framing.CorruptError{Reason: "length too long"}
		}
		return framing.Need(len(buf) + 1), nil // a lower bound: scan again with more
	}
	n, err := strconv.Atoi(string(buf[:colon]))
	if err != nil || n < 0 {
		return framing.Decoded{}, &framing.CorruptError{Reason: "bad length"}
	}
	if n > st.Limit {
		return framing.Decoded{}, &framing.FrameTooLargeError{Size: int64(n), Limit: st.Limit}
	}
	total := colon + 1 + n + 1
	if len(buf) < total {
		return framing.NeedExact(total), nil // the frame's exact size
	}
	if buf[total-1] != ',' {
		return framing.Decoded{}, &framing.CorruptError{Reason: "missing ','"}
	}
	return framing.Frame(colon+1, colon+1+n, total), nil // payload, bytes consumed
}

func (netstring) AppendFrame(dst, p []byte) ([]byte, error) {
	dst = strconv.AppendInt(dst, int64(len(p)), 10)
	dst = append(dst, ':')
	return append(append(dst, p...), ','), nil
}

// Writing a codec: a Decoder says what the buffered bytes hold with Frame,
// Consume, Need or NeedExact, and the Reader does the rest.
func Example_customCodec() {
	var stream bytes.Buffer
	w := framing.NewWriter(&stream, netstring{})
	w.WriteFrames([][]byte{[]byte("hello"), []byte(""), []byte("world!")})
	fmt.Printf("%s\n", stream.Bytes())

	r := framing.NewReader(&stream, netstring{}, nil)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%q\n", f)
	}
	// Output:
	// 5:hello,0:,6:world!,
	// "hello"
	// ""
	// "world!"
	// EOF
}
