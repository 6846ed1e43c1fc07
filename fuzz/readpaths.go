package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
)

// The readpaths check: the same bytes, read through every way framing has
// of consuming a frame, cut every way, give the same frames, the same
// errors and the same error classes.

// readPath is one way of reading a stream's frames through framing. open
// starts reading stream, cut by cut, and returns the source of frames and
// what ends it.
type readPath struct {
	name string
	open func(dec framing.Decoder, stream []byte, cut Cutting, o *framing.Options) (frameSource, func())
}

// readerPath is a read path through a framing.Reader; next makes the
// Reader's read call.
func readerPath(name string, next func(r *framing.Reader, stream []byte) func() ([]byte, error)) readPath {
	return readPath{name, func(dec framing.Decoder, stream []byte, cut Cutting, o *framing.Options) (frameSource, func()) {
		r := framing.NewReader(NewReader(bytes.NewReader(stream), cut), dec, o)
		return frameSource{next: next(r, stream), kind: r.Kind, offset: r.Offset}, r.Release
	}}
}

var (
	pathReadFrame = readerPath("ReadFrame", func(r *framing.Reader, _ []byte) func() ([]byte, error) {
		return r.ReadFrame
	})
	pathIntoRoom = readerPath("ReadFrameInto (dst with room)", func(r *framing.Reader, stream []byte) func() ([]byte, error) {
		dst := make([]byte, 0, len(stream)+1)
		return func() ([]byte, error) { return r.ReadFrameInto(dst[:0]) }
	})
	pathIntoNoRoom = readerPath("ReadFrameInto (dst without room)", func(r *framing.Reader, _ []byte) func() ([]byte, error) {
		return func() ([]byte, error) {
			out, err := r.ReadFrameInto([]byte{0xA5})
			if err != nil {
				return nil, err
			}
			if len(out) == 0 || out[0] != 0xA5 {
				return nil, errDstLost
			}
			return out[1:], nil
		}
	})
	pathOwned = readerPath("ReadFrameOwned", func(r *framing.Reader, _ []byte) func() ([]byte, error) {
		return r.ReadFrameOwned
	})
	pathBody = readPath{"ReadBody (io.ReadAll of the Body)", func(dec framing.Decoder, stream []byte, cut Cutting, o *framing.Options) (frameSource, func()) {
		r := framing.NewReader(NewReader(bytes.NewReader(stream), cut), dec, o)
		next := func() ([]byte, error) {
			size, body, err := r.ReadBody()
			if err != nil {
				return nil, err
			}
			p, err := io.ReadAll(body)
			if err != nil {
				return nil, err
			}
			if int64(len(p)) != size {
				return nil, fmt.Errorf("%w: ReadBody said %d bytes, its Body gave %d", errBodySize, size, len(p))
			}
			return p, nil
		}
		return frameSource{next: next, kind: r.Kind}, r.Release
	}}
	pathPush = readPath{"the push engine (Deframer: Push, End, Next)", func(dec framing.Decoder, stream []byte, cut Cutting, o *framing.Options) (frameSource, func()) {
		d := framing.NewDeframer(dec, o)
		p := &pusher{d: d}
		data := bytes.Clone(stream) // a decoder may unstuff pushed bytes in place
		prev := int64(0)
		for _, off := range cut.Offsets(int64(len(data))) {
			p.pieces = append(p.pieces, data[prev:off])
			prev = off
		}
		if prev < int64(len(data)) {
			p.pieces = append(p.pieces, data[prev:])
		}
		return frameSource{next: p.next, kind: d.Kind, offset: d.Offset}, d.Release
	}}

	// allReadPaths are the read paths the readpaths check compares.
	allReadPaths = []readPath{pathReadFrame, pathIntoRoom, pathIntoNoRoom, pathOwned, pathBody, pathPush}
)

var (
	errDstLost        = errors.New("fuzz: ReadFrameInto did not return dst's bytes in front of the frame")
	errBodySize       = errors.New("fuzz: a Body's size is not ReadBody's")
	errNeedMoreAtEOF  = errors.New("fuzz: Deframer.Next returned ErrNeedMore after End")
	errNeedMoreClass  = errors.New("fuzz: Deframer.ErrNeedMore is not temporary")
	readPathSentinels = []error{errDstLost, errBodySize, errNeedMoreAtEOF, errNeedMoreClass}
)

// pusher pushes its pieces into a Deframer one by one, each when Next asks
// for more bytes, then ends the stream.
type pusher struct {
	d      *framing.Deframer
	pieces [][]byte
	ended  bool
}

