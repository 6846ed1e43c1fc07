package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
)

// Framer is what the conformance suite drives: something that reads and
// writes whole frames on a connection. A *framing.Conn is one; so is a
// hand-written framer that does its own I/O.
//
// ReadFrame may return a view valid only until the next call. WriteFrame
// must have written the whole frame to the connection when it returns (a
// framer that buffers writes can also have a Flush() error method, which the
// suite calls after each WriteFrame). WriteFrame must be safe to call from
// many goroutines at once unless Options.SerialWrites is set.
type Framer interface {
	ReadFrame() ([]byte, error)
	WriteFrame(p []byte) error
}

// Limits is what a Framer under test is told when it is built: the largest
// frame its ReadFrame may return, and whether an oversized frame is skipped
// (an error returned once, then reading goes on) or fails the stream.
type Limits struct {
	MaxFrameSize int
	Skip         bool
}

// NewFramer builds the framer under test on one end of a connection.
type NewFramer func(c net.Conn, l Limits) Framer

// Options tune the conformance suite. The zero value (and nil) is a
// reasonable run for any codec whose payloads may be any bytes.
type Options struct {
	// Seed makes every random choice of the suite (payloads, cuttings,
	// hostile bytes). The default is 1; a failure names the seed.
	Seed int64
	// Payload returns a payload the codec can carry, of about n bytes
	// (exactly n where the codec allows it). The default is n random
	// bytes. Codecs that cannot carry every payload need their own:
	// Without for delimiters, Sized for fixed-size frames.
	Payload func(r *rand.Rand, n int) []byte
	// MaxPayload is the largest payload of the round-trip streams
	// (default 1024).
	MaxPayload int
	// Frames is the number of frames of a round-trip stream (default 32).
	Frames int
	// HeaderBytes and TrailerBytes say how deep into the start and the
	// end of every encoded frame the targeted cuts go: the stream is cut
	// after 1, 2, ... HeaderBytes bytes of every frame (a split inside a
	// length field or a varint), and 1, 2, ... TrailerBytes bytes before
	// its end (a split inside a delimiter). Defaults 10 and 4.
	HeaderBytes, TrailerBytes int
	// Cuttings, when set, replaces the suite's cuttings in the checks
	// that run under many of them; use it to replay a failure.
	Cuttings []Cutting
	// Hostile are extra streams (a header declaring 4 GiB, an endless
	// line) that the hostile check feeds the framer along with its own
	// random bytes.
	Hostile [][]byte
	// NoSkip says the framer has no skip policy for oversized frames, so
	// the skip checks do not run (CheckFramer only).
	NoSkip bool
	// SerialWrites says the framer's WriteFrame is not safe for
	// concurrent use, so the concurrent-writers check does not run
	// (CheckFramer only).
	SerialWrites bool
	// Timeout bounds each framer call the suite waits for (default 10 s).
	Timeout time.Duration
}

