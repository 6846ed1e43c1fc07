package framing

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"
	"unsafe"
)

// loopBuffer stands for an event loop's inbound buffer: bytes arrive at
// its end, a hold-mode Deframer is pushed all of it, and what Next
// consumed is discarded from its front.
type loopBuffer struct {
	buf    []byte
	rounds int
}

// holdAll feeds data to a hold-mode d through a loopBuffer in pieces of
// the sizes next returns, checking that every frame is a view into the
// loop's bytes and that d copies nothing; it returns the frames (copied)
// and the first error other than ErrNeedMore.
func holdAll(t *testing.T, d *Deframer, data []byte, next func() int) ([][]byte, error) {
	t.Helper()
	var lb loopBuffer
	var frames [][]byte
	round := func() error {
		d.Push(lb.buf)
		for {
			f, err := d.Next()
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				return err
			}
			if len(f) > 0 && !inside(f, lb.buf) {
				t.Fatalf("frame %d is not a view into the loop's buffer", len(frames))
			}
			frames = append(frames, append([]byte{}, f...))
		}
		if d.Buffered() != 0 {
			t.Fatalf("hold mode copied %d bytes into the Deframer", d.Buffered())
		}
		// Discard the consumed bytes; every 16th round into a fresh
		// array, as a loop may move its bytes between events.
		lb.buf = lb.buf[len(lb.buf)-d.Held():]
		if lb.rounds++; lb.rounds%16 == 0 {
			lb.buf = append([]byte(nil), lb.buf...)
		}
		return nil
	}
	for len(data) > 0 {
		n := min(next(), len(data))
		lb.buf = append(lb.buf, data[:n]...)
		data = data[n:]
		if err := round(); err != nil {
			return frames, err
		}
	}
	d.Push(lb.buf)
	d.End()
	for {
		f, err := d.Next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, append([]byte{}, f...))
	}
}

func inside(f, buf []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(f)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= b && p+uintptr(len(f)) <= b+uintptr(len(buf))
}

// sameResult compares frames and errors (by type and class).
func sameResult(t *testing.T, name string, gotF, wantF [][]byte, gotErr, wantErr error) {
	t.Helper()
	if len(gotF) != len(wantF) {
		t.Fatalf("%s: %d frames, want %d", name, len(gotF), len(wantF))
	}
	for i := range gotF {
		if !bytes.Equal(gotF[i], wantF[i]) {
			t.Fatalf("%s: frame %d differs (len %d, want %d)", name, i, len(gotF[i]), len(wantF[i]))
		}
	}
	if fmt.Sprintf("%T", gotErr) != fmt.Sprintf("%T", wantErr) || Classify(gotErr) != Classify(wantErr) {
		t.Fatalf("%s: error %v (%T), want %v (%T)", name, gotErr, gotErr, wantErr, wantErr)
	}
}

// TestHoldMatchesPush: a Deframer in hold mode gives the frames and the
// error a copying Deframer gives, under every cutting, for a length codec
// and a scanning one, with frames over the limit under both policies and
// a truncated end.
func TestHoldMatchesPush(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	payload := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = 'a' + byte(rng.Intn(26))
		}
		return p
	}
	var ps [][]byte
	for _, n := range []int{0, 1, 5, 63, 64, 65, 200, 1000, 5000, 100, 3} {
		ps = append(ps, payload(n))
	}
	type codec struct {
		name string
		enc  func(...[]byte) []byte
		dec  Decoder
	}
	codecs := []codec{
		{"u32", u32Stream, u32{}},
		{"nl", func(ps ...[]byte) []byte {
			var b []byte
			for _, p := range ps {
				b, _ = nl{}.AppendFrame(b, p)
			}
			return b
		}, nl{}},
	}
	for _, c := range codecs {
		full := c.enc(ps...)
		streams := map[string][]byte{
			"whole":     full,
			"truncated": full[:len(full)-7],
		}
		for sname, data := range streams {
			for _, opts := range []*Options{nil, {MaxFrameSize: 900}, {MaxFrameSize: 900, Oversize: Skip}, {Stats: &Stats{}}} {
				for _, cut := range []int{1, 2, 3, 7, 64, 4096, 0} {
					next := func() int { return cut }
					if cut == 0 {
						next = func() int { return 1 + rng.Intn(300) }
					}
					name := fmt.Sprintf("%s/%s/limit%d/skip%v/cut%d", c.name, sname, opts.maxFrameSize(), opts.skip(), cut)
					wantF, wantErr := pushAll(NewDeframer(c.dec, opts), data, next)
					d := NewDeframer(c.dec, opts)
					d.Hold()
					gotF, gotErr := holdAll(t, d, data, next)
					sameResult(t, name, gotF, wantF, gotErr, wantErr)
				}
			}
		}
	}
}

