package framing

import (
	"errors"
	"time"
)

// errHeldShort reports a push in hold mode that does not start with the
// bytes the Deframer left with the caller.
var errHeldShort = errors.New("framing: Deframer in hold mode pushed fewer bytes than it holds")

// Hold puts a new Deframer in hold mode, for a caller whose own buffer
// keeps the bytes until it discards them (an event loop's inbound buffer:
// gnet's Peek and Discard, netpoll's Peek and Skip). When Next finds no
// further frame, the incomplete frame's bytes are not copied: they stay
// with the caller, Held says how many there are (the last Held bytes of
// the last push), and every later Push must start with them, followed by
// whatever arrived since. The caller discards len(p)-Held() bytes of its
// buffer after each round of Next. Frames stay views into the pushed bytes.
//
// Under Options.Budget, the held bytes of an incomplete frame are charged
// to the budget as a Reader's buffer would be (nothing up to the inline
// size, at least InitialBufferSize beyond it), and given back as the frame
// completes or the Deframer ends. A Deframer in hold mode never waits for
// memory (BudgetWait is ignored: an event loop must not block); a charge the
// budget cannot give fails it with a *BudgetError.
//
// Call Hold before the first Push.
func (d *Deframer) Hold() { d.hold = true }

// Held returns how many of the pushed bytes Next has not consumed: after
// ErrNeedMore in hold mode, the start of an incomplete frame, which the
// caller keeps and pushes again.
func (d *Deframer) Held() int { return len(d.in) }

// Want returns how many bytes the next push should hold (counting those
// held or buffered) for Next to make progress: the whole frame when its
// size is known from its header, else one more byte than it has. A caller
// whose loop buffers the bytes anyway (hold mode) can wait for that many
// instead of pushing on every arrival. It is 1 at a frame boundary and
// while a skipped frame is being dropped.
func (d *Deframer) Want() int {
	e := &d.e
	if e.err != nil || e.discard > 0 {
		return 1
	}
	return max(e.need, 1)
}

// Guard runs the slow-peer guard (Options.FrameTimeout, MinRate) for a
// Deframer driven by an event loop, which has no read to time: call it
// after Next returned ErrNeedMore, and again when a timer set to its
// deadline fires. mid reports whether a frame is in progress (bytes of an
// incomplete frame held or buffered, or a skipped frame being dropped);
// deadline is when it must be complete (zero when the guard is off or
// between frames: an idle connection needs no timer). When the deadline
// has passed, the Deframer fails with a *SlowPeerError, returned here and
// by every later call. The clock starts at the first call that finds a
// frame in progress, and MinRate counts the bytes received since.
func (d *Deframer) Guard(now time.Time) (deadline time.Time, mid bool, err error) {
	e := &d.e
	if e.err != nil {
		return time.Time{}, false, e.err
	}
	mid = e.end > e.start || len(d.in) > 0 || e.discard > 0 || e.skipping
	x := e.x
	if x == nil || !x.guarded() {
		return time.Time{}, mid, nil
	}
	if !mid {
		x.frameStart, x.frameBytes = time.Time{}, 0
		return time.Time{}, false, nil
	}
	if x.frameStart.IsZero() {
		x.frameStart = now
		d.frameBase = e.consumed
	}
	x.frameBytes = e.consumed + int64(e.end-e.start+len(d.in)) - d.frameBase
	at, rate := x.guardDeadline()
	if !now.Before(at) {
		d.gap = 0
		return time.Time{}, true, e.fail(x.slow(now, rate))
	}
	return at, true, nil
}

// pushHeld is Push in hold mode: p starts with the held bytes.
func (d *Deframer) pushHeld(p []byte) {
	e := &d.e
	if e.err != nil || d.ended {
		return
	}
	if len(p) < len(d.in) {
		e.fail(errHeldShort)
		return
	}
	d.in = p
}

// chargeHeld sets the budget charged for n bytes of an incomplete frame
// the caller holds.
func (e *engine) chargeHeld(n int) error {
	x := e.x
	if x == nil || x.budget == nil {
		return nil
	}
	var want int64
	if n > inlineSize {
		want = int64(max(n, int(e.initSize)))
	}
	switch {
	case want > x.charge.caller:
		if err := x.budget.take(want-x.charge.caller, false, time.Time{}); err != nil {
			x.reject(err)
			return e.fail(err)
		}
		x.charge.held.Add(want - x.charge.caller)
	case want < x.charge.caller:
		x.give(x.charge.caller - want)
	}
	x.charge.caller = want
	return nil
}

// giveHeld gives back the budget charged for held bytes.
func (e *engine) giveHeld() {
	if x := e.x; x != nil && x.charge != nil && x.charge.caller != 0 {
		x.give(x.charge.caller)
		x.charge.caller = 0
	}
}

// Idle reports whether the Deframer is at a frame boundary with nothing to
// keep: no byte held, buffered or pushed and unconsumed, no frame being
// skipped, no codec state that outlives a frame (DecodeState.Stream), no
// error. An event loop with many idle connections can then give the
// Deframer back to a pool and keep only Offset: a pooled Deframer, made
// with the same Decoder and Options and Reset to that offset, goes on with
// the stream exactly as this one would (only Kind is forgotten).
func (d *Deframer) Idle() bool {
	e := &d.e
	return e.err == nil && !d.ended && e.end == e.start && len(d.in) == 0 && e.discard == 0 &&
		!e.skipping && e.loc.total == 0 && e.st.Stream == 0 && e.st.Scanned == 0 &&
		(e.x == nil || e.x.charge == nil || e.x.charge.caller == 0)
}
