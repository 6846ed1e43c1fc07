package fuzz

import (
	"bytes"
	"fmt"

	"github.com/framekit/framekit/framing"
)

// roundTrip reads back a stream of frames of many sizes under every
// cutting of the suite (see cuttings).
func (s *suite) roundTrip() []*Failure {
	r := s.rng(1)
	e, err := s.encode(s.payloads(r, s.o.Frames, s.o.MaxPayload))
	if err != nil {
		return []*Failure{s.fail("roundtrip", nil, "%v (use Options.Payload to generate payloads the codec can carry)", err)}
	}
	l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
	for _, c := range s.cuttings(e) {
		if f := s.runCut("roundtrip", e, len(e.stream), c, l); f != nil {
			return []*Failure{f} // one minimised failure says enough
		}
	}
	return nil
}

// stream writes frames from one goroutine while another reads them, over a
// pipe with a small buffer that re-cuts the writes: writes block and
// coalesce, as on a socket.
func (s *suite) stream() []*Failure {
	r := s.rng(2)
	payloads := s.payloads(r, s.o.Frames*4, s.o.MaxPayload)
	for i, p := range payloads {
		if msg := s.wrapCheck(p); msg != "" {
			return []*Failure{s.fail("stream", nil, "payload %d: %s", i, msg)}
		}
	}
	for i, cut := range []Cutting{CutRandom(s.o.Seed, 13), CutWhole()} {
		a, b := Pipe(&PipeOptions{Buffer: 1024 + 512*i, Cut: cut})
		l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
		w, rd := s.nf(a, l), s.readFramer(b, l)
		werr := make(chan error, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					a.CloseWrite()
					werr <- panicked(v)
				}
			}()
			if s.pre != nil {
				err := w.WriteFrame(s.o.Preface)
				if f, ok := w.(interface{ Flush() error }); ok && err == nil {
					err = f.Flush()
				}
				if err != nil {
					a.CloseWrite()
					werr <- fmt.Errorf("WriteFrame refused Options.Preface: %w", err)
					return
				}
			}
			for i, p := range payloads {
				err := w.WriteFrame(p)
				if f, ok := w.(interface{ Flush() error }); ok && err == nil {
					err = f.Flush()
				}
				if err != nil {
					a.CloseWrite() // the reader sees the stream end early
					werr <- fmt.Errorf("WriteFrame refused payload %d (%d bytes): %w", i, len(p), err)
					return
				}
			}
			werr <- a.CloseWrite()
		}()
		var msg string
		for k := 0; k <= len(payloads) && msg == ""; k++ {
			var got []byte
			err := s.call(func() error {
				p, err := rd.ReadFrame()
				got = bytes.Clone(p)
				return err
			})
			switch {
			case k == len(payloads) && !isEOF(err):
				msg = fmt.Sprintf("after the last frame: %v, want io.EOF", err)
			case k == len(payloads):
			case err != nil:
				msg = fmt.Sprintf("ReadFrame %d: %v", k, err)
			case !bytes.Equal(got, payloads[k]):
				msg = fmt.Sprintf("ReadFrame %d: got %s, want %s", k, describe(got), describe(payloads[k]))
			}
		}
		a.Close()
		b.Close()
		if err := <-werr; err != nil {
			// The writer's error first: a payload the encoder refused ends
			// the stream early, which the reader can only see as io.EOF.
			msg = err.Error()
		}
		if msg != "" {
			return []*Failure{s.fail("stream", &cut, "writer and reader running together over a pipe of %d bytes: %s", 1024+512*i, msg)}
		}
	}
	return nil
}
