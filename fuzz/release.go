package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/framekit/framekit/framing"
)

// The budget check: however a connection ends, every byte of buffer its
// Reader drew from a memory budget is given back. A stream that ends on
// its own (io.EOF, an unexpected EOF, a fatal error of the peer's making)
// gives it back with the error that ends it; a connection the caller ends
// (Close after a deadline, Detach, Close with a Body half read, Release)
// gives it back then.

// budgetDelay is how long the budget check waits for bytes that will not
// come, to make a read time out mid-frame.
const budgetDelay = 20 * time.Millisecond

// budgetCase is one way of ending a connection: run reads with opts (which
// carry a fresh budget) and returns what went wrong, or "".
type budgetCase struct {
	name string
	run  func(o *framing.Options) string
}

func (s *suite) budget() []*Failure {
	r := s.rng(10)
	e, err := s.encode([][]byte{s.o.Payload(r, 5), s.o.Payload(r, 96<<10), s.o.Payload(r, 7)})
	if err != nil {
		return []*Failure{s.fail("budget", nil, "%v", err)}
	}
	// mid cuts the stream inside frame 1 (the large one, where the codec
	// can carry it): a partial frame is buffered.
	mid := e.start(1) + (e.ends[1]-e.start(1))/2
	// A stream that ends inside a frame ends with an unexpected EOF, or,
	// for a codec that returns a last frame at EOF, with that frame and
	// io.EOF.
	cutEnd, cutName := io.ErrUnexpectedEOF, "unexpected EOF"
	if s.finalAtEOF() {
		cutEnd, cutName = io.EOF, "a last frame, then io.EOF"
	}
	cases := []budgetCase{
		{"the stream read to its end (io.EOF)", func(o *framing.Options) string {
			return s.budgetToEnd(e.stream, o, io.EOF)
		}},
		{"the stream cut inside a frame (" + cutName + ")", func(o *framing.Options) string {
			return s.budgetToEnd(e.stream[:mid], o, cutEnd)
		}},
		{"a read deadline inside a frame, then Close", func(o *framing.Options) string {
			return s.budgetMidFrame(e, mid, o, func(c framedConn) string { c.Close(); return "" })
		}},
		{"a read deadline inside a frame, then Detach", func(o *framing.Options) string {
			return s.budgetMidFrame(e, mid, o, func(c framedConn) string {
				nc, rest, err := c.Detach()
				if err == nil {
					// With what the Reader had not read yet: on a busy
					// machine its deadline may have passed before it read
					// all that was sent, and the deadline stays on the
					// detached conn, so it is lifted first.
					nc.SetReadDeadline(time.Time{})
					more := make([]byte, nc.(*Conn).Buffered())
					n, _ := io.ReadFull(nc, more)
					rest = append(rest, more[:n]...)
				}
				if want := e.stream[e.ends[0]:mid]; err != nil || !bytes.Equal(rest, want) {
					return fmt.Sprintf("Detach returned %d bytes (%v), want the %d bytes received and not returned as frames", len(rest), err, len(want))
				}
				return ""
			})
		}},
		{"a ReadBody abandoned mid-body, then Close", func(o *framing.Options) string {
			return s.budgetBody(e, o)
		}},
		{"a Reader released after a read deadline inside a frame", func(o *framing.Options) string {
			return s.budgetRelease(e, mid, o)
		}},
		{"a Deframer released inside a frame", func(o *framing.Options) string {
			d := framing.NewDeframer(s.codec, o)
			d.Push(s.prefixed(bytes.Clone(e.stream[:mid])))
			for {
				if _, err := d.Next(); err == framing.ErrNeedMore {
					break
				} else if err != nil {
					return fmt.Sprintf("Deframer.Next: %v", err)
				}
			}
			d.Release()
			return heldAfter(o.Budget, d) // d kept alive: see heldAfter
		}},
		{"a Deframer ended inside a frame (" + cutName + ")", func(o *framing.Options) string {
			d := framing.NewDeframer(s.codec, o)
			d.Push(s.prefixed(bytes.Clone(e.stream[:mid])))
			d.End()
			return budgetEnds(o.Budget, d.Next, cutEnd)
		}},
	}
	if mid == e.start(1) {
		cases = cases[:1] // one-byte frames: no frame can be cut inside
	}
	over, limit, err := s.overStream(r)
	if err != nil {
		return []*Failure{s.fail("budget", nil, "%v", err)}
	}
	if over != nil {
		cases = append(cases,
			budgetCase{"a fatal error (a frame over MaxFrameSize under framing.Fail)", func(o *framing.Options) string {
				o.MaxFrameSize = limit
				return s.budgetToEnd(over.stream, o, framing.ErrFrameTooLarge)
			}},
			budgetCase{"rejected errors (frames over MaxFrameSize under framing.Skip), then io.EOF", func(o *framing.Options) string {
				o.MaxFrameSize, o.Oversize = limit, framing.Skip
				return s.budgetToEnd(over.stream, o, io.EOF)
			}})
	}
	for _, h := range s.hostileStreams(r, 3) {
		cases = append(cases, budgetCase{fmt.Sprintf("%s, under a limit of 64 bytes", h.what), func(o *framing.Options) string {
			o.MaxFrameSize = 64
			return s.budgetToEnd(h.stream, o, nil)
		}})
	}
	for _, c := range cases {
		b := framing.NewBudget(1 << 30)
		var msg string
		if err := s.call(func() error { msg = c.run(&framing.Options{Budget: b}); return nil }); err != nil {
			msg = err.Error()
		}
		if n := b.InUse(); msg == "" && n != 0 {
			msg = fmt.Sprintf("%d bytes of the budget are still held", n)
		}
		if msg != "" {
			return []*Failure{s.fail("budget", nil, "%s (frames of %v bytes): %s", c.name, lens(e.payloads), msg)}
		}
	}
	return nil
}

