package framing

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// asClass is an error whose As method makes it a Rejected one.
type asClass struct{}

func (asClass) Error() string { return "as" }
func (asClass) As(target any) bool {
	if p, ok := target.(*interface{ ErrorClass() ErrorClass }); ok {
		*p = &CorruptError{Rejected: true}
		return true
	}
	return false
}

// TestClassifyWalksTheChain: Classify's hand walk gives what errors.As
// gives, for plain, wrapped, joined and As-method errors, and allocates
// nothing for io.EOF and a network timeout.
func TestClassifyWalksTheChain(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, err := range []error{
		io.EOF, io.ErrUnexpectedEOF, timeout, fmt.Errorf("wrapped: %w", timeout),
		&FrameTooLargeError{Skipped: true}, fmt.Errorf("a: %w", fmt.Errorf("b: %w", &CorruptError{Rejected: true})),
		errors.Join(io.EOF, &FrameTooLargeError{Skipped: true}), errors.Join(timeout, io.EOF),
		fmt.Errorf("%w and %w", io.EOF, &SlowPeerError{}), asClass{}, fmt.Errorf("w: %w", asClass{}),
		&UnexpectedEOFError{}, ErrNeedMore, &BudgetError{},
	} {
		if got, want := Classify(err), classifyAs(err); got != want {
			t.Errorf("Classify(%v) = %v, errors.As gives %v", err, got, want)
		}
	}
	if raceEnabled {
		return // allocation counts are checked without -race
	}
	for _, err := range []error{io.EOF, timeout} {
		if n := testing.AllocsPerRun(100, func() { Classify(err) }); n != 0 {
			t.Errorf("Classify(%v) allocates %v times", err, n)
		}
	}
}
