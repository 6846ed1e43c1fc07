package framing

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ErrSlowPeer matches every *SlowPeerError; ErrBudget every *BudgetError.
var (
	ErrSlowPeer = errors.New("framing: peer too slow")
	ErrBudget   = errors.New("framing: memory budget exhausted")
)

// SlowPeerError reports a frame that did not arrive in time under
// Options.FrameTimeout or Options.MinRate. It is Fatal: a peer that holds a
// partial frame open is cut off. It is not a timeout in the net.Error
// sense, so that it is never mistaken for the caller's own deadline (which
// stays Temporary).
type SlowPeerError struct {
	Elapsed  time.Duration // since the frame's first byte arrived
	Received int64         // bytes of the frame received by then
	Rate     bool          // the minimum rate, not the frame timeout, was missed
}

func (e *SlowPeerError) Error() string {
	why := "frame timeout"
	if e.Rate {
		why = "minimum data rate"
	}
	return fmt.Sprintf("framing: peer too slow: frame incomplete after %v with %d bytes received (%s)",
		e.Elapsed.Round(time.Millisecond), e.Received, why)
}

// Is reports whether target is ErrSlowPeer.
func (e *SlowPeerError) Is(target error) bool { return target == ErrSlowPeer }

// ErrorClass is Fatal.
func (e *SlowPeerError) ErrorClass() ErrorClass { return Fatal }

// BudgetError reports a Reader that needed buffer memory its Budget could
// not give. It is Fatal: the partial frame cannot be held.
type BudgetError struct {
	Want   int64 // bytes the Reader asked for
	InUse  int64 // bytes the budget had given out
	Budget int64 // the budget's size
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("framing: memory budget exhausted: %d bytes wanted, %d of %d in use", e.Want, e.InUse, e.Budget)
}

// Is reports whether target is ErrBudget.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// ErrorClass is Fatal.
func (e *BudgetError) ErrorClass() ErrorClass { return Fatal }

// Budget is read-buffer memory shared by many Readers (Options.Budget):
// every buffer a Reader holds for a partial frame beyond its small inline
// one is drawn from it, and given back when the Reader lets the buffer go.
// A Reader that cannot get memory fails with a *BudgetError, or waits for
// it (Options.BudgetWait). A Budget is safe for concurrent use.
type Budget struct {
	size int64

	mu      sync.Mutex
	used    int64
	waiters int           // Readers waiting in take
	changed chan struct{} // closed and replaced when memory is given back to waiters
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{size: size, changed: make(chan struct{})}
}

// InUse returns how many bytes Readers hold from the budget now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Size returns the budget's size.
func (b *Budget) Size() int64 { return b.size }

// take draws n bytes, waiting while wait is set until deadline (zero: no
// deadline) for other Readers to give memory back.
func (b *Budget) take(n int64, wait bool, deadline time.Time) error {
	b.mu.Lock()
	for b.used+n > b.size {
		if !wait || n > b.size {
			err := &BudgetError{Want: n, InUse: b.used, Budget: b.size}
			b.mu.Unlock()
			return err
		}
		d := time.Until(deadline)
		if !deadline.IsZero() && d <= 0 {
			b.mu.Unlock()
			return &net.OpError{Op: "read", Net: "budget", Err: os.ErrDeadlineExceeded}
		}
		ch := b.changed
		b.waiters++
		b.mu.Unlock()
		if deadline.IsZero() {
			<-ch
		} else {
			t := time.NewTimer(d)
			select {
			case <-ch:
			case <-t.C:
			}
			t.Stop()
		}
		b.mu.Lock()
		b.waiters--
	}
	b.used += n
	b.mu.Unlock()
	return nil
}

func (b *Budget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.waiters > 0 {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	b.mu.Unlock()
}

// Stats are counters a Reader, Writer or Conn keeps when Options.Stats
// points to one. Many Readers and Writers may share one Stats (to count a
// whole server); every field may be read at any time, from any goroutine,
// with its Load method or all at once with Snapshot.
type Stats struct {
	FramesRead    atomic.Int64 // frames returned by ReadFrame (and Read)
	BytesRead     atomic.Int64 // payload bytes in them
	FramesWritten atomic.Int64 // frames written
	BytesWritten  atomic.Int64 // payload bytes in them
	Skipped       atomic.Int64 // oversized frames skipped (Oversize: Skip)
	TooLarge      atomic.Int64 // oversized frames refused (fatal)
	Corrupt       atomic.Int64 // corrupt frames (fatal or rejected)
	Resumed       atomic.Int64 // frames completed after a read timed out in them
	SlowPeers     atomic.Int64 // SlowPeerErrors
	OverBudget    atomic.Int64 // BudgetErrors
	Largest       atomic.Int64 // largest frame read, in payload bytes
}

// StatsSnapshot is a copy of Stats' counters at one moment.
type StatsSnapshot struct {
	FramesRead, BytesRead, FramesWritten, BytesWritten int64
	Skipped, TooLarge, Corrupt, Resumed, SlowPeers     int64
	OverBudget, Largest                                int64
}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		FramesRead: s.FramesRead.Load(), BytesRead: s.BytesRead.Load(),
		FramesWritten: s.FramesWritten.Load(), BytesWritten: s.BytesWritten.Load(),
		Skipped: s.Skipped.Load(), TooLarge: s.TooLarge.Load(), Corrupt: s.Corrupt.Load(),
		Resumed: s.Resumed.Load(), SlowPeers: s.SlowPeers.Load(), OverBudget: s.OverBudget.Load(),
		Largest: s.Largest.Load(),
	}
}