// hostileStream is a stream of arbitrary bytes a check reads.
type hostileStream struct {
	what   string
	stream []byte
}

// hostileStreams returns Options.Hostile and n streams of random bytes.
func (s *suite) hostileStreams(r *rand.Rand, n int) []hostileStream {
	var out []hostileStream
	for i, h := range s.o.Hostile {
		out = append(out, hostileStream{fmt.Sprintf("Options.Hostile[%d]", i), h})
	}
	for i := 0; i < n; i++ {
		st := RandomBytes(r, 1+r.IntN(2048))
		out = append(out, hostileStream{fmt.Sprintf("random bytes %x...", st[:min(len(st), 8)]), st})
	}
	return out
}

// budgetToEnd reads stream through a Conn until an error ends it (want, if
// not nil, is what that error must match): the budget must be back as
// that error is returned, before Close.
func (s *suite) budgetToEnd(stream []byte, o *framing.Options, want error) string {
	a, b := s.feed(stream, CutRandom(s.o.Seed, 4096))
	defer a.Close()
	c := s.readConn(b, o)
	defer c.Close()
	for {
		_, err := c.ReadFrame()
		if err == nil || framing.Classify(err) == framing.Rejected {
			continue // a rejected error ends nothing: the buffer serves on
		}
		if want != nil && !errors.Is(err, want) {
			return fmt.Sprintf("the reads ended with %q, want an error matching %q", err, want)
		}
		if n := o.Budget.InUse(); n != 0 {
			return fmt.Sprintf("the reads ended with %q and %d bytes of the budget are still held (before Close)", err, n)
		}
		return ""
	}
}

// budgetEnds is budgetToEnd's last step for a read function.
func budgetEnds(b *framing.Budget, next func() ([]byte, error), want error) string {
	for {
		_, err := next()
		if err == nil {
			continue
		}
		if !errors.Is(err, want) {
			return fmt.Sprintf("the reads ended with %q, want an error matching %q", err, want)
		}
		if n := b.InUse(); n != 0 {
			return fmt.Sprintf("the reads ended with %q and %d bytes of the budget are still held", err, n)
		}
		return ""
	}
}

