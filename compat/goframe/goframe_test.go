package goframe_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/compat/goframe"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

var (
	be = binary.BigEndian
	le = binary.LittleEndian
)

// conns are the four kinds of FrameConn, with the bytes goframe v1.0.0
// writes for the payloads "hi" and "" and what reading them back gives.
var conns = []struct {
	name   string
	open   func(net.Conn) goframe.FrameConn
	writes []string
	wire   string
	reads  []string
}{
	{"line", goframe.NewLineBasedFrameConn, []string{"hi", "", "a\r"}, "hi\n\na\r\n", []string{"hi", "", "a\r"}},
	{"delimiter", func(c net.Conn) goframe.FrameConn { return goframe.NewDelimiterBasedFrameConn(';', c) },
		[]string{"hi", ""}, "hi;;", []string{"hi", ""}},
	{"fixed", func(c net.Conn) goframe.FrameConn { return goframe.NewFixedLengthFrameConn(2, c) },
		[]string{"hi", "", "abcd"}, "hiabcd", []string{"hi", "ab", "cd"}},
	{"u16be", func(c net.Conn) goframe.FrameConn {
		return goframe.NewLengthFieldBasedFrameConn(
			goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 2},
			goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2, InitialBytesToStrip: 2}, c)
	}, []string{"hi", ""}, "\x00\x02hi\x00\x00", []string{"hi", ""}},
	{"u32le includes header", func(c net.Conn) goframe.FrameConn {
		return goframe.NewLengthFieldBasedFrameConn(
			goframe.EncoderConfig{ByteOrder: le, LengthFieldLength: 4, LengthIncludesLengthFieldLength: true},
			goframe.DecoderConfig{ByteOrder: le, LengthFieldLength: 4, LengthAdjustment: -4, InitialBytesToStrip: 4}, c)
	}, []string{"hi"}, "\x06\x00\x00\x00hi", []string{"hi"}},
	{"u24be header kept", func(c net.Conn) goframe.FrameConn {
		return goframe.NewLengthFieldBasedFrameConn(
			goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 3},
			goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 3}, c)
	}, []string{"hi"}, "\x00\x00\x02hi", []string{"\x00\x00\x02hi"}},
	{"u8 without byte order", func(c net.Conn) goframe.FrameConn {
		return goframe.NewLengthFieldBasedFrameConn(
			goframe.EncoderConfig{LengthFieldLength: 1},
			goframe.DecoderConfig{LengthFieldLength: 1, InitialBytesToStrip: 1}, c)
	}, []string{"hi"}, "\x02hi", []string{"hi"}},
	{"u64be adjusted", func(c net.Conn) goframe.FrameConn {
		return goframe.NewLengthFieldBasedFrameConn(
			goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 8, LengthAdjustment: 1},
			goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 8, LengthAdjustment: -1, InitialBytesToStrip: 8}, c)
	}, []string{"hi"}, "\x00\x00\x00\x00\x00\x00\x00\x03hi", []string{"hi"}},
}

