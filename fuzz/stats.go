package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/framekit/framekit/framing"
)

// The stats check: framing.Stats count what the reads returned: frames and
// their bytes, the largest, oversized frames skipped and refused, corrupt
// frames and budget refusals; and what the writes sent.

// tally is what a test saw, in Stats' terms.
type tally struct {
	frames, bytes, largest               int64
	skipped, tooLarge, corrupt, overBudg int64
}

func (t *tally) add(p []byte, err error) {
	switch {
	case err == nil:
		t.frames++
		t.bytes += int64(len(p))
		t.largest = max(t.largest, int64(len(p)))
	case errors.Is(err, framing.ErrFrameTooLarge) && framing.Classify(err) == framing.Rejected:
		t.skipped++
	case errors.Is(err, framing.ErrFrameTooLarge):
		t.tooLarge++
	case errors.Is(err, framing.ErrCorrupt):
		t.corrupt++
	case errors.Is(err, framing.ErrBudget):
		t.overBudg++
	}
}

// disagree returns how st differs from what was seen ("" if it does not).
func (t *tally) disagree(st framing.StatsSnapshot) string {
	var diffs []string
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"FramesRead", st.FramesRead, t.frames}, {"BytesRead", st.BytesRead, t.bytes}, {"Largest", st.Largest, t.largest},
		{"Skipped", st.Skipped, t.skipped}, {"TooLarge", st.TooLarge, t.tooLarge}, {"Corrupt", st.Corrupt, t.corrupt},
		{"OverBudget", st.OverBudget, t.overBudg},
	} {
		if c.got != c.want {
			diffs = append(diffs, fmt.Sprintf("%s %d, the reads gave %d", c.name, c.got, c.want))
		}
	}
	return strings.Join(diffs, "; ")
}

// statsCase is a stream read with options.
type statsCase struct {
	what   string
	stream []byte
	o      framing.Options
}

func (s *suite) stats() []*Failure {
	r := s.rng(11)
	e, err := s.encode(s.payloads(r, s.o.Frames, s.o.MaxPayload))
	if err != nil {
		return []*Failure{s.fail("stats", nil, "%v", err)}
	}
	cases := []statsCase{{"frames of many sizes", e.stream, framing.Options{}}}
	over, limit, err := s.overStream(r)
	if err != nil {
		return []*Failure{s.fail("stats", nil, "%v", err)}
	}
	if over != nil {
		both := append(bytes.Clone(e.stream), over.stream...)
		what := fmt.Sprintf("frames of many sizes, then frames of %v bytes", lens(over.payloads))
		cases = append(cases,
			statsCase{what, both, framing.Options{MaxFrameSize: limit, Oversize: framing.Skip}},
			statsCase{what, both, framing.Options{MaxFrameSize: limit}})
	}
	for _, h := range s.hostileStreams(r, 4) {
		cases = append(cases,
			statsCase{h.what, h.stream, framing.Options{MaxFrameSize: 64, Oversize: framing.Skip}},
			statsCase{h.what, h.stream, framing.Options{MaxFrameSize: 64}})
	}
	if big := s.o.Payload(r, 96<<10); len(big) > 16<<10 {
		be, err := s.encode([][]byte{s.o.Payload(r, 5), big})
		if err != nil {
			return []*Failure{s.fail("stats", nil, "%v", err)}
		}
		// A budget that holds the small frame, not the large one.
		cases = append(cases, statsCase{fmt.Sprintf("frames of %v bytes with a budget of 16 KiB", lens(be.payloads)), be.stream,
			framing.Options{Budget: framing.NewBudget(16 << 10)}})
	}
	for _, c := range cases {
		policy := "Fail"
		if c.o.Oversize == framing.Skip {
			policy = "Skip"
		}
		limit := c.o.MaxFrameSize
		if limit == 0 {
			limit = framing.DefaultMaxFrameSize
		}
		if msg := s.statsConn(c); msg != "" {
			return []*Failure{s.fail("stats", nil, "%s, MaxFrameSize %d, Oversize %s, through a Conn: %s", c.what, limit, policy, msg)}
		}
		if msg := s.statsPush(c); msg != "" {
			return []*Failure{s.fail("stats", nil, "%s, MaxFrameSize %d, Oversize %s, through a Deframer: %s", c.what, limit, policy, msg)}
		}
	}
	if msg := s.statsWritten(e.payloads); msg != "" {
		return []*Failure{s.fail("stats", nil, "%s", msg)}
	}
	return nil
}

