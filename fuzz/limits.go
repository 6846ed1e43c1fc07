package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/framekit/framekit/framing"
)

// limits runs frames below, at and over a limit under one policy (for a
// codec: framing's Reader with Options.Oversize framing.Skip or
// framing.Fail).
func (s *suite) limits(skip bool) []*Failure {
	name := "limits/fail"
	if skip {
		name = "limits/skip"
	}
	ps, limit, msg := s.oversized(s.rng(5))
	if msg != "" {
		return []*Failure{s.fail(name, nil, "%s", msg)}
	}
	if limit < 1 {
		return nil // one-byte frames are over no limit
	}
	e, err := s.encode(ps)
	if err != nil {
		return []*Failure{s.fail(name, nil, "%v", err)}
	}
	l := Limits{MaxFrameSize: limit, Skip: skip}
	cuts := s.o.Cuttings
	if len(cuts) == 0 {
		cuts = []Cutting{CutWhole(), CutEvery(1), CutRandom(s.o.Seed, 7), CutRandom(s.o.Seed+1, 300)}
	}
	for _, c := range cuts {
		if f := s.runCut(name, e, len(e.stream), c, l); f != nil {
			f.Msg = fmt.Sprintf("payload sizes %v, limit %d: %s", lens(ps), limit, f.Msg)
			if skip {
				f.Msg += "; " + s.skipHint()
			}
			return []*Failure{f}
		}
	}
	return nil
}

// bigFrame checks that memory follows the bytes received, not the size a
// frame declares: the first bytes of a 4 MiB frame (or the largest the
// encoder takes, down to 32 KiB) allocate little, both
// under a limit it exceeds (an error from the header) and under one it
// fits (unexpected EOF, with only what arrived buffered; for a codec that
// returns a last frame at EOF, see finalAtEOF, the bytes that arrived as a
// frame when they are under the limit).
func (s *suite) bigFrame() []*Failure {
	r := s.rng(6)
	p := s.o.Payload(r, 4<<20)
	for s.codec != nil && len(p) >= 32<<10 {
		// The largest payload the encoder takes, halving from 4 MiB (a
		// u16 length carries less than 64 KiB).
		if _, err := s.codec.AppendFrame(nil, p); err == nil {
			break
		}
		p = s.o.Payload(r, len(p)/2)
	}
	if len(p) < 32<<10 {
		return nil // a codec of small frames (fixed size): nothing to declare
	}
	e, err := s.encode([][]byte{p})
	if err != nil {
		return []*Failure{s.fail("bigframe", nil, "%v", err)}
	}
	whole := e.stream
	final := s.finalAtEOF()
	for _, tc := range []struct {
		n     int
		limit int
		want  string
	}{
		{64, framing.DefaultMaxFrameSize, "unexpected EOF"},
		{64, 1024, "error"},
		{len(whole) - 1, 1024, "frame-too-large error"},
		{len(whole) - 1, framing.DefaultMaxFrameSize, "unexpected EOF"},
	} {
		l := Limits{MaxFrameSize: tc.limit}
		st := whole[:tc.n]
		var res []result
		var stuck bool
		bound := uint64(256 << 10)
		if tc.limit > len(p) {
			// What arrived may be buffered, in buffers that grew by doubling
			// (so up to twice what arrived, and as much again on the way).
			bound = uint64(5*tc.n) + 256<<10
		}
		alloc := leastAllocated(bound, func() uint64 {
			a, b := s.feed(st, CutWhole())
			rec := newRecorder(3, 0)
			return allocated(func() { res, stuck = s.readAll(a, b, l, rec) })
		})
		var msg string
		switch {
		case stuck || len(res) == 0:
			msg = "ReadFrame did not return"
		case isPanic(res[0].err):
			msg = res[0].err.Error()
		case final && tc.n <= tc.limit:
			// The bytes that arrived are the last frame, then io.EOF.
			switch {
			case res[0].err != nil || !bytes.Equal(res[0].frame, st):
				msg = fmt.Sprintf("got %v, want the %d bytes as a last frame (the codec returns a final frame at EOF)", res[0], len(st))
			case len(res) < 2 || !isEOF(res[1].err):
				msg = fmt.Sprintf("after the last frame got %v, want io.EOF", res[1:])
			}
		case res[0].err == nil:
			msg = fmt.Sprintf("got a %s", describe(res[0].frame))
		case tc.want == "unexpected EOF" && !errors.Is(res[0].err, io.ErrUnexpectedEOF):
			msg = fmt.Sprintf("got %q, want an error matching io.ErrUnexpectedEOF", res[0].err)
		case tc.want == "frame-too-large error" && (errors.Is(res[0].err, io.ErrUnexpectedEOF) || isEOF(res[0].err)):
			msg = fmt.Sprintf("got %q, want the frame refused as too large before the stream ended", res[0].err)
		case tc.want == "frame-too-large error" && s.strict && !errors.Is(res[0].err, framing.ErrFrameTooLarge):
			msg = fmt.Sprintf("got %q, want framing.ErrFrameTooLarge", res[0].err)
		case alloc > bound:
			msg = fmt.Sprintf("allocated %d bytes, more than %d", alloc, bound)
		}
		if msg != "" {
			return []*Failure{s.fail("bigframe", nil, "the first %d bytes of a %d-byte frame, limit %d: %s", tc.n, len(p), tc.limit, msg)}
		}
	}
	return nil
}

// skipHint says what a codec or framer must do for the skip policy.
func (s *suite) skipHint() string {
	if !s.strict {
		return "under a skip policy a framer returns one error for an oversized frame, drops its bytes, and returns the next frame on the next call"
	}
	return "under framing.Skip the Reader drops an oversized frame and reads on; the codec only states sizes: " +
		"a codec whose header gives the size returns NeedFrame with the frame's whole extent (the Reader skips that many bytes), " +
		"a scanning codec returns OverLimit(n) once the frame is over st.Limit, then, while st.Limit is 0 (skipping), " +
		"OverLimit(n) or Need for the bytes it has scanned and Frame or Consume at the frame's end (see framing.OverLimit)"
}
