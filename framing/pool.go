package framing

import (
	"math/bits"
	"sync"
)

// Read buffers are pooled by size class: class k holds buffers whose
// capacity is in [2^k, 2^(k+1)). Buffers are stored as *[]byte so that
// getting and putting them allocates nothing.
var bufPools [64]sync.Pool

// maxPooled is the largest buffer kept for reuse; larger ones are left to
// the garbage collector so that one huge frame does not pin memory.
const maxPooled = 64 << 20

// allocBuf is the one place where read-buffer memory is obtained: every
// buffer growth goes through it (so a shared memory budget can attach
// here). The returned buffer has length n exactly.
func allocBuf(n int) *[]byte {
	if n <= 0 {
		n = 1
	}
	c := bits.Len(uint(n - 1)) // smallest k with 2^k >= n
	if c < len(bufPools) {
		if p, _ := bufPools[c].Get().(*[]byte); p != nil {
			*p = (*p)[:n]
			return p
		}
	}
	if c > 0 {
		// Buffers sized exactly to a declared frame land one class lower,
		// mixed with smaller ones: look at a few before allocating.
		var misfits [3]*[]byte
		var found *[]byte
		for i := range misfits {
			p, _ := bufPools[c-1].Get().(*[]byte)
			if p == nil {
				break
			}
			if cap(*p) >= n {
				found = p
				break
			}
			misfits[i] = p
		}
		for _, p := range misfits {
			if p != nil {
				bufPools[c-1].Put(p)
			}
		}
		if found != nil {
			*found = (*found)[:n]
			return found
		}
	}
	b := make([]byte, n)
	return &b
}

// freeBuf gives a buffer back; the caller must hold no view into it.
func freeBuf(p *[]byte) {
	c := cap(*p)
	if c == 0 || c > maxPooled {
		return
	}
	*p = (*p)[:0]
	bufPools[bits.Len(uint(c))-1].Put(p)
}

// budgetPooled is the largest buffer a Reader under a memory budget takes
// from or gives to the pools: larger ones are allocated to size and left
// to the garbage collector, so that the heap follows the budget (a pooled
// buffer may be twice the size asked, and pools keep memory past a GC).
const budgetPooled = 64 << 10

func allocBudgeted(n int) *[]byte {
	if n <= budgetPooled {
		return allocBuf(n)
	}
	b := make([]byte, n)
	return &b
}

func freeBudgeted(p *[]byte) {
	if cap(*p) <= budgetPooled {
		freeBuf(p)
	}
}
