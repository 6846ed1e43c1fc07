package fuzz

import (
	"bytes"
	"fmt"
	"time"

	"github.com/framekit/framekit/framing"
)

// deadline fires a read deadline after part of a frame was consumed, then
// delivers the rest: the frame must come out whole, and the next one too.
func (s *suite) deadline() []*Failure {
	r := s.rng(7)
	e, err := s.encode([][]byte{s.o.Payload(r, 40), s.o.Payload(r, 7)})
	if err != nil {
		return []*Failure{s.fail("deadline", nil, "%v", err)}
	}
	first := e.ends[0]
	for k := 0; k < first; k++ {
		if msg := s.deadlineAt(e, k); msg != "" {
			return []*Failure{s.fail("deadline", nil, "deadline fired after %d of the %d bytes of frame 0: %s", k, first, msg)}
		}
	}
	return nil
}

func (s *suite) deadlineAt(e *encoded, k int) string {
	a, b := Pipe(&PipeOptions{Buffer: len(s.pre) + len(e.stream) + 1})
	defer a.Close()
	defer b.Close()
	fr := s.readFramer(b, Limits{MaxFrameSize: framing.DefaultMaxFrameSize})
	a.Write(s.prefixed(e.stream[:k]))
	type out struct {
		p   []byte
		err error
	}
	read := func() chan out {
		ch := make(chan out, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					ch <- out{err: panicked(v)}
				}
			}()
			p, err := fr.ReadFrame()
			ch <- out{bytes.Clone(p), err}
		}()
		return ch
	}
	ch := read()
	for waitUntil := time.Now().Add(s.o.Timeout); !b.WaitReadBlocked(10 * time.Millisecond); {
		select {
		case o := <-ch: // returned instead of waiting: say what it returned
			if o.err != nil {
				return fmt.Sprintf("the framer never waited for more bytes: ReadFrame returned %q", o.err)
			}
			return fmt.Sprintf("the framer never waited for more bytes: ReadFrame returned a %s", describe(o.p))
		default:
		}
		if time.Now().After(waitUntil) {
			return "the framer never waited for more bytes"
		}
	}
	b.SetReadDeadline(time.Now().Add(-time.Second))
	var o out
	select {
	case o = <-ch:
	case <-time.After(s.o.Timeout):
		return "ReadFrame did not return after its read deadline passed"
	}
	if !isTimeout(o.err) {
		if o.err == nil {
			return fmt.Sprintf("got a %s, want a timeout", describe(o.p))
		}
		return fmt.Sprintf("got %q, want a timeout error", o.err)
	}
	if s.strict && framing.Classify(o.err) != framing.Temporary {
		return fmt.Sprintf("timeout %q classified %v, want temporary", o.err, framing.Classify(o.err))
	}
	b.SetReadDeadline(time.Time{})
	a.Write(e.stream[k:])
	a.CloseWrite() // a framer that lost its place meets EOF, not a hang
	for i, p := range e.payloads {
		select {
		case o = <-read():
		case <-time.After(s.o.Timeout):
			return fmt.Sprintf("ReadFrame for frame %d did not return after the rest arrived", i)
		}
		if o.err != nil || !bytes.Equal(o.p, p) {
			if o.err != nil {
				return fmt.Sprintf("then frame %d: got %q, want %s", i, o.err, describe(p))
			}
			return fmt.Sprintf("then frame %d: got %s, want %s", i, describe(o.p), describe(p))
		}
	}
	return ""
}
