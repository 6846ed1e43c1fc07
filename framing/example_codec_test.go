package framing_test

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/framekit/framekit/framing"
)

// netstring is a codec of its own: frames are "<decimal length>:<payload>,"
// (D. J. Bernstein's netstrings). Decode only states what the bytes hold;
// the Reader does the reads, the buffering, EOF, deadlines and the size
// limit (fail or skip, as its Options say).
type netstring struct{}

func (netstring) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	colon := bytes.IndexByte(buf, ':')
	if colon < 0 && len(buf) <= 18 {
		return framing.Need(len(buf) + 1), nil // a lower bound: scan again with more
	}
	if colon < 0 || colon > 18 { // at most 18 digits: no overflow below
		return framing.Decoded{}, &framing.CorruptError{Reason: "length too long"}
	}
	n, err := strconv.Atoi(string(buf[:colon]))
	if err != nil || n < 0 {
		return framing.Decoded{}, &framing.CorruptError{Reason: "bad length"}
	}
	total := colon + 1 + n + 1
	if len(buf) < total { // payload buf[colon+1:colon+1+n]; called again to check the ','
		return framing.NeedFrame(colon+1, int64(colon+1+n), int64(total)).Checked(), nil
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
// NeedFrame, Need, OverLimit or Consume, and the Reader does the rest.
func Example_customCodec() {
	var stream bytes.Buffer
	w := framing.NewWriter(&stream, netstring{}, nil)
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
