// Package loopcore is what framekit's event-loop adapters (gnetframe,
// netpollframe, nbioframe) share: a connection's reading side over the
// push engine (a pooled framing.Deframer while idle, the rounds of
// decoding, the slow-peer guard, how the stream ended), and the writing
// side's framing and batching. Each adapter keeps only what its loop
// does differently: where the bytes are, how they are dropped, how a
// write reaches the socket.
package loopcore

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framekit/framekit/framing"
)

// Config is an adapter's Config (each converts its own to it: the fields
// are the same, documented there), with C its Conn.
type Config[C any] struct {
	Codec   framing.Codec
	Options *framing.Options
	Owned   bool
	OnOpen  func(c C)
	OnFrame func(c C, frame []byte)
	OnClose func(c C, err error)
}

// Loop is the state an adapter shares between its connections.
type Loop[C any] struct {
	Config[C]
	Encoder
	// AfterFrame, when set, is called on the loop after each OnFrame
	// (gnetframe writes what the callback queued once it is large).
	AfterFrame func(c C)
	// Fire, when set, is called on a timer's goroutine when a
	// connection's slow-peer deadline passes; without it the adapter
	// times the guard itself, from Stream.Deadline.
	Fire func(c C)

	guarded bool
	hold    bool
	pool    sync.Pool // *framing.Deframer of idle connections
	counts  *Counts
}

// New returns the Loop of the adapter named adapter; hold says the loop
// keeps an incomplete frame's bytes in its own buffer (framing's
// Deframer.Hold).
func New[C any](adapter string, cfg Config[C], hold bool) (*Loop[C], error) {
	if cfg.Codec == nil || cfg.OnFrame == nil {
		return nil, &framing.ConfigError{Codec: adapter, Reason: "Config needs a Codec and OnFrame"}
	}
	l := &Loop[C]{Config: cfg, hold: hold}
	l.codec = cfg.Codec
	l.wrap, _ = cfg.Codec.(framing.WrapEncoder)
	if o := cfg.Options; o != nil {
		l.stats = o.Stats
		l.guarded = o.FrameTimeout > 0 || o.MinRate > 0
	}
	return l, nil
}

// Counts are the Deframers and armed slow-peer guards that a Loop's
// connections hold, for tests to check that an idle connection holds
// neither.
type Counts struct {
	Deframers atomic.Int64
	Guards    atomic.Int64
}

// Count makes l count what its connections hold into the Counts it
// returns. Call it before the loop serves a connection.
func (l *Loop[C]) Count() *Counts {
	l.counts = &Counts{}
	return l.counts
}

func (l *Loop[C]) countDeframers(n int64) {
	if l.counts != nil {
		l.counts.Deframers.Add(n)
	}
}

func (l *Loop[C]) countGuards(n int64) {
	if l.counts != nil {
		l.counts.Guards.Add(n)
	}
}

// Stream is a connection's reading side. Its methods and the Loop's that
// take it run one at a time (on the loop, or under the adapter's lock),
// except Close and Closing.
type Stream struct {
	d       *framing.Deframer // nil while idle (pooled)
	offset  int64             // stream offset, while d is nil
	want    int               // bytes the loop should hold before a round, less one
	at      int64             // the slow-peer guard's deadline (Unix ns), while armed
	timer   *time.Timer       // the guard's timer (with Loop.Fire), while armed
	armed   bool
	ended   bool
	closing atomic.Bool
}

// Want returns how many bytes the loop should hold before decoding again.
func (s *Stream) Want() int { return s.want + 1 }

// Ended reports whether the stream ended (Finish was called).
func (s *Stream) Ended() bool { return s.ended }

// Busy reports whether the stream is inside a frame (it holds a
// Deframer).
func (s *Stream) Busy() bool { return s.d != nil }

// Deadline returns the slow-peer guard's deadline, zero when it is not
// armed (off, or between frames).
func (s *Stream) Deadline() time.Time {
	if s.at == 0 {
		return time.Time{}
	}
	return time.Unix(0, s.at)
}

// Close records that the application closed the connection: Decode
// passes no further frame on, and the end is reported as nil. Any
// goroutine may call it.
func (s *Stream) Close() { s.closing.Store(true) }

