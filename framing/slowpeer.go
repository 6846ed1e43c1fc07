package framing

import (
	"errors"
	"fmt"
	"time"
)

// ErrSlowPeer matches every *SlowPeerError.
var ErrSlowPeer = errors.New("framing: peer too slow")

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

type deadliner interface{ SetReadDeadline(time.Time) error }

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
	if !x.awayFrom.IsZero() {
		// Back from the application (a read call returned its deadline
		// inside this frame): the time away is not the peer's.
		x.frameStart = x.frameStart.Add(time.Since(x.awayFrom))
		x.awayFrom = time.Time{}
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

// pause records that a read call returns a Temporary error (the caller's
// deadline): midFrame says a frame is left half read, to be resumed. The
// guard's clock stops until the next read.
func (x *readerExt) pause(midFrame bool) {
	x.timedOut = midFrame
	if midFrame && !x.frameStart.IsZero() {
		x.awayFrom = time.Now()
	}
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
