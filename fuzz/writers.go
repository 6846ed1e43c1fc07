package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"

	"github.com/framekit/framekit/framing"
)

// writers has 32 goroutines write frames concurrently through one framer:
// every frame arrives whole, none is interleaved with another, and each
// goroutine's frames arrive in the order it wrote them.
func (s *suite) writers() []*Failure {
	const goroutines, each = 32, 20
	r := s.rng(8)
	sent := make([][][]byte, goroutines)
	owner := map[string][]int{}
	for g := range sent {
		for i := 0; i < each; i++ {
			p := s.o.Payload(r, r.IntN(min(s.o.MaxPayload, 256)+1))
			if msg := s.wrapCheck(p); msg != "" {
				return []*Failure{s.fail("writers", nil, "%s", msg)}
			}
			sent[g] = append(sent[g], p)
			owner[string(p)] = append(owner[string(p)], g)
		}
	}
	cut := CutRandom(s.o.Seed, 200)
	a, b := Pipe(&PipeOptions{Buffer: 4096, Cut: cut})
	defer a.Close()
	defer b.Close()
	l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
	w, rd := s.nf(a, l), s.readFramer(b, l)
	if s.pre != nil {
		// Before the writers: every stream starts with it.
		err := s.call(func() error {
			if err := w.WriteFrame(s.o.Preface); err != nil {
				return err
			}
			if f, ok := w.(interface{ Flush() error }); ok {
				return f.Flush()
			}
			return nil
		})
		if err != nil {
			return []*Failure{s.fail("writers", &cut, "WriteFrame(Options.Preface): %v", err)}
		}
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range sent {
		wg.Add(1)
		go func(ps [][]byte) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs <- panicked(v)
				}
			}()
			for _, p := range ps {
				if err := w.WriteFrame(p); err != nil {
					errs <- err
					return
				}
			}
		}(sent[g])
	}
	go func() {
		wg.Wait()
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
		a.CloseWrite()
		close(errs)
	}()
	var got [][]byte
	for k := 0; k < goroutines*each; k++ {
		var p []byte
		err := s.call(func() error {
			f, err := rd.ReadFrame()
			p = bytes.Clone(f)
			return err
		})
		if err != nil {
			a.Close() // unblock the writers
			b.Close()
			for e := range errs {
				if !errors.Is(e, net.ErrClosed) {
					return []*Failure{s.fail("writers", &cut, "WriteFrame: %v", e)}
				}
			}
			return []*Failure{s.fail("writers", &cut, "ReadFrame after %d of %d frames: %v", k, goroutines*each, err)}
		}
		got = append(got, p)
	}
	distinct := true
	for _, gs := range owner {
		distinct = distinct && len(gs) == 1
	}
	if distinct {
		// Each frame must be the next one of the writer that sent it.
		next := make([]int, goroutines)
		for k, p := range got {
			g := owner[string(p)]
			if len(g) == 0 || next[g[0]] == each || !bytes.Equal(sent[g[0]][next[g[0]]], p) {
				return []*Failure{s.fail("writers", &cut, "frame %d (%s) is not the next frame of any writer: frames interleaved, corrupted or reordered", k, describe(p))}
			}
			next[g[0]]++
		}
	} else {
		// Payloads repeat (a small payload space): compare as multisets.
		count := map[string]int{}
		for _, ps := range sent {
			for _, p := range ps {
				count[string(p)]++
			}
		}
		for k, p := range got {
			if count[string(p)] == 0 {
				return []*Failure{s.fail("writers", &cut, "frame %d (%s) was not sent, or more often than sent: frames interleaved or corrupted", k, describe(p))}
			}
			count[string(p)]--
		}
	}
	for e := range errs {
		return []*Failure{s.fail("writers", &cut, "WriteFrame: %v", e)}
	}
	return nil
}