// String formats the counts on one line, for logs.
func (s StatsSnapshot) String() string {
	return fmt.Sprintf("frames_read=%d bytes_read=%d frames_written=%d bytes_written=%d skipped=%d too_large=%d corrupt=%d resumed=%d slow_peers=%d over_budget=%d largest=%d",
		s.FramesRead, s.BytesRead, s.FramesWritten, s.BytesWritten, s.Skipped, s.TooLarge, s.Corrupt,
		s.Resumed, s.SlowPeers, s.OverBudget, s.Largest)
}

func (s *Stats) largest(n int64) {
	for {
		l := s.Largest.Load()
		if n <= l || s.Largest.CompareAndSwap(l, n) {
			return
		}
	}
}

// readerExt holds what a Reader needs for its optional features. It is nil
// unless one of them is on, so that a plain Reader (and an idle Conn) pays
// one pointer for all of them, and the read path one nil check per frame.
type readerExt struct {
	stats    *Stats
	onReject func(error)
	largest  int64 // the largest frame this Reader counted

	// Slow-peer guard.
	frameTimeout time.Duration
	minRate      int64
	frameStart   time.Time // when the current frame's first bytes were seen; zero at a boundary
	frameBytes   int64     // bytes of the current frame received so far
	conn         deadliner // where the guard sets read deadlines (Conn only)
	callerDL     *atomic.Int64
	overrode     bool      // the conn's read deadline may be the guard's, not the caller's
	armedFor     int64     // the caller's deadline (callerDL) when the guard last armed
	guardAt      time.Time // when the current frame must be complete

	// Memory budget.
	budget     *Budget
	budgetWait bool
	held       int64 // bytes of the budget the Reader's buffer holds

	// Streaming bodies.
	maxBody  int64
	body     *Body
	timedOut bool // the last ReadFrame returned a Temporary error
}

type deadliner interface{ SetReadDeadline(time.Time) error }

func newReaderExt(o *Options) *readerExt {
	if o == nil || (o.Stats == nil && o.OnReject == nil && o.FrameTimeout <= 0 && o.MinRate <= 0 &&
		o.Budget == nil && o.MaxBodySize <= 0) {
		return nil
	}
	return &readerExt{
		stats: o.Stats, onReject: o.OnReject,
		frameTimeout: o.FrameTimeout, minRate: int64(o.MinRate),
		budget: o.Budget, budgetWait: o.BudgetWait,
		maxBody: o.MaxBodySize,
	}
}

func (x *readerExt) guarded() bool { return x.frameTimeout > 0 || x.minRate > 0 }

// callerDeadline is the read deadline the caller set on the Conn.
func (x *readerExt) callerDeadline() time.Time {
	if x.callerDL == nil {
		return time.Time{}
	}
	return fromUnixNano(x.callerDL.Load())
}

// guardDeadline is when the current frame must be complete by.
func (x *readerExt) guardDeadline() (time.Time, bool) {
	var at time.Time
	rate := false
	if x.frameTimeout > 0 {
		at = x.frameStart.Add(x.frameTimeout)
	}
	if x.minRate > 0 {
		r := x.frameStart.Add(time.Second + time.Duration(float64(x.frameBytes)/float64(x.minRate)*float64(time.Second)))
		if at.IsZero() || r.Before(at) {
			at, rate = r, true
		}
	}
	return at, rate
}

