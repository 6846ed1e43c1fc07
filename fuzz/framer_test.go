package fuzz_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framekit/framekit/fuzz"
)

// u32Framer is a hand-written u32 big-endian framer that does its own I/O,
// the way a protocol author who does not use framekit's codecs writes one.
// Its flags break it in the ways real framers break.
type u32Framer struct {
	c     net.Conn
	limit int
	buf   []byte // received, not yet returned
	err   error  // sticky
	wmu   sync.Mutex

	wholeHeader    bool // assumes one Read returns the whole header
	ignoreLimit    bool // never checks the size limit
	dropOnTimeout  bool // throws away a partial frame when a read times out
	eofInsideFrame bool // reports io.EOF when the stream ends mid-frame
}

var errTooLarge = errors.New("u32framer: frame too large")

func (f *u32Framer) ReadFrame() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.wholeHeader && len(f.buf) == 0 {
		hdr := make([]byte, 4)
		n, err := f.c.Read(hdr) // the bug: n may be less than 4
		if err != nil {
			return nil, err
		}
		f.buf = append(f.buf, hdr[:n]...)
		for len(f.buf) < 4 {
			f.buf = append(f.buf, 0)
		}
	}
	var tmp [4096]byte
	for {
		if len(f.buf) >= 4 {
			n := int(binary.BigEndian.Uint32(f.buf))
			if n > f.limit && !f.ignoreLimit {
				f.err = fmt.Errorf("%w: %d bytes, limit %d", errTooLarge, n, f.limit)
				return nil, f.err
			}
			if len(f.buf) >= 4+n {
				frame := append([]byte(nil), f.buf[4:4+n]...)
				f.buf = f.buf[4+n:]
				return frame, nil
			}
		}
		k, err := f.c.Read(tmp[:])
		f.buf = append(f.buf, tmp[:k]...)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if f.dropOnTimeout {
				f.buf = nil
			}
			return nil, err
		case err == io.EOF && len(f.buf) == 0:
			return nil, io.EOF
		case err == io.EOF && f.eofInsideFrame:
			return nil, io.EOF
		case err == io.EOF:
			f.err = io.ErrUnexpectedEOF
			return nil, f.err
		default:
			f.err = err
			return nil, err
		}
	}
}

func (f *u32Framer) WriteFrame(p []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(p)), uint32(len(p)))
	_, err := f.c.Write(append(b, p...))
	return err
}

func framer(setup func(*u32Framer)) fuzz.NewFramer {
	return func(c net.Conn, l fuzz.Limits) fuzz.Framer {
		f := &u32Framer{c: c, limit: l.MaxFrameSize}
		setup(f)
		return f
	}
}

// TestHandWrittenFramerConforms: a correct hand-written framer passes the
// suite through the framer entry point.
func TestHandWrittenFramerConforms(t *testing.T) {
	fuzz.ConformanceFramer(t, framer(func(*u32Framer) {}), &fuzz.Options{NoSkip: true})
}

// TestSuiteCatchesBrokenFramers: each deliberately broken framer is
// reported, by the check meant for its bug, with the seed to replay.
func TestSuiteCatchesBrokenFramers(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*u32Framer)
		check string
	}{
		{"assumes the whole header in one read", func(f *u32Framer) { f.wholeHeader = true }, "roundtrip"},
		{"ignores the size limit", func(f *u32Framer) { f.ignoreLimit = true }, "limits/fail"},
		{"drops a partial frame on timeout", func(f *u32Framer) { f.dropOnTimeout = true }, "deadline"},
		{"returns io.EOF mid-frame", func(f *u32Framer) { f.eofInsideFrame = true }, "truncation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fails := fuzz.CheckFramer(framer(tt.setup), &fuzz.Options{NoSkip: true, Seed: 7, Timeout: 2 * time.Second})
			var found *fuzz.Failure
			for _, f := range fails {
				if f.Check == tt.check {
					found = f
				}
			}
			if found == nil {
				t.Fatalf("the %s check did not report it; failures: %v", tt.check, fails)
			}
			msg := found.Error()
			if !strings.Contains(msg, "seed 7") {
				t.Errorf("failure does not name the seed: %s", msg)
			}
			t.Logf("reported: %s", msg)
		})
	}
}

// TestMinimisedCuttingReplays: the cutting a failure names reproduces it.
func TestMinimisedCuttingReplays(t *testing.T) {
	broken := framer(func(f *u32Framer) { f.wholeHeader = true })
	fails := fuzz.CheckFramer(broken, &fuzz.Options{NoSkip: true, Timeout: 2 * time.Second})
	var rt *fuzz.Failure
	for _, f := range fails {
		if f.Check == "roundtrip" {
			rt = f
		}
	}
	if rt == nil || rt.Minimal == nil {
		t.Fatalf("no minimised round-trip failure: %v", fails)
	}
	if n := len(rt.Minimal.Offsets(1 << 40)); n > 3 {
		t.Errorf("minimised cutting %v still has %d cuts; one split header needs one", rt.Minimal, n)
	}
	again := fuzz.CheckFramer(broken, &fuzz.Options{NoSkip: true, Timeout: 2 * time.Second, Cuttings: []fuzz.Cutting{*rt.Minimal}})
	replayed := false
	for _, f := range again {
		replayed = replayed || f.Check == "roundtrip"
	}
	if !replayed {
		t.Fatalf("replaying with %v did not fail the round trip", rt.Minimal)
	}
	// And the correct framer passes under the same cutting.
	if fails := fuzz.CheckFramer(framer(func(*u32Framer) {}), &fuzz.Options{NoSkip: true, Cuttings: []fuzz.Cutting{*rt.Minimal}}); len(fails) > 0 {
		t.Fatalf("correct framer failed: %v", fails)
	}
}