// Failure is one thing the suite found wrong. Error gives all of it in one
// line, with what to replay.
type Failure struct {
	// Check names the check, as in the suite's subtests: "roundtrip",
	// "stream", "truncation", "hostile", "limits/fail", "limits/skip",
	// "bigframe", "deadline", "writers".
	Check string
	// Seed is Options.Seed as the suite ran it.
	Seed int64
	// Cutting is how the stream was cut when the check failed, and
	// Minimal the fewest cuts found that still fail (nil if the failure
	// does not depend on cuts).
	Cutting, Minimal *Cutting
	// Msg says what went wrong.
	Msg string
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (seed %d", f.Check, f.Seed)
	if f.Cutting != nil {
		fmt.Fprintf(&b, ", cutting %s", clip(f.Cutting.String(), 200))
	}
	fmt.Fprintf(&b, "): %s", f.Msg)
	if f.Minimal != nil {
		fmt.Fprintf(&b, "; still fails with %s; replay: fuzz.Options{Seed: %d, Cuttings: []fuzz.Cutting{%s}}",
			clip(f.Minimal.String(), 400), f.Seed, clip(f.Minimal.String(), 400))
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "...)"
}

// Conformance runs the whole suite on codec through framing.Conn, one
// subtest per check, and reports every failure with t.Error. Besides the
// behaviour CheckFramer asks of any framer, it holds the codec to framing's
// typed errors: oversized frames give framing.ErrFrameTooLarge, classified
// Rejected under the skip policy and Fatal otherwise, and fatal errors are
// sticky.
func Conformance(t *testing.T, codec framing.Codec, opts *Options) {
	t.Helper()
	run(t, codecFramer(codec), true, opts)
}

// ConformanceFramer runs the suite on a framer that does its own I/O,
// built by newFramer on one end of each connection the suite makes.
func ConformanceFramer(t *testing.T, newFramer NewFramer, opts *Options) {
	t.Helper()
	run(t, newFramer, false, opts)
}

// Check runs the suite on codec as Conformance does and returns what
// failed, for use outside a test or to assert on the failures.
func Check(codec framing.Codec, opts *Options) []*Failure {
	return newSuite(codecFramer(codec), true, opts).all()
}

// CheckFramer runs the suite on a hand-written framer as
// ConformanceFramer does and returns what failed.
func CheckFramer(newFramer NewFramer, opts *Options) []*Failure {
	return newSuite(newFramer, false, opts).all()
}

func codecFramer(codec framing.Codec) NewFramer {
	return func(c net.Conn, l Limits) Framer {
		o := &framing.Options{MaxFrameSize: l.MaxFrameSize}
		if l.Skip {
			o.Oversize = framing.Skip
		}
		return framing.NewConn(c, codec, o)
	}
}

func run(t *testing.T, nf NewFramer, strict bool, opts *Options) {
	t.Helper()
	s := newSuite(nf, strict, opts)
	for _, c := range s.checks() {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range runCheck(c) {
				t.Error(f)
			}
		})
	}
}

// RandomBytes is the default payload generator: n random bytes.
func RandomBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	r.Read(p)
	return p
}

// Without returns a payload generator of n random bytes none of which is in
// forbidden, for delimiter codecs that cannot carry their delimiter.
func Without(forbidden ...byte) func(r *rand.Rand, n int) []byte {
	var bad [256]bool
	for _, b := range forbidden {
		bad[b] = true
	}
	var ok []byte
	for i := 0; i < 256; i++ {
		if !bad[i] {
			ok = append(ok, byte(i))
		}
	}
	return func(r *rand.Rand, n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = ok[r.Intn(len(ok))]
		}
		return p
	}
}

// Sized returns a payload generator that always makes size random bytes,
// whatever size was asked, for fixed-size frames.
func Sized(size int) func(r *rand.Rand, n int) []byte {
	return func(r *rand.Rand, _ int) []byte { return RandomBytes(r, size) }
}

type suite struct {
	nf     NewFramer
	strict bool
	o      Options
}

type check struct {
	name string
	run  func() []*Failure
}

func newSuite(nf NewFramer, strict bool, opts *Options) *suite {
	s := &suite{nf: nf, strict: strict}
	if opts != nil {
		s.o = *opts
	}
	if s.o.Seed == 0 {
		s.o.Seed = 1
	}
	if s.o.Payload == nil {
		s.o.Payload = RandomBytes
	}
	if s.o.MaxPayload <= 0 {
		s.o.MaxPayload = 1024
	}
	if s.o.Frames <= 0 {
		s.o.Frames = 32
	}
	if s.o.HeaderBytes <= 0 {
		s.o.HeaderBytes = 10
	}
	if s.o.TrailerBytes <= 0 {
		s.o.TrailerBytes = 4
	}
	if s.o.Timeout <= 0 {
		s.o.Timeout = 10 * time.Second
	}
	return s
}

func (s *suite) checks() []check {
	cs := []check{
		{"roundtrip", s.roundTrip},
		{"stream", s.stream},
		{"truncation", s.truncation},
		{"hostile", s.hostile},
		{"limits/fail", func() []*Failure { return s.limits(false) }},
	}
	if s.strict || !s.o.NoSkip {
		cs = append(cs, check{"limits/skip", func() []*Failure { return s.limits(true) }})
	}
	cs = append(cs, check{"bigframe", s.bigFrame}, check{"deadline", s.deadline})
	if s.strict || !s.o.SerialWrites {
		cs = append(cs, check{"writers", s.writers})
	}
	return cs
}

