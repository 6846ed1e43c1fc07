package interop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/smallnest/goframe"

	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/framekit/framekit/fuzz"
)

// goframeLayouts are goframe configurations, each given as goframe's own
// config structs and as the same fields in goframeconn's: switching is a
// change of package name.
var goframeLayouts = []struct {
	name string
	enc  goframe.EncoderConfig
	dec  goframe.DecoderConfig
	max  int
}{
	{
		name: "u32be",
		enc:  goframe.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
		dec:  goframe.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4},
		max:  64 << 10,
	},
	{
		name: "u16le-includes-header",
		enc:  goframe.EncoderConfig{ByteOrder: binary.LittleEndian, LengthFieldLength: 2, LengthIncludesLengthFieldLength: true},
		dec:  goframe.DecoderConfig{ByteOrder: binary.LittleEndian, LengthFieldLength: 2, LengthAdjustment: -2, InitialBytesToStrip: 2},
		max:  65533,
	},
}

// compatConn is goframeconn's constructor fed with the same values as
// goframe's.
func compatConn(t testing.TB, enc goframe.EncoderConfig, dec goframe.DecoderConfig, c net.Conn) *goframeconn.Conn {
	t.Helper()
	fc, err := goframeconn.NewLengthFieldBasedFrameConn(
		goframeconn.EncoderConfig(enc),
		goframeconn.DecoderConfig(dec),
		c)
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

// TestGoframe exchanges 1,000 frames with github.com/smallnest/goframe
// v1.0.0: goframe -> framekit through the re-cutting proxy, and framekit ->
// goframe -> framekit with frame-aligned writes, which is all goframe v1.0.0
// can read (see TestGoframeSplitLength). framekit's side is goframeconn,
// built from the same configuration values.
func TestGoframe(t *testing.T) {
	for _, l := range goframeLayouts {
		gen := binaryUpTo(l.max)
		t.Run("goframe-framekit/"+l.name, func(t *testing.T) {
			seed := seedFor(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			p := newProxy(t, ln.Addr().String(), seed)
			sent := frames(seed, frameCount, gen)
			werr := make(chan error, 1)
			go func() {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					werr <- err
					return
				}
				defer c.Close()
				fc := goframe.NewLengthFieldBasedFrameConn(l.enc, l.dec, c)
				for _, f := range sent {
					if err := fc.WriteFrame(f); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			fc := compatConn(t, l.enc, l.dec, c)
			defer fc.Close()
			fc.Framed().SetDeadline(time.Now().Add(exchangeTimeout))
			var kept [][]byte // goframe code keeps frames: they must stay intact
			for i, want := range sent {
				got, err := fc.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d: %s", i, difference(got, want))
				}
				kept = append(kept, got)
			}
			for i := range kept {
				if !bytes.Equal(kept[i], sent[i]) {
					t.Fatalf("frame %d changed after later reads", i)
				}
			}
			if err := <-werr; err != nil {
				t.Fatalf("goframe writing: %v", err)
			}
		})

		t.Run("framekit-goframe-framekit/"+l.name, func(t *testing.T) {
			seed := seedFor(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.SetDeadline(time.Now().Add(exchangeTimeout))
				fc := goframe.NewLengthFieldBasedFrameConn(l.enc, l.dec, c)
				defer fc.Close()
				for {
					p, err := fc.ReadFrame()
					if err != nil {
						return
					}
					if err := fc.WriteFrame(p); err != nil {
						return
					}
				}
			}()
			// Frames reach goframe whole (one write each, and the next
			// only after the echo); the echo is re-cut on its way back.
			p := newProxyWith(t, ln.Addr().String(), &fuzz.ProxyOptions{Cut: fuzz.CutWhole(), Back: fuzz.CutRandom(seed, 512), Hold: time.Millisecond})
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			fc := compatConn(t, l.enc, l.dec, c)
			defer fc.Close()
			fc.Framed().SetDeadline(time.Now().Add(exchangeTimeout))
			for i, want := range frames(seed, frameCount, gen) {
				if err := fc.WriteFrame(want); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				got, err := fc.ReadFrame()
				if err != nil {
					t.Fatalf("echo %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("echo %d: %s", i, difference(got, want))
				}
			}
		})
	}
}

// TestGoframeSplitLength records what goframe v1.0.0 does when a length
// field is split across two reads: it reads the field with a single Read
// on its bufio.Reader, takes the two bytes that arrived as the whole field
// (the other two stay zero), returns a wrong frame, and is then out of
// step with the stream. framekit reads the same bytes correctly.
func TestGoframeSplitLength(t *testing.T) {
	l := goframeLayouts[0]
	hello, world := []byte("hello"), []byte("world")

	// read sends hello and world to a reader made by open, through a proxy
	// that delivers the first 4-byte header (00 00 00 05) in two segments
	// of two bytes, 50 ms apart, and returns what two reads return.
	read := func(open func(net.Conn) func() ([]byte, error)) (first, second []byte, err1, err2 error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := newProxyWith(t, ln.Addr().String(), &fuzz.ProxyOptions{Cut: fuzz.CutAt(2, 4), Back: fuzz.CutWhole(), Pause: 50 * time.Millisecond})
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := compatConn(t, l.enc, l.dec, c).Framed().WriteFrames([][]byte{hello, world}); err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.SetDeadline(time.Now().Add(time.Second))
		next := open(s)
		first, err1 = next()
		second, err2 = next()
		return first, second, err1, err2
	}

	t.Run("goframe", func(t *testing.T) {
		first, second, err1, err2 := read(func(c net.Conn) func() ([]byte, error) {
			return goframe.NewLengthFieldBasedFrameConn(l.enc, l.dec, c).ReadFrame
		})
		t.Logf("goframe v1.0.0 read %q (%v), then %d bytes (%v); the sender sent %q, %q", first, err1, len(second), err2, hello, world)
		if err1 == nil && bytes.Equal(first, hello) && err2 == nil && bytes.Equal(second, world) {
			t.Logf("goframe read the split length field correctly: the behaviour documented in README.md has changed")
			return
		}
		if err1 != nil || len(first) != 0 {
			t.Fatalf("goframe v1.0.0 was expected to return an empty frame for the split header, got %q, %v", first, err1)
		}
		if !errors.Is(err2, os.ErrDeadlineExceeded) {
			t.Fatalf("goframe v1.0.0 was expected to wait for a bogus length until the deadline, got %d bytes, %v", len(second), err2)
		}
	})

	t.Run("goframeconn", func(t *testing.T) {
		first, second, err1, err2 := read(func(c net.Conn) func() ([]byte, error) {
			return compatConn(t, l.enc, l.dec, c).ReadFrame
		})
		if err1 != nil || err2 != nil || !bytes.Equal(first, hello) || !bytes.Equal(second, world) {
			t.Fatalf("goframeconn read %q (%v), %q (%v); want %q, %q", first, err1, second, err2, hello, world)
		}
	})
}

// TestGoframeOtherConns records two more things goframe v1.0.0 does, so
// that README.md says what users switching from it will see change.
func TestGoframeOtherConns(t *testing.T) {
	// pair returns a connected pair over loopback TCP, with deadlines.
	pair := func(t *testing.T) (a, b net.Conn) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a, err = net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b, err = ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		b.SetDeadline(time.Now().Add(time.Second))
		return a, b
	}

	// The delimiter conn's ReadFrame returns (nil, nil) without reading:
	// its read loop starts with isPrefix false.
	t.Run("delimiter", func(t *testing.T) {
		a, b := pair(t)
		if _, err := a.Write([]byte("hello;world;")); err != nil {
			t.Fatal(err)
		}
		fc := goframe.NewDelimiterBasedFrameConn(';', b)
		p, err := fc.ReadFrame()
		t.Logf("goframe v1.0.0 delimiter conn read %q, %v from \"hello;world;\"", p, err)
		if p != nil || err != nil {
			t.Logf("goframe's delimiter conn now reads: the behaviour documented in README.md has changed")
		}
	})

	// With LengthFieldOffset > 0 the header bytes before the field are read
	// from the raw conn, past the bufio.Reader that holds the next frames:
	// the second of two frames that arrived together is never found.
	t.Run("offset", func(t *testing.T) {
		a, b := pair(t)
		// 2 type bytes, a 2-byte length of the body, the body.
		frame := func(typ byte, body string) []byte {
			return append([]byte{typ, typ, 0, byte(len(body))}, body...)
		}
		if _, err := a.Write(append(frame(1, "hello"), frame(2, "world")...)); err != nil {
			t.Fatal(err)
		}
		fc := goframe.NewLengthFieldBasedFrameConn(goframe.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 2},
			goframe.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldOffset: 2, LengthFieldLength: 2}, b)
		first, err1 := fc.ReadFrame()
		second, err2 := fc.ReadFrame()
		t.Logf("goframe v1.0.0 with LengthFieldOffset 2 read % x (%v), then % x (%v)", first, err1, second, err2)
		if err2 == nil && bytes.Equal(second, frame(2, "world")) {
			t.Logf("goframe now reads the second frame: the behaviour documented in README.md has changed")
		}
	})
}