// written returns every byte written to a until its FrameConn is closed.
func written(t *testing.T, fc goframe.FrameConn, b net.Conn) []byte {
	t.Helper()
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestWire checks each conn's bytes on the wire against goframe's, and
// that they read back, the stream cut into 1-byte reads (every header and
// delimiter split), then ends with a clean io.EOF.
func TestWire(t *testing.T) {
	for _, tc := range conns {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fuzz.Pipe(nil)
			w := tc.open(a)
			for _, p := range tc.writes {
				if err := w.WriteFrame([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.wire, string(written(t, w, b))); diff != "" {
				t.Fatalf("wire (-goframe +got):\n%s", diff)
			}

			a, b = fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutEvery(1)})
			if _, err := a.Write([]byte(tc.wire)); err != nil {
				t.Fatal(err)
			}
			a.Close()
			r := tc.open(b)
			var got []string
			for {
				p, err := r.ReadFrame()
				if err == io.EOF { // ==, as goframe code compares
					break
				}
				if err != nil {
					t.Fatalf("frame %d: %v", len(got), err)
				}
				if p == nil {
					t.Fatalf("frame %d: nil without an error", len(got))
				}
				got = append(got, string(p))
			}
			if diff := cmp.Diff(tc.reads, got); diff != "" {
				t.Fatalf("frames read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTruncated: a stream that ends inside a frame is an error that
// matches io.ErrUnexpectedEOF, with no partial frame, for every conn
// (goframe gives io.EOF after a lone header, and partial frames).
func TestTruncated(t *testing.T) {
	for _, tc := range conns {
		for cut := 1; cut < len(tc.wire); cut++ {
			a, b := fuzz.Pipe(nil)
			a.Write([]byte(tc.wire[:cut]))
			a.Close()
			r := tc.open(b)
			var err error
			var p []byte
			n := 0
			for ; err == nil; n++ {
				p, err = r.ReadFrame()
			}
			if err == io.EOF {
				continue // the cut fell between frames
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || p != nil {
				t.Errorf("%s cut at %d: frame %d = %q, %v; want nil, io.ErrUnexpectedEOF", tc.name, cut, n, p, err)
			}
		}
	}
}

// TestKeptFrames: goframe code keeps the frames it reads; each must
// survive the reads that follow.
func TestKeptFrames(t *testing.T) {
	a, b := fuzz.Pipe(nil)
	w, r := goframe.NewLineBasedFrameConn(a), goframe.NewLineBasedFrameConn(b)
	want := []string{"first", "second", "third"}
	for _, p := range want {
		if err := w.WriteFrame([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	var kept [][]byte
	for range want {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p)
	}
	var got []string
	for _, p := range kept {
		got = append(got, string(p))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("kept frames (-want +got):\n%s", diff)
	}
}

// TestOffsetHeader: with LengthFieldOffset > 0, two frames that arrive in
// one read are both read (goframe reads the bytes before the field past its
// buffer and never finds the second).
func TestOffsetHeader(t *testing.T) {
	a, b := fuzz.Pipe(nil)
	frame := func(typ byte, body string) []byte {
		return append([]byte{typ, typ, 0, byte(len(body))}, body...)
	}
	a.Write(append(frame(1, "hello"), frame(2, "world")...))
	r := goframe.NewLengthFieldBasedFrameConn(goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 2},
		goframe.DecoderConfig{ByteOrder: be, LengthFieldOffset: 2, LengthFieldLength: 2}, b)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got [][]byte
	for range 2 {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if diff := cmp.Diff([][]byte{frame(1, "hello"), frame(2, "world")}, got); diff != "" {
		t.Fatalf("frames (-want +got):\n%s", diff)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileLength: a length field that claims more than the limit costs
// an error and no memory; a negative adjusted length is a CorruptError
// that matches ErrTooLessLength. goframe allocates the first and panics on
// the second.
func TestHostileLength(t *testing.T) {
	u := func(order binary.ByteOrder, size, adjust int) func(net.Conn) goframe.FrameConn {
		return func(c net.Conn) goframe.FrameConn {
			return goframe.NewLengthFieldBasedFrameConn(goframe.EncoderConfig{ByteOrder: order, LengthFieldLength: size},
				goframe.DecoderConfig{ByteOrder: order, LengthFieldLength: size, LengthAdjustment: adjust, InitialBytesToStrip: size}, c)
		}
	}
	for _, tc := range []struct {
		name    string
		open    func(net.Conn) goframe.FrameConn
		stream  []byte
		tooLong bool // else corrupt
	}{
		{"u32 of 4 GiB", u(be, 4, 0), []byte{0xff, 0xff, 0xff, 0xff, 'x'}, true},
		{"u64 of 2^63-1", u(be, 8, 0), []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'}, true},
		{"u64 of 2^64-1", u(le, 8, 0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'}, false},
		{"u16 adjusted below zero", u(be, 2, -10), []byte{0, 2, 'h', 'i'}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fuzz.Pipe(nil)
			defer a.Close()
			a.Write(tc.stream)
			b.SetReadDeadline(time.Now().Add(5 * time.Second))
			r := tc.open(b)
			var p []byte
			var err error
			if n := allocated(func() { p, err = r.ReadFrame() }); n > 1<<20 {
				t.Errorf("reading the header allocated %d bytes", n)
			}
			if p != nil {
				t.Errorf("frame %q returned with %v", p, err)
			}
			if tc.tooLong {
				var tl *framing.FrameTooLargeError
				if !errors.As(err, &tl) {
					t.Fatalf("err = %v, want a *framing.FrameTooLargeError", err)
				}
				return
			}
			var ce *framing.CorruptError
			if !errors.Is(err, goframe.ErrTooLessLength) || !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *framing.CorruptError matching ErrTooLessLength", err)
			}
			if _, again := r.ReadFrame(); !errors.Is(again, goframe.ErrTooLessLength) {
				t.Fatalf("second ReadFrame: %v, want the same error (the stream is corrupt)", again)
			}
		})
	}
}

// nothingWritten fails if b receives any byte within a short time.
func nothingWritten(t *testing.T, b net.Conn) {
	t.Helper()
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := b.Read(make([]byte, 16)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v after a refused write; want nothing", n, err)
	}
	b.SetReadDeadline(time.Time{})
}

// TestWriteRefused: a payload that cannot be framed is refused with an
// error before anything is written, and the conn goes on writing.
func TestWriteRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		open    func(net.Conn) goframe.FrameConn
		payload []byte
		is      error
		ok      string // a payload written after, and its wire form
		wire    string
	}{
		{"length adjusted below zero", func(c net.Conn) goframe.FrameConn {
			return goframe.NewLengthFieldBasedFrameConn(goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 2, LengthAdjustment: -3},
				goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2}, c)
		}, []byte("hi"), goframe.ErrTooLessLength, "hello", "\x00\x02hello"},
		{"u16 too long", func(c net.Conn) goframe.FrameConn {
			return goframe.NewLengthFieldBasedFrameConn(goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 2},
				goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2}, c)
		}, make([]byte, 1<<16), framing.ErrPayload, "hi", "\x00\x02hi"},
		{"fixed, not a multiple", func(c net.Conn) goframe.FrameConn { return goframe.NewFixedLengthFrameConn(4, c) },
			[]byte("abcdef"), goframe.ErrUnexpectedFixedLength, "abcd", "abcd"},
		{"line with a newline", goframe.NewLineBasedFrameConn, []byte("a\nb"), framing.ErrPayload, "ab", "ab\n"},
		{"delimiter inside", func(c net.Conn) goframe.FrameConn { return goframe.NewDelimiterBasedFrameConn(0, c) },
			[]byte("a\x00b"), framing.ErrPayload, "ab", "ab\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fuzz.Pipe(nil)
			w := tc.open(a)
			err := w.WriteFrame(tc.payload)
			if tc.is == framing.ErrPayload && !errors.Is(err, tc.is) {
				t.Fatalf("WriteFrame = %v, want an error matching %v", err, tc.is)
			}
			if tc.is != framing.ErrPayload && err != tc.is { // goframe's variable itself, as goframe returns it
				t.Fatalf("WriteFrame = %v, want %v itself", err, tc.is)
			}
			nothingWritten(t, b)
			if err := w.WriteFrame([]byte(tc.ok)); err != nil {
				t.Fatal(err)
			}
			if got := written(t, w, b); string(got) != tc.wire {
				t.Fatalf("wire = %q, want %q", got, tc.wire)
			}
		})
	}
}

// TestBadConfig: a configuration that cannot work gives a FrameConn whose
// calls return its error, without waiting for the peer; a length-field
// width goframe does not take fails only the direction it configures.
func TestBadConfig(t *testing.T) {
	okEnc := goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 2}
	okDec := goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2, InitialBytesToStrip: 2}
	length := func(enc goframe.EncoderConfig, dec goframe.DecoderConfig) func(net.Conn) goframe.FrameConn {
		return func(c net.Conn) goframe.FrameConn { return goframe.NewLengthFieldBasedFrameConn(enc, dec, c) }
	}
	config := errors.New("a *framing.ConfigError") // a marker for the table
	for _, tc := range []struct {
		name        string
		open        func(net.Conn) goframe.FrameConn
		read, write error // nil: the direction works
	}{
		{"encoder width 5", length(goframe.EncoderConfig{ByteOrder: be, LengthFieldLength: 5}, okDec), nil, goframe.ErrUnsupportedlength},
		{"decoder width 0", length(okEnc, goframe.DecoderConfig{ByteOrder: be}), goframe.ErrUnsupportedlength, nil},
		{"zero configs", length(goframe.EncoderConfig{}, goframe.DecoderConfig{}), goframe.ErrUnsupportedlength, goframe.ErrUnsupportedlength},
		{"encoder without byte order", length(goframe.EncoderConfig{LengthFieldLength: 2}, okDec), nil, config},
		{"decoder strips into the body", length(okEnc, goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2, InitialBytesToStrip: 3}), config, nil},
		{"decoder negative strip", length(okEnc, goframe.DecoderConfig{ByteOrder: be, LengthFieldLength: 2, InitialBytesToStrip: -1}), config, nil},
		{"decoder negative offset", length(okEnc, goframe.DecoderConfig{ByteOrder: be, LengthFieldOffset: -1, LengthFieldLength: 2, InitialBytesToStrip: 2}), config, nil},
		{"fixed length 0", func(c net.Conn) goframe.FrameConn { return goframe.NewFixedLengthFrameConn(0, c) },
			goframe.ErrUnexpectedFixedLength, goframe.ErrUnexpectedFixedLength},
		{"fixed length -1", func(c net.Conn) goframe.FrameConn { return goframe.NewFixedLengthFrameConn(-1, c) },
			goframe.ErrUnexpectedFixedLength, goframe.ErrUnexpectedFixedLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fuzz.Pipe(nil)
			defer b.Close()
			fc := tc.open(a)
			a.SetReadDeadline(time.Now().Add(time.Second)) // a read that waits for the peer fails the test

			check := func(call string, err, want error) {
				t.Helper()
				var ce *framing.ConfigError
				if want == config {
					if !errors.As(err, &ce) {
						t.Fatalf("%s = %v, want a *framing.ConfigError", call, err)
					}
					return
				}
				if want == goframe.ErrUnsupportedlength { // goframe returns it itself
					if err != want {
						t.Fatalf("%s = %v, want goframe.ErrUnsupportedlength itself", call, err)
					}
					return
				}
				if !errors.Is(err, want) || !errors.As(err, &ce) {
					t.Fatalf("%s = %v, want a *framing.ConfigError matching %q", call, err, want)
				}
			}

			if tc.write != nil {
				check("WriteFrame", fc.WriteFrame([]byte("hi")), tc.write)
				nothingWritten(t, b)
			} else {
				if err := fc.WriteFrame([]byte("hi")); err != nil {
					t.Fatalf("WriteFrame = %v; its config works", err)
				}
				b.SetReadDeadline(time.Now().Add(5 * time.Second))
				if got, err := io.ReadAll(io.LimitReader(b, 4)); err != nil || string(got) != "\x00\x02hi" {
					t.Fatalf("peer read %q, %v", got, err)
				}
			}
			if tc.read != nil {
				_, err := fc.ReadFrame()
				check("ReadFrame", err, tc.read)
			} else {
				b.Write([]byte("\x00\x02hi"))
				if p, err := fc.ReadFrame(); err != nil || string(p) != "hi" {
					t.Fatalf("ReadFrame = %q, %v; its config works", p, err)
				}
			}
			if fc.Conn() != a {
				t.Fatal("Conn does not return the connection")
			}
			if err := fc.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Write([]byte("x")); err == nil {
				t.Fatal("the connection is still open after Close")
			}
		})
	}
}

