package fuzz

import (
	"fmt"

	"github.com/framekit/framekit/framing"
)

// truncation cuts a short stream at every byte offset: every frame wholly
// before the cut comes out, then io.EOF at a frame boundary, otherwise an
// io.ErrUnexpectedEOF error.
func (s *suite) truncation() []*Failure {
	r := s.rng(3)
	ps := make([][]byte, 4)
	for i := range ps {
		ps[i] = s.o.Payload(r, []int{5, 0, 11, 3}[i])
	}
	e, err := s.encode(ps)
	if err != nil {
		return []*Failure{s.fail("truncation", nil, "%v", err)}
	}
	l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
	final := s.finalAtEOF()
	for n := 0; n < len(e.stream); n++ {
		for _, c := range []Cutting{CutWhole(), CutEvery(1)} {
			var f *Failure
			if final {
				f = s.runCutFinal(e, n, c, l)
			} else {
				f = s.runCut("truncation", e, n, c, l)
			}
			if f != nil {
				f.Msg = fmt.Sprintf("stream %x cut after %d bytes: %s", e.stream, n, f.Msg)
				return []*Failure{f}
			}
		}
	}
	return nil
}

// runCutFinal is runCut for a codec that returns the bytes after the last
// frame as a last frame at a clean EOF (it has a FinalAtEOF method that
// says so, as delimiter.Codec does): a cut inside frame i gives the frames
// before it, then the bytes of frame i before the cut as a frame, then
// io.EOF.
func (s *suite) runCutFinal(e *encoded, n int, cut Cutting, l Limits) *Failure {
	var ws []want
	for i, p := range e.payloads {
		if e.ends[i] > n {
			if e.start(i) < n {
				ws = append(ws, want{frame: e.stream[e.start(i):n], frameIdx: i})
			}
			break
		}
		ws = append(ws, want{frame: p, frameIdx: i})
	}
	ws = append(ws, want{kind: wantEOF})
	res, stuck := s.replay(e.stream[:n], cut, l, len(ws)+2)
	if msg := s.compare(res, ws, stuck); msg != "" {
		return s.fail("truncation", &cut, "%s", msg)
	}
	return nil
}

// finalAtEOF reports whether the codec returns the bytes after the last
// frame as a last frame at a clean EOF (it has a FinalAtEOF method that
// says so, as delimiter.Codec does): then a stream cut inside a frame
// ends with that frame and io.EOF, not an unexpected EOF, in every check.
func (s *suite) finalAtEOF() bool {
	fe, ok := s.codec.(interface{ FinalAtEOF() bool })
	return ok && fe.FinalAtEOF()
}
