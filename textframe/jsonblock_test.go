package textframe

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestJSONBlockSameAsTail: the 64-byte block scanner and the byte-by-byte
// scanner give the same end, state and error for the same bytes and the
// same state at their start, on random bytes and on random JSON-like
// token streams with escape-dense strings, for every starting state a cut
// can leave (in a string or not, after a backslash or not, at any depth,
// in a streamed array or not), with small depth limits.
func TestJSONBlockSameAsTail(t *testing.T) {
	tokens := []string{`{`, `}`, `[`, `]`, `"abc"`, `"a\"b"`, `"\\"`, `"\\\""`, `"\\\\\\"`, `"{[\"]}"`, `1`, `,`, ` `, `:`, `"é\n"`, `\`, `"`}
	r := rand.New(rand.NewPCG(19, 64))
	for n := range 40000 {
		var b strings.Builder
		size := 64 + r.IntN(200)
		if n%3 == 0 {
			const alpha = "{}[]\"\\ a,"
			for b.Len() < size {
				b.WriteByte(alpha[r.IntN(len(alpha))])
			}
		} else {
			for b.Len() < size {
				k := r.IntN(len(tokens))
				if k >= len(tokens)-2 && r.IntN(8) != 0 {
					k = r.IntN(len(tokens) - 2) // stray backslashes and quotes rarely
				}
				b.WriteString(tokens[k])
			}
		}
		buf := []byte(b.String())
		s := uint64(jInValue | jContainer)
		s |= uint64(1 + r.IntN(6))
		if r.IntN(2) == 0 {
			s |= jInString
			if r.IntN(3) == 0 {
				s |= jEscape
			}
		}
		if r.IntN(4) == 0 {
			s |= jInArray
		}
		j := &JSON{maxDepth: 3 + r.IntN(8)}
		md := uint64(j.maxDepth)
		if s&jInArray != 0 {
			md--
		}
		if s&jDepth > md {
			s = s&^jDepth | md
		}
		pos := r.IntN(8)
		e1, s1, err1 := j.container(buf, pos, s)
		e2, s2, err2 := j.containerTail(buf, pos, s, md)
		if e1 != e2 || (err1 == nil) != (err2 == nil) || (err1 == nil && s1 != s2) || (err1 != nil && !errors.Is(err1, ErrDepth)) ||
			(err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("%q from %d, state %#x, max depth %d: blocks %d %#x %v, bytes %d %#x %v", buf, pos, s, j.maxDepth, e1, s1, err1, e2, s2, err2)
		}
	}
}

// TestScanStringSameAsBytes: scanString (words, then 64-byte blocks, then
// words) finds the same closing quote and escape state as a byte loop, on
// random strings dense with backslashes and quotes.
func TestScanStringSameAsBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 65))
	for range 40000 {
		n := r.IntN(300)
		buf := make([]byte, n)
		bias := r.IntN(4)
		for i := range buf {
			switch x := r.IntN(40); {
			case x < 2+bias*4:
				buf[i] = '\\'
			case x < 3+bias:
				buf[i] = '"'
			default:
				buf[i] = 'a'
			}
		}
		pos := 0
		if n > 0 {
			pos = r.IntN(n + 1)
		}
		esc := r.IntN(3) == 0
		i1, e1, c1 := scanString(buf, pos, esc)
		// The reference, a byte at a time.
		i2, e2, c2 := len(buf), false, false
		e := esc
		for p := pos; p < len(buf); p++ {
			switch {
			case e:
				e = false
			case buf[p] == '\\':
				e = true
			case buf[p] == '"':
				i2, c2 = p+1, true
			}
			if c2 {
				break
			}
		}
		if !c2 {
			e2 = e
		}
		if i1 != i2 || e1 != e2 || c1 != c2 {
			t.Fatalf("%q from %d, esc %v: got %d %v %v, want %d %v %v", buf, pos, esc, i1, e1, c1, i2, e2, c2)
		}
	}
}
