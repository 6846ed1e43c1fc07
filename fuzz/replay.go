package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
)

// This file is the machinery the checks share: encoding payloads into a
// stream, replaying a stream to a fresh framer under a cutting, recording
// what its reads return, comparing that with a model, and minimising the
// cutting of a failure.

// encoded is a stream of frames and where each frame's bytes are.
type encoded struct {
	payloads [][]byte
	stream   []byte
	ends     []int // ends[i] is the offset just past frame i
}

func (e *encoded) start(i int) int {
	if i == 0 {
		return 0
	}
	return e.ends[i-1]
}

// encode writes each payload through a framer and records the bytes each
// one put on the wire. For a codec, each payload is first held to the
// encoder's contract (see wrapCheck).
func (s *suite) encode(payloads [][]byte) (*encoded, error) {
	a, b := Pipe(&PipeOptions{Buffer: math.MaxInt})
	defer a.Close()
	defer b.Close()
	fr := s.nf(a, Limits{MaxFrameSize: framing.DefaultMaxFrameSize})
	e := &encoded{payloads: payloads}
	buf := make([]byte, 64<<10)
	for i, p := range payloads {
		if msg := s.wrapCheck(p); msg != "" {
			return nil, fmt.Errorf("payload %d: %s", i, msg)
		}
		err := s.call(func() error {
			if err := fr.WriteFrame(p); err != nil {
				return err
			}
			if f, ok := fr.(interface{ Flush() error }); ok {
				return f.Flush()
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("writing payload %d (%d bytes): %w", i, len(p), err)
		}
		for b.Buffered() > 0 {
			n, _ := b.Read(buf)
			e.stream = append(e.stream, buf[:n]...)
		}
		if len(e.stream) == e.start(i) {
			return nil, fmt.Errorf("writing payload %d (%d bytes) put no bytes on the wire (a framer that buffers writes needs a Flush method)", i, len(p))
		}
		e.ends = append(e.ends, len(e.stream))
	}
	return e, nil
}

// result is what one read call gave: a frame (with the kind and stream
// offset the Reader reported after it, where known) or an error.
type result struct {
	frame  []byte
	err    error
	kind   uint32
	offset int64 // -1: not known
}

func (r result) String() string {
	if r.err != nil {
		return fmt.Sprintf("error %q (%T, %v)", r.err, r.err, framing.Classify(r.err))
	}
	s := describe(r.frame)
	if r.kind != 0 {
		s += fmt.Sprintf(" of kind %d", r.kind)
	}
	return s
}

func describe(p []byte) string {
	if len(p) <= 16 {
		return fmt.Sprintf("frame of %d bytes %x", len(p), p)
	}
	return fmt.Sprintf("frame of %d bytes %x...", len(p), p[:16])
}

// frameSource is one way of reading frames: next returns the next frame or
// error; kind and offset (optional) say what the reader reports after a
// frame.
type frameSource struct {
	next   func() ([]byte, error)
	kind   func() uint32
	offset func() int64
}

// recorder keeps what read calls return, in memory taken before the framer
// runs, so that a memory measurement counts only the framer's.
type recorder struct {
	mu    sync.Mutex
	res   []result
	arena []byte
	max   int
	ended bool // an error that ends the stream was returned
	solo  bool // read only by the goroutine that records (fuzz.Decode): mu is not needed
}

func newRecorder(maxCalls, size int) *recorder {
	return &recorder{res: make([]result, 0, maxCalls+1), arena: make([]byte, 0, size), max: maxCalls}
}

func (r *recorder) add(p []byte, err error, kind uint32, offset int64) {
	if r.solo {
		r.record(p, err, kind, offset)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(p, err, kind, offset)
}

func (r *recorder) record(p []byte, err error, kind uint32, offset int64) {
	var frame []byte
	if p != nil && err == nil {
		if len(r.arena)+len(p) <= cap(r.arena) {
			start := len(r.arena)
			r.arena = append(r.arena, p...)
			frame = r.arena[start:len(r.arena):len(r.arena)]
		} else {
			frame = bytes.Clone(p)
		}
	}
	r.res = append(r.res, result{frame: frame, err: err, kind: kind, offset: offset})
}

// results returns a copy of what was recorded so far, and whether an
// error ended the stream.
func (r *recorder) results() ([]result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.res...), r.ended
}

// readLoop reads from src until the first error after which goesOn says
// the stream does not go on, plus one more call (to see that the error is
// sticky), or until rec.max calls; rec records each outcome. A panic is
// recorded as an error (see panicked) and ends the loop.
func readLoop(src frameSource, rec *recorder, goesOn func(error) bool) {
	defer func() {
		if v := recover(); v != nil {
			rec.add(nil, panicked(v), 0, -1)
		}
	}()
	for calls := 0; calls < rec.max; calls++ {
		p, err := src.next()
		var kind uint32
		offset := int64(-1)
		if err == nil && src.kind != nil {
			kind = src.kind()
		}
		if err == nil && src.offset != nil {
			offset = src.offset()
		}
		rec.add(p, err, kind, offset)
		if !rec.solo {
			rec.mu.Lock()
		}
		ended := rec.ended
		if err != nil && !goesOn(err) {
			rec.ended = true
		}
		if !rec.solo {
			rec.mu.Unlock()
		}
		if err != nil && ended {
			return
		}
	}
}

// replay feeds stream, cut by cut, to a fresh framer with limits l and
// returns the results of its ReadFrame calls (see readLoop). The framer
// reads the stream as the other end of a pipe that holds all of it and
// was half-closed after it.
func (s *suite) replay(stream []byte, cut Cutting, l Limits, maxCalls int) ([]result, bool) {
	a, b := s.feed(stream, cut)
	res, stuck := s.readAll(a, b, l, newRecorder(maxCalls, len(stream)))
	return res, stuck
}

// feed returns a pipe whose reading end b holds the preface, then stream,
// cut by cut, and then EOF.
func (s *suite) feed(stream []byte, cut Cutting) (a, b *Conn) {
	a, b = Pipe(&PipeOptions{Buffer: len(s.pre) + len(stream) + 1, Cut: cut.shift(len(s.pre))})
	a.Write(s.prefixed(stream))
	a.CloseWrite()
	return a, b
}

// readAll is replay on a fed pipe. stuck reports a read call that did not
// return within the suite's timeout.
func (s *suite) readAll(a, b *Conn, l Limits, rec *recorder) (res []result, stuck bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil { // in the framer's constructor
				rec.add(nil, panicked(v), 0, -1)
			}
		}()
		fr := s.readFramer(b, l)
		readLoop(frameSource{next: fr.ReadFrame}, rec, func(err error) bool { return s.rejected(err, l) })
	}()
	select {
	case <-done:
	case <-time.After(s.o.Timeout):
		stuck = true
		a.Close()
		b.Close()
		select { // a framer that ignores its closed conn is left behind
		case <-done:
		case <-time.After(time.Second):
		}
	}
	a.Close()
	b.Close()
	if stuck { // a copy: the framer may still add to rec
		res, _ = rec.results()
		return res, stuck
	}
	return rec.res, false // no copy: it would count in a memory measurement
}

