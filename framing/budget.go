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

// ErrBudget matches every *BudgetError.
var ErrBudget = errors.New("framing: memory budget exhausted")

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

// budgetCharge is what one Reader holds from its budget, apart from the
// Reader so that a cleanup can give it back once the Reader is garbage.
type budgetCharge struct {
	budget *Budget
	held   atomic.Int64
	caller int64 // of held: for bytes a Deframer in hold mode left with its caller (its goroutine's only)
}

// giveAll gives back everything held.
func (c *budgetCharge) giveAll() {
	if n := c.held.Swap(0); n != 0 {
		c.budget.give(n)
	}
}

// take draws n bytes of buffer from the budget.
func (x *readerExt) take(n int64) error {
	if x.budget == nil {
		return nil
	}
	dl := x.callerDeadline()
	guard := false
	if !x.frameStart.IsZero() && (dl.IsZero() || x.guardAt.Before(dl)) {
		dl, guard = x.guardAt, true
	}
	if err := x.budget.take(n, x.budgetWait, dl); err != nil {
		if guard && Classify(err) == Temporary {
			// The wait ran into the guard's deadline, not the caller's:
			// no memory came in the frame's time. The server's shortage,
			// not the peer's slowness nor a deadline of the caller's (a
			// Temporary error would have a retrying caller spin).
			return &BudgetError{Want: n, InUse: x.budget.InUse(), Budget: x.budget.Size()}
		}
		return err
	}
	x.charge.held.Add(n)
	return nil
}

func (x *readerExt) give(n int64) {
	if x.budget != nil {
		x.budget.give(n)
		x.charge.held.Add(-n)
	}
}
