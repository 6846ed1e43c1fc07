package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var testSizes = []int{16, 256, 4 << 10, 1 << 20}

// TestStreams decodes each stream with a parser written here from the
// format's definition.
func TestStreams(t *testing.T) {
	for _, codec := range []Codec{U32, Uvarint} {
		for _, size := range testSizes {
			s := NewStream(codec, size)
			if len(s.Data) < minStream || len(s.Frames) < minFrames {
				t.Errorf("%s/%d: %d bytes, %d frames: too small", codec, size, len(s.Data), len(s.Frames))
			}
			data := s.Data
			for i, want := range s.Frames {
				var n uint64
				if codec == U32 {
					n, data = uint64(binary.BigEndian.Uint32(data)), data[4:]
				} else {
					var k int
					n, k = binary.Uvarint(data)
					data = data[k:]
				}
				if n != uint64(size) {
					t.Fatalf("%s/%d: frame %d: length %d", codec, size, i, n)
				}
				if off := len(s.Data) - len(data); off != s.Offsets[i] {
					t.Fatalf("%s/%d: frame %d at %d, Offsets says %d", codec, size, i, off, s.Offsets[i])
				}
				if !bytes.Equal(data[:n], want) {
					t.Fatalf("%s/%d: frame %d differs", codec, size, i)
				}
				data = data[n:]
				if codec == Uvarint {
					var m wrapperspb.BytesValue
					if err := proto.Unmarshal(want, &m); err != nil {
						t.Fatalf("%s/%d: frame %d is no BytesValue: %v", codec, size, i, err)
					}
					if !bytes.Equal(m.Value, s.Inner[i]) {
						t.Fatalf("%s/%d: frame %d: BytesValue holds other bytes than Inner", codec, size, i)
					}
				}
			}
			if len(data) != 0 {
				t.Errorf("%s/%d: %d bytes after the last frame", codec, size, len(data))
			}
			if bytes.Equal(s.Frames[0], s.Frames[1]) {
				t.Errorf("%s/%d: frames 0 and 1 are equal: a repeated frame would pass", codec, size)
			}
		}
	}
}

func TestLinesStream(t *testing.T) {
	for _, size := range []int{64, 4 << 10, 64 << 10} {
		s := NewLines(size)
		lines := bytes.Split(s.Data, []byte("\n"))
		if len(lines) != len(s.Frames)+1 || len(lines[len(lines)-1]) != 0 {
			t.Fatalf("%d: %d lines for %d frames", size, len(lines)-1, len(s.Frames))
		}
		for i, want := range s.Frames {
			if !bytes.Equal(lines[i], want) || bytes.ContainsAny(want, "\r\n") {
				t.Fatalf("%d: line %d differs or holds a line end", size, i)
			}
		}
	}
}

// TestChecksCatch makes sure the checks catch the ways a decoder goes
// wrong: a frame shifted by a byte, a repeated frame, a truncated one.
func TestChecksCatch(t *testing.T) {
	for _, size := range testSizes {
		s := NewStream(U32, size)
		f0, f1 := s.Frames[0], s.Frames[1]
		shifted := append([]byte{0}, f1[:len(f1)-1]...)
		for name, got := range map[string][]byte{
			"shifted":   shifted,
			"repeated":  f0,
			"truncated": f1[:len(f1)-1],
		} {
			if QuickCheck(got, f1, 1) == nil || Check(got, f1, 1) == nil {
				t.Errorf("%d: a %s frame passes", size, name)
			}
		}
		if err := QuickCheck(f1, f1, 1); err != nil {
			t.Error(err)
		}
	}
}

// TestDecoders runs every decoder over one and a half passes of every
// stream, whole and in 7-byte reads. goframe is allowed to fail in 7-byte
// reads (it reads the length with one bufio Read, which may return fewer
// than 4 bytes); the benchmark reports that as a failure.
func TestDecoders(t *testing.T) {
	for _, codec := range []Codec{U32, Uvarint} {
		for _, size := range testSizes {
			s := NewStream(codec, size)
			for _, impl := range Decoders(codec) {
				for _, chunk := range []int{0, 7} {
					want := impl.Want(s)
					d := impl.New(&LoopReader{Data: s.Data, Max: chunk}, s)
					err := Verify(d, impl.Kind, want, len(want)*3/2)
					switch {
					case err != nil && impl.Name == "goframe" && chunk == 7:
						t.Logf("%s/%s/%d/chunk %d fails as expected: %v", codec, impl.Name, size, chunk, err)
					case err != nil:
						t.Errorf("%s/%s/%d/chunk %d: %v", codec, impl.Name, size, chunk, err)
					}
				}
			}
		}
	}
}