func (s *suite) all() []*Failure {
	var out []*Failure
	for _, c := range s.checks() {
		out = append(out, runCheck(c)...)
	}
	return out
}

func (s *suite) rng(salt int64) *rand.Rand {
	return rand.New(rand.NewSource(s.o.Seed*1_000_003 + salt))
}

func (s *suite) fail(check string, cut *Cutting, format string, args ...any) *Failure {
	return &Failure{Check: check, Seed: s.o.Seed, Cutting: cut, Msg: fmt.Sprintf(format, args...)}
}

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
// one put on the wire.
func (s *suite) encode(payloads [][]byte) (*encoded, error) {
	a, b := Pipe(&PipeOptions{Buffer: math.MaxInt})
	defer a.Close()
	defer b.Close()
	fr := s.nf(a, Limits{MaxFrameSize: framing.DefaultMaxFrameSize})
	e := &encoded{payloads: payloads}
	buf := make([]byte, 64<<10)
	for i, p := range payloads {
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

// call runs f with the suite's timeout.
func (s *suite) call(f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(s.o.Timeout):
		return fmt.Errorf("no return within %v", s.o.Timeout)
	}
}

// result is what one ReadFrame call gave.
type result struct {
	frame []byte
	err   error
}

func (r result) String() string {
	if r.err != nil {
		return fmt.Sprintf("error %q", r.err)
	}
	return describe(r.frame)
}

func describe(p []byte) string {
	if len(p) <= 16 {
		return fmt.Sprintf("frame of %d bytes %x", len(p), p)
	}
	return fmt.Sprintf("frame of %d bytes %x...", len(p), p[:16])
}

// replay feeds stream, cut by cut, to a fresh framer with limits l and
// returns the results of its ReadFrame calls until the first error that is
// not a rejected frame followed by one more call (for stickiness), or
// until maxCalls calls. The framer reads the stream as the other end of a
// pipe that holds all of it and was half-closed after it.
func (s *suite) replay(stream []byte, cut Cutting, l Limits, maxCalls int) ([]result, bool) {
	a, b := feed(stream, cut)
	return s.readAll(a, b, l, newRecorder(maxCalls, len(stream)))
}

// recorder keeps what ReadFrame calls return, in memory taken before the
// framer runs, so that a memory measurement counts only the framer's.
type recorder struct {
	mu    sync.Mutex
	res   []result
	arena []byte
	max   int
}

func newRecorder(maxCalls, size int) *recorder {
	return &recorder{res: make([]result, 0, maxCalls+1), arena: make([]byte, 0, size), max: maxCalls}
}

func (r *recorder) add(p []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var frame []byte
	if p != nil {
		if len(r.arena)+len(p) <= cap(r.arena) {
			start := len(r.arena)
			r.arena = append(r.arena, p...)
			frame = r.arena[start:len(r.arena):len(r.arena)]
		} else {
			frame = bytes.Clone(p)
		}
	}
	r.res = append(r.res, result{frame: frame, err: err})
}

// feed returns a pipe whose reading end b holds stream, cut by cut, and
// then EOF.
func feed(stream []byte, cut Cutting) (a, b *Conn) {
	a, b = Pipe(&PipeOptions{Buffer: len(stream) + 1, Cut: cut})
	a.Write(stream)
	a.CloseWrite()
	return a, b
}

// readAll is replay on a fed pipe.
func (s *suite) readAll(a, b *Conn, l Limits, rec *recorder) ([]result, bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				rec.add(nil, fmt.Errorf("panic: %v", v))
			}
		}()
		fr := s.nf(b, l)
		fatal := false
		for calls := 0; calls < rec.max; calls++ {
			p, err := fr.ReadFrame()
			rec.add(p, err)
			if err != nil && fatal {
				return
			}
			if err != nil && !s.rejected(err, l) {
				fatal = true
			}
		}
	}()
	stuck := false
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
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]result(nil), rec.res...), stuck
}

