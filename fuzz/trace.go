package fuzz

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/framekit/framekit/framing"
)

// The suite, Decode, Push and ReadPaths give a decoder to a framing Reader
// or Deframer wrapped in a tracer, which hands it exactly buf[:n:n] and
// remembers its previous result, so that a panic in the decoder is reported
// with the call that panicked, len(buf), the Decoded the call before
// returned, and (by the caller) the seed. framing itself does not recover a
// decoder's panic (see the package documentation).

// tracer is a Decoder that calls dec and remembers what it returned. One
// tracer serves one stream (it is not safe for concurrent use).
type tracer struct {
	dec     framing.Decoder
	calls   int
	last    framing.Decoded
	lastErr error
	size    int // bytes of the stream, when known (for budget)
	budget  int // most Decode calls the stream can need; 0: no bound
}

func trace(dec framing.Decoder) *tracer { return &tracer{dec: dec} }

// traceStream is trace for a stream of size bytes: an engine that calls
// Decode far more often than such a stream needs (a call per byte and a
// few more) is looping, and the tracer panics to say so (with a
// *decodeLoop) instead of letting the read hang.
func traceStream(dec framing.Decoder, size int) *tracer {
	return &tracer{dec: dec, size: size, budget: 8*size + 64}
}

func (t *tracer) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (d framing.Decoded, err error) {
	t.calls++
	n := len(buf)
	in := *st
	if t.budget > 0 && t.calls > t.budget {
		panic(&decodeLoop{calls: t.calls, size: t.size, n: n, atEOF: atEOF, st: in, prev: t.last, prevErr: t.lastErr})
	}
	defer func() {
		if v := recover(); v != nil {
			p := &decoderPanic{call: t.calls, n: n, atEOF: atEOF, st: in, value: v, stack: debug.Stack()}
			p.head = append([]byte(nil), buf[:min(n, 32)]...)
			if t.calls > 1 {
				p.prev, p.prevErr, p.hasPrev = t.last, t.lastErr, true
			}
			panic(p)
		}
	}()
	d, err = t.dec.Decode(buf[:n:n], atEOF, st)
	t.last, t.lastErr = d, err
	return d, err
}

// traceCodec returns codec with its decoder traced, keeping its encoder
// (a WrapEncoder stays one, so that a Writer takes the same paths).
func traceCodec(codec framing.Codec) framing.Codec {
	if w, ok := codec.(framing.WrapEncoder); ok {
		return struct {
			*tracer
			framing.WrapEncoder
		}{trace(codec), w}
	}
	return struct {
		*tracer
		framing.Encoder
	}{trace(codec), codec}
}

// decoderPanic is what a tracer panics with when its decoder panicked.
type decoderPanic struct {
	call    int // 1 for the stream's first Decode call
	n       int // len(buf)
	head    []byte
	atEOF   bool
	st      framing.DecodeState // as the call got it
	prev    framing.Decoded     // what the call before returned
	prevErr error
	hasPrev bool
	value   any
	stack   []byte
}

func (p *decoderPanic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the decoder panicked in Decode call %d with len(buf) %d (buf %x", p.call, p.n, p.head)
	if p.n > len(p.head) {
		b.WriteString("...")
	}
	fmt.Fprintf(&b, ", atEOF %v, %+v): %v", p.atEOF, p.st, p.value)
	if site := panicSite(p.stack); site != "" {
		fmt.Fprintf(&b, " at %s", site)
	}
	switch {
	case !p.hasPrev:
		b.WriteString("; it was the stream's first call")
	case p.prevErr != nil:
		fmt.Fprintf(&b, "; the call before returned %v, %q", p.prev, p.prevErr)
	default:
		fmt.Fprintf(&b, "; the call before returned %v", p.prev)
	}
	return b.String()
}

// decodeLoop is what a tracer panics with when the engine calls Decode far
// more often than the stream needs.
type decodeLoop struct {
	calls, size, n int
	atEOF          bool
	st             framing.DecodeState
	prev           framing.Decoded
	prevErr        error
}

func (l *decodeLoop) String() string {
	last := l.prev.String()
	if l.prevErr != nil {
		last += fmt.Sprintf(", %q", l.prevErr)
	}
	return fmt.Sprintf("framing called Decode %d times on a stream of %d bytes: it loops (the last call before had len(buf) %d, atEOF %v, %+v, and returned %s)",
		l.calls, l.size, l.n, l.atEOF, l.st, last)
}

// stuckRead records a read call that never returned (it is left behind).
type stuckRead string

// panicSite finds, in a stack taken while panicking, the function that
// panicked and its file:line: the first frame after the runtime's own.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	seenPanic := false
	for i := 0; i+1 < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "panic(") {
			seenPanic = true
			continue
		}
		if !seenPanic || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "runtime.") {
			continue
		}
		fn := l
		if k := strings.LastIndexByte(fn, '('); k > 0 {
			fn = fn[:k]
		}
		loc := strings.TrimSpace(lines[i+1])
		if k := strings.LastIndex(loc, " +0x"); k > 0 {
			loc = loc[:k]
		}
		return fn + " (" + loc + ")"
	}
	return ""
}

// panicError is a recovered panic, recorded as the result of the call that
// panicked; and a read call that never returned (a stuckRead), which ends
// the reads as a panic does.
type panicError struct {
	v     any
	stack []byte
}

func (e *panicError) Error() string {
	switch p := e.v.(type) {
	case *decoderPanic:
		return "panic: " + p.String()
	case *decodeLoop:
		return p.String()
	case stuckRead:
		return string(p)
	}
	if site := panicSite(e.stack); site != "" {
		return fmt.Sprintf("panic: %v at %s", e.v, site)
	}
	return fmt.Sprintf("panic: %v", e.v)
}

// panicked returns the error that records the panic v; called from the
// deferred function that recovered it, it notes where the panic happened.
func panicked(v any) error {
	switch v.(type) {
	case *decoderPanic, *decodeLoop:
		return &panicError{v: v}
	}
	return &panicError{v: v, stack: debug.Stack()}
}

func isPanic(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) { // no errors.As: it allocates, once per result
		if _, ok := err.(*panicError); ok {
			return true
		}
	}
	return false
}