// TestWriteFailureReported: a write to a closed connection is an error
// (goframe ignores the error of its Flush and returns nil).
func TestWriteFailureReported(t *testing.T) {
	for _, tc := range conns {
		a, b := fuzz.Pipe(nil)
		b.Close()
		if err := tc.open(a).WriteFrame([]byte(tc.writes[0])); err == nil {
			t.Errorf("%s: WriteFrame to a closed connection returned nil", tc.name)
		}
	}
}

// TestFixedEmptyWrite: like goframe, a fixed-length conn takes an empty
// payload (zero frames) and writes nothing.
func TestFixedEmptyWrite(t *testing.T) {
	a, b := fuzz.Pipe(nil)
	fc := goframe.NewFixedLengthFrameConn(3, a)
	if err := fc.WriteFrame(nil); err != nil {
		t.Fatal(err)
	}
	nothingWritten(t, b)
}

// TestFixedOverDefaultLimit: the fixed-length conn reads frames of its
// own size even above framing's default 8 MiB limit.
func TestFixedOverDefaultLimit(t *testing.T) {
	const n = framing.DefaultMaxFrameSize + 1
	a, b := fuzz.Pipe(nil)
	w, r := goframe.NewFixedLengthFrameConn(n, a), goframe.NewFixedLengthFrameConn(n, b)
	payload := bytes.Repeat([]byte("0123456789"), n/10+1)[:n]
	werr := make(chan error, 1)
	go func() { werr <- w.WriteFrame(payload) }()
	got, err := r.ReadFrame()
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("ReadFrame = %d bytes, %v; want the %d bytes written", len(got), err, n)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentWriters: frames of concurrent writers never interleave
// (goframe's line conn has no lock).
func TestConcurrentWriters(t *testing.T) {
	const writers, each = 8, 50
	a, b := fuzz.Pipe(&fuzz.PipeOptions{Cut: fuzz.CutRandom(1, 64)})
	w, r := goframe.NewLineBasedFrameConn(a), goframe.NewLineBasedFrameConn(b)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := []byte(strings.Repeat(string(rune('a'+i)), 100+i))
			for range each {
				if err := w.WriteFrame(line); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	counts := map[string]int{}
	for range writers * each {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		counts[string(p)]++
	}
	wg.Wait()
	want := map[string]int{}
	for i := range writers {
		want[strings.Repeat(string(rune('a'+i)), 100+i)] = each
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Fatalf("lines read (-want +got):\n%s", diff)
	}
}

func TestReadN(t *testing.T) {
	big := bytes.Repeat([]byte("abcdefgh"), 40<<10) // 320 KiB, several growth steps
	for _, tc := range []struct {
		name    string
		r       io.Reader
		n       int
		want    []byte
		wantErr error
	}{
		{"exact", bytes.NewReader(big), len(big), big, nil},
		{"1-byte reads", fuzz.NewReader(bytes.NewReader(big), fuzz.CutEvery(1)), 10, big[:10], nil},
		{"zero", strings.NewReader("abc"), 0, []byte{}, nil},
		{"nothing there", strings.NewReader(""), 3, []byte{}, io.EOF},
		{"short", strings.NewReader("abc"), 5, []byte("abc"), io.ErrUnexpectedEOF},
		{"short at a growth step", bytes.NewReader(big[:64<<10]), 1 << 20, big[:64<<10], io.ErrUnexpectedEOF},
		{"negative", strings.NewReader("abc"), -1, nil, goframe.ErrTooLessLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := goframe.ReadN(tc.r, tc.n)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("got %d bytes (nil: %v), want %d (nil: %v)", len(got), got == nil, len(tc.want), tc.want == nil)
			}
		})
	}
	t.Run("hostile n", func(t *testing.T) {
		var got []byte
		var err error
		if n := allocated(func() { got, err = goframe.ReadN(strings.NewReader("abc"), math.MaxInt) }); n > 64<<10 {
			t.Errorf("ReadN of math.MaxInt bytes from 3 allocated %d bytes", n)
		}
		if string(got) != "abc" || err != io.ErrUnexpectedEOF {
			t.Fatalf("ReadN = %q, %v; want \"abc\", io.ErrUnexpectedEOF", got, err)
		}
	})
}

func ExampleNewLengthFieldBasedFrameConn() {
	a, b := net.Pipe()
	enc := goframe.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4}
	dec := goframe.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4}
	w := goframe.NewLengthFieldBasedFrameConn(enc, dec, a)
	r := goframe.NewLengthFieldBasedFrameConn(enc, dec, b)
	go w.WriteFrame([]byte("hello"))
	frame, err := r.ReadFrame()
	fmt.Printf("%s %v\n", frame, err)
	// Output: hello <nil>
}
