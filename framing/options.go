package framing

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

// Options configure Readers, Writers and Conns. The zero value (and a nil
// *Options) gives the defaults.
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
	// with the bytes received, at most doubling per step. Zero means
	// DefaultInitialBufferSize.
	InitialBufferSize int
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
	return o.InitialBufferSize
}

func (o *Options) skip() bool { return o != nil && o.Oversize == Skip }