// rejected reports whether err is one the framer should go on after.
func (s *suite) rejected(err error, l Limits) bool {
	if s.strict {
		return framing.Classify(err) == framing.Rejected
	}
	return l.Skip && !isEOF(err) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err)
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
		if r.err != nil && strings.HasPrefix(r.err.Error(), "panic: ") {
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
					return fmt.Sprintf("ReadFrame call %d: got %v (class %v), want framing.ErrFrameTooLarge of class %v", i, r, framing.Classify(r.err), class)
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

// payloads makes n payloads with sizes spread from 0 to max: empty, tiny,
// and random up to max, with max itself included.
func (s *suite) payloads(r *rand.Rand, n, max int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		var size int
		switch i % 8 {
		case 0:
			size = 0
		case 1:
			size = 1 + r.Intn(3)
		case 2:
			size = max
		case 3, 4:
			size = r.Intn(64)
		default:
			size = r.Intn(max + 1)
		}
		ps[i] = s.o.Payload(r, size)
	}
	return ps
}

// cuttings is the list a round trip runs under: whole, fixed sizes, random
// sizes, and the targeted cuts inside every frame's header and trailer.
func (s *suite) cuttings(e *encoded, r *rand.Rand) []Cutting {
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
	if strings.Contains(msg, "did not return") {
		return f // each rerun would wait the full timeout
	}
	min := minimise(cut.Offsets(int64(n)), func(c Cutting) bool { return try(c) != "" })
	f.Minimal = &min
	return f
}

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

