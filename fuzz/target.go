package fuzz

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/framekit/framekit/framing"
)

// Decode is the body of a native fuzz target (go test -fuzz) for a
// decoder: it reads data through a framing.Reader, whole and cut into
// pieces chosen from the data itself, under a small limit and the default
// one, with both oversize policies, and fails t if anything goes wrong:
// a panic, a frame over the limit, an error outside the documented kinds,
// a fatal error that is not sticky, a read loop that does not end, or more
// memory than the bytes sent justify (measured with the bytes whole under
// the fail policy) (the invariants the suite's hostile
// check holds a codec to). A panic in the decoder is reported with the
// Decode call that panicked, its len(buf), what the call before returned,
// and the seed of the cutting.
//
//	func FuzzMyCodec(f *testing.F) {
//		f.Fuzz(func(t *testing.T, data []byte) { fuzz.Decode(t, myCodec, data) })
//	}
func Decode(t testing.TB, dec framing.Decoder, data []byte) {
	t.Helper()
	var seed int64
	for _, b := range data[:min(len(data), 8)] {
		seed = seed<<8 | int64(b)
	}
	d := decodeRuns.Get().(*decodeRun) // reused by each run and exec
	defer d.put()
	rec := d.recorder(len(data)+3, len(data))
	for run, c := range decodeConfigs(seed) {
		if msg := d.once(run, rec, dec, data, c); msg != "" {
			t.Fatalf("fuzz.Decode (seed %d): %d bytes %x, limit %d, skip %v, %v: %s", seed, len(data), data[:min(len(data), 32)], c.limit, c.skip, c.cut, msg)
		}
	}
}

// How a run of Decode measures memory.
const (
	measureNone   = iota
	measureBudget // the most the Reader held from a budget
	measureAlloc  // every byte allocated while it read
)

// decodeConfig is one run of Decode: the Reader's limit and oversize
// policy, the cutting of the stream, and how memory is measured.
type decodeConfig struct {
	limit   int
	skip    bool
	cut     Cutting
	measure int
}

// decodeConfigs returns Decode's eight runs: both limits, both policies,
// the bytes whole and cut at random (seed) into pieces of 1 to 9 bytes.
// Memory is measured with the bytes whole under the fail policy, where a
// header's claim meets every byte at once: under the default limit, where
// a claim of up to 8 MiB is honoured, as every byte allocated (the
// decoder's too); under the small limit, as the buffers the Reader holds,
// through a budget. The other runs are not measured.
func decodeConfigs(seed int64) [8]decodeConfig {
	var cs [8]decodeConfig
	i := 0
	for _, limit := range [...]int{64, framing.DefaultMaxFrameSize} {
		for _, skip := range [...]bool{false, true} {
			for _, cut := range [...]Cutting{CutWhole(), CutRandom(seed, 9)} {
				m := measureNone
				if !skip && cut.kind == cutWhole {
					m = measureBudget
					if limit == framing.DefaultMaxFrameSize {
						m = measureAlloc
					}
				}
				cs[i] = decodeConfig{limit: limit, skip: skip, cut: cut, measure: m}
				i++
			}
		}
	}
	return cs
}

// decodeRun is what the runs of Decode need: kept in a pool and reused by
// every run of every exec (an exec has eight runs), it is owned by one
// Decode call at a time, so fuzz workers running execs in parallel never
// share one. Each run has its own framing.Reader (the runs differ in
// limit, policy and budget, which a Reader keeps), Reset to read the run's
// stream; its decoder is tr, which the run points at the exec's decoder.
type decodeRun struct {
	readers  [8]*framing.Reader
	rdBudget *framing.Budget // the budget readers were built with
	src      bytes.Reader
	cut      cutter
	pcg      rand.PCG
	rng      *rand.Rand
	cr       Reader
	tr       tracer
	sampler  budgetSampler
	budget   *framing.Budget
	rec      recorder
	alloc    allocCounter
}

var decodeRuns = sync.Pool{New: func() any {
	d := &decodeRun{budget: framing.NewBudget(1 << 40)}
	d.rng = rand.New(&d.pcg)
	return d
}}

// keepCalls is the most read results (about the bytes of an input) whose
// room a pooled decodeRun keeps for the next exec; a larger input's room
// is dropped with its exec.
const keepCalls = 64 << 10

// recorder returns d's recorder, emptied, with room taken before any run
// for maxCalls results and size bytes of frames (see newRecorder).
func (d *decodeRun) recorder(maxCalls, size int) *recorder {
	r := &d.rec
	if cap(r.res) < maxCalls+1 {
		r.res = make([]result, 0, maxCalls+1)
	}
	if cap(r.arena) < size {
		r.arena = make([]byte, 0, size)
	}
	r.max, r.res, r.arena, r.ended, r.solo = maxCalls, r.res[:0], r.arena[:0], false, true
	return r
}

func (d *decodeRun) put() {
	// The pool keeps no frame or error of this exec alive: the runs used
	// at most max+1 results.
	clear(d.rec.res[:min(cap(d.rec.res), d.rec.max+1)])
	if cap(d.rec.res) > keepCalls {
		d.rec.res, d.rec.arena = nil, nil
	}
	d.tr = tracer{}
	d.src.Reset(nil)
	decodeRuns.Put(d)
}

// rejected is readLoop's goesOn for a framing Reader.
func rejected(err error) bool { return framing.Classify(err) == framing.Rejected }