// budgetMidFrame sends e's stream up to mid, reads frame 0, lets the next
// read time out with the partial frame buffered, then ends the connection
// with end.
func (s *suite) budgetMidFrame(e *encoded, mid int, o *framing.Options, end func(framedConn) string) string {
	a, b := Pipe(&PipeOptions{Buffer: len(s.pre) + len(e.stream) + 1})
	defer a.Close()
	defer b.Close()
	a.Write(s.prefixed(e.stream[:mid]))
	c := s.readConn(b, o)
	if msg := timeOutInFrame(c, e.payloads[0]); msg != "" {
		c.Close()
		return msg
	}
	// What the Reader took of the partial frame (a read that found its
	// deadline passed leaves the rest in the pipe).
	if partial := mid - e.ends[0] - b.Buffered(); partial > 64 && o.Budget.InUse() < int64(partial) {
		c.Close()
		return fmt.Sprintf("%d bytes of a frame are buffered and the budget counts %d", partial, o.Budget.InUse())
	}
	if msg := end(c); msg != "" {
		return msg
	}
	return heldAfter(o.Budget, c)
}

// timeOutInFrame reads the frame want, then makes a read time out.
func timeOutInFrame(c interface {
	ReadFrame() ([]byte, error)
	SetReadDeadline(time.Time) error
}, want []byte) string {
	if p, err := c.ReadFrame(); err != nil || !bytes.Equal(p, want) {
		return fmt.Sprintf("ReadFrame 0 gave %s, %v", describe(p), err)
	}
	c.SetReadDeadline(time.Now().Add(budgetDelay))
	if p, err := c.ReadFrame(); !isTimeout(err) || framing.Classify(err) != framing.Temporary {
		return fmt.Sprintf("ReadFrame 1 with half of the frame sent and a read deadline gave %s, %v; want a temporary timeout", describe(p), err)
	}
	return ""
}

// budgetBody reads frame 0, then 1 KiB of frame 1 through ReadBody, and
// closes the connection.
func (s *suite) budgetBody(e *encoded, o *framing.Options) string {
	a, b := s.feed(e.stream, CutRandom(s.o.Seed, 4096))
	defer a.Close()
	c := s.readConn(b, o)
	defer c.Close()
	if p, err := c.ReadFrame(); err != nil || !bytes.Equal(p, e.payloads[0]) {
		return fmt.Sprintf("ReadFrame 0 gave %s, %v", describe(p), err)
	}
	size, body, err := c.ReadBody()
	if err != nil || size != int64(len(e.payloads[1])) {
		return fmt.Sprintf("ReadBody of frame 1 (%d bytes) gave size %d, %v", len(e.payloads[1]), size, err)
	}
	part := make([]byte, min(1024, len(e.payloads[1])))
	if _, err := io.ReadFull(body, part); err != nil {
		return fmt.Sprintf("reading %d bytes of frame 1's Body: %v", len(part), err)
	}
	c.Close()
	return heldAfter(o.Budget, c)
}

// budgetRelease is budgetMidFrame for a Reader on the connection, ended
// with Release.
func (s *suite) budgetRelease(e *encoded, mid int, o *framing.Options) string {
	a, b := Pipe(&PipeOptions{Buffer: len(s.pre) + len(e.stream) + 1})
	defer a.Close()
	defer b.Close()
	a.Write(s.prefixed(e.stream[:mid]))
	rd := s.readReader(b, o)
	defer rd.Release()
	msg := timeOutInFrame(struct {
		framedReader
		*Conn
	}{rd, b}, e.payloads[0])
	if msg != "" {
		return msg
	}
	rd.Release()
	return heldAfter(o.Budget, rd)
}

// heldAfter reports budget still held once a connection was ended,
// keeping what ended it reachable until then: a Reader the garbage
// collector reclaims gives its budget back (a finalizer), which would hide
// a leak from a check made after it is gone.
func heldAfter(b *framing.Budget, ended any) string {
	n := b.InUse()
	runtime.KeepAlive(ended)
	if n != 0 {
		return fmt.Sprintf("%d bytes of the budget are still held", n)
	}
	return ""
}
