package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/framekit/framekit/framing"
)

// The escapes check: a frame made only of a delimited codec's escape or
// stuffing bytes (a SLIP frame of escaped ENDs, a run of ESC bytes, a COBS
// run of code bytes), or only of prefixes of its delimiter ("\r\r\r..."
// for "\r\n"), is held to the limit like any frame: while megabytes of it
// stream in, the Reader's memory stays in proportion to the limit, and the
// frame is refused, or skipped under framing.Skip, like any oversized
// frame, after which the next frame is read.

const (
	escapeLimit = 16 << 10 // MaxFrameSize of the memory runs
	escapeRun   = 4 << 20  // bytes of escapes in a memory run
	escapeChunk = 16 << 10 // bytes a read of a memory run returns
)

// escapeBound is the memory a Reader may take for an escape run under
// escapeLimit (allocated, and heap in use above the start): in proportion
// to the limit, far below the run's size.
const escapeBound = 8*escapeLimit + 512<<10

// escapeStream is a stream of one frame of escapes, then the frame's end
// and one good frame (payload good).
type escapeStream struct {
	what   string
	stream []byte
}

// trailer returns the bytes every frame of the codec ends with (its
// delimiter): the common end of the frames of every one-byte payload the
// encoder takes; nil for a codec whose frames do not end alike (a length
// prefix) or that takes no one-byte payload.
func (s *suite) trailer() []byte {
	var common []byte
	found := false
	for b := 0; b < 256; b++ {
		enc, err := s.codec.AppendFrame(nil, []byte{byte(b)})
		if err != nil {
			continue
		}
		if !found {
			common, found = enc, true
			continue
		}
		n := 0
		for n < len(common) && n < len(enc) && common[len(common)-1-n] == enc[len(enc)-1-n] {
			n++
		}
		common = common[len(common)-n:]
	}
	return bytes.Clone(common)
}

// escapeStreams returns the codec's escape streams with about n bytes of
// escapes each (none for a codec whose frames have no trailer).
func (s *suite) escapeStreams(n int, good []byte) []escapeStream {
	trailer := s.trailer()
	if len(trailer) == 0 {
		return nil
	}
	goodFrame, err := s.codec.AppendFrame(nil, good)
	if err != nil {
		return nil
	}
	tail := append(bytes.Clone(trailer), goodFrame...)
	var out []escapeStream
	run := func(what string, unit []byte) {
		st := bytes.Repeat(unit, max(n/len(unit), 1))
		if !bytes.Contains(st, trailer) {
			out = append(out, escapeStream{fmt.Sprintf("%s (%d bytes), then %x and a %d-byte frame", what, len(st), trailer, len(good)), append(st, tail...)})
		}
	}
	var seen [256]bool
	for _, t := range trailer {
		seen[t] = true
	}
	for b := 0; b < 256; b++ {
		unit := bytes.Repeat([]byte{byte(b)}, 256)
		enc, err := s.codec.AppendFrame(nil, unit)
		if err != nil {
			continue
		}
		if len(enc) >= len(unit)*5/4 {
			// b is escaped: a frame of nothing but b, then a good frame.
			p := bytes.Repeat([]byte{byte(b)}, max(n*len(unit)/len(enc), 1))
			if fe, err := s.codec.AppendFrame(nil, p); err == nil {
				if fe, err = s.codec.AppendFrame(fe, good); err == nil {
					out = append(out, escapeStream{fmt.Sprintf("a frame of %d bytes %#02x (%d bytes escaped), then a %d-byte frame", len(p), b, len(fe)-len(goodFrame), len(good)), fe})
				}
			}
		}
		for _, v := range enc {
			if v != byte(b) && !seen[v] {
				// A byte the encoder adds (an escape, a COBS code): a run
				// of it alone.
				seen[v] = true
				run(fmt.Sprintf("a run of the stuffing byte %#02x", v), []byte{v})
			}
		}
	}
	for k := 1; k < len(trailer); k++ {
		run(fmt.Sprintf("a run of %q, a prefix of the delimiter", trailer[:k]), trailer[:k])
	}
	return out
}