// once is run number run of Decode, configured by c. A Reader whose
// decoder panicked is not kept: nothing of a failed run reaches the next.
func (d *decodeRun) once(run int, rec *recorder, dec framing.Decoder, data []byte, c decodeConfig) string {
	m, cut := c.measure, c.cut
	h := hostileRun{size: len(data), limit: c.limit, strict: true, measured: m != measureNone}
	var rd io.Reader = &d.cr
	if m == measureBudget {
		if d.budget.InUse() != 0 {
			d.budget = framing.NewBudget(1 << 40) // an earlier Reader kept some: start afresh
		}
		rd = &d.sampler
	}
	r := d.readers[run]
	if r == nil || (m == measureBudget && d.rdBudget != d.budget) {
		opts := framing.Options{MaxFrameSize: c.limit}
		if c.skip {
			opts.Oversize = framing.Skip
		}
		if m == measureBudget {
			opts.Budget, d.rdBudget = d.budget, d.budget
		}
		r = framing.NewReader(rd, &d.tr, &opts)
		d.readers[run] = r
	}
	// read reads data from the start; the allocation measure may run it twice.
	read := func() {
		rec.res, rec.arena, rec.ended = rec.res[:0], rec.arena[:0], false
		d.src.Reset(data)
		cut.startIn(&d.cut, &d.pcg, d.rng)
		d.cr = Reader{r: &d.src, p: piece{s: &d.cut}}
		if m == measureBudget {
			d.sampler = budgetSampler{r: &d.cr, b: d.budget}
		}
		d.tr = tracer{dec: dec, size: len(data), budget: 8*len(data) + 64}
		r.Reset(rd) // gives back what the last exec's run left, before reading
		readLoop(frameSource{next: r.ReadFrame}, rec, rejected)
		r.Release()
	}
	switch m {
	case measureAlloc:
		// First the cheap count, which does not stop the world; only a
		// reading over the bound is taken again with the exact one before
		// the decoder is blamed (see allocCounter).
		if h.alloc = d.alloc.approx(read); h.alloc > allocBound(len(data)) {
			measureMu.RLock()
			h.alloc = allocated(read)
			measureMu.RUnlock()
		}
	case measureBudget:
		read()
		h.alloc = uint64(d.sampler.peak)
	default:
		read()
	}
	h.res, h.ended = rec.res, rec.ended // no copy: nothing else holds rec
	if n := len(h.res); n > 0 && isPanic(h.res[n-1].err) {
		d.readers[run] = nil
	}
	return h.verdict()
}

// RoundTrip is the body of a native fuzz target for a codec: it writes
// payloads through a framing.Writer (payloads the encoder refuses with a
// framing.PayloadError are left out, and must have written nothing), reads
// the stream back through a framing.Reader cut by cut, and fails t unless
// every frame comes back exactly, then io.EOF.
//
//	func FuzzMyCodecRoundTrip(f *testing.F) {
//		f.Fuzz(func(t *testing.T, data, cuts []byte) {
//			fuzz.RoundTrip(t, myCodec, fuzz.SplitPayloads(data), fuzz.CutBytes(cuts))
//		})
//	}
func RoundTrip(t testing.TB, codec framing.Codec, payloads [][]byte, cut Cutting) {
	t.Helper()
	var stream bytes.Buffer
	w := framing.NewWriter(&stream, codec, nil)
	var sent [][]byte
	for i, p := range payloads {
		before := stream.Len()
		if err := w.WriteFrame(p); err != nil {
			if errors.Is(err, framing.ErrPayload) && stream.Len() == before {
				continue // refused before anything was written: the Writer goes on
			}
			t.Fatalf("fuzz.RoundTrip: WriteFrame(payload %d, %d bytes): %v (wrote %d bytes)", i, len(p), err, stream.Len()-before)
		}
		sent = append(sent, p)
	}
	limit := framing.DefaultMaxFrameSize
	for _, p := range sent {
		limit = max(limit, len(p))
	}
	r := framing.NewReader(NewReader(bytes.NewReader(stream.Bytes()), cut), trace(codec), &framing.Options{MaxFrameSize: limit})
	read := func() (p []byte, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panicked(v)
			}
		}()
		return r.ReadFrame()
	}
	for i, p := range sent {
		got, err := read()
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("fuzz.RoundTrip under %v: frame %d: got %q, %v; want %q", cut, i, clipBytes(got), err, clipBytes(p))
		}
	}
	if _, err := read(); err != io.EOF {
		t.Fatalf("fuzz.RoundTrip under %v: after %d frames: %v, want io.EOF", cut, len(sent), err)
	}
}

func clipBytes(p []byte) []byte {
	if len(p) > 64 {
		return p[:64]
	}
	return p
}

// SplitPayloads turns fuzzer bytes into payloads: each payload is a length
// byte n followed by n bytes (fewer at the end of data).
func SplitPayloads(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		out = append(out, data[1:1+n])
		data = data[1+n:]
	}
	return out
}

// CutBytes turns fuzzer bytes into a cutting: each byte b is a piece of
// b%32+1 bytes, and the rest of the stream after the last one is one piece.
func CutBytes(cuts []byte) Cutting {
	at := make([]int64, 0, len(cuts))
	var off int64
	for _, b := range cuts {
		off += int64(b%32) + 1
		at = append(at, off)
	}
	return CutAt(at...)
}

// budgetSampler is a source that records the most a Reader held from its
// budget when it read (a Reader grows its buffer before it reads into it).
type budgetSampler struct {
	r    io.Reader
	b    *framing.Budget
	peak int64
}

func (s *budgetSampler) Read(p []byte) (int, error) {
	s.peak = max(s.peak, s.b.InUse())
	return s.r.Read(p)
}