// statsConn reads c's stream through a Conn with Stats, counting what the
// reads return, and compares.
func (s *suite) statsConn(c statsCase) string {
	a, b := s.feed(c.stream, CutRandom(s.o.Seed, 300))
	defer a.Close()
	o := c.o
	o.Stats = new(framing.Stats)
	fr := s.readConn(b, &o)
	defer fr.Close()
	return s.statsRead(fr.ReadFrame, o.Stats, o.Budget != nil)
}

// statsPush is statsConn through the push engine, the stream pushed in
// pieces of up to 4 KiB (so that a large frame is buffered, and a budget
// can refuse it).
func (s *suite) statsPush(c statsCase) string {
	o := c.o
	o.Stats = new(framing.Stats)
	if o.Budget != nil {
		o.Budget = framing.NewBudget(o.Budget.Size())
	}
	d := framing.NewDeframer(s.codec, &o)
	defer d.Release()
	p := &pusher{d: d}
	data := s.prefixed(bytes.Clone(c.stream)) // a decoder may unstuff pushed bytes in place
	for len(data) > 0 {
		n := min(len(data), 4<<10)
		p.pieces, data = append(p.pieces, data[:n]), data[n:]
	}
	return s.statsRead(s.prefaced(p.next, d.Kind), o.Stats, o.Budget != nil)
}

// statsRead reads with next until the stream ends, counting what the reads
// return, and compares st with the count; refusal says the reads must end
// with a *framing.BudgetError.
func (s *suite) statsRead(next func() ([]byte, error), st *framing.Stats, refusal bool) string {
	var t tally
	if s.pre != nil {
		t.add(s.o.Preface, nil) // read (and checked) before next's first frame
	}
	var err error
	if cerr := s.call(func() error { err = readTally(next, &t); return nil }); cerr != nil {
		return cerr.Error()
	}
	if msg := t.disagree(st.Snapshot()); msg != "" {
		return fmt.Sprintf("the reads ended with %q; Stats say %s", err, msg)
	}
	if refusal && !errors.Is(err, framing.ErrBudget) {
		return fmt.Sprintf("the reads ended with %q, want a *framing.BudgetError", err)
	}
	return ""
}

// readTally reads until an error that does not let reading go on (at most
// a call per byte), counting into t, and returns that error.
func readTally(next func() ([]byte, error), t *tally) error {
	for calls := 0; calls < 1<<20; calls++ {
		p, err := next()
		t.add(p, err)
		if err != nil && framing.Classify(err) != framing.Rejected {
			return err
		}
	}
	return errors.New("no end after 1<<20 calls")
}

// statsWritten writes ps through a Conn with Stats and compares
// FramesWritten and BytesWritten.
func (s *suite) statsWritten(ps [][]byte) string {
	a, b := Pipe(&PipeOptions{Buffer: 1 << 30})
	defer a.Close()
	o := &framing.Options{Stats: new(framing.Stats)}
	c := s.newConn(b, o)
	defer c.Close()
	var n int64
	for i, p := range ps {
		if err := c.WriteFrame(p); err != nil {
			return fmt.Sprintf("WriteFrame %d (%d bytes): %v", i, len(p), err)
		}
		n += int64(len(p))
	}
	if st := o.Stats.Snapshot(); st.FramesWritten != int64(len(ps)) || st.BytesWritten != n {
		return fmt.Sprintf("after %d frames of %d bytes in all were written, Stats say FramesWritten %d, BytesWritten %d",
			len(ps), n, st.FramesWritten, st.BytesWritten)
	}
	return ""
}
