package fuzz

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
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
	// Without for delimiters, Sized for fixed-size frames. r is a
	// math/rand/v2 generator seeded from Seed; FromV1 adapts a generator
	// written for math/rand.
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
	// line) that the hostile and readpaths checks feed the framer along
	// with their own random bytes.
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
	// Preface, when not nil, is a message every stream of the codec starts
	// with: the first stage of a staged protocol (lengthprefix.NewPreamble's
	// preamble, a PROXY header for lengthprefix.NewProxyHeader, a
	// StartupMessage for lengthprefix.PostgresFrontend). It is a payload
	// like any other: the suite writes it through the encoder (so the
	// encoder must take it, and writepaths holds every write path to
	// AppendFrame's bytes for it), and every stream a check reads (its
	// frames, truncated streams, hostile and random bytes, escape runs)
	// starts with those bytes. Every reader the checks make must return it
	// first, as a frame equal to Preface, of kind PrefaceKind where the
	// reader reports kinds (framing's Reader, Conn and Deframer do);
	// the check then goes on with the frames after it. At most 64 bytes:
	// it is read under the checks' smallest limit.
	Preface []byte
	// PrefaceKind is the frame kind of Preface (lengthprefix.KindPreamble,
	// KindProxy, KindStartup, ...).
	PrefaceKind uint32
}

// Failure is one thing the suite found wrong. Error gives all of it in one
// line, with what to replay.
type Failure struct {
	// Check names the check, as in the suite's subtests: "roundtrip",
	// "stream", "truncation", "hostile", "limits/fail", "limits/skip",
	// "bigframe", "deadline", "writers", "writepaths", "readpaths",
	// "budget", "escapes", "stats"; "preface" when Options.Preface cannot
	// be written (then no other check runs).
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
// typed errors (oversized frames give framing.ErrFrameTooLarge, classified
// Rejected under the skip policy and Fatal otherwise, and fatal errors are
// sticky), to its encoder's contract (writepaths) and to the same results
// through every read path (readpaths).
func Conformance(t *testing.T, codec framing.Codec, opts *Options) {
	t.Helper()
	run(t, newSuite(codecFramer(codec), codec, opts))
}

// ConformanceFramer runs the suite on a framer that does its own I/O,
// built by newFramer on one end of each connection the suite makes.
func ConformanceFramer(t *testing.T, newFramer NewFramer, opts *Options) {
	t.Helper()
	run(t, newSuite(newFramer, nil, opts))
}

// Check runs the suite on codec as Conformance does and returns what
// failed, for use outside a test or to assert on the failures.
func Check(codec framing.Codec, opts *Options) []*Failure {
	return newSuite(codecFramer(codec), codec, opts).all()
}

// CheckFramer runs the suite on a hand-written framer as
// ConformanceFramer does and returns what failed.
func CheckFramer(newFramer NewFramer, opts *Options) []*Failure {
	return newSuite(newFramer, nil, opts).all()
}

// codecFramer builds a framing.Conn with codec, its decoder traced (see
// trace) so that a panic names the Decode call that panicked.
func codecFramer(codec framing.Codec) NewFramer {
	return func(c net.Conn, l Limits) Framer {
		o := &framing.Options{MaxFrameSize: l.MaxFrameSize}
		if l.Skip {
			o.Oversize = framing.Skip
		}
		return framing.NewConn(c, traceCodec(codec), o)
	}
}

func run(t *testing.T, s *suite) {
	t.Helper()
	for _, c := range s.checks() {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range runCheck(c) {
				t.Error(f)
			}
		})
	}
}

// suite is one run of the conformance suite.
type suite struct {
	nf     NewFramer
	codec  framing.Codec // nil for a hand-written framer
	strict bool          // codec != nil: framing's errors and classes are required
	o      Options
	pre    []byte // Options.Preface encoded: every stream read starts with it
	preErr error  // why Options.Preface could not be encoded

	// What the budget and stats checks drive (a codec only): framing's
	// Conn and Reader with the codec; the package's tests swap in
	// deliberately broken ones.
	newConn   func(nc net.Conn, o *framing.Options) framedConn
	newReader func(rd io.Reader, o *framing.Options) framedReader
}

// framedConn is what the budget and stats checks need of a *framing.Conn.
type framedConn interface {
	ReadFrame() ([]byte, error)
	ReadBody() (int64, *framing.Body, error)
	WriteFrame(p []byte) error
	SetReadDeadline(t time.Time) error
	Detach() (net.Conn, []byte, error)
	Close() error
}

// framedReader is what the budget check needs of a *framing.Reader.
type framedReader interface {
	ReadFrame() ([]byte, error)
	Release()
}

type check struct {
	name string
	run  func() []*Failure
}

func newSuite(nf NewFramer, codec framing.Codec, opts *Options) *suite {
	s := &suite{nf: nf, codec: codec, strict: codec != nil}
	if codec != nil {
		s.newConn = func(nc net.Conn, o *framing.Options) framedConn { return framing.NewConn(nc, codec, o) }
		s.newReader = func(rd io.Reader, o *framing.Options) framedReader { return framing.NewReader(rd, codec, o) }
	}
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
	if nf != nil {
		s.pre, s.preErr = s.prefaceEncoded()
	}
	return s
}

func (s *suite) checks() []check {
	if s.preErr != nil {
		return []check{{"preface", s.prefaceCheck}}
	}
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
	if s.strict {
		cs = append(cs, check{"writepaths", s.writePaths}, check{"readpaths", s.readPaths},
			check{"escapes", s.escapes}, check{"budget", s.budget}, check{"stats", s.stats})
	}
	return cs
}

// checkNamed returns the check called name (nil if there is none).
func (s *suite) checkNamed(name string) func() []*Failure {
	for _, c := range s.checks() {
		if c.name == name {
			return c.run
		}
	}
	return nil
}

func (s *suite) all() []*Failure {
	var out []*Failure
	for _, c := range s.checks() {
		out = append(out, runCheck(c)...)
	}
	return out
}

func (s *suite) rng(salt int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(s.o.Seed), uint64(salt)))
}

func (s *suite) fail(check string, cut *Cutting, format string, args ...any) *Failure {
	return &Failure{Check: check, Seed: s.o.Seed, Cutting: cut, Msg: fmt.Sprintf(format, args...)}
}

// call runs f with the suite's timeout; a panic in f is returned as its
// error.
func (s *suite) call(f func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- panicked(v)
			}
		}()
		done <- f()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(s.o.Timeout):
		return fmt.Errorf("no return within %v", s.o.Timeout)
	}
}
