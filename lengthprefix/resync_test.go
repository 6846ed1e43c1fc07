package lengthprefix

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/google/go-cmp/cmp"
)

// TestResync: under Resync, a frame whose CRC fails is one Rejected error
// (or a few, if plausible headers lie inside it) whose Dropped bytes add up
// to the bad frame, the frames after it are read, and Stats counts it,
// however the stream is cut.
func TestResync(t *testing.T) {
	c, err := New(Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE, From: 2}, Resync: true}})
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for _, p := range []string{"one", "two", "three!", "four", "five"} {
		stream, _ = c.AppendFrame(stream, []byte(p))
	}
	badAt := 9 + 9          // "one" and "two" are 2+3+4 bytes each
	stream[badAt+4] ^= 0x40 // a bit of "three!"
	for _, piece := range []int{1, 2, 5, len(stream)} {
		var stats framing.Stats
		frames, errs := readAll(t, c, stream, piece, &framing.Options{MaxFrameSize: 64, Stats: &stats})
		want := [][]byte{[]byte("one"), []byte("two"), []byte("four"), []byte("five")}
		if diff := cmp.Diff(want, frames); diff != "" {
			t.Errorf("pieces of %d: frames (-want +got):\n%s", piece, diff)
		}
		var dropped int64
		for i, err := range errs {
			var ce *framing.CorruptError
			if !errors.As(err, &ce) || framing.Classify(err) != framing.Rejected {
				t.Fatalf("pieces of %d: error %v, want a Rejected CorruptError", piece, err)
			}
			if i == 0 && ce.Offset != int64(badAt) {
				t.Errorf("pieces of %d: first error at offset %d, want %d", piece, ce.Offset, badAt)
			}
			dropped += ce.Dropped
		}
		if dropped != 12 || len(errs) == 0 || stats.Resynced.Load() != 12 || stats.Corrupt.Load() != int64(len(errs)) {
			t.Errorf("pieces of %d: %d errors dropping %d bytes, stats %v; want the 12 bytes of the bad frame",
				piece, len(errs), dropped, stats.Snapshot())
		}
	}
}

