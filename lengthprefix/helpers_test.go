package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"

	"github.com/framekit/framekit/framing"
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
	leftover int   // bytes buffered or still to discard when the stream ended
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

// feed plays the part of framing.Reader, without I/O: it delivers stream
// to dec in pieces of chunk() bytes, calls Decode only once Need bytes are
// buffered (or at EOF), applies Advance and Discard, and checks that dec
// keeps the Decoder contract.
func feed(t testing.TB, dec framing.Decoder, stream []byte, limit int, skip bool, chunk func() int) feedResult {
	t.Helper()
	var res feedResult
	st := framing.DecodeState{Limit: limit, Skip: skip}
	var buf []byte
	pos, need := 0, 0
	exact, eof := false, false
	for {
		if st.Discard > 0 {
			n := int(min(int64(len(buf)), st.Discard))
			buf = buf[n:]
			st.Discard -= int64(n)
		}
		if st.Discard == 0 && len(buf) > 0 && (len(buf) >= need || eof) {
			d, err := dec.Decode(buf, eof, &st)
			adv := d.Advance()
			if adv < 0 || adv > len(buf) {
				t.Fatalf("Decode(%d bytes): Advance %d out of range", len(buf), adv)
			}
			if err != nil {
				res.events = append(res.events, event{err: err})
				buf = buf[adv:]
				need, exact = 0, false
				if framing.Classify(err) == framing.Fatal {
					res.fatal = err
					return res
				}
				continue
			}
			if start, end, ok := d.Frame(); ok {
				if start < 0 || start > end || end > len(buf) || adv == 0 {
					t.Fatalf("Decode(%d bytes): bad frame %+v", len(buf), d)
				}
				if exact && adv != need {
					t.Fatalf("Decode: exact Need was %d, frame consumed %d", need, adv)
				}
				res.events = append(res.events, event{frame: bytes.Clone(buf[start:end])})
				buf = buf[adv:]
				need, exact = 0, false
				continue
			}
			if adv > 0 {
				buf = buf[adv:]
				need, exact = 0, false
				continue
			}
			need, exact = d.Need()
			if need <= len(buf) {
				t.Fatalf("Decode(%d bytes): Need %d is not more than what is buffered", len(buf), need)
			}
		}
		if eof {
			res.leftover = len(buf) + int(st.Discard)
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
		res := feed(t, dec, stream, framing.DefaultMaxFrameSize, false, chunk)
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
func decodeErr(t *testing.T, dec framing.Decoder, stream []byte, limit int, skip bool) error {
	t.Helper()
	res := feed(t, dec, stream, limit, skip, all)
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
