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
	for n := 0; n < len(e.stream); n++ {
		for _, c := range []Cutting{CutWhole(), CutEvery(1)} {
			if f := s.runCut("truncation", e, n, c, l); f != nil {
				f.Msg = fmt.Sprintf("stream %x cut after %d bytes: %s", e.stream, n, f.Msg)
				return []*Failure{f}
			}
		}
	}
	return nil
}
