package fuzz

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// A Cutting says where a byte stream is cut into pieces: how many bytes each
// Read of a Reader, each delivery of a Pipe, or each segment of a Proxy
// carries. It is deterministic: the same Cutting cuts the same stream at the
// same offsets every time, and its String is Go source that rebuilds it, so a
// failure can be replayed.
//
// The zero Cutting is CutWhole.
type Cutting struct {
	kind cutKind
	n    int     // CutEvery: size; CutRandom: largest piece
	seed int64   // CutRandom
	at   []int64 // CutAt: strictly increasing offsets > 0
}

type cutKind uint8

const (
	cutWhole cutKind = iota
	cutEvery
	cutRandom
	cutAt
)

// CutWhole passes the stream through as it comes: a Reader returns as much
// as the destination holds, a Pipe or Proxy delivers what was written.
func CutWhole() Cutting { return Cutting{} }

// CutEvery cuts the stream into pieces of n bytes (n >= 1); CutEvery(1) is
// the one-byte-at-a-time stream.
func CutEvery(n int) Cutting {
	if n < 1 {
		panic("fuzz: CutEvery needs n >= 1")
	}
	return Cutting{kind: cutEvery, n: n}
}

// CutRandom cuts the stream into pieces of 1 to max bytes, sizes drawn from
// a generator seeded with seed.
func CutRandom(seed int64, max int) Cutting {
	if max < 1 {
		panic("fuzz: CutRandom needs max >= 1")
	}
	return Cutting{kind: cutRandom, n: max, seed: seed}
}

// CutAt cuts the stream at the given absolute offsets (a piece ends before
// each offset) and nowhere else. Offsets may come in any order; duplicates
// and offsets <= 0 are ignored.
func CutAt(offsets ...int64) Cutting {
	at := make([]int64, 0, len(offsets))
	for _, o := range offsets {
		if o > 0 {
			at = append(at, o)
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
	out := at[:0]
	for i, o := range at {
		if i == 0 || o != at[i-1] {
			out = append(out, o)
		}
	}
	return Cutting{kind: cutAt, at: out}
}

// String returns Go source for c, such as "fuzz.CutRandom(7, 16)".
func (c Cutting) String() string {
	switch c.kind {
	case cutEvery:
		return fmt.Sprintf("fuzz.CutEvery(%d)", c.n)
	case cutRandom:
		return fmt.Sprintf("fuzz.CutRandom(%d, %d)", c.seed, c.n)
	case cutAt:
		var b strings.Builder
		b.WriteString("fuzz.CutAt(")
		for i, o := range c.at {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatInt(o, 10))
		}
		b.WriteString(")")
		return b.String()
	}
	return "fuzz.CutWhole()"
}

// Offsets returns where c cuts a stream of n bytes: the strictly increasing
// offsets, each in (0, n), at which a piece ends. CutWhole has none.
func (c Cutting) Offsets(n int64) []int64 {
	var out []int64
	s := c.start()
	for off := int64(0); ; {
		k := s.next()
		if k <= 0 {
			break
		}
		off += k
		if off >= n {
			break
		}
		out = append(out, off)
	}
	return out
}

// cutter is the running state of a Cutting over one stream.
type cutter struct {
	c   Cutting
	rng *rand.Rand
	pos int64 // bytes of the stream already cut
	i   int   // next CutAt offset
}

func (c Cutting) start() *cutter {
	s := &cutter{c: c}
	if c.kind == cutRandom {
		s.rng = rand.New(rand.NewPCG(uint64(c.seed), 0))
	}
	return s
}

// startIn is start into s, its generator rng over pcg (reused: a fuzz
// target body starts many cuttings per exec).
func (c Cutting) startIn(s *cutter, pcg *rand.PCG, rng *rand.Rand) {
	*s = cutter{c: c}
	if c.kind == cutRandom {
		pcg.Seed(uint64(c.seed), 0)
		s.rng = rng
	}
}

// next returns the size of the next piece, advancing the position by it, or
// 0 when the rest of the stream is one piece (no more cuts).
func (s *cutter) next() int64 {
	var k int64
	switch s.c.kind {
	case cutEvery:
		k = int64(s.c.n)
	case cutRandom:
		k = 1 + int64(s.rng.IntN(s.c.n))
	case cutAt:
		if s.i >= len(s.c.at) {
			return 0
		}
		k = s.c.at[s.i] - s.pos
		s.i++
	default:
		return 0
	}
	s.pos += k
	return k
}

// piece tracks the current piece of a cut stream as bytes are taken from it
// in smaller amounts than the piece (a short destination, or a pipe that has
// fewer bytes buffered than the piece).
type piece struct {
	s    *cutter
	left int64 // bytes left in the current piece; 0 means start a new one
	rest bool  // no more cuts: the rest of the stream is one piece
}

func newPiece(c Cutting) piece { return piece{s: c.start()} }

// limit returns how many of avail bytes the next read may take.
func (p *piece) limit(avail int) int {
	if p.rest {
		return avail
	}
	if p.left == 0 {
		p.left = p.s.next()
		if p.left == 0 {
			p.rest = true
			return avail
		}
	}
	if int64(avail) > p.left {
		return int(p.left)
	}
	return avail
}

// took records that n bytes of the current piece were taken.
func (p *piece) took(n int) {
	if !p.rest {
		p.left -= int64(n)
	}
}

// Reader re-cuts the stream of an underlying io.Reader: each Read returns at
// most one piece of the Cutting, and a whole piece whenever the destination
// is large enough (it reads from the underlying reader until the piece is
// full, so cuts fall exactly at the Cutting's offsets). After the last cut
// (CutWhole, or past the last CutAt offset) Reads pass through.
type Reader struct {
	r      io.Reader
	p      piece
	err    error
	pieces []int
	record bool
}

// NewReader returns a Reader that re-cuts r's stream according to c.
func NewReader(r io.Reader, c Cutting) *Reader {
	return &Reader{r: r, p: newPiece(c)}
}

// Record makes the Reader remember the size of every Read it returned, for
// Pieces.
func (r *Reader) Record() *Reader { r.record = true; return r }

// Pieces returns the sizes of the Reads returned so far (if Record was
// called), in order.
func (r *Reader) Pieces() []int { return r.pieces }

// Read implements io.Reader.
func (r *Reader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	want := r.p.limit(len(b))
	var n int
	var err error
	if r.p.rest {
		n, err = r.r.Read(b) // no more cuts: pass reads through
	} else {
		n, err = io.ReadAtLeast(r.r, b[:want], want)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
	}
	if n > 0 {
		r.p.took(n)
		if r.record {
			r.pieces = append(r.pieces, n)
		}
		if err != nil {
			r.err = err
			err = nil
		}
	}
	return n, err
}
