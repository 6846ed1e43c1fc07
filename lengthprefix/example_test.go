package lengthprefix_test

import (
	"fmt"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// Encoding with presets: the length prefix, then the payload.
func Example_appendFrame() {
	frame, _ := lengthprefix.U16BE.AppendFrame(nil, []byte("hi"))
	fmt.Printf("U16BE:   % x\n", frame)

	frame, _ = lengthprefix.U32LE.AppendFrame(nil, []byte("hi"))
	fmt.Printf("U32LE:   % x\n", frame)

	frame, _ = lengthprefix.Uvarint.AppendFrame(nil, make([]byte, 300))
	fmt.Printf("Uvarint: % x ... (%d bytes)\n", frame[:2], len(frame))

	_, err := lengthprefix.U8.AppendFrame(nil, make([]byte, 256))
	fmt.Println(err)
	// Output:
	// U16BE:   00 02 68 69
	// U32LE:   02 00 00 00 68 69
	// Uvarint: ac 02 ... (302 bytes)
	// framing: cannot frame a payload of 256 bytes: too long for a 1-byte unsigned length field, which takes payloads of at most 255 bytes
}

// Decoding TLS records: the header (content type, version, length) is kept,
// so each frame is a whole record. A Reader makes these calls itself; here
// they are made by hand: the decoder reports where the frame is as soon as
// the header is in, and the Reader checks the limit and reads the rest.
func Example_tlsRecord() {
	stream := []byte{
		0x17, 0x03, 0x03, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', // a whole record
		0x15, 0x03, // the start of the next one
	}
	st := framing.DecodeState{Limit: framing.DefaultMaxFrameSize}

	d, err := lengthprefix.TLSRecord.Decode(stream[:5], false, &st)
	start, end, total, _ := d.Located()
	fmt.Printf("frame at %d:%d, ends at byte %d, err %v\n", start, end, total, err)
	fmt.Printf("frame % x\n", stream[start:end])

	d, err = lengthprefix.TLSRecord.Decode(stream[total:], false, &st)
	fmt.Printf("need %d bytes, err %v\n", d.Need(), err)

	// The encoder takes the whole record and fills in its length, in a copy.
	rec := []byte{0x17, 0x03, 0x03, 0x00, 0x00, 'h', 'i'}
	out, _ := lengthprefix.TLSRecord.AppendFrame(nil, rec)
	fmt.Printf("% x (input % x)\n", out, rec[:5])
	// Output:
	// frame at 0:10, ends at byte 10, err <nil>
	// frame 17 03 03 00 05 68 65 6c 6c 6f
	// need 5 bytes, err <nil>
	// 17 03 03 00 02 68 69 (input 17 03 03 00 00)
}

// A protocol with a type byte before a 2-byte length that counts the whole
// message: encode by passing the whole message, type byte included.
func ExampleNew() {
	codec, err := lengthprefix.New(lengthprefix.Config{Offset: 1, Size: 2, IncludesHeader: true})
	if err != nil {
		panic(err)
	}
	msg := []byte{'Q', 0, 0, 'S', 'E', 'L', 'E', 'C', 'T'}
	frame, _ := codec.AppendFrame(nil, msg)
	fmt.Printf("% x\n", frame)
	// Output:
	// 51 00 09 53 45 4c 45 43 54
}

// Netty's example 6: a 1-byte header, the length, another 1-byte header,
// the body; the first header and the length are stripped. Such a layout can
// be decoded but not encoded.
func ExampleNewDecoder() {
	cfg := lengthprefix.Config{Offset: 1, Size: 2, Adjust: 1, Strip: 3}
	if _, err := lengthprefix.New(cfg); err != nil {
		fmt.Println("New fails: decode-only layout")
	}
	dec, err := lengthprefix.NewDecoder(cfg)
	if err != nil {
		panic(err)
	}
	wire := []byte{0xCA, 0x00, 0x0C, 0xFE, 'H', 'E', 'L', 'L', 'O', ',', ' ', 'W', 'O', 'R', 'L', 'D'}
	st := framing.DecodeState{Limit: framing.DefaultMaxFrameSize}
	d, _ := dec.Decode(wire, false, &st)
	start, end, _, _ := d.Located()
	fmt.Printf("%x %s\n", wire[start], wire[start+1:end])
	// Output:
	// New fails: decode-only layout
	// fe HELLO, WORLD
}