// TestHoldWant: a length codec's frame is wanted whole from its header on,
// so a loop can wait for it instead of pushing each arrival.
func TestHoldWant(t *testing.T) {
	d := NewDeframer(u32{}, nil)
	d.Hold()
	if got := d.Want(); got != 1 {
		t.Fatalf("Want at the start = %d, want 1", got)
	}
	data := u32Stream(make([]byte, 1000), []byte("x"))
	d.Push(data[:10])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatalf("Next = %v, want ErrNeedMore", err)
	}
	if d.Want() != 1004 || d.Held() != 10 {
		t.Fatalf("Want, Held = %d, %d; want 1004, 10", d.Want(), d.Held())
	}
	d.Push(data)
	f, err := d.Next()
	if err != nil || len(f) != 1000 {
		t.Fatalf("Next = %d bytes, %v", len(f), err)
	}
	if f, err = d.Next(); err != nil || string(f) != "x" {
		t.Fatalf("Next = %q, %v", f, err)
	}
	if _, err = d.Next(); err != ErrNeedMore || d.Held() != 0 || d.Want() != 1 {
		t.Fatalf("after the frames: %v, held %d, want %d", err, d.Held(), d.Want())
	}
}

// TestHoldBudget: bytes of an incomplete frame left in the loop's buffer
// are charged to the budget, given back when the frame completes, when it
// is refused, and on Release; a charge the budget cannot give fails with a
// *BudgetError, counted, without waiting.
func TestHoldBudget(t *testing.T) {
	b := NewBudget(64 << 10)
	st := &Stats{}
	opts := &Options{Budget: b, BudgetWait: true, Stats: st}
	data := u32Stream(make([]byte, 10000))

	d := NewDeframer(u32{}, opts)
	d.Hold()
	d.Push(data[:40])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 0 {
		t.Fatalf("40 held bytes (inline size) charged %d", got)
	}
	d.Push(data[:6000])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if got := b.InUse(); got < 6000 {
		t.Fatalf("6000 held bytes charged %d", got)
	}
	d.Push(data)
	if f, err := d.Next(); err != nil || len(f) != 10000 {
		t.Fatalf("Next = %d bytes, %v", len(f), err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if got := b.InUse(); got != 0 {
		t.Fatalf("after the frame: %d still charged", got)
	}
	d.Push(data[:6000])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	d.Release()
	if got := b.InUse(); got != 0 {
		t.Fatalf("after Release: %d still charged", got)
	}

	small := NewBudget(5000)
	d = NewDeframer(u32{}, &Options{Budget: small, BudgetWait: true, Stats: st})
	d.Hold()
	d.Push(data[:6000])
	_, err := d.Next()
	var be *BudgetError
	if !errors.As(err, &be) || Classify(err) != Fatal {
		t.Fatalf("over the budget: %v, want a fatal *BudgetError", err)
	}
	if small.InUse() != 0 || st.OverBudget.Load() != 1 {
		t.Fatalf("after the refusal: %d in use, %d counted", small.InUse(), st.OverBudget.Load())
	}
}

// TestHoldEnd: a stream that ends inside a held frame reports how many
// bytes were held and missing.
func TestHoldEnd(t *testing.T) {
	d := NewDeframer(u32{}, nil)
	d.Hold()
	data := u32Stream([]byte("hello"), make([]byte, 100))
	d.Push(data[:30])
	if f, err := d.Next(); err != nil || string(f) != "hello" {
		t.Fatalf("Next = %q, %v", f, err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	d.Push(data[9:30])
	d.End()
	_, err := d.Next()
	var ue *UnexpectedEOFError
	if !errors.As(err, &ue) || ue.Buffered != 21 || ue.Missing != 83 {
		t.Fatalf("end mid-frame: %#v", err)
	}
}

// TestHoldShortPush: a push that drops held bytes is a fatal error, not a
// silent desynchronisation.
func TestHoldShortPush(t *testing.T) {
	d := NewDeframer(u32{}, nil)
	d.Hold()
	d.Push(u32Stream(make([]byte, 100))[:50])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	d.Push(make([]byte, 10))
	if _, err := d.Next(); err == nil || err == ErrNeedMore || Classify(err) != Fatal {
		t.Fatalf("short push: %v, want a fatal error", err)
	}
}

// TestGuard: the slow-peer guard's deadline exists only mid-frame, moves
// with MinRate's bytes, and fails the Deframer once passed.
func TestGuard(t *testing.T) {
	st := &Stats{}
	d := NewDeframer(u32{}, &Options{FrameTimeout: time.Second, Stats: st})
	d.Hold()
	t0 := time.Unix(1000, 0)
	if at, mid, err := d.Guard(t0); !at.IsZero() || mid || err != nil {
		t.Fatalf("idle: %v %v %v, want no deadline", at, mid, err)
	}
	data := u32Stream([]byte("ab"), make([]byte, 100))
	d.Push(data[:20])
	if f, err := d.Next(); err != nil || string(f) != "ab" {
		t.Fatal(f, err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	at, mid, err := d.Guard(t0)
	if !at.Equal(t0.Add(time.Second)) || !mid || err != nil {
		t.Fatalf("mid-frame: %v %v %v, want %v", at, mid, err, t0.Add(time.Second))
	}
	if at2, _, err := d.Guard(t0.Add(500 * time.Millisecond)); !at2.Equal(at) || err != nil {
		t.Fatalf("the clock restarted: %v %v", at2, err)
	}
	d.Push(data[6:])
	if f, err := d.Next(); err != nil || len(f) != 100 {
		t.Fatal(len(f), err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if at, mid, err := d.Guard(t0.Add(5 * time.Second)); !at.IsZero() || mid || err != nil {
		t.Fatalf("at a boundary: %v %v %v, want no deadline", at, mid, err)
	}
	d.Push(data[6:16])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	t1 := t0.Add(10 * time.Second)
	if _, _, err := d.Guard(t1); err != nil {
		t.Fatal(err)
	}
	_, _, err = d.Guard(t1.Add(time.Second))
	var se *SlowPeerError
	if !errors.As(err, &se) || se.Received != 10 {
		t.Fatalf("past the deadline: %v, want a *SlowPeerError with 10 bytes", err)
	}
	if _, err := d.Next(); !errors.As(err, &se) {
		t.Fatalf("Next after the guard: %v, want the *SlowPeerError again", err)
	}
	if st.SlowPeers.Load() != 1 {
		t.Fatalf("SlowPeers = %d", st.SlowPeers.Load())
	}

	// MinRate: the deadline moves on with the bytes.
	d = NewDeframer(u32{}, &Options{MinRate: 100})
	d.Push(u32Stream(make([]byte, 1000))[:50])
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	at, _, _ = d.Guard(t0)
	if want := t0.Add(time.Second + 500*time.Millisecond); !at.Equal(want) {
		t.Fatalf("MinRate deadline %v, want %v", at, want)
	}
}

// TestIdleReuse: a Deframer is Idle only at a boundary with nothing kept,
// and one Reset to its Offset goes on with the stream, errors at the same
// offsets.
func TestIdleReuse(t *testing.T) {
	d := NewDeframer(u32{}, nil)
	d.Hold()
	if !d.Idle() {
		t.Fatal("a new Deframer is not Idle")
	}
	data := u32Stream([]byte("one"), []byte("two"))
	d.Push(data[:9])
	if f, err := d.Next(); err != nil || string(f) != "one" {
		t.Fatal(f, err)
	}
	if _, err := d.Next(); err != ErrNeedMore {
		t.Fatal(err)
	}
	if d.Idle() {
		t.Fatal("Idle with 2 bytes of a frame held")
	}
	d.Push(data[7:])
	if f, err := d.Next(); err != nil || string(f) != "two" {
		t.Fatal(f, err)
	}
	if _, err := d.Next(); err != ErrNeedMore || !d.Idle() || d.Offset() != int64(len(data)) {
		t.Fatalf("after the frames: %v, Idle %v, Offset %d", err, d.Idle(), d.Offset())
	}
	fresh := NewDeframer(nl{}, nil)
	fresh.Reset(100)
	fresh.Push([]byte("a\nBAD\n"))
	if f, err := fresh.Next(); err != nil || string(f) != "a" {
		t.Fatal(f, err)
	}
	_, err := fresh.Next()
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != 102 {
		t.Fatalf("corrupt frame after Reset(100): %v, want offset 102", err)
	}
	fresh.End()
	if fresh.Idle() {
		t.Fatal("Idle after End")
	}
}