func (p *pusher) next() ([]byte, error) {
	for {
		f, err := p.d.Next()
		if err != framing.ErrNeedMore {
			return f, err
		}
		switch {
		case framing.Classify(err) != framing.Temporary:
			return nil, errNeedMoreClass
		case p.ended:
			return nil, errNeedMoreAtEOF
		case len(p.pieces) > 0:
			p.d.Push(p.pieces[0])
			p.pieces = p.pieces[1:]
		default:
			p.d.End()
			p.ended = true
		}
	}
}

// pathsCase is one stream read through the read paths.
type pathsCase struct {
	dec    framing.Decoder
	stream []byte
	limit  int
	skip   bool
	s      *suite // for its preface, read (and checked) first; nil for none
}

func (c *pathsCase) String() string {
	policy := "framing.Fail"
	if c.skip {
		policy = "framing.Skip"
	}
	s := fmt.Sprintf("stream of %d bytes %x", len(c.stream), c.stream[:min(len(c.stream), 48)])
	if len(c.stream) > 48 {
		s += "..."
	}
	return fmt.Sprintf("%s, MaxFrameSize %d, Oversize %s", s, c.limit, policy)
}

// read reads the stream through path p, cut by cut, and returns what each
// call gave and whether an error ended the stream.
func (c *pathsCase) read(p readPath, cut Cutting) ([]result, bool) {
	o := &framing.Options{MaxFrameSize: c.limit}
	if c.skip {
		o.Oversize = framing.Skip
	}
	rec := newRecorder(len(c.stream)+3, len(c.stream))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				rec.add(nil, panicked(v), 0, -1)
			}
		}()
		stream := c.stream
		if c.s != nil && c.s.pre != nil {
			stream, cut = c.s.prefixed(stream), cut.shift(len(c.s.pre))
		}
		src, release := p.open(traceStream(c.dec, len(stream)), stream, cut, o)
		defer release()
		if c.s != nil {
			src.next = c.s.prefaced(src.next, src.kind)
		}
		readLoop(src, rec, func(err error) bool { return framing.Classify(err) == framing.Rejected })
	}()
	select {
	case <-done:
	case <-time.After(readTimeout):
		// Left behind: a read that neither returns nor calls Decode.
		rec.add(nil, &panicError{v: stuckRead(fmt.Sprintf("a read call did not return within %v", readTimeout))}, 0, -1)
	}
	return rec.results()
}

// readTimeout bounds a read path's call in the readpaths check (the
// bytes are all there: a read that takes this long never returns).
const readTimeout = 10 * time.Second

// check reads the stream with ReadFrame, the stream whole, as the
// reference (which must keep the hostile invariants, see
// hostileRun.verdict), then through each of paths under each of cuts. It
// returns the first disagreement ("" if none), with the cutting and the
// fewest cuts found that still disagree.
func (c *pathsCase) check(paths []readPath, cuts []Cutting) (msg string, cut, minimal *Cutting) {
	ref, ended := c.read(pathReadFrame, CutWhole())
	h := hostileRun{res: ref, ended: ended, size: len(c.stream), limit: c.limit, strict: true}
	if msg := h.verdict(); msg != "" {
		whole := CutWhole()
		return fmt.Sprintf("%s: ReadFrame, the stream whole: %s", c, msg), &whole, nil
	}
	for _, cut := range cuts {
		for _, p := range paths {
			diff := func(cut Cutting) string {
				got, _ := c.read(p, cut)
				return sameResults(ref, got)
			}
			if msg := diff(cut); msg != "" {
				msg = fmt.Sprintf("%s: %s: %s (ReadFrame on the stream whole gave %s)", c, p.name, msg, summary(ref))
				if stuckMsg(msg) {
					return msg, &cut, nil // each rerun would wait the full timeout
				}
				fewest := minimise(cut.Offsets(int64(len(c.stream))), func(c Cutting) bool { return diff(c) != "" })
				return msg, &cut, &fewest
			}
		}
	}
	return "", nil, nil
}

