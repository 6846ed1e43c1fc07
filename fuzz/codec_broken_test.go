package fuzz_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// trailerSkew is U32BE whose AppendTrailer adds a byte that AppendFrame
// does not: frames a Writer sends from the caller's memory (large ones)
// differ from the frames it buffers or batches.
type trailerSkew struct{ *lengthprefix.Codec }

func (trailerSkew) AppendTrailer(dst, _ []byte) []byte { return append(dst, 0) }

// staleHeader is a 2-byte big-endian length codec that reads its header
// once one byte of it is buffered: with a buffer of spare capacity it
// would read a stale byte; with exactly the buffered bytes it panics.
type staleHeader struct{}

func (staleHeader) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) < 1 { // the bug: the header is 2 bytes
		return framing.Need(2), nil
	}
	n := int(buf[0])<<8 | int(buf[1])
	return framing.NeedFrame(2, int64(2+n), int64(2+n)), nil
}

func (staleHeader) AppendFrame(dst, p []byte) ([]byte, error) {
	if len(p) > 0xffff {
		return dst, &framing.PayloadError{Size: len(p), Reason: "over 65535 bytes"}
	}
	return append(append(dst, byte(len(p)>>8), byte(len(p))), p...), nil
}

// checkedLines ends frames with '\n' and rejects a frame holding 0xFF: but
// it validates a frame before it is measured, so that a bad frame over the
// limit is a Rejected CorruptError when its end is buffered with it and a
// Fatal FrameTooLargeError (OverLimit) when it is not: the class of error
// depends on how the stream was cut (issue 16's defect 4 in COBS and
// SLIP).
type checkedLines struct{}

func (checkedLines) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	i := bytes.IndexByte(buf[st.Scanned:], '\n')
	if i < 0 {
		if len(buf) > st.Limit {
			return framing.OverLimit(len(buf)), nil
		}
		st.Scanned = len(buf)
		return framing.Need(len(buf) + 1), nil
	}
	end := st.Scanned + i
	if bytes.IndexByte(buf[:end], 0xFF) >= 0 {
		return framing.Consume(end + 1), &framing.CorruptError{Reason: "0xFF in a line", Rejected: true}
	}
	return framing.Frame(0, end, end+1), nil
}

func (checkedLines) AppendFrame(dst, p []byte) ([]byte, error) {
	if bytes.IndexByte(p, '\n') >= 0 {
		return dst, &framing.PayloadError{Size: len(p), Reason: "a newline in the payload"}
	}
	return append(append(dst, p...), '\n'), nil
}

// escapeBlind is SLIP-like byte stuffing (frames end with 0xC0; 0xDB
// escapes the next byte as 0xDC or 0xDD) whose limit counts only the bytes
// that are not escapes while it scans: a run of escape bytes is never over
// it (issue 16's defect 5 in SLIP), and only the Reader's backstop, at
// twice the limit plus 1 MiB, stops the frame.
type escapeBlind struct{}

const (
	ebEnd, ebEsc, ebEscEnd, ebEscEsc = 0xC0, 0xDB, 0xDC, 0xDD
)

func (escapeBlind) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	i := bytes.IndexByte(buf[st.Scanned:], ebEnd)
	if i < 0 {
		for _, c := range buf[st.Scanned:] {
			if c != ebEsc { // the bug: an escape is a byte of the frame too
				st.Carry++
			}
		}
		st.Scanned = len(buf)
		if st.Carry > int64(st.Limit) {
			return framing.OverLimit(len(buf)), nil
		}
		return framing.Need(len(buf) + 1), nil
	}
	end := st.Scanned + i
	n := 0
	for j := 0; j < end; j++ {
		c := buf[j]
		if c == ebEsc {
			j++
			switch {
			case j < end && buf[j] == ebEscEnd:
				c = ebEnd
			case j < end && buf[j] == ebEscEsc:
				c = ebEsc
			default:
				return framing.Consume(end + 1), &framing.CorruptError{Reason: "a bad escape", Rejected: true}
			}
		}
		buf[n] = c
		n++
	}
	if n == 0 {
		return framing.Consume(end + 1), nil
	}
	return framing.Frame(0, n, end+1), nil
}

