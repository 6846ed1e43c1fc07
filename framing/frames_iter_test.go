package framing_test

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// u16 frames p with a big-endian u16 length.
func u16(p string) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }

// TestConnFrames: the iterator yields frames, ends at io.EOF without
// yielding it, yields a Rejected error and a Temporary one and goes on
// after them, yields a fatal error last, and stops when the loop does.
// (The module is go 1.22: the test calls the iterator as a range loop
// would.)
func TestConnFrames(t *testing.T) {
	type step struct {
		frame string
		err   error
	}
	collect := func(c *framing.Conn, yield func(step) bool) []step {
		var got []step
		c.Frames()(func(f []byte, err error) bool {
			s := step{string(f), err}
			got = append(got, s)
			return yield(s)
		})
		return got
	}
	t.Run("frames, a rejected error, EOF", func(t *testing.T) {
		a, b := net.Pipe()
		c := framing.NewConn(b, lengthprefix.U16BE, &framing.Options{MaxFrameSize: 3, Oversize: framing.Skip})
		go func() {
			for _, p := range []string{"one", "toolong", "two"} {
				a.Write(u16(p))
			}
			a.Close()
		}()
		got := collect(c, func(step) bool { return true })
		if len(got) != 3 || got[0].frame != "one" || !errors.Is(got[1].err, framing.ErrFrameTooLarge) || got[2].frame != "two" {
			t.Errorf("got %+v, want one, a frame-too-large error, two (and no io.EOF)", got)
		}
	})
	t.Run("a deadline, then on", func(t *testing.T) {
		a, b := net.Pipe()
		c := framing.NewConn(b, lengthprefix.U16BE, nil)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		got := collect(c, func(s step) bool {
			if errors.Is(s.err, os.ErrDeadlineExceeded) {
				c.SetReadDeadline(time.Time{})
				go func() { a.Write(u16("late")); a.Close() }()
			}
			return true
		})
		if len(got) != 2 || framing.Classify(got[0].err) != framing.Temporary || got[1].frame != "late" {
			t.Errorf("got %+v, want a temporary timeout, then late", got)
		}
	})
	t.Run("a deadline not moved ends the loop", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		c := framing.NewConn(b, lengthprefix.U16BE, nil)
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		n := 0
		got := collect(c, func(step) bool { n++; return n < 100 }) // a loop that just goes on (bounded, should it spin)
		if len(got) != 1 || framing.Classify(got[0].err) != framing.Temporary {
			t.Errorf("got %d results (%+v...), want the timeout once", len(got), got[0])
		}
	})
	t.Run("a fatal error is the last", func(t *testing.T) {
		a, b := net.Pipe()
		c := framing.NewConn(b, lengthprefix.U16BE, &framing.Options{MaxFrameSize: 3})
		go func() { a.Write(u16("ok")); a.Write(u16("toolong")); a.Write(u16("no")); a.Close() }()
		got := collect(c, func(step) bool { return true })
		if len(got) != 2 || got[0].frame != "ok" || framing.Classify(got[1].err) != framing.Fatal {
			t.Errorf("got %+v, want ok, then a fatal error", got)
		}
	})
	t.Run("the loop breaks", func(t *testing.T) {
		a, b := net.Pipe()
		c := framing.NewConn(b, lengthprefix.U16BE, nil)
		go func() { a.Write(u16("a")); a.Write(u16("b")) }()
		got := collect(c, func(step) bool { return false })
		if len(got) != 1 || got[0].frame != "a" {
			t.Errorf("got %+v, want a only", got)
		}
		if f, err := c.ReadFrame(); string(f) != "b" || err != nil {
			t.Errorf("after the loop: %q, %v; want b", f, err)
		}
		a.Close()
	})
}
