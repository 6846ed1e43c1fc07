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
//
// A codec whose frames end in a fixed trailer is not always a delimiter
// codec: a netstring ("5:hello,") or an HTTP chunk counts its payload, so
// a run of one of its length digits is a corrupt length, with no frame end
// to skip to. The check tells the two apart by what the codec does with a
// short run of the same bytes, far below any limit (see refusesRun): a
// codec that refuses that as corrupt, fatally, says the bytes are no frame
// at any size, and then the long run may be refused the same way under
// framing.Skip too, provided it is refused at once (within a few reads of
// the run, in memory bounded as for any escape run).

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
	unit   []byte // what a raw run repeats (nil for a frame the encoder made)
	tail   []byte // what follows a raw run: the trailer and a good frame
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
			out = append(out, escapeStream{fmt.Sprintf("%s (%d bytes), then %x and a %d-byte frame", what, len(st), trailer, len(good)), append(st, tail...), unit, tail})
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
					out = append(out, escapeStream{what: fmt.Sprintf("a frame of %d bytes %#02x (%d bytes escaped), then a %d-byte frame", len(p), b, len(fe)-len(goodFrame), len(good)), stream: fe})
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
		refused := es.unit != nil && s.refusesRun(es.unit, es.tail)
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
			msg := escapeVerdict(res, good, skip, refused)
			switch {
			case msg != "":
			case refused && src.consumed() > escapeAtOnce && res[0].err != nil && framing.Classify(res[0].err) == framing.Fatal:
				msg = fmt.Sprintf("the run was refused only after %d KiB of it were read; the codec refuses a short run of these bytes as corrupt (no frame at any size), so a long one is refused within %d KiB",
					src.consumed()>>10, escapeAtOnce>>10)
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
// skip, all are rejected), no frame but the good one, then io.EOF. A run
// the codec refuses at any size (refused, see refusesRun) may instead be
// refused as corrupt, fatally, under skip too.
func escapeVerdict(res []result, good []byte, skip, refused bool) string {
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
		case framing.Classify(re.err) == framing.Fatal && skip && refused && errors.Is(re.err, framing.ErrCorrupt):
			return "" // a corrupt stream, not an oversized frame
		case framing.Classify(re.err) == framing.Fatal && skip:
			return fmt.Sprintf("read %d: %q is fatal; under framing.Skip the frame is skipped like any oversized frame", i, re.err)
		case framing.Classify(re.err) == framing.Fatal:
			return "" // refused; sticky errors are the hostile check's
		}
	}
	return "the reads did not end"
}

// escapeAtOnce is how much of a run a Reader may read before refusing it
// as corrupt, when a short run of the same bytes is corrupt too: the
// limit and a few reads, far less than the run.
const escapeAtOnce = escapeLimit + 4*escapeChunk

// refusesRun reports whether the codec refuses a short run of unit (64
// bytes, or one unit if longer), followed by tail, as a corrupt stream:
// fatally, as the first result, under the default limit and policy. Such
// bytes are no frame at any size (a length field of nothing but digits),
// so a long run of them is a corrupt stream too, not an oversized frame
// for framing.Skip to skip.
func (s *suite) refusesRun(unit, tail []byte) bool {
	st := append(bytes.Repeat(unit, max(64/len(unit), 1)), tail...)
	var err error
	if cerr := s.call(func() error {
		rd := s.readReader(bytes.NewReader(s.prefixed(st)), &framing.Options{})
		defer rd.Release()
		_, err = rd.ReadFrame()
		return nil
	}); cerr != nil {
		return false // a panic or a hang: the escapes check reports it
	}
	return errors.Is(err, framing.ErrCorrupt) && framing.Classify(err) == framing.Fatal
}

// escapeRead reads stream through the Reader under test with o (plus a
// budget, to see its buffers), the stream arriving escapeChunk bytes a
// read, and returns the results, the bytes allocated and the source, which
// sampled the buffers held and the heap in use.
func (s *suite) escapeRead(stream []byte, opts *framing.Options) (res []result, alloc uint64, src *heapSampler) {
	rec := newRecorder(64, 1<<10)
	o := *opts
	o.Budget = framing.NewBudget(1 << 40)
	stream = s.prefixed(stream)
	src = &heapSampler{data: stream, size: len(stream), b: o.Budget}
	alloc = allocated(func() {
		// Twice: buffers pooled by an earlier run are dropped, so that
		// this run allocates its own.
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		src.base = m.HeapInuse
		rd := s.readReader(src, &o)
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
	size       int // of the whole stream
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

// consumed is how many bytes of the stream were read.
func (h *heapSampler) consumed() int { return h.size - len(h.data) }

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