func (escapeBlind) AppendFrame(dst, p []byte) ([]byte, error) {
	if len(p) == 0 {
		return dst, &framing.PayloadError{Size: 0, Reason: "empty"}
	}
	for _, c := range p {
		switch c {
		case ebEnd:
			dst = append(dst, ebEsc, ebEscEnd)
		case ebEsc:
			dst = append(dst, ebEsc, ebEscEsc)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, ebEnd), nil
}

// digitHog is a netstring codec ("5:hello,") that reads a length of any
// number of digits: it refuses a short run of digits as corrupt once a
// byte other than a digit or ':' comes (as a counted codec should), but
// keeps asking for more while digits stream in, so a run of megabytes of
// one digit is buffered up to the Reader's backstop instead of being
// refused at once.
type digitHog struct{}

func (digitHog) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	n := int64(0)
	for i, c := range buf {
		switch {
		case c == ':' && i > 0:
			end, total := int64(i+1)+n, int64(i+2)+n
			if n > int64(st.Limit) || total > int64(len(buf)) {
				return framing.NeedFrame(i+1, end, total), nil
			}
			if buf[end] != ',' {
				return framing.Decoded{}, &framing.CorruptError{Reason: "no ',' after the payload"}
			}
			return framing.Frame(i+1, int(end), int(total)), nil
		case c < '0' || c > '9':
			return framing.Decoded{}, &framing.CorruptError{Reason: "not a digit in the length"}
		}
		n = n*10 + int64(c-'0') // the bug: no bound on the digits
		if n < 0 || n > 1<<40 {
			n = 1 << 40
		}
	}
	return framing.Need(len(buf) + 1), nil
}

func (digitHog) AppendFrame(dst, p []byte) ([]byte, error) {
	dst = strconv.AppendInt(dst, int64(len(p)), 10)
	return append(append(append(dst, ':'), p...), ','), nil
}

// TestSuiteCatchesBrokenCodecs: each deliberately broken codec is
// reported, by the check meant for its bug, with what the brief of each
// check promises in the message.
func TestSuiteCatchesBrokenCodecs(t *testing.T) {
	badLine := append(append(bytes.Repeat([]byte{'a'}, 100), 0xFF), "\nok\n"...)
	tests := []struct {
		name  string
		codec framing.Codec
		opts  fuzz.Options
		check string
		want  []string // in the failure's message
	}{
		{"AppendFrame disagrees with AppendHeader + payload + AppendTrailer", trailerSkew{lengthprefix.U32BE}, fuzz.Options{},
			"writepaths", []string{"AppendFrame gives", "AppendHeader + payload[0:] + AppendTrailer", "seed 3"}},
		{"reads a header byte that is not buffered", staleHeader{}, fuzz.Options{},
			"roundtrip", []string{"the decoder panicked in Decode call", "len(buf) 1", "index out of range", "staleHeader", "it was the stream's first call", "seed 3"}},
		{"validates a line before measuring it", checkedLines{}, fuzz.Options{Payload: fuzz.Without('\n', 0xFF), Hostile: [][]byte{badLine}},
			"readpaths", []string{"Options.Hostile[0]", "*framing.CorruptError", "*framing.FrameTooLargeError", "still fails with"}},
		{"counts escapes out of the limit", escapeBlind{}, fuzz.Options{Payload: func(r *rand.Rand, n int) []byte { return fuzz.RandomBytes(r, max(n, 1)) }},
			"escapes", []string{"a run of the stuffing byte 0xdb", "MaxFrameSize 16384", "KiB for a limit of 16 KiB"}},
		{"buffers a length of megabytes of digits", digitHog{}, fuzz.Options{},
			"escapes", []string{"a run of the stuffing byte 0x3", "MaxFrameSize 16384", "KiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			opts.Seed = 3
			var found *fuzz.Failure
			for _, f := range fuzz.Check(tt.codec, &opts) {
				if f.Check == tt.check && found == nil {
					found = f
				}
			}
			if found == nil {
				t.Fatalf("the %s check did not report it", tt.check)
			}
			msg := found.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the failure does not say %q: %s", w, msg)
				}
			}
			t.Logf("reported: %s", msg)
		})
	}
}

// fatalTB records the first Fatalf of a fuzz body and stops it.
type fatalTB struct {
	testing.TB
	msg string
}

type stopped struct{}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func fuzzBody(t *testing.T, body func(tb testing.TB)) string {
	tb := &fatalTB{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil && v != (stopped{}) {
				panic(v)
			}
		}()
		body(tb)
	}()
	return tb.msg
}