// rejected reports whether err is one the framer should go on after.
func (s *suite) rejected(err error, l Limits) bool {
	if s.strict {
		return framing.Classify(err) == framing.Rejected
	}
	return l.Skip && !isEOF(err) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err) && !isPanic(err)
}

func isEOF(err error) bool {
	return err == io.EOF || (errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// want is one expected ReadFrame outcome.
type want struct {
	frame    []byte
	kind     wantKind
	frameIdx int
}

type wantKind int

const (
	wantFrame wantKind = iota
	wantEOF
	wantUnexpectedEOF
	wantTooLargeFatal
	wantTooLargeSkip
)

func (w want) String() string {
	switch w.kind {
	case wantEOF:
		return "io.EOF"
	case wantUnexpectedEOF:
		return "an error matching io.ErrUnexpectedEOF"
	case wantTooLargeFatal:
		return fmt.Sprintf("a fatal frame-too-large error for frame %d", w.frameIdx)
	case wantTooLargeSkip:
		return fmt.Sprintf("a rejected frame-too-large error for frame %d, once", w.frameIdx)
	}
	return fmt.Sprintf("frame %d, %s", w.frameIdx, describe(w.frame))
}

// expect says what reading the first n bytes of e with limits l gives.
func expect(e *encoded, n int, l Limits) []want {
	var ws []want
	for i, p := range e.payloads {
		if e.ends[i] > n {
			if e.start(i) < n {
				ws = append(ws, want{kind: wantUnexpectedEOF, frameIdx: i})
				return ws
			}
			break
		}
		if len(p) > l.MaxFrameSize {
			if !l.Skip {
				return append(ws, want{kind: wantTooLargeFatal, frameIdx: i})
			}
			ws = append(ws, want{kind: wantTooLargeSkip, frameIdx: i})
			continue
		}
		ws = append(ws, want{frame: p, frameIdx: i})
	}
	return append(ws, want{kind: wantEOF})
}

// compare checks results against wants; "" when they agree.
func (s *suite) compare(res []result, ws []want, stuck bool) string {
	for i, w := range ws {
		if i >= len(res) {
			if stuck {
				return fmt.Sprintf("ReadFrame call %d did not return within %v; want %v", i, s.o.Timeout, w)
			}
			return fmt.Sprintf("ReadFrame made only %d calls; want %v next", len(res), w)
		}
		r := res[i]
		if isPanic(r.err) {
			return fmt.Sprintf("ReadFrame call %d: %v", i, r.err)
		}
		bad := func() string { return fmt.Sprintf("ReadFrame call %d: got %v, want %v", i, r, w) }
		switch w.kind {
		case wantFrame:
			if r.err != nil || !bytes.Equal(r.frame, w.frame) {
				return bad()
			}
		case wantEOF:
			if !isEOF(r.err) {
				return bad()
			}
		case wantUnexpectedEOF:
			if !errors.Is(r.err, io.ErrUnexpectedEOF) {
				return bad()
			}
			if msg := s.sticky(res, i); msg != "" {
				return msg
			}
		case wantTooLargeFatal, wantTooLargeSkip:
			if r.err == nil || isEOF(r.err) || errors.Is(r.err, io.ErrUnexpectedEOF) || isTimeout(r.err) {
				return bad()
			}
			if s.strict {
				class := framing.Fatal
				if w.kind == wantTooLargeSkip {
					class = framing.Rejected
				}
				if !errors.Is(r.err, framing.ErrFrameTooLarge) || framing.Classify(r.err) != class {
					return fmt.Sprintf("ReadFrame call %d: got %v, want framing.ErrFrameTooLarge of class %v", i, r, class)
				}
			}
			if w.kind == wantTooLargeFatal {
				if msg := s.sticky(res, i); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

// sticky checks that the call after a fatal error at i failed too.
func (s *suite) sticky(res []result, i int) string {
	if i+1 >= len(res) {
		return ""
	}
	next := res[i+1]
	if next.err == nil {
		return fmt.Sprintf("ReadFrame call %d returned a %v after the fatal error %q", i+1, describe(next.frame), res[i].err)
	}
	if s.strict && framing.Classify(next.err) != framing.Fatal {
		return fmt.Sprintf("ReadFrame call %d after the fatal error %q returned %q of class %v", i+1, res[i].err, next.err, framing.Classify(next.err))
	}
	return ""
}

// cuttings is the list a round trip runs under: whole, fixed sizes, random
// sizes, and the targeted cuts inside every frame's header and trailer.
func (s *suite) cuttings(e *encoded) []Cutting {
	if len(s.o.Cuttings) > 0 {
		return s.o.Cuttings
	}
	cs := []Cutting{CutWhole(), CutEvery(1), CutEvery(2), CutEvery(3), CutEvery(7), CutEvery(64)}
	for i, max := range []int{2, 5, 16, 16, 100, 300, 1000, 5000} {
		cs = append(cs, CutRandom(s.o.Seed*100+int64(i), max))
	}
	for d := 1; d <= s.o.HeaderBytes; d++ {
		var at []int64
		for i := range e.payloads {
			if st := e.start(i); st+d < e.ends[i] {
				at = append(at, int64(st+d))
			}
		}
		if len(at) > 0 {
			cs = append(cs, CutAt(at...))
		}
	}
	for d := 1; d <= s.o.TrailerBytes; d++ {
		var at []int64
		for i := range e.payloads {
			if end := e.ends[i]; end-d > e.start(i) {
				at = append(at, int64(end-d))
			}
		}
		if len(at) > 0 {
			cs = append(cs, CutAt(at...))
		}
	}
	return cs
}

// runCut replays e (its first n bytes) under cut and compares with what the
// model expects; on a mismatch it minimises the cuts.
func (s *suite) runCut(name string, e *encoded, n int, cut Cutting, l Limits) *Failure {
	ws := expect(e, n, l)
	try := func(c Cutting) string {
		res, stuck := s.replay(e.stream[:n], c, l, len(ws)+2)
		return s.compare(res, ws, stuck)
	}
	msg := try(cut)
	if msg == "" {
		return nil
	}
	f := s.fail(name, &cut, "%s", msg)
	if stuckMsg(msg) {
		return f // each rerun would wait the full timeout
	}
	min := minimise(cut.Offsets(int64(n)), func(c Cutting) bool { return try(c) != "" })
	f.Minimal = &min
	return f
}

func stuckMsg(msg string) bool { return strings.Contains(msg, "did not return") }

// minimise removes cuts from offs while the failure persists, largest
// groups first, within 200 reruns. It returns the failing cutting with the
// fewest cuts it found.
func minimise(offs []int64, fails func(Cutting) bool) Cutting {
	const budget = 200
	runs := 0
	cur := append([]int64(nil), offs...)
	if fails(CutWhole()) {
		return CutWhole()
	}
	runs++
	for chunk := (len(cur) + 1) / 2; chunk >= 1 && runs < budget; chunk /= 2 {
		for i := 0; i < len(cur) && runs < budget; {
			end := min(i+chunk, len(cur))
			try := append(append([]int64(nil), cur[:i]...), cur[end:]...)
			runs++
			if fails(CutAt(try...)) {
				cur = try
				continue
			}
			i = end
		}
		if chunk == 1 {
			break
		}
	}
	return CutAt(cur...)
}
