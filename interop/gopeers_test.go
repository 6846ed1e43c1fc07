package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-msgio"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// A goPeer is a Go framing library we did not write, seen through the two
// calls every one of them has.
type goPeer struct {
	name string
	// open wraps a connection; read returns the next message (owned by the
	// caller), write sends one.
	open func(c net.Conn) (read func() ([]byte, error), write func([]byte) error)
}

// serveGoPeer runs an echo server with the peer's library on 127.0.0.1:0
// and returns its address.
func serveGoPeer(t *testing.T, gp goPeer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(exchangeTimeout))
		read, write := gp.open(c)
		for {
			p, err := read()
			if err != nil {
				return
			}
			if err := write(p); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String()
}

// goPeerClient sends payloads to addr with the peer's library, from one
// goroutine, while another reads the echo and checks it.
func goPeerClient(t *testing.T, gp goPeer, addr string, payloads [][]byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(exchangeTimeout))
	read, write := gp.open(c)
	werr := make(chan error, 1)
	go func() {
		for _, p := range payloads {
			if err := write(p); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	for i, want := range payloads {
		got, err := read()
		if err != nil {
			t.Fatalf("%s reading echo %d: %v", gp.name, i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s, echo %d: %s", gp.name, i, difference(got, want))
		}
	}
	if err := <-werr; err != nil {
		t.Fatalf("%s writing: %v", gp.name, err)
	}
}

// exchangeGoPeer runs the two 1,000-frame exchanges with a Go peer through
// the re-cutting proxy.
func exchangeGoPeer(t *testing.T, gp goPeer, codec framing.Codec, payloads func(seed int64) [][]byte) {
	t.Run("framekit-"+gp.name+"-framekit", func(t *testing.T) {
		seed := seedFor(t)
		p := newProxy(t, serveGoPeer(t, gp), seed)
		exchange(t, p.Addr(), codec, nil, payloads(seed), seed)
	})
	t.Run(gp.name+"-framekit-"+gp.name, func(t *testing.T) {
		seed := seedFor(t)
		e := startEcho(t, codec, nil)
		p := newProxy(t, e.addr, seed)
		sent := payloads(seed)
		goPeerClient(t, gp, p.Addr(), sent)
		want := newDigest()
		for _, f := range sent {
			want.add(f)
		}
		got, err := e.wait(t)
		if err != nil {
			t.Fatalf("framekit echo server: %v", err)
		}
		if got != want.String() {
			t.Fatalf("framekit received %s, %s sent %s", got, gp.name, want)
		}
	})
}

func binaryPayloads(seed int64) [][]byte { return frames(seed, frameCount, binaryUpTo(64<<10)) }

var (
	msgioUint32 = goPeer{name: "msgio", open: func(c net.Conn) (func() ([]byte, error), func([]byte) error) {
		r, w := msgio.NewReader(c), msgio.NewWriter(c)
		return ownedMsg(r), w.WriteMsg
	}}
	msgioVarint = goPeer{name: "msgio-varint", open: func(c net.Conn) (func() ([]byte, error), func([]byte) error) {
		r, w := msgio.NewVarintReader(c), msgio.NewVarintWriter(c)
		return ownedMsg(r), w.WriteMsg
	}}
)

// ownedMsg copies msgio's pooled message and gives the buffer back.
func ownedMsg(r msgio.ReadCloser) func() ([]byte, error) {
	return func() ([]byte, error) {
		m, err := r.ReadMsg()
		if err != nil {
			return nil, err
		}
		p := append([]byte{}, m...)
		r.ReleaseMsg(m)
		return p, nil
	}
}

// TestMsgio exchanges 1,000 frames each way with go-msgio's uint32 and
// varint framings.
func TestMsgio(t *testing.T) {
	t.Run("uint32", func(t *testing.T) { exchangeGoPeer(t, msgioUint32, lengthprefix.U32BE, binaryPayloads) })
	t.Run("varint", func(t *testing.T) { exchangeGoPeer(t, msgioVarint, lengthprefix.Uvarint, binaryPayloads) })

	// At the limit (NewReaderSize, 8 MiB by default): a message of exactly
	// the limit is read, one byte more is ErrMsgTooLarge, and the error is
	// sticky (the length stays pending), so the stream cannot go on.
	for _, tc := range []struct {
		name  string
		codec framing.Codec
		read  func(io.Reader, int) msgio.ReadCloser
	}{
		{"uint32", lengthprefix.U32BE, msgio.NewReaderSize},
		{"varint", lengthprefix.Uvarint, msgio.NewVarintReaderSize},
	} {
		t.Run("limit-framekit-msgio/"+tc.name, func(t *testing.T) {
			const limit = 1024
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go framing.NewWriter(a, tc.codec, nil).WriteFrames([][]byte{make([]byte, limit), make([]byte, limit+1), make([]byte, 10)})
			r := tc.read(b, limit)
			if m, err := r.ReadMsg(); err != nil || len(m) != limit {
				t.Fatalf("message at the limit: %d bytes, %v", len(m), err)
			}
			_, err := r.ReadMsg()
			if !errors.Is(err, msgio.ErrMsgTooLarge) {
				t.Fatalf("message over the limit: %v, want ErrMsgTooLarge", err)
			}
			_, again := r.ReadMsg()
			if !errors.Is(again, msgio.ErrMsgTooLarge) {
				t.Fatalf("the call after: %v, want ErrMsgTooLarge again (sticky)", again)
			}
			t.Logf("msgio %s at its limit: %v, then %v again", tc.name, err, again)
		})
	}
}

// protodelimPeer exchanges wrapperspb.BytesValue messages: what framekit
// sees of each is its wire form.
var protodelimPeer = goPeer{name: "protodelim", open: func(c net.Conn) (func() ([]byte, error), func([]byte) error) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	read := func() ([]byte, error) {
		m := new(wrapperspb.BytesValue)
		if err := protodelim.UnmarshalFrom(br, m); err != nil {
			return nil, err
		}
		return proto.Marshal(m)
	}
	write := func(p []byte) error {
		m := new(wrapperspb.BytesValue)
		if err := proto.Unmarshal(p, m); err != nil {
			return err
		}
		if _, err := protodelim.MarshalTo(bw, m); err != nil {
			return err
		}
		return bw.Flush()
	}
	return read, write
}}

// protoPayloads are the wire forms of BytesValue messages of 0 to 64 KiB.
func protoPayloads(seed int64) [][]byte {
	return frames(seed, frameCount, func(r *rand.Rand) []byte {
		p, err := proto.Marshal(&wrapperspb.BytesValue{Value: randomBytes(r, sizeOf(r, 64<<10-4))})
		if err != nil {
			panic(err)
		}
		return p
	})
}

// TestProtodelim exchanges 1,000 length-delimited protobuf messages each way
// with google.golang.org/protobuf/encoding/protodelim.
func TestProtodelim(t *testing.T) {
	exchangeGoPeer(t, protodelimPeer, lengthprefix.Uvarint, protoPayloads)

	// At MaxSize (4 MiB by default): a message of exactly MaxSize is read,
	// one byte more is a *SizeTooLargeError and the body is not consumed.
	t.Run("limit-framekit-protodelim", func(t *testing.T) {
		const limit = 1024
		var stream bytes.Buffer
		w := framing.NewWriter(&stream, lengthprefix.Uvarint, nil)
		for _, n := range []int{limit - 3, limit - 2} { // BytesValue adds 1 byte of tag, 2 of length
			p, _ := proto.Marshal(&wrapperspb.BytesValue{Value: make([]byte, n)})
			if err := w.WriteFrame(p); err != nil {
				t.Fatal(err)
			}
		}
		br := bufio.NewReader(&stream)
		opts := protodelim.UnmarshalOptions{MaxSize: limit}
		if err := opts.UnmarshalFrom(br, new(wrapperspb.BytesValue)); err != nil {
			t.Fatalf("message of exactly MaxSize: %v", err)
		}
		err := opts.UnmarshalFrom(br, new(wrapperspb.BytesValue))
		var tl *protodelim.SizeTooLargeError
		if !errors.As(err, &tl) {
			t.Fatalf("message over MaxSize: %v, want *SizeTooLargeError", err)
		}
		t.Logf("protodelim at MaxSize %d: %v; %d body bytes left unread", limit, err, br.Buffered())
	})
}

// TestMsgioVarintShapes checks the varint framing against msgio on the
// lengths where a varint grows a byte.
func TestMsgioVarintShapes(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var fk, mg bytes.Buffer
			p := bytes.Repeat([]byte{0xa5}, n)
			if err := framing.NewWriter(&fk, lengthprefix.Uvarint, nil).WriteFrame(p); err != nil {
				t.Fatal(err)
			}
			if err := msgio.NewVarintWriter(&mg).WriteMsg(p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fk.Bytes(), mg.Bytes()) {
				t.Fatalf("framekit wrote % x..., msgio % x...", head(fk.Bytes()), head(mg.Bytes()))
			}
		})
	}
}