func TestLineDecoders(t *testing.T) {
	for _, size := range []int{64, 4 << 10, 64 << 10} {
		s := NewLines(size)
		for _, impl := range LineDecoders() {
			for _, chunk := range []int{0, 7} {
				d := impl.New(&LoopReader{Data: s.Data, Max: chunk}, s)
				if err := Verify(d, impl.Kind, s.Frames, len(s.Frames)*3/2); err != nil {
					t.Errorf("%s/%d/chunk %d: %v", impl.Name, size, chunk, err)
				}
			}
		}
	}
}

// TestEncoders writes every stream with every encoder: the bytes must be
// the pre-encoded stream's, byte for byte.
func TestEncoders(t *testing.T) {
	for _, codec := range []Codec{U32, Uvarint} {
		for _, size := range testSizes {
			s := NewStream(codec, size)
			for _, mode := range []Mode{PerFrame, Batch} {
				for _, impl := range Encoders(codec, mode) {
					if err := verifyEncoder(impl, s); err != nil {
						t.Errorf("%s/%s/%s/%d: %v", codec, mode, impl.Name, size, err)
					}
				}
			}
		}
	}
}

func verifyEncoder(impl EncoderImpl, s *Stream) error {
	var out []byte
	e := impl.New(&Sink{Capture: &out})
	for _, p := range impl.Payloads(s) {
		if err := e.Encode(p); err != nil {
			return err
		}
	}
	if err := e.Flush(); err != nil {
		return err
	}
	if !bytes.Equal(out, s.Data) {
		return fmt.Errorf("wrote %d bytes that differ from the %d-byte stream", len(out), len(s.Data))
	}
	return nil
}

func TestSinkCountsDirectBytes(t *testing.T) {
	payload := make([]byte, 1<<20)
	sink := &Sink{Payload: payload}
	w := framing.NewWriter(sink, lengthprefix.U32BE, nil)
	if err := w.WriteFrame(payload); err != nil {
		t.Fatal(err)
	}
	if sink.Bytes != 4+1<<20 || sink.Direct != 1<<20 {
		t.Errorf("bytes %d, direct %d", sink.Bytes, sink.Direct)
	}
	sink.Reset()
	if _, err := sink.Write(append([]byte(nil), payload[:10]...)); err != nil || sink.Direct != 0 {
		t.Errorf("a copy counts as direct: %d", sink.Direct)
	}
}

func TestWriteSyscalls(t *testing.T) {
	a, b, closeAll, err := TCPPairs(1)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	before := WriteSyscalls()
	if before < 0 {
		t.Skip("no /proc/self/io")
	}
	for range 10 {
		if _, err := a[0].Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := WriteSyscalls() - before; n < 10 {
		t.Errorf("10 writes counted as %d system calls", n)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(b[0], buf); err != nil {
		t.Fatal(err)
	}
}

func TestIdleHeap(t *testing.T) {
	for _, impl := range ConnImpls() {
		a, b := PipePairs(200)
		per, err := IdleHeap(impl, a, b)
		ClosePairs(a, b)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.0f B/conn", impl.Name, per)
		if impl.Name == "bufio" && (per < 8<<10 || per > 9<<10) {
			t.Errorf("bufio conn holds %.0f B; two 4 KiB bufio buffers expected", per)
		}
	}
}

func TestConcurrentJudge(t *testing.T) {
	for _, impl := range ConcurrentImpls() {
		a, b, closeAll, err := TCPPairs(1)
		if err != nil {
			t.Fatal(err)
		}
		if err := runConcurrent(impl, a[0], b[0], 8, 1000); err != nil {
			t.Errorf("%s: %v", impl.Name, err)
		}
		closeAll()
	}
}

func TestConcurrentJudgeCatches(t *testing.T) {
	a, b, closeAll, err := TCPPairs(1)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	bad := map[string]func(p []byte){
		"out of order": func(p []byte) { binary.BigEndian.PutUint64(p[4:], 7) },
		"other writer": func(p []byte) { binary.BigEndian.PutUint32(p, 99) },
		"corrupt":      func(p []byte) { p[40] ^= 1 },
	}
	w := framing.NewWriter(a[0], lengthprefix.U32BE, nil)
	j := newJudge(b[0], 8)
	for name, spoil := range bad {
		p := concurrentPayload(3)
		spoil(p)
		if err := w.WriteFrame(p); err != nil {
			t.Fatal(err)
		}
		if err := j.frame(); !errors.Is(err, errJudge) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEchoServers runs every echo server with a few hundred frames on
// one and several connections, every reply compared byte for byte.
func TestEchoServers(t *testing.T) {
	for _, srv := range EchoServers() {
		addr, stop, err := srv.Start()
		if err != nil {
			t.Fatalf("%s: %v", srv.Name, err)
		}
		for _, conns := range []int{1, 4} {
			for _, size := range []int{64, 4 << 10} {
				if err := Echo(addr, conns, 300, size, true); err != nil {
					t.Errorf("%s, %d conns, %d B: %v", srv.Name, conns, size, err)
				}
			}
		}
		stop()
	}
}