func (s *suite) escapes() []*Failure {
	r := s.rng(12)
	good := s.o.Payload(r, 9)
	for _, es := range s.escapeStreams(escapeRun, good) {
		for _, skip := range []bool{false, true} {
			o := &framing.Options{MaxFrameSize: escapeLimit}
			if skip {
				o.Oversize = framing.Skip
			}
			var res []result
			var src *heapSampler
			alloc := leastAllocated(escapeBound, func() uint64 {
				var a uint64
				res, a, src = s.escapeRead(es.stream, o)
				return max(a, src.peak)
			})
			msg := escapeVerdict(res, good, skip)
			switch {
			case msg != "":
			case src.budget > escapeBound:
				msg = fmt.Sprintf("the Reader held %d KiB of buffer at once, more than %d KiB for a limit of %d KiB",
					src.budget>>10, escapeBound>>10, escapeLimit>>10)
			case alloc > escapeBound:
				msg = fmt.Sprintf("reading it took %d KiB (allocated, or heap in use while it streamed in: %d KiB at the peak), more than %d KiB for a limit of %d KiB",
					alloc>>10, src.peak>>10, escapeBound>>10, escapeLimit>>10)
			}
			if msg != "" {
				return []*Failure{s.fail("escapes", nil, "%s, MaxFrameSize %d, skip %v: %s (results: %s)", es.what, escapeLimit, skip, msg, summary(res))}
			}
		}
	}
	return nil
}

// escapeVerdict holds the reads of an escape stream to what any oversized
// frame gets: one or more errors first (fatal ones end the stream; under
// skip, all are rejected), no frame but the good one, then io.EOF.
func escapeVerdict(res []result, good []byte, skip bool) string {
	if len(res) == 0 || res[0].err == nil {
		return "the escapes were not refused: the first read returned a frame"
	}
	goods := 0
	for i, re := range res {
		switch {
		case isPanic(re.err):
			return re.err.Error()
		case re.err == nil && !bytes.Equal(re.frame, good):
			return fmt.Sprintf("read %d returned a %s, want only the good frame", i, describe(re.frame))
		case isEOF(re.err):
			if goods != 1 || res[i-1].err != nil {
				return "the frame after the escapes was not read once, last, before io.EOF"
			}
			return ""
		case re.err == nil:
			goods++
		case !errors.Is(re.err, framing.ErrFrameTooLarge) && !errors.Is(re.err, framing.ErrCorrupt):
			return fmt.Sprintf("read %d: %q (%T), want the frame refused as too large or corrupt", i, re.err, re.err)
		case framing.Classify(re.err) == framing.Temporary:
			return fmt.Sprintf("read %d: %q is classified temporary", i, re.err)
		case framing.Classify(re.err) == framing.Fatal && skip:
			return fmt.Sprintf("read %d: %q is fatal; under framing.Skip the frame is skipped like any oversized frame", i, re.err)
		case framing.Classify(re.err) == framing.Fatal:
			return "" // refused; sticky errors are the hostile check's
		}
	}
	return "the reads did not end"
}

// escapeRead reads stream through the Reader under test with o (plus a
// budget, to see its buffers), the stream arriving escapeChunk bytes a
// read, and returns the results, the bytes allocated and the source, which
// sampled the buffers held and the heap in use.
func (s *suite) escapeRead(stream []byte, opts *framing.Options) (res []result, alloc uint64, src *heapSampler) {
	rec := newRecorder(64, 1<<10)
	o := *opts
	o.Budget = framing.NewBudget(1 << 40)
	src = &heapSampler{data: stream, b: o.Budget}
	alloc = allocated(func() {
		// Twice: buffers pooled by an earlier run are dropped, so that
		// this run allocates its own.
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		src.base = m.HeapInuse
		rd := s.newReader(src, &o)
		readLoop(frameSource{next: rd.ReadFrame}, rec, func(err error) bool { return framing.Classify(err) == framing.Rejected })
		rd.Release()
		src.sample()
	})
	res, _ = rec.results()
	return res, alloc, src
}

// heapSampler is a source of data in chunks that samples the buffers held
// from b at every read and the heap in use every 8 reads.
type heapSampler struct {
	data       []byte
	reads      int
	b          *framing.Budget
	budget     uint64 // the most held from b
	base, peak uint64 // heap in use at the start; the most above it
}

func (h *heapSampler) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapInuse > h.base {
		h.peak = max(h.peak, m.HeapInuse-h.base)
	}
}

func (h *heapSampler) Read(p []byte) (int, error) {
	if len(h.data) == 0 {
		return 0, io.EOF
	}
	h.budget = max(h.budget, uint64(h.b.InUse()))
	if h.reads%8 == 0 {
		h.sample()
	}
	h.reads++
	n := copy(p[:min(len(p), escapeChunk)], h.data)
	h.data = h.data[n:]
	return n, nil
}