// resyncCounter is a decode-only layout with Resync whose Check counts the
// bytes it examines and passes frames whose payload starts with 'G'.
func resyncCounter(t *testing.T, work *int64) *Decoder {
	d, err := NewDecoder(Config{Size: 4, Signed: true, Strip: 4, Checks: &Checks{Resync: true, Check: func(f []byte) error {
		*work += int64(len(f))
		if len(f) > 4 && f[4] == 'G' {
			return nil
		}
		return errors.New("not G")
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// measure reads stream through d and returns the frames, the errors, the
// last error and the bytes and objects allocated while reading.
func measure(d framing.Decoder, stream []byte, opts *framing.Options) (frames, errs int, bytesAlloc, objects uint64, last error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := framing.NewReader(bytes.NewReader(stream), d, opts)
	for {
		_, err := r.ReadFrame()
		if err == nil {
			frames++
			continue
		}
		last = err
		if err == io.EOF || framing.Classify(err) == framing.Fatal {
			break
		}
		errs++
	}
	runtime.ReadMemStats(&after)
	return frames, errs, after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs, last
}

// TestResyncAdversarial64MiB: 64 MiB of headers built so that candidates
// are everywhere and each costs up to a limit to check. Resynchronising
// examines at most resyncWork times the bytes consumed plus one limit (a
// count, not a time), then gives up with a fatal error; it holds and
// allocates about one limit.
func TestResyncAdversarial64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	const limit = 1 << 20
	// At every offset of 00 00 10 00 the field reads 4096, 1 MiB, a
	// negative number or 16: three candidates in four positions, all
	// failing the check.
	stream := bytes.Repeat([]byte{0, 0, 0x10, 0}, 16<<20)
	var work int64
	d := resyncCounter(t, &work)
	var stats framing.Stats
	frames, errs, alloc, _, last := measure(d, stream, &framing.Options{MaxFrameSize: limit, Stats: &stats})
	consumed := stats.Resynced.Load()
	var ce *framing.CorruptError
	if frames != 0 || !errors.As(last, &ce) || framing.Classify(last) != framing.Fatal {
		t.Fatalf("%d frames, last error %v; want a fatal CorruptError (resynchronising gave up)", frames, last)
	}
	if work > resyncWork*consumed+2*limit+64<<10 {
		t.Errorf("checks examined %d bytes for %d consumed: more than %d times plus a limit", work, consumed, resyncWork)
	}
	if alloc > 4*limit {
		t.Errorf("allocated %d bytes reading %d adversarial bytes under a limit of %d", alloc, len(stream), limit)
	}
	t.Logf("%d rejected errors, %d bytes dropped, %d bytes checked, %d bytes allocated: %v", errs, consumed, work, alloc, last)
}

// TestResyncGarbage64MiB: 64 MiB of garbage runs (negative lengths) with a
// good frame after each: every good frame is read, every garbage byte is
// dropped and counted, each byte is checked at most once, and the
// allocations stay in proportion to the errors.
func TestResyncGarbage64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	good := []byte{0, 0, 0, 4, 'G', 'o', 'o', 'd'}
	chunk := append(bytes.Repeat([]byte{0xFF}, 4096-len(good)), good...)
	stream := append(bytes.Clone(good), bytes.Repeat(chunk, 16<<10)...)
	var work int64
	d := resyncCounter(t, &work)
	var stats framing.Stats
	frames, errs, alloc, objects, last := measure(d, stream, &framing.Options{MaxFrameSize: 1 << 20, Stats: &stats})
	if last != io.EOF || frames != 1+16<<10 || errs != 16<<10 {
		t.Fatalf("%d frames, %d errors, last %v; want %d frames and %d errors, then io.EOF", frames, errs, last, 1+16<<10, 16<<10)
	}
	if got, want := stats.Resynced.Load(), int64(16<<10*(4096-len(good))); got != want {
		t.Errorf("Stats.Resynced %d, want %d", got, want)
	}
	if work != int64(frames*len(good)) {
		t.Errorf("checks examined %d bytes, want each good frame once (%d)", work, frames*len(good))
	}
	// An error costs a few small objects (its reason, two CorruptErrors);
	// the Reader's buffer about a limit. Nothing grows with the stream.
	perErr, fixed := uint64(1<<10), uint64(4<<20)
	if raceEnabled {
		perErr, fixed = 2*perErr, 2*fixed
	}
	if objects > uint64(32*errs)+1000 || alloc > perErr*uint64(errs)+fixed {
		t.Errorf("%d objects, %d bytes allocated for %d errors", objects, alloc, errs)
	}
}

// runtimeAlloc measures the bytes allocated between start and stop.
type runtimeAlloc struct{ before runtime.MemStats }

func (a *runtimeAlloc) start() { runtime.GC(); runtime.ReadMemStats(&a.before) }

func (a *runtimeAlloc) stop() uint64 {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - a.before.TotalAlloc
}

// TestResyncMarker: under Resync a BGP stream with bytes of garbage
// between two messages loses only the garbage: the header's marker tells
// the next message, whatever the cut.
func TestResyncMarker(t *testing.T) {
	cfg := BGP.Config()
	checks := *cfg.Checks
	checks.Resync = true
	cfg.Checks = &checks
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keepalive := hx(t, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0013 04")
	garbage := hx(t, "FFFF 00 FFFFFFFF 13")
	stream := append(append(append(bytes.Clone(keepalive), garbage...), keepalive...), keepalive...)
	for _, piece := range []int{1, 4, len(stream)} {
		var stats framing.Stats
		frames, errs := readAll(t, c, stream, piece, &framing.Options{Stats: &stats})
		var ce *framing.CorruptError
		if len(frames) != 3 || len(errs) != 1 || !errors.As(errs[0], &ce) || ce.Offset != int64(len(keepalive)) ||
			ce.Dropped != int64(len(garbage)) || stats.Resynced.Load() != int64(len(garbage)) {
			t.Errorf("pieces of %d: %d frames, errors %v, stats %v; want 3 frames and the %d garbage bytes dropped at offset %d",
				piece, len(frames), errs, stats.Snapshot(), len(garbage), len(keepalive))
		}
	}
}
