package fuzz

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
)

// hostile feeds random bytes and the caller's hostile streams: no panic, no
// frame over the limit, an end within a bounded number of calls, and memory
// in proportion to the bytes sent, not to what headers declare (see
// hostileVerdict).
func (s *suite) hostile() []*Failure {
	r := s.rng(4)
	streams := append([][]byte(nil), s.o.Hostile...)
	for i := 0; i < 12; i++ {
		streams = append(streams, RandomBytes(r, 1+r.IntN(4096)))
	}
	for i, st := range streams {
		for j, limit := range []int{64, framing.DefaultMaxFrameSize} {
			for _, skip := range []bool{false, true} {
				if skip && !s.strict && s.o.NoSkip {
					continue
				}
				cut := CutRandom(s.o.Seed+int64(i), 1+r.IntN(300))
				if (i+j)%2 == 0 {
					cut = CutWhole()
				}
				l := Limits{MaxFrameSize: limit, Skip: skip}
				h := hostileRun{size: len(st), limit: limit, strict: s.strict, timeout: s.o.Timeout, measured: true}
				var rec *recorder
				h.alloc = leastAllocated(allocBound(len(st)), func() uint64 {
					a, b := s.feed(st, cut)
					rec = newRecorder(len(st)+3, len(st))
					return allocated(func() { _, h.stuck = s.readAll(a, b, l, rec) })
				})
				h.res, h.ended = rec.results()
				if msg := h.verdict(); msg != "" {
					kind := "random"
					if i < len(s.o.Hostile) {
						kind = fmt.Sprintf("Options.Hostile[%d]", i)
					}
					return []*Failure{s.fail("hostile", &cut, "%s stream of %d bytes (first bytes %x), limit %d, skip %v: %s",
						kind, len(st), st[:min(len(st), 16)], limit, skip, msg)}
				}
			}
		}
	}
	return nil
}

// hostileRun is what reading one stream of arbitrary bytes gave, for
// verdict.
type hostileRun struct {
	res      []result
	ended    bool          // an error ended the stream within the calls allowed
	stuck    bool          // a call did not return within timeout
	timeout  time.Duration // the suite's (when stuck)
	size     int           // bytes of input
	limit    int           // the framer's size limit
	strict   bool          // a framing codec: framing's errors and classes
	measured bool          // alloc was measured
	alloc    uint64        // bytes allocated while reading
}

// allocBound is the memory reading size bytes of arbitrary input may
// allocate: in proportion to the bytes, whatever headers declare.
func allocBound(size int) uint64 { return uint64(8*size) + 256<<10 }

// verdict holds h to the invariants every framer keeps on any input; the
// suite's hostile check and fuzz.Decode share them. It returns "" when
// they hold. Any framer: no panic, no frame over the limit, an end within
// a call per byte (plus a few), and memory within allocBound. A codec
// (strict) besides: every error is io.EOF or one of framing's kinds
// (unexpected EOF, corrupt, frame too large, payload), none is
// temporary, and a fatal error is sticky.
func (h *hostileRun) verdict() string {
	if h.stuck {
		return fmt.Sprintf("ReadFrame did not return within %v", h.timeout)
	}
	for k, re := range h.res {
		switch {
		case isPanic(re.err):
			return fmt.Sprintf("ReadFrame call %d: %v", k, re.err)
		case re.err == nil && len(re.frame) > h.limit:
			return fmt.Sprintf("ReadFrame call %d returned %d bytes, over the limit of %d", k, len(re.frame), h.limit)
		case !h.strict || re.err == nil:
			continue
		case !isOneOf(re.err, codecErrors[:]):
			return fmt.Sprintf("ReadFrame call %d: error %q (%T) is none of framing's kinds", k, re.err, re.err)
		}
		switch framing.Classify(re.err) {
		case framing.Temporary:
			return fmt.Sprintf("ReadFrame call %d: error %q is classified temporary", k, re.err)
		case framing.Fatal:
			if k+1 < len(h.res) {
				if next := h.res[k+1]; next.err == nil || framing.Classify(next.err) != framing.Fatal {
					return fmt.Sprintf("after the fatal error %q, ReadFrame returned %v", re.err, next)
				}
			}
		}
	}
	switch {
	case !h.ended:
		return fmt.Sprintf("%d ReadFrame calls on %d bytes and no end", len(h.res), h.size)
	case h.measured && h.alloc > allocBound(h.size):
		return fmt.Sprintf("reading %d bytes allocated %d bytes", h.size, h.alloc)
	}
	return ""
}

// codecErrors are the kinds of error a codec's Reader may return on any
// input (see verdict).
var codecErrors = [...]error{io.EOF, io.ErrUnexpectedEOF, framing.ErrCorrupt, framing.ErrFrameTooLarge, framing.ErrPayload}

// isOneOf reports whether errors.Is(err, t) holds for some t in targets,
// in one walk of err's tree instead of one walk per target (verdict asks
// it of every error every read returned). targets must be comparable.
func isOneOf(err error, targets []error) bool {
	for err != nil {
		is, hasIs := err.(interface{ Is(error) bool })
		for _, t := range targets {
			if err == t || hasIs && is.Is(t) {
				return true
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if isOneOf(e, targets) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
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

// allocCounter.approx returns about the bytes allocated while f ran, from
// runtime/metrics, which unlike ReadMemStats does not stop the world (two
// stops cost fuzz.Decode more than all its reading). Large allocations
// are counted when made; small ones when their span is refilled, so the
// figure is off by at most the spans cached when it starts and ends, and
// it counts other goroutines too: a caller that finds it over a bound
// measures again with allocated. The counter keeps its sample, which
// metrics.Read takes as a slice (a local one would be allocated per call).
type allocCounter struct{ s [1]metrics.Sample }

func (c *allocCounter) approx(f func()) uint64 {
	c.s[0].Name = "/gc/heap/allocs:bytes"
	metrics.Read(c.s[:])
	before := c.s[0].Value.Uint64()
	f()
	metrics.Read(c.s[:])
	return c.s[0].Value.Uint64() - before
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