// Closing reports whether Close was called.
func (s *Stream) Closing() bool { return s.closing.Load() }

// ErrClosing is Decode's error when OnFrame closed the connection.
var ErrClosing = errors.New("loopcore: closed by the application")

// deframer returns s's Deframer, from the pool when idle.
func (l *Loop[C]) deframer(s *Stream) *framing.Deframer {
	if s.d == nil {
		d, _ := l.pool.Get().(*framing.Deframer)
		if d == nil {
			d = framing.NewDeframer(l.Codec, l.Options)
			if l.hold {
				d.Hold()
			}
		}
		d.Reset(s.offset)
		s.d = d
		l.countDeframers(1)
	}
	return s.d
}

// Decode pushes buf (end: the stream ended after it) and passes each
// whole frame in it to OnFrame. It returns nil when it ran out of frames
// (Settle ends the round), ErrClosing when OnFrame closed the connection,
// or the error that ends the stream (frames rejected under the Skip
// policy are told to Options.OnReject and skipped).
func (l *Loop[C]) Decode(c C, s *Stream, buf []byte, end bool) error {
	d := l.deframer(s)
	d.Push(buf)
	if end {
		d.End()
	}
	for {
		f, err := d.Next()
		switch {
		case err == nil:
			if l.Owned {
				f = bytes.Clone(f)
			}
			l.OnFrame(c, f)
			if l.AfterFrame != nil {
				l.AfterFrame(c)
			}
			if s.closing.Load() {
				return ErrClosing
			}
		case err == framing.ErrNeedMore:
			return nil
		case framing.Classify(err) == framing.Rejected:
			// a skipped frame: told to Options.OnReject
		default:
			return err
		}
	}
}

// Settle ends a round after Decode returned nil: it returns how many of
// the n bytes pushed were consumed (in hold mode the rest stays in the
// loop's buffer), arms or disarms the slow-peer guard, and gives the
// Deframer of a stream between frames back to the pool. An error is the
// guard's (the peer is too slow) and must end the stream.
func (l *Loop[C]) Settle(c C, s *Stream, n int) (consumed int, err error) {
	d := s.d
	consumed = n - d.Held()
	s.want = d.Want() - 1
	if l.guarded {
		if err := l.Guard(c, s); err != nil {
			return consumed, err
		}
	}
	if d.Idle() {
		s.offset = d.Offset()
		s.d = nil
		l.pool.Put(d)
		l.countDeframers(-1)
	}
	return consumed, nil
}

// Guard runs the slow-peer guard: armed (with a timer calling Fire, when
// set) only inside a frame. Settle calls it; an adapter calls it again
// when the deadline passes. An error means the peer is too slow.
func (l *Loop[C]) Guard(c C, s *Stream) error {
	if s.d == nil {
		return nil
	}
	at, mid, err := s.d.Guard(time.Now())
	if err != nil || !mid {
		l.disarm(s)
		return err
	}
	if !s.armed {
		s.armed = true
		l.countGuards(1)
	}
	if l.Fire != nil {
		if s.timer == nil {
			s.timer = time.AfterFunc(time.Until(at), func() { l.Fire(c) })
		} else if at.UnixNano() != s.at {
			s.timer.Reset(time.Until(at))
		}
	}
	s.at = at.UnixNano()
	return nil
}

func (l *Loop[C]) disarm(s *Stream) {
	if !s.armed {
		return
	}
	s.armed = false
	s.at = 0
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	l.countGuards(-1)
}

// Finish ends the stream with err, gives its Deframer and guard back and
// reports the end to OnClose, once: nil when the application closed the
// connection, else err.
func (l *Loop[C]) Finish(c C, s *Stream, err error) {
	if s.ended {
		return
	}
	s.ended = true
	l.disarm(s)
	if s.d != nil {
		s.d.Release()
		s.d = nil
		l.countDeframers(-1)
	}
	if s.closing.Load() || errors.Is(err, framing.ErrReleased) {
		err = nil
	}
	if l.OnClose != nil {
		l.OnClose(c, err)
	}
}