// beforeRead runs the slow-peer guard before the Reader reads from its
// source: midFrame says whether part of a frame is buffered (or being
// skipped). On a Conn the guard's deadline is armed on the connection once
// per frame that spans reads (the earlier of it and the caller's), and the
// clock is read again only when a deadline fires; on another source the
// clock is checked before each read inside a frame.
func (x *readerExt) beforeRead(midFrame bool) error {
	if !x.guarded() {
		return nil
	}
	if !midFrame {
		// Between frames the guard does not apply. A guard deadline left
		// armed on the conn is not taken off here (that would cost a call
		// per frame): if it fires while the conn is idle, afterRead puts
		// the caller's deadline back and reads again.
		x.frameStart, x.frameBytes = time.Time{}, 0
		return nil
	}
	if x.frameStart.IsZero() {
		now := time.Now()
		x.frameStart = now
		x.guardAt, _ = x.guardDeadline()
		return x.arm()
	}
	if x.conn == nil {
		if now := time.Now(); !now.Before(x.guardAt) {
			at, rate := x.guardDeadline() // the rate deadline moves with the bytes
			if !now.Before(at) {
				return x.slow(now, rate)
			}
			x.guardAt = at
		}
		return nil
	}
	if x.callerDL.Load() != x.armedFor {
		return x.arm() // the caller set a deadline of its own meanwhile
	}
	return nil
}

// arm sets the conn's read deadline to the earlier of the guard's and the
// caller's.
func (x *readerExt) arm() error {
	if x.conn == nil {
		return nil
	}
	x.armedFor = x.callerDL.Load()
	dl := x.guardAt
	if caller := fromUnixNano(x.armedFor); !caller.IsZero() && caller.Before(dl) {
		dl = caller
	}
	x.overrode = true
	return x.conn.SetReadDeadline(dl)
}

func (x *readerExt) slow(now time.Time, rate bool) error {
	if x.stats != nil {
		x.stats.SlowPeers.Add(1)
	}
	return &SlowPeerError{Elapsed: now.Sub(x.frameStart), Received: x.frameBytes, Rate: rate}
}

// afterRead tells a timeout of the guard's from the caller's: it returns
// the error to report (a *SlowPeerError, the caller's timeout), or nil when
// the timeout was neither (a guard deadline that moved, or one left armed
// past its frame) and reading goes on.
func (x *readerExt) afterRead(n int, err error, midFrame bool) error {
	if !x.guarded() {
		return err
	}
	x.frameBytes += int64(n)
	if err == nil || x.conn == nil || Classify(err) != Temporary {
		return err
	}
	now := time.Now()
	caller := x.callerDeadline()
	if !caller.IsZero() && !now.Before(caller) {
		return err // the caller's own deadline: Temporary, resumable
	}
	if midFrame {
		at, rate := x.guardDeadline()
		if !now.Before(at) {
			return x.slow(now, rate)
		}
		x.guardAt = at // the rate deadline moved with the bytes: re-arm
		if aerr := x.arm(); aerr != nil {
			return aerr
		}
		return nil
	}
	// A guard deadline outlived its frame: the caller's is due back.
	x.overrode = false
	x.armedFor = x.callerDL.Load()
	if serr := x.conn.SetReadDeadline(fromUnixNano(x.armedFor)); serr != nil {
		return serr
	}
	return nil
}

// reject counts a rejected or refused frame and calls the hook.
func (x *readerExt) reject(err error) {
	if x.stats != nil {
		var tl *FrameTooLargeError
		switch {
		case errors.As(err, &tl) && tl.Skipped:
			x.stats.Skipped.Add(1)
		case tl != nil:
			x.stats.TooLarge.Add(1)
		case errors.Is(err, ErrCorrupt):
			x.stats.Corrupt.Add(1)
		case errors.Is(err, ErrBudget):
			x.stats.OverBudget.Add(1)
		}
	}
	if x.onReject != nil && (errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrCorrupt)) {
		x.onReject(err)
	}
}

// take draws n bytes of buffer from the budget.
func (x *readerExt) take(n int64) error {
	if x.budget == nil {
		return nil
	}
	dl := x.callerDeadline()
	if !x.frameStart.IsZero() && (dl.IsZero() || x.guardAt.Before(dl)) {
		dl = x.guardAt
	}
	if err := x.budget.take(n, x.budgetWait, dl); err != nil {
		return err
	}
	x.held += n
	return nil
}

func (x *readerExt) give(n int64) {
	if x.budget != nil {
		x.budget.give(n)
		x.held -= n
	}
}

// frameDone counts a frame returned by ReadFrame.
func (x *readerExt) frameDone(n int) {
	if s := x.stats; s != nil {
		s.FramesRead.Add(1)
		s.BytesRead.Add(int64(n))
		if int64(n) > x.largest {
			// Only a frame larger than this Reader's largest can raise
			// the shared maximum.
			x.largest = int64(n)
			s.largest(int64(n))
		}
		if x.timedOut {
			x.stats.Resumed.Add(1)
		}
	}
	x.timedOut = false
}
