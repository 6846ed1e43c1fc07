package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// event is one result of reading a stream: a frame or an error.
type event struct {
	frame []byte
	err   error
}

// feedResult is what feed saw.
type feedResult struct {
	events   []event
	fatal    error // the fatal error that stopped reading, if any
	leftover int   // bytes buffered when the stream ended
}

func (r feedResult) frames() [][]byte {
	var fs [][]byte
	for _, e := range r.events {
		if e.err == nil {
			fs = append(fs, e.frame)
		}
	}
	return fs
}

// feed plays the part of framing's engine, without I/O and under the fail
// policy: it delivers stream to dec in pieces of chunk() bytes, calls
// Decode only once Need bytes are buffered (or at EOF), applies Advance,
// checks every frame's size against limit (a fatal FrameTooLargeError, as
// the engine builds it), reads a frame located by NeedFrame without
// calling Decode until all of it is buffered, and checks that dec keeps
// the Decoder contract: called again then, it reports the same bounds.
func feed(t testing.TB, dec framing.Decoder, stream []byte, limit int, chunk func() int) feedResult {
	t.Helper()
	var res feedResult
	st := framing.DecodeState{Limit: limit}
	var buf []byte
	pos, need := 0, 0
	var loc [3]int64 // a frame located by NeedFrame: start, end, total (0: none)
	eof := false
	for {
		if len(buf) > 0 && (len(buf) >= need || eof) && (loc[2] == 0 || int64(len(buf)) >= loc[2]) {
			d, err := dec.Decode(buf[:len(buf):len(buf)], eof, &st)
			adv := d.Advance()
			if adv < 0 || adv > len(buf) || d.IsOverLimit() || d.IsChecked() || d.IsFinal() || d.Kind() != 0 {
				t.Fatalf("Decode(%d bytes): %v, out of range or not a length decoder's", len(buf), d)
			}
			if err != nil {
				if loc[2] != 0 {
					t.Fatalf("Decode(%d bytes): located %v, then %v", len(buf), loc, err)
				}
				res.events = append(res.events, event{err: err})
				buf = buf[adv:]
				need = 0
				if framing.Classify(err) == framing.Fatal {
					res.fatal = err
					return res
				}
				continue
			}
			start, end, ok := d.Frame()
			s, e, total, located := d.Located()
			if ok {
				s, e, total = start, int64(end), int64(adv)
			}
			if ok || located {
				if s < 0 || int64(s) > e || e > total || total == 0 || (ok && adv == 0) {
					t.Fatalf("Decode(%d bytes): bad frame %v", len(buf), d)
				}
				if loc[2] != 0 && loc != [3]int64{int64(s), e, total} {
					t.Fatalf("Decode(%d bytes): %v, located before as %v", len(buf), d, loc)
				}
				if e-int64(s) > int64(limit) {
					err := &framing.FrameTooLargeError{Size: e - int64(s), Limit: limit}
					res.events = append(res.events, event{err: err})
					res.fatal = err
					return res
				}
				if total <= int64(len(buf)) {
					res.events = append(res.events, event{frame: bytes.Clone(buf[s:e])})
					buf = buf[total:]
					need, loc = 0, [3]int64{}
					continue
				}
				loc = [3]int64{int64(s), e, total}
			} else if adv > 0 {
				t.Fatalf("Decode(%d bytes): %v: a length decoder consumes nothing without a frame", len(buf), d)
			} else if loc[2] != 0 {
				t.Fatalf("Decode(%d bytes): located %v, then %v", len(buf), loc, d)
			} else if need = d.Need(); need <= len(buf) {
				t.Fatalf("Decode(%d bytes): Need %d is not more than what is buffered", len(buf), need)
			}
		}
		if eof {
			res.leftover = len(buf)
			return res
		}
		if pos == len(stream) {
			eof = true
			continue
		}
		n := min(max(chunk(), 1), len(stream)-pos)
		buf = append(buf, stream[pos:pos+n]...)
		pos += n
	}
}

// read reads stream through framing's Reader, cut as cut says, and
// returns the frames and errors up to the end of the stream or the first
// fatal error.
func read(t testing.TB, dec framing.Decoder, stream []byte, opts *framing.Options, cut fuzz.Cutting) feedResult {
	t.Helper()
	var res feedResult
	r := framing.NewReader(fuzz.NewReader(bytes.NewReader(stream), cut), dec, opts)
	for n := 0; n <= len(stream)+10; n++ {
		f, err := r.ReadFrameInto(nil)
		switch {
		case err == io.EOF:
			return res
		case err == nil:
			res.events = append(res.events, event{frame: f})
		default:
			res.events = append(res.events, event{err: err})
			if framing.Classify(err) == framing.Fatal {
				res.fatal = err
				return res
			}
		}
	}
	t.Fatalf("no end after %d reads", len(stream)+10)
	return res
}

// eventOpts compare events: errors by message, empty frames equal to nil.
var eventOpts = []cmp.Option{
	cmp.AllowUnexported(event{}),
	cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) }),
	cmpopts.EquateEmpty(),
}

func ones() int { return 1 }

func all() int { return 1 << 30 }

func randomChunks(rng *rand.Rand) func() int {
	return func() int {
		switch rng.Intn(4) {
		case 0:
			return 1
		case 1:
			return 1 + rng.Intn(8)
		case 2:
			return 1 + rng.Intn(100)
		}
		return 1 + rng.Intn(5000)
	}
}

// decodeOne decodes a complete stream holding one frame, in one piece and
// byte by byte, and returns the frame.
func decodeOne(t *testing.T, dec framing.Decoder, stream []byte) []byte {
	t.Helper()
	var got [][]byte
	for _, chunk := range []func() int{all, ones} {
		res := feed(t, dec, stream, framing.DefaultMaxFrameSize, chunk)
		if res.fatal != nil || res.leftover != 0 || len(res.events) != 1 {
			t.Fatalf("decoding % x: %+v", stream, res)
		}
		got = append(got, res.events[0].frame)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Fatalf("decoding % x: whole gives % x, byte by byte % x", stream, got[0], got[1])
	}
	return got[0]
}

// decodeErr decodes stream in one piece and returns the first error.
func decodeErr(t *testing.T, dec framing.Decoder, stream []byte, limit int) error {
	t.Helper()
	res := feed(t, dec, stream, limit, all)
	for _, e := range res.events {
		if e.err != nil {
			return e.err
		}
	}
	t.Fatalf("decoding % x: no error, %+v", stream, res)
	return nil
}

func mustCorrupt(t *testing.T, err error, want string) {
	t.Helper()
	var ce *framing.CorruptError
	if !errors.Is(err, framing.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *framing.CorruptError", err, err)
	}
	if framing.Classify(err) != framing.Fatal {
		t.Errorf("%v: class %v, want fatal", err, framing.Classify(err))
	}
	if !bytes.Contains([]byte(ce.Reason), []byte(want)) {
		t.Errorf("reason %q does not mention %q", ce.Reason, want)
	}
}

func binaryAppendUvarint(n uint64) []byte { return binary.AppendUvarint(nil, n) }

// framesDiff returns "" when got holds the frames of want, else a diff
// (cmp is slow on large byte slices, so it only explains a difference).
func framesDiff(want, got [][]byte) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			same = same && bytes.Equal(want[i], got[i])
		}
		if same {
			return ""
		}
	}
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}