// TestFuzzBodiesReportDecoderPanics: fuzz.Decode and fuzz.Push report a
// decoder's panic with the call, len(buf), the call before and the seed
// or cutting, instead of crashing the fuzzer.
func TestFuzzBodiesReportDecoderPanics(t *testing.T) {
	data := []byte{0x00, 0x03, 'a', 'b', 'c', 0x00}
	msg := fuzzBody(t, func(tb testing.TB) { fuzz.Decode(tb, staleHeader{}, data) })
	for _, w := range []string{"fuzz.Decode (seed ", "the decoder panicked in Decode call 2 with len(buf) 1", "the call before returned NeedFrame(2, 5, 5)"} {
		if !strings.Contains(msg, w) {
			t.Errorf("fuzz.Decode's report does not say %q: %s", w, msg)
		}
	}
	t.Logf("fuzz.Decode: %s", msg)
	msg = fuzzBody(t, func(tb testing.TB) { fuzz.Push(tb, staleHeader{}, data, fuzz.CutEvery(1)) })
	for _, w := range []string{"fuzz.Push under fuzz.CutEvery(1)", "the decoder panicked in Decode call", "len(buf) 1"} {
		if !strings.Contains(msg, w) {
			t.Errorf("fuzz.Push's report does not say %q: %s", w, msg)
		}
	}
	t.Logf("fuzz.Push: %s", msg)
	// The same bodies pass a correct codec.
	if msg := fuzzBody(t, func(tb testing.TB) { fuzz.Decode(tb, lengthprefix.U16BE, data) }); msg != "" {
		t.Errorf("fuzz.Decode on U16BE: %s", msg)
	}
	if msg := fuzzBody(t, func(tb testing.TB) { fuzz.Push(tb, lengthprefix.U16BE, data, fuzz.CutEvery(1)) }); msg != "" {
		t.Errorf("fuzz.Push on U16BE: %s", msg)
	}
}

// greedy is U32BE whose decoder allocates whatever a header declares.
type greedy struct{ *lengthprefix.Codec }

var greedySink []byte

func (g greedy) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) >= 4 {
		greedySink = make([]byte, int(buf[0])<<24|int(buf[1])<<16|int(buf[2])<<8|int(buf[3]))
	}
	return g.Codec.Decode(buf, atEOF, st)
}

// TestDecodeCatchesGreedyDecoders: fuzz.Decode reports a decoder that
// allocates what a header claims (64 MiB for 7 bytes), not only the
// Reader's buffers.
func TestDecodeCatchesGreedyDecoders(t *testing.T) {
	msg := fuzzBody(t, func(tb testing.TB) {
		fuzz.Decode(tb, greedy{lengthprefix.U32BE}, []byte{0x03, 0xff, 0xff, 0xff, 1, 2, 3})
	})
	if !strings.Contains(msg, "reading 7 bytes allocated") {
		t.Errorf("fuzz.Decode did not report the allocation: %q", msg)
	}
	greedySink = nil
}

// greedySmall is U32BE whose decoder allocates what a header declares in
// 512-byte pieces, up to 4 MiB: memory the runtime counts only as spans
// are refilled, not when each piece is made.
type greedySmall struct{ *lengthprefix.Codec }

var greedyPieces [][]byte

func (g greedySmall) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if len(buf) >= 4 {
		n := min(int(buf[0])<<24|int(buf[1])<<16|int(buf[2])<<8|int(buf[3]), 4<<20)
		greedyPieces = greedyPieces[:0]
		for ; n > 0; n -= 512 {
			greedyPieces = append(greedyPieces, make([]byte, 512))
		}
	}
	return g.Codec.Decode(buf, atEOF, st)
}

// TestDecodeCatchesSmallGreedyAllocations: the cheap allocation count
// fuzz.Decode takes first sees small allocations too.
func TestDecodeCatchesSmallGreedyAllocations(t *testing.T) {
	msg := fuzzBody(t, func(tb testing.TB) {
		fuzz.Decode(tb, greedySmall{lengthprefix.U32BE}, []byte{0x03, 0xff, 0xff, 0xff, 1, 2, 3})
	})
	if !strings.Contains(msg, "reading 7 bytes allocated") {
		t.Errorf("fuzz.Decode did not report the allocation: %q", msg)
	}
	greedyPieces = nil
}