// sameResults compares a read path's results with the reference's: the
// same frames (and kinds, and offsets where both are known), the same
// errors (dynamic type and class; a FrameTooLargeError's Size may differ,
// as what is known of an oversized frame depends on when it is found), in
// the same order. It returns "" when they agree.
func sameResults(want, got []result) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		if i >= len(got) {
			return fmt.Sprintf("call %d: no call (the reads stopped after %d calls), want %v", i, len(got), want[i])
		}
		g := got[i]
		if isPanic(g.err) {
			return fmt.Sprintf("call %d: %v", i, g.err)
		}
		if i >= len(want) {
			return fmt.Sprintf("call %d: %v, want no further call (the reference stopped after %v)", i, g, want[len(want)-1])
		}
		w := want[i]
		switch {
		case (w.err == nil) != (g.err == nil),
			w.err == nil && (!bytes.Equal(w.frame, g.frame) || w.kind != g.kind),
			w.err != nil && errSig(w.err) != errSig(g.err):
			return fmt.Sprintf("call %d: got %v, want %v", i, g, w)
		case w.err == nil && w.offset >= 0 && g.offset >= 0 && w.offset != g.offset:
			return fmt.Sprintf("call %d: after the %s, Offset() is %d, want %d", i, describe(g.frame), g.offset, w.offset)
		}
	}
	return ""
}

// errSig is what two errors of different read paths or cuttings must share.
func errSig(err error) string {
	for _, e := range readPathSentinels {
		if errors.Is(err, e) {
			return e.Error() // never equal to a reference's error
		}
	}
	return fmt.Sprintf("%T %v", err, framing.Classify(err))
}

