package framing

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

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
	Resynced      atomic.Int64 // bytes dropped while resynchronising after corrupt frames (CorruptError.Dropped)
	Resumed       atomic.Int64 // frames completed after a read timed out in them
	SlowPeers     atomic.Int64 // SlowPeerErrors
	OverBudget    atomic.Int64 // BudgetErrors
	Largest       atomic.Int64 // largest frame read, in payload bytes
}

// StatsSnapshot is a copy of Stats' counters at one moment.
type StatsSnapshot struct {
	FramesRead, BytesRead, FramesWritten, BytesWritten int64
	Skipped, TooLarge, Corrupt, Resumed, SlowPeers     int64
	OverBudget, Largest, Resynced                      int64
}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		FramesRead: s.FramesRead.Load(), BytesRead: s.BytesRead.Load(),
		FramesWritten: s.FramesWritten.Load(), BytesWritten: s.BytesWritten.Load(),
		Skipped: s.Skipped.Load(), TooLarge: s.TooLarge.Load(), Corrupt: s.Corrupt.Load(),
		Resumed: s.Resumed.Load(), SlowPeers: s.SlowPeers.Load(), OverBudget: s.OverBudget.Load(),
		Largest: s.Largest.Load(), Resynced: s.Resynced.Load(),
	}
}

// String formats the counts on one line, for logs.
func (s StatsSnapshot) String() string {
	return fmt.Sprintf("frames_read=%d bytes_read=%d frames_written=%d bytes_written=%d skipped=%d too_large=%d corrupt=%d resumed=%d slow_peers=%d over_budget=%d largest=%d resynced=%d",
		s.FramesRead, s.BytesRead, s.FramesWritten, s.BytesWritten, s.Skipped, s.TooLarge, s.Corrupt,
		s.Resumed, s.SlowPeers, s.OverBudget, s.Largest, s.Resynced)
}

func (s *Stats) largest(n int64) {
	for {
		l := s.Largest.Load()
		if n <= l || s.Largest.CompareAndSwap(l, n) {
			return
		}
	}
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
			var ce *CorruptError
			if errors.As(err, &ce) && ce.Dropped > 0 {
				x.stats.Resynced.Add(ce.Dropped)
			}
		case errors.Is(err, ErrBudget):
			x.stats.OverBudget.Add(1)
		}
	}
	x.frameStart, x.frameBytes, x.awayFrom = time.Time{}, 0, time.Time{}
	if x.onReject != nil && (errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrCorrupt)) {
		x.onReject(err)
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
	x.frameStart, x.frameBytes, x.awayFrom = time.Time{}, 0, time.Time{} // the next frame's clock starts afresh
}