func (s *suite) roundTrip() []*Failure {
	r := s.rng(1)
	e, err := s.encode(s.payloads(r, s.o.Frames, s.o.MaxPayload))
	if err != nil {
		return []*Failure{s.fail("roundtrip", nil, "%v (use Options.Payload to generate payloads the codec can carry)", err)}
	}
	l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
	for _, c := range s.cuttings(e, r) {
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
	for i, cut := range []Cutting{CutRandom(s.o.Seed, 13), CutWhole()} {
		a, b := Pipe(&PipeOptions{Buffer: 1024 + 512*i, Cut: cut})
		l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
		w, rd := s.nf(a, l), s.nf(b, l)
		werr := make(chan error, 1)
		go func() {
			for _, p := range payloads {
				err := w.WriteFrame(p)
				if f, ok := w.(interface{ Flush() error }); ok && err == nil {
					err = f.Flush()
				}
				if err != nil {
					a.CloseWrite() // the reader sees the stream end early
					werr <- err
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
		if err := <-werr; msg == "" && err != nil {
			msg = fmt.Sprintf("WriteFrame: %v", err)
		}
		if msg != "" {
			return []*Failure{s.fail("stream", &cut, "writer and reader running together over a pipe of %d bytes: %s", 1024+512*i, msg)}
		}
	}
	return nil
}

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

// hostile feeds random bytes and the caller's hostile streams: no panic, no
// frame over the limit, an end within a bounded number of calls, and memory
// in proportion to the bytes sent, not to what headers declare.
func (s *suite) hostile() []*Failure {
	r := s.rng(4)
	streams := append([][]byte(nil), s.o.Hostile...)
	for i := 0; i < 12; i++ {
		streams = append(streams, RandomBytes(r, 1+r.Intn(4096)))
	}
	var out []*Failure
	for i, st := range streams {
		for j, limit := range []int{64, framing.DefaultMaxFrameSize} {
			for _, skip := range []bool{false, true} {
				if skip && !s.strict && s.o.NoSkip {
					continue
				}
				cut := CutRandom(s.o.Seed+int64(i), 1+r.Intn(300))
				if (i+j)%2 == 0 {
					cut = CutWhole()
				}
				l := Limits{MaxFrameSize: limit, Skip: skip}
				var res []result
				var stuck bool
				bound := uint64(8*len(st)) + 256<<10
				alloc := leastAllocated(bound, func() uint64 {
					a, b := feed(st, cut)
					rec := newRecorder(len(st)+3, len(st))
					return allocated(func() { res, stuck = s.readAll(a, b, l, rec) })
				})
				msg := ""
				switch {
				case stuck:
					msg = fmt.Sprintf("ReadFrame did not return within %v", s.o.Timeout)
				case len(res) == len(st)+3:
					msg = fmt.Sprintf("%d ReadFrame calls on %d bytes and no end", len(res), len(st))
				case alloc > bound:
					msg = fmt.Sprintf("reading %d bytes allocated %d bytes", len(st), alloc)
				}
				for k, re := range res {
					if re.err != nil && strings.HasPrefix(re.err.Error(), "panic: ") {
						msg = re.err.Error()
					} else if len(re.frame) > limit {
						msg = fmt.Sprintf("ReadFrame call %d returned %d bytes, over the limit of %d", k, len(re.frame), limit)
					}
				}
				if msg == "" && len(res) > 0 && s.strict {
					last := res[len(res)-1].err
					if last != nil && !isEOF(last) && framing.Classify(last) == framing.Temporary {
						msg = fmt.Sprintf("error %q is classified temporary", last)
					}
				}
				if msg != "" {
					kind := "random"
					if i < len(s.o.Hostile) {
						kind = fmt.Sprintf("Options.Hostile[%d]", i)
					}
					out = append(out, s.fail("hostile", &cut, "%s stream of %d bytes (first bytes %x), limit %d, skip %v: %s",
						kind, len(st), st[:min(len(st), 16)], limit, skip, msg))
					return out
				}
			}
		}
	}
	return out
}

// measureMu keeps suites that run in parallel (t.Parallel) from counting
// each other's allocations: every check runs holding it for reading, and a
// memory measurement holds it alone.
var measureMu sync.RWMutex

// runCheck runs one check under measureMu.
func runCheck(c check) []*Failure {
	measureMu.RLock()
	defer measureMu.RUnlock()
	return c.run()
}

// allocated returns the bytes allocated while f ran. TotalAlloc counts the
// whole process, so other goroutines' allocations can only add to it: a
// caller that finds too much measures again (see leastAllocated).
// It must be called from a check (holding measureMu for reading).
func allocated(f func()) uint64 {
	measureMu.RUnlock()
	measureMu.Lock()
	defer func() {
		measureMu.Unlock()
		measureMu.RLock()
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// leastAllocated runs measure (which feeds a fresh framer and returns the
// bytes it allocated) until it comes in under bound, at most three times,
// and returns the last figure: a framer over the bound is over it every
// time, while noise from the rest of the process is not.
func leastAllocated(bound uint64, measure func() uint64) uint64 {
	var a uint64
	for i := 0; i < 3; i++ {
		if a = measure(); a <= bound {
			break
		}
	}
	return a
}

// limits runs frames below, at and over a limit under one policy.
func (s *suite) limits(skip bool) []*Failure {
	name := "limits/fail"
	if skip {
		name = "limits/skip"
	}
	r := s.rng(5)
	limit := max(s.o.MaxPayload/4, 8)
	sizes := []int{limit / 2, limit + 1, limit, 4 * limit, 0, limit + 1, 3}
	ps := make([][]byte, len(sizes))
	longest := 0
	for i, n := range sizes {
		ps[i] = s.o.Payload(r, n)
		longest = max(longest, len(ps[i]))
	}
	if longest == 0 {
		return []*Failure{s.fail(name, nil, "Options.Payload made only empty payloads")}
	}
	if longest <= limit {
		limit = longest - 1 // fixed-size frames: every frame is over
		if limit < 1 {
			return nil // one-byte frames are over no limit
		}
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
			return []*Failure{f}
		}
	}
	return nil
}

func lens(ps [][]byte) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = len(p)
	}
	return out
}

// bigFrame checks that memory follows the bytes received, not the size a
// frame declares: the first bytes of a 4 MiB frame allocate little, both
// under a limit it exceeds (an error from the header) and under one it
// fits (unexpected EOF, with only what arrived buffered).
func (s *suite) bigFrame() []*Failure {
	r := s.rng(6)
	p := s.o.Payload(r, 4<<20)
	if len(p) < 64<<10 {
		return nil // a codec of small frames (fixed size): nothing to declare
	}
	e, err := s.encode([][]byte{p})
	if err != nil {
		return []*Failure{s.fail("bigframe", nil, "%v", err)}
	}
	whole := e.stream
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
			a, b := feed(st, CutWhole())
			rec := newRecorder(3, 0)
			return allocated(func() { res, stuck = s.readAll(a, b, l, rec) })
		})
		var msg string
		switch {
		case stuck || len(res) == 0:
			msg = "ReadFrame did not return"
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
	a, b := Pipe(&PipeOptions{Buffer: len(e.stream) + 1})
	defer a.Close()
	defer b.Close()
	fr := s.nf(b, Limits{MaxFrameSize: framing.DefaultMaxFrameSize})
	a.Write(e.stream[:k])
	type out struct {
		p   []byte
		err error
	}
	read := func() chan out {
		ch := make(chan out, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					ch <- out{err: fmt.Errorf("panic: %v", v)}
				}
			}()
			p, err := fr.ReadFrame()
			ch <- out{bytes.Clone(p), err}
		}()
		return ch
	}
	ch := read()
	if !b.WaitReadBlocked(s.o.Timeout) {
		return "the framer never waited for more bytes"
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

// writers has 32 goroutines write frames concurrently through one framer:
// every frame arrives whole, none is interleaved with another, and each
// goroutine's frames arrive in the order it wrote them.
func (s *suite) writers() []*Failure {
	const goroutines, each = 32, 20
	r := s.rng(8)
	sent := make([][][]byte, goroutines)
	owner := map[string][]int{}
	for g := range sent {
		for i := 0; i < each; i++ {
			p := s.o.Payload(r, r.Intn(min(s.o.MaxPayload, 256)+1))
			sent[g] = append(sent[g], p)
			owner[string(p)] = append(owner[string(p)], g)
		}
	}
	cut := CutRandom(s.o.Seed, 200)
	a, b := Pipe(&PipeOptions{Buffer: 4096, Cut: cut})
	defer a.Close()
	defer b.Close()
	l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
	w, rd := s.nf(a, l), s.nf(b, l)
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range sent {
		wg.Add(1)
		go func(ps [][]byte) {
			defer wg.Done()
			for _, p := range ps {
				if err := w.WriteFrame(p); err != nil {
					errs <- err
					return
				}
			}
		}(sent[g])
	}
	go func() {
		wg.Wait()
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
		a.CloseWrite()
		close(errs)
	}()
	var got [][]byte
	for k := 0; k < goroutines*each; k++ {
		var p []byte
		err := s.call(func() error {
			f, err := rd.ReadFrame()
			p = bytes.Clone(f)
			return err
		})
		if err != nil {
			a.Close() // unblock the writers
			b.Close()
			for e := range errs {
				if !errors.Is(e, net.ErrClosed) {
					return []*Failure{s.fail("writers", &cut, "WriteFrame: %v", e)}
				}
			}
			return []*Failure{s.fail("writers", &cut, "ReadFrame after %d of %d frames: %v", k, goroutines*each, err)}
		}
		got = append(got, p)
	}
	distinct := true
	for _, gs := range owner {
		distinct = distinct && len(gs) == 1
	}
	if distinct {
		// Each frame must be the next one of the writer that sent it.
		next := make([]int, goroutines)
		for k, p := range got {
			g := owner[string(p)]
			if len(g) == 0 || next[g[0]] == each || !bytes.Equal(sent[g[0]][next[g[0]]], p) {
				return []*Failure{s.fail("writers", &cut, "frame %d (%s) is not the next frame of any writer: frames interleaved, corrupted or reordered", k, describe(p))}
			}
			next[g[0]]++
		}
	} else {
		// Payloads repeat (a small payload space): compare as multisets.
		count := map[string]int{}
		for _, ps := range sent {
			for _, p := range ps {
				count[string(p)]++
			}
		}
		for k, p := range got {
			if count[string(p)] == 0 {
				return []*Failure{s.fail("writers", &cut, "frame %d (%s) was not sent, or more often than sent: frames interleaved or corrupted", k, describe(p))}
			}
			count[string(p)]--
		}
	}
	for e := range errs {
		return []*Failure{s.fail("writers", &cut, "WriteFrame: %v", e)}
	}
	return nil
}
