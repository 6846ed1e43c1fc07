package framing

import "time"

// DefaultMaxFrameSize is the frame size limit used when Options.MaxFrameSize
// is zero: 8 MiB, as tokio-util and go-msgio.
const DefaultMaxFrameSize = 8 << 20

// DefaultInitialBufferSize is the read buffer a Reader takes when a frame
// does not fit its small inline buffer, unless Options.InitialBufferSize says
// otherwise.
const DefaultInitialBufferSize = 4 << 10

// OversizePolicy says what a Reader does with a frame over the size limit.
type OversizePolicy int

const (
	// Fail makes an oversized frame a fatal error (the default).
	Fail OversizePolicy = iota
	// Skip discards the oversized frame without buffering it, returns a
	// Rejected *FrameTooLargeError once, and goes on with the next frame.
	Skip
)

// Options configure Readers, Deframers, Writers and Conns (a Writer takes
// only Stats from them). The zero value (and a nil *Options) gives the
// defaults.
type Options struct {
	// MaxFrameSize limits the size of a frame as ReadFrame returns it:
	// after the header is stripped, without delimiters, after unstuffing.
	// It is enforced from the header, before memory is allocated. Zero
	// means DefaultMaxFrameSize. A codec whose length field cannot express
	// frames this large simply never exceeds it.
	MaxFrameSize int
	// Oversize is the policy for frames over MaxFrameSize.
	Oversize OversizePolicy
	// InitialBufferSize is the first size of the read buffer taken from the
	// pool when a frame outgrows the Reader's inline buffer; it then grows
	// with the bytes received, at most doubling per step (and, on a busy
	// stream whose reads fill it, up to 64 KiB: see the package doc). Zero
	// means DefaultInitialBufferSize.
	InitialBufferSize int

	// FrameTimeout, when positive, is how long a frame may take to arrive
	// once its first byte has: a peer that declares a large frame and then
	// sends a byte every few seconds gets a fatal *SlowPeerError instead of
	// holding a buffer open. It is independent of the caller's deadlines,
	// which keep their meaning (a Temporary timeout): on a Conn the guard
	// sets the connection's read deadline to the earlier of the two and
	// tells them apart when it fires. A Reader on another source checks
	// the guard before each read inside a frame.
	//
	// The guard's clock measures the peer: it runs only while a read call
	// (ReadFrame, Read, a Body's Read) is inside a frame. When a call
	// returns the caller's own deadline mid-frame, the clock stops until
	// the next call, so time the application spends away never counts.
	// When the guard's deadline fires, it decides: the caller's deadline
	// has passed too, so the caller's Temporary timeout is returned; else
	// the deadline is recomputed from the peer's time so far (and, for
	// MinRate, the bytes received), and if that has passed the peer is
	// cut off with a *SlowPeerError, otherwise it is re-armed and the read
	// goes on.
	FrameTimeout time.Duration
	// MinRate, when positive, is the least average data rate, in bytes
	// per second, at which a frame must arrive after its first second: a
	// frame whose bytes trickle in slower fails with a *SlowPeerError.
	MinRate int

	// Budget, when set, is read-buffer memory shared by every Reader
	// using these options: a Reader draws the buffer for a partial frame
	// from it, and fails with a *BudgetError when it cannot (or waits,
	// with BudgetWait, until memory is given back or the caller's read
	// deadline passes, which returns the caller's Temporary timeout; with
	// the slow-peer guard on, at most until the frame's guard deadline,
	// which fails with a *BudgetError: the server's shortage, not the
	// peer's slowness).
	Budget     *Budget
	BudgetWait bool

	// Stats, when set, counts frames, bytes and rejections of every
	// Reader, Writer and Conn using these options (it may be shared).
	Stats *Stats
	// OnReject, when set, is called with the error for each frame a
	// Reader refuses or skips (too large, corrupt), before ReadFrame
	// returns it.
	OnReject func(err error)

	// MaxBodySize is the largest frame Reader.ReadBody streams; zero means
	// MaxFrameSize. Streamed frames are never buffered whole, so this can
	// be far larger than MaxFrameSize.
	MaxBodySize int64
}

func (o *Options) maxFrameSize() int {
	if o == nil || o.MaxFrameSize <= 0 {
		return DefaultMaxFrameSize
	}
	return o.MaxFrameSize
}

func (o *Options) initialBufferSize() int {
	if o == nil || o.InitialBufferSize <= 0 {
		return DefaultInitialBufferSize
	}
	return min(o.InitialBufferSize, 1<<30)
}

func (o *Options) skip() bool { return o != nil && o.Oversize == Skip }