// writePaths writes the same payloads through each of a framing.Writer's
// write paths (WriteFrame, WriteFrames, BufferFrame and Flush, and a
// Batch: NewBatch, BufferFrame, Flush), to a destination that takes
// vectored writes: each must put the bytes of the encoder's AppendFrame
// on the wire (when AppendFrame is deterministic), and read back as the
// payloads. The payloads include ones that a Writer sends from the
// caller's memory (2 KiB and more) and one that a Batch does not copy (64
// KiB and more), so that a WrapEncoder's two ways of encoding meet.
func (s *suite) writePaths() []*Failure {
	r := s.rng(10)
	ps := s.payloads(r, s.o.Frames*2, s.o.MaxPayload)
	ps = append(ps, s.o.Payload(r, 3<<10), s.o.Payload(r, 80<<10))
	for i := 0; i < 40; i++ { // enough to fill a Batch's buffer
		ps = append(ps, s.o.Payload(r, 2000))
	}
	ps = append(ps, s.payloads(r, 8, s.o.MaxPayload)...)
	if s.pre != nil {
		// Written first, as on a real stream; read back by the checks' readers.
		ps = append([][]byte{s.o.Preface}, ps...)
	}
	var want []byte
	var ends []int
	deterministic := true
	for i, p := range ps {
		if msg := s.wrapCheck(p); msg != "" {
			return []*Failure{s.fail("writepaths", nil, "payload %d: %s", i, msg)}
		}
		f, err := s.codec.AppendFrame(nil, p)
		if err != nil {
			return []*Failure{s.fail("writepaths", nil, "AppendFrame(payload %d of %d bytes): %v (use Options.Payload to generate payloads the codec can carry)", i, len(p), err)}
		}
		again, _ := s.codec.AppendFrame(nil, p)
		deterministic = deterministic && bytes.Equal(f, again)
		want = append(want, f...)
		ends = append(ends, len(want))
	}
	paths := []struct {
		name  string
		write func(w *framing.Writer) error
	}{
		{"WriteFrame", func(w *framing.Writer) error {
			for _, p := range ps {
				if err := w.WriteFrame(p); err != nil {
					return err
				}
			}
			return nil
		}},
		{"WriteFrames", func(w *framing.Writer) error { return w.WriteFrames(ps) }},
		{"BufferFrame and Flush", func(w *framing.Writer) error {
			for _, p := range ps {
				if err := w.BufferFrame(p); err != nil {
					return err
				}
			}
			return w.Flush()
		}},
		{"Batch (NewBatch, BufferFrame, Flush)", func(w *framing.Writer) error {
			b := w.NewBatch()
			for _, p := range ps {
				if err := b.BufferFrame(p); err != nil {
					return err
				}
			}
			return b.Flush()
		}},
	}
	for _, path := range paths {
		for _, vectored := range []bool{true, false} {
			got, err := s.written(path.write, vectored)
			var msg string
			switch {
			case err != nil:
				msg = fmt.Sprintf("%v", err)
			case deterministic && !bytes.Equal(got, want):
				i := firstDiff(got, want)
				frame := 0
				for frame < len(ends)-1 && ends[frame] <= i {
					frame++
				}
				msg = fmt.Sprintf("wrote %d bytes that differ from AppendFrame's %d from byte %d, in frame %d (payload of %d bytes)",
					len(got), len(want), i, frame, len(ps[frame]))
			case len(got) != len(want):
				msg = fmt.Sprintf("wrote %d bytes, AppendFrame gives %d", len(got), len(want))
			}
			how := path.name + " to a plain io.Writer"
			if vectored {
				how = path.name + " to a framing.BuffersWriter"
			}
			if msg != "" {
				return []*Failure{s.fail("writepaths", nil, "%d payloads of %d to %d bytes written with %s: %s",
					len(ps), minLen(ps), maxLen(ps), how, msg)}
			}
			e := &encoded{payloads: ps, stream: got, ends: ends}
			if s.pre != nil {
				if !bytes.HasPrefix(got, s.pre) {
					return []*Failure{s.fail("writepaths", nil, "%s: Options.Preface went on the wire as %s, the suite's Writer wrote %x", how, bytesAt(got, 0), s.pre)}
				}
				e = &encoded{payloads: ps[1:], stream: got[len(s.pre):]}
				for _, end := range ends[1:] {
					e.ends = append(e.ends, end-len(s.pre))
				}
			}
			l := Limits{MaxFrameSize: framing.DefaultMaxFrameSize}
			for _, c := range []Cutting{CutWhole(), CutRandom(s.o.Seed, 1500)} {
				if f := s.runCut("writepaths", e, len(e.stream), c, l); f != nil {
					f.Msg = fmt.Sprintf("the frames written with %s, read back: %s", how, f.Msg)
					return []*Failure{f}
				}
			}
		}
	}
	return nil
}

