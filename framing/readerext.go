package framing

import (
	"sync/atomic"
	"time"
)

// readerExt holds what a Reader (or Deframer) needs for its optional features. It is nil
// unless one of them is on, so that a plain Reader (and an idle Conn) pays
// one pointer for all of them, and the read path one nil check per frame.
type readerExt struct {
	stats    *Stats
	onReject func(error)
	largest  int64 // the largest frame this Reader counted

	// Slow-peer guard.
	frameTimeout time.Duration
	minRate      int64
	frameStart   time.Time // when the current frame's first bytes were seen, moved on by time away; zero at a boundary
	awayFrom     time.Time // when a read call returned Temporary inside a frame: the application's time starts
	frameBytes   int64     // bytes of the current frame received so far
	conn         deadliner // where the guard sets read deadlines (Conn only)
	callerDL     *atomic.Int64
	overrode     bool      // the conn's read deadline may be the guard's, not the caller's
	armedFor     int64     // the caller's deadline (callerDL) when the guard last armed
	guardAt      time.Time // when the current frame must be complete

	// Memory budget.
	budget     *Budget
	budgetWait bool
	charge     *budgetCharge // what the Reader holds of the budget

	// Streaming bodies.
	maxBody  int64
	body     *Body
	timedOut bool // the last ReadFrame returned a Temporary error
}

func newReaderExt(o *Options) *readerExt {
	if o == nil || (o.Stats == nil && o.OnReject == nil && o.FrameTimeout <= 0 && o.MinRate <= 0 &&
		o.Budget == nil && o.MaxBodySize <= 0) {
		return nil
	}
	x := &readerExt{
		stats: o.Stats, onReject: o.OnReject,
		frameTimeout: o.FrameTimeout, minRate: int64(o.MinRate),
		budget: o.Budget, budgetWait: o.BudgetWait,
		maxBody: o.MaxBodySize,
	}
	if o.Budget != nil {
		x.charge = &budgetCharge{budget: o.Budget}
	}
	return x
}
