package framing

import (
	"errors"
	"fmt"
	"io"
)

// ErrorClass says what a caller can do after an error.
type ErrorClass int

const (
	// Fatal errors are sticky: the stream cannot go on, and every later
	// call returns the same error. A corrupt stream, an unexpected EOF, a
	// broken writer, io.EOF, and any error of unknown kind are fatal.
	Fatal ErrorClass = iota
	// Temporary errors (a deadline that fired) lose nothing: calling again,
	// after clearing or extending the deadline, resumes the same frame.
	Temporary
	// Rejected errors concern one frame only (an oversized frame under the
	// skip policy, an undecodable stuffed frame): the error is returned
	// once, as soon as it is detected, and the next call goes on with the
	// following frame.
	Rejected
)

func (c ErrorClass) String() string {
	switch c {
	case Fatal:
		return "fatal"
	case Temporary:
		return "temporary"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("ErrorClass(%d)", int(c))
}

// Classify tells which class err is in; see ErrorClass. A nil error is
// reported as Temporary (nothing is lost).
func Classify(err error) ErrorClass {
	if err == nil {
		return Temporary
	}
	// The chain is walked by hand (errors.As allocates, and io.EOF and
	// every network error would pay it); a chain that branches or has an
	// As method takes errors.As.
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(interface{ ErrorClass() ErrorClass }); ok {
			return c.ErrorClass()
		}
		if unusualChain(e) {
			return classifyAs(err)
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t, ok := e.(interface{ Timeout() bool }); ok && t.Timeout() {
			return Temporary
		}
	}
	return Fatal
}

// unusualChain reports an error that errors.As treats otherwise than a
// walk of Unwrap: several wrapped errors, or an As method.
func unusualChain(e error) bool {
	switch e.(type) {
	case interface{ Unwrap() []error }, interface{ As(any) bool }:
		return true
	}
	return false
}

// classifyAs is Classify through errors.As.
func classifyAs(err error) ErrorClass {
	var c interface{ ErrorClass() ErrorClass }
	if errors.As(err, &c) {
		return c.ErrorClass()
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return Temporary
	}
	return Fatal
}

// Sentinel errors, for errors.Is. The typed errors below match them.
var (
	// ErrFrameTooLarge matches every *FrameTooLargeError.
	ErrFrameTooLarge = errors.New("framing: frame too large")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("framing: corrupt stream")
	// ErrPayload matches every *PayloadError.
	ErrPayload = errors.New("framing: payload not representable")
	// ErrWriterBroken matches every *WriterBrokenError.
	ErrWriterBroken = errors.New("framing: writer broken by an earlier failed write")
)

// FrameTooLargeError reports a frame larger than the Reader's limit. It is
// Rejected when Skipped (the frame is skipped and reading goes on), Fatal
// otherwise. It is detected from the header, before the frame is buffered.
type FrameTooLargeError struct {
	Size    int64 // the frame's size in bytes as ReadFrame would return it; -1 if not known
	Limit   int   // the limit in force
	Skipped bool  // the frame is being skipped (skip policy)
}

func (e *FrameTooLargeError) Error() string {
	what := "frame"
	if e.Size >= 0 {
		what = fmt.Sprintf("frame of %d bytes", e.Size)
	}
	s := fmt.Sprintf("framing: %s exceeds the limit of %d bytes", what, e.Limit)
	if e.Skipped {
		s += " (skipped)"
	}
	return s
}

// Is reports whether target is ErrFrameTooLarge.
func (e *FrameTooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }

// ErrorClass is Rejected for a skipped frame, Fatal otherwise.
func (e *FrameTooLargeError) ErrorClass() ErrorClass {
	if e.Skipped {
		return Rejected
	}
	return Fatal
}

// CorruptError reports bytes that cannot be a valid frame: a negative
// adjusted length, a malformed varint, a frame shorter than its header.
// It is Fatal, unless Rejected is set by a decoder that resynchronises after
// the bad frame (byte stuffing).
type CorruptError struct {
	Reason   string // what is wrong, for people
	Offset   int64  // offset of the frame in the stream (bytes consumed before it); set by the Reader
	Rejected bool   // only this frame is lost; reading goes on
	// Dropped is, for a decoder that resynchronises by scanning forward
	// (lengthprefix's Config.Resync), the bytes dropped with this error:
	// Stats.Resynced adds them up.
	Dropped int64

	// Err, when set, is a cause a codec package defines (a sentinel such
	// as "missing Content-Length"), so that callers can tell one kind of
	// corruption from another with errors.Is while the Reader still sets
	// Offset.
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("framing: corrupt frame at stream offset %d: %s", e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns Err, the codec's cause, or nil.
func (e *CorruptError) Unwrap() error { return e.Err }

// ErrorClass is Rejected when the decoder resynchronised, Fatal otherwise.
func (e *CorruptError) ErrorClass() ErrorClass {
	if e.Rejected {
		return Rejected
	}
	return Fatal
}

// UnexpectedEOFError reports a stream that ended inside a frame. It matches
// io.ErrUnexpectedEOF with errors.Is, and is Fatal.
type UnexpectedEOFError struct {
	Buffered int   // bytes of the frame that did arrive
	Missing  int64 // bytes that were still expected; -1 if not known
}

func (e *UnexpectedEOFError) Error() string {
	if e.Missing < 0 {
		return fmt.Sprintf("framing: unexpected EOF inside a frame (%d bytes of it received)", e.Buffered)
	}
	return fmt.Sprintf("framing: unexpected EOF inside a frame (%d bytes received, %d missing)", e.Buffered, e.Missing)
}

// Unwrap returns io.ErrUnexpectedEOF.
func (e *UnexpectedEOFError) Unwrap() error { return io.ErrUnexpectedEOF }

// ErrorClass is Fatal.
func (e *UnexpectedEOFError) ErrorClass() ErrorClass { return Fatal }

// PayloadError reports a payload that the codec cannot frame: too long for
// its length field, containing a delimiter it does not escape, of the
// wrong size. It is returned before anything is written, and leaves the
// Writer usable: it is Rejected.
type PayloadError struct {
	Size   int    // length of the payload
	Reason string // why it cannot be framed
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("framing: cannot frame a payload of %d bytes: %s", e.Size, e.Reason)
}

// Is reports whether target is ErrPayload.
func (e *PayloadError) Is(target error) bool { return target == ErrPayload }

// ErrorClass is Rejected: nothing was written and the Writer goes on.
func (e *PayloadError) ErrorClass() ErrorClass { return Rejected }

// WriterBrokenError is returned by a Writer whose write failed or was cut
// short: the peer may have received part of a frame, so the Writer refuses
// every later frame. Err is the write's error. It is Fatal.
type WriterBrokenError struct {
	Err error
}

func (e *WriterBrokenError) Error() string {
	return "framing: writer broken by a failed write: " + e.Err.Error()
}

// Is reports whether target is ErrWriterBroken.
func (e *WriterBrokenError) Is(target error) bool { return target == ErrWriterBroken }

// Unwrap returns the write's error.
func (e *WriterBrokenError) Unwrap() error { return e.Err }

// ErrorClass is Fatal.
func (e *WriterBrokenError) ErrorClass() ErrorClass { return Fatal }

// ConfigError reports a codec configuration that cannot work; codec
// constructors return it instead of failing at the first frame.
type ConfigError struct {
	Codec  string // which codec, e.g. "lengthprefix"
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: invalid configuration: %s", e.Codec, e.Reason)
}