// summary describes results briefly.
func summary(res []result) string {
	var parts []string
	for i, r := range res {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("... (%d results)", len(res)))
			break
		}
		if r.err == io.EOF {
			parts = append(parts, "io.EOF")
		} else if r.err != nil {
			parts = append(parts, fmt.Sprintf("%T (%v)", r.err, framing.Classify(r.err)))
		} else {
			parts = append(parts, fmt.Sprintf("%d-byte frame", len(r.frame)))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pathCuts is what the readpaths check cuts a stream of n bytes with:
// whole, into 1-byte pieces (small pieces for a large stream) and at
// random.
func (s *suite) pathCuts(n int) []Cutting {
	if len(s.o.Cuttings) > 0 {
		return s.o.Cuttings
	}
	if n > 16<<10 {
		return []Cutting{CutWhole(), CutRandom(s.o.Seed, 16), CutRandom(s.o.Seed+1, 1500), CutRandom(s.o.Seed+2, 70<<10)}
	}
	return []Cutting{CutWhole(), CutEvery(1), CutRandom(s.o.Seed, 7), CutRandom(s.o.Seed+1, 300)}
}

// pathsFailure runs c through every read path under the suite's cuttings.
func (s *suite) pathsFailure(what string, c *pathsCase) *Failure {
	msg, cut, minimal := c.check(allReadPaths, s.pathCuts(len(c.stream)))
	if msg == "" {
		return nil
	}
	f := s.fail("readpaths", cut, "%s: %s", what, msg)
	f.Minimal = minimal
	return f
}

// readPaths is the suite's readpaths check: streams of the codec's frames
// (frames of many sizes; a large frame, read straight into dst and
// streamed by ReadBody; frames over a limit, under both policies; the
// stream truncated inside a frame) and hostile streams (Options.Hostile
// and random bytes, under a small limit and the default one, under both
// policies; frames of nothing but escapes or delimiter prefixes, see
// escapeStreams), each read through every read path (ReadFrame, ReadFrameInto
// with and without room in dst, ReadFrameOwned, ReadBody, and the push
// engine) under every cutting, give the same frames, errors and classes.
func (s *suite) readPaths() []*Failure {
	r := s.rng(9)
	type streamCase struct {
		what   string
		stream []byte
		limits []int
		skips  []bool
	}
	var cases []streamCase
	def := []int{framing.DefaultMaxFrameSize}
	e, err := s.encode(s.payloads(r, s.o.Frames, s.o.MaxPayload))
	if err != nil {
		return []*Failure{s.fail("readpaths", nil, "%v", err)}
	}
	cases = append(cases, streamCase{"frames of many sizes", e.stream, def, []bool{false}})
	for _, k := range []int{len(e.payloads) / 2, len(e.payloads) - 1} {
		if n := e.start(k) + 1; n < e.ends[k] {
			cases = append(cases, streamCase{fmt.Sprintf("frames truncated after the first byte of frame %d", k), e.stream[:n], def, []bool{false}})
		}
		if n := (e.start(k) + e.ends[k]) / 2; n > e.start(k)+1 {
			cases = append(cases, streamCase{fmt.Sprintf("frames truncated in the middle of frame %d", k), e.stream[:n], def, []bool{false}})
		}
	}
	big, err := s.encode([][]byte{s.o.Payload(r, 5), s.o.Payload(r, 100<<10), s.o.Payload(r, 7)})
	if err != nil {
		return []*Failure{s.fail("readpaths", nil, "%v", err)}
	}
	cases = append(cases, streamCase{fmt.Sprintf("frames of %v bytes", lens(big.payloads)), big.stream, def, []bool{false}})
	over, limit, err := s.overStream(r)
	if err != nil {
		return []*Failure{s.fail("readpaths", nil, "%v", err)}
	}
	if over != nil {
		cases = append(cases, streamCase{fmt.Sprintf("frames of %v bytes, some over the limit", lens(over.payloads)), over.stream, []int{limit}, []bool{false, true}})
	}
	for i, h := range s.o.Hostile {
		cases = append(cases, streamCase{fmt.Sprintf("Options.Hostile[%d]", i), h, []int{64, framing.DefaultMaxFrameSize}, []bool{false, true}})
	}
	for _, es := range s.escapeStreams(300, s.o.Payload(r, 9)) {
		cases = append(cases, streamCase{es.what, es.stream, []int{64}, []bool{false, true}})
	}
	for i := 0; i < 4; i++ {
		cases = append(cases, streamCase{"random bytes", RandomBytes(r, 1+r.IntN(512)), []int{64, framing.DefaultMaxFrameSize}, []bool{false, true}})
	}
	for _, sc := range cases {
		for _, limit := range sc.limits {
			for _, skip := range sc.skips {
				if f := s.pathsFailure(sc.what, &pathsCase{dec: s.codec, stream: sc.stream, limit: limit, skip: skip, s: s}); f != nil {
					return []*Failure{f}
				}
			}
		}
	}
	return nil
}

// ReadPaths runs the suite's readpaths check on one stream, for a decoder
// (one that has no encoder, or a stream the suite would not make): stream
// is read with dec through every read path of framing (ReadFrame,
// ReadFrameInto with and without room in dst, ReadFrameOwned, ReadBody
// with io.ReadAll of the Body, and a Deframer pushed pieces of the
// stream), cut whole, into 1-byte pieces and at random, with MaxFrameSize
// limit (framing.DefaultMaxFrameSize if 0) under both oversize policies.
// Every path must give what ReadFrame gives on the whole stream: the same
// frames, the same errors (dynamic type and framing.Classify class) in
// the same order; and that must keep the invariants of hostile input (no
// panic, no frame over the limit, framing's error kinds, sticky fatal
// errors, an end). It returns the disagreements, at most one per policy,
// each with the fewest cuts found that still disagree. opts supplies the
// Seed of the random cuttings, and Cuttings to replay a failure; its other
// fields are unused. opts may be nil.
func ReadPaths(dec framing.Decoder, stream []byte, limit int, opts *Options) []*Failure {
	s := newSuite(nil, nil, opts)
	if limit <= 0 {
		limit = framing.DefaultMaxFrameSize
	}
	var out []*Failure
	for _, skip := range []bool{false, true} {
		if f := s.pathsFailure("ReadPaths", &pathsCase{dec: dec, stream: stream, limit: limit, skip: skip}); f != nil {
			out = append(out, f)
		}
	}
	return out
}

// Push is the body of a native fuzz target for the push engine: data is
// pushed into a framing.Deframer in the pieces cut says (then End), and
// must give what a framing.Reader's ReadFrame gives on the same bytes
// read whole (the same frames, errors and error classes), under a limit
// of 64 bytes and the default one, with both oversize policies; and that
// must keep the invariants of hostile input, as for Decode.
//
//	func FuzzMyCodecPush(f *testing.F) {
//		f.Fuzz(func(t *testing.T, data, cuts []byte) {
//			fuzz.Push(t, myCodec, data, fuzz.CutBytes(cuts))
//		})
//	}
func Push(t testing.TB, dec framing.Decoder, data []byte, cut Cutting) {
	t.Helper()
	for _, limit := range []int{64, framing.DefaultMaxFrameSize} {
		for _, skip := range []bool{false, true} {
			c := &pathsCase{dec: dec, stream: data, limit: limit, skip: skip}
			if msg, _, minimal := c.check([]readPath{pathPush}, []Cutting{cut}); msg != "" {
				if minimal != nil {
					msg += fmt.Sprintf("; still fails with %v", minimal)
				}
				t.Fatalf("fuzz.Push under %v: %s", cut, msg)
			}
		}
	}
}