// written returns the bytes write puts on the wire through a new
// framing.Writer: on a Pipe (which takes vectored writes), or on a plain
// io.Writer.
func (s *suite) written(write func(*framing.Writer) error, vectored bool) ([]byte, error) {
	if !vectored {
		var buf bytes.Buffer
		err := s.call(func() error { return write(framing.NewWriter(struct{ io.Writer }{&buf}, s.codec, nil)) })
		return buf.Bytes(), err
	}
	a, b := Pipe(&PipeOptions{Buffer: math.MaxInt})
	defer b.Close()
	err := s.call(func() error { return write(framing.NewWriter(a, s.codec, nil)) })
	a.Close()
	var got []byte
	buf := make([]byte, 64<<10)
	for b.Buffered() > 0 {
		n, _ := b.Read(buf)
		got = append(got, buf[:n]...)
	}
	return got, err
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// bytesAt shows the bytes of p from i on, briefly.
func bytesAt(p []byte, i int) string {
	switch {
	case i >= len(p):
		return "the end"
	case len(p)-i > 8:
		return fmt.Sprintf("%x...", p[i:i+8])
	}
	return fmt.Sprintf("%x", p[i:])
}

func minLen(ps [][]byte) int {
	n := math.MaxInt
	for _, p := range ps {
		n = min(n, len(p))
	}
	return n
}

func maxLen(ps [][]byte) int {
	n := 0
	for _, p := range ps {
		n = max(n, len(p))
	}
	return n
}

// wrapCheck holds a codec's encoder to its contract for payload p (for a
// hand-written framer, there is nothing to hold): a payload it refuses is
// refused with a *framing.PayloadError, appending nothing; and, for a
// framing.WrapEncoder, AppendFrame refuses what AppendHeader refuses and
// gives the same bytes as AppendHeader, p[skip:] and AppendTrailer. (A
// Writer sends a large payload the second way, and frames it buffers or
// batches the first: a disagreement corrupts one or the other.) It
// returns "" when they hold.
func (s *suite) wrapCheck(p []byte) string {
	if s.codec == nil {
		return ""
	}
	prefix := []byte{0xA5, 0x5A}
	frame, ferr := s.codec.AppendFrame(prefix[:2:2], p)
	if msg := refusal("AppendFrame", p, frame, ferr, prefix); msg != "" {
		return msg
	}
	w, ok := s.codec.(framing.WrapEncoder)
	if !ok {
		return ""
	}
	hdr, skip, herr := w.AppendHeader(prefix[:2:2], p)
	if msg := refusal("AppendHeader", p, hdr, herr, prefix); msg != "" {
		return msg
	}
	switch {
	case (ferr == nil) != (herr == nil):
		return fmt.Sprintf("for a payload of %d bytes, AppendFrame returned error %v and AppendHeader error %v: a WrapEncoder must refuse the same payloads both ways", len(p), ferr, herr)
	case ferr != nil:
		return ""
	case skip < 0 || skip > len(p):
		return fmt.Sprintf("AppendHeader returned skip %d for a payload of %d bytes", skip, len(p))
	}
	wrapped := w.AppendTrailer(append(hdr, p[skip:]...), p)
	if !bytes.HasPrefix(wrapped, prefix) {
		return fmt.Sprintf("AppendHeader or AppendTrailer changed the bytes already in dst (payload of %d bytes)", len(p))
	}
	if !bytes.Equal(frame, wrapped) {
		i := firstDiff(frame, wrapped)
		return fmt.Sprintf("for a payload of %d bytes, AppendFrame gives %d bytes and AppendHeader + payload[%d:] + AppendTrailer %d, which differ from byte %d (%s vs %s): "+
			"a Writer sends small and batched frames one way, large ones the other",
			len(p), len(frame)-2, skip, len(wrapped)-2, i-2, bytesAt(frame, i), bytesAt(wrapped, i))
	}
	return ""
}

// refusal checks what an Append method did with dst (holding prefix):
// kept it, and on error appended nothing and returned a payload error.
func refusal(method string, p, out []byte, err error, prefix []byte) string {
	switch {
	case err == nil && !bytes.HasPrefix(out, prefix):
		return fmt.Sprintf("%s(dst, payload of %d bytes) did not append to dst (its bytes are gone)", method, len(p))
	case err == nil:
		return ""
	case !errors.Is(err, framing.ErrPayload):
		return fmt.Sprintf("%s refused a payload of %d bytes with %q (%T), not a *framing.PayloadError", method, len(p), err, err)
	case out != nil && !bytes.Equal(out, prefix):
		return fmt.Sprintf("%s refused a payload of %d bytes (%v) but appended %d bytes to dst", method, len(p), err, len(out)-len(prefix))
	}
	return ""
}
