package framing_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

var benchSizes = []int{16, 256, 4 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// loopReader serves a stream of whole frames over and over, at most max
// bytes per Read (0: as much as asked).
type loopReader struct {
	data []byte
	off  int
	max  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.max > 0 && len(p) > l.max {
		p = p[:l.max]
	}
	n := copy(p, l.data[l.off:])
	l.off += n
	if l.off == len(l.data) {
		l.off = 0
	}
	return n, nil
}

// encodedStream returns enough frames of size n to fill about 1 MiB (at
// least one frame), and the frame count.
func encodedStream(b *testing.B, n int) ([]byte, int) {
	count := max(1, (1<<20)/(n+4))
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i)
	}
	var out []byte
	for i := 0; i < count; i++ {
		var err error
		out, err = lengthprefix.U32BE.AppendFrame(out, payload)
		if err != nil {
			b.Fatal(err)
		}
	}
	return out, count
}

func benchRead(b *testing.B, n, chunk int) {
	stream, _ := encodedStream(b, n)
	benchFrames(b, n, framing.NewReader(&loopReader{data: stream, max: chunk}, lengthprefix.U32BE, nil))
}

// benchFrames reads b.N frames of n bytes from r.
func benchFrames(b *testing.B, n int, r interface{ ReadFrame() ([]byte, error) }) {
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := r.ReadFrame()
		if err != nil || len(f) != n {
			b.Fatalf("frame of %d bytes, %v", len(f), err)
		}
	}
}

// BenchmarkReadFrame decodes u32be frames with the whole stream available.
func BenchmarkReadFrame(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) { benchRead(b, n, 0) })
	}
}

// BenchmarkReadFrame7 decodes large frames delivered 7 bytes per Read: the
// cost per byte must stay flat as frames grow (nothing is rescanned).
func BenchmarkReadFrame7(b *testing.B) {
	for _, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		b.Run(sizeName(n), func(b *testing.B) { benchRead(b, n, 7) })
	}
}

type discard struct{ calls int }

func (d *discard) Write(p []byte) (int, error) { d.calls++; return len(p), nil }

func (d *discard) WriteBuffers(v *net.Buffers) (int64, error) {
	d.calls++
	var n int64
	for _, p := range *v {
		n += int64(len(p))
	}
	*v = nil
	return n, nil
}

// benchWrite writes frames of n bytes with write, then flushes.
func benchWrite(b *testing.B, n int, write func(*framing.Writer, []byte) error) {
	var d discard
	w := framing.NewWriter(&d, lengthprefix.U32BE, nil)
	payload := make([]byte, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := write(w, payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.calls)/float64(b.N), "writes/frame")
}

// BenchmarkWriteFrame writes u32be frames to a vectored sink, one write per
// frame.
func BenchmarkWriteFrame(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) { benchWrite(b, n, (*framing.Writer).WriteFrame) })
	}
}

// BenchmarkBufferFrame encodes u32be frames in buffered mode.
func BenchmarkBufferFrame(b *testing.B) {
	for _, n := range benchSizes[:3] {
		b.Run(sizeName(n), func(b *testing.B) { benchWrite(b, n, (*framing.Writer).BufferFrame) })
	}
}

// optionVariants are the opt-in features priced by the options benchmarks.
var optionVariants = []struct {
	name string
	opts func() *framing.Options
}{
	{"off", func() *framing.Options { return nil }},
	{"stats", func() *framing.Options { return &framing.Options{Stats: new(framing.Stats)} }},
	{"guard", func() *framing.Options { return &framing.Options{FrameTimeout: time.Hour, MinRate: 1} }},
	{"budget", func() *framing.Options { return &framing.Options{Budget: framing.NewBudget(1 << 30)} }},
	{"all", func() *framing.Options {
		return &framing.Options{Stats: new(framing.Stats), FrameTimeout: time.Hour, MinRate: 1, Budget: framing.NewBudget(1 << 30)}
	}},
}

// loopConn is a net.Conn that reads a loopReader; deadlines are recorded
// and never fire.
type loopConn struct {
	loopReader
	net.Conn // nil: only what the Reader uses is implemented
	dl       time.Time
}

func (c *loopConn) Read(p []byte) (int, error)        { return c.loopReader.Read(p) }
func (c *loopConn) SetReadDeadline(t time.Time) error { c.dl = t; return nil }

// BenchmarkReadFrameOptions prices the opt-in features of issue 9 against
// a plain Conn (opts=off) on the same in-memory stream: counters, the
// slow-peer guard (armed once per frame that spans reads), a memory budget,
// and all of them. Compare with benchstat -col /opts.
func BenchmarkReadFrameOptions(b *testing.B) {
	variants := optionVariants
	for _, n := range []int{16, 4 << 10} {
		for _, chunk := range []int{0, 7} {
			for _, v := range variants {
				name := fmt.Sprintf("size=%s/read=%s/opts=%s", sizeName(n), map[int]string{0: "whole", 7: "7B"}[chunk], v.name)
				b.Run(name, func(b *testing.B) {
					stream, _ := encodedStream(b, n)
					benchFrames(b, n, framing.NewConn(&loopConn{loopReader: loopReader{data: stream, max: chunk}}, lengthprefix.U32BE, v.opts()))
				})
			}
		}
	}
}

// BenchmarkReadFrameOptionsTCP is BenchmarkReadFrameOptions over loopback
// TCP, where the features are meant to run: a goroutine streams encoded
// frames as fast as the socket takes them, and the Conn reads them.
func BenchmarkReadFrameOptionsTCP(b *testing.B) {
	variants := optionVariants
	for _, n := range []int{64, 4 << 10} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("size=%s/opts=%s", sizeName(n), v.name), func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer ln.Close()
				stream, _ := encodedStream(b, n)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					for {
						if _, err := c.Write(stream); err != nil {
							return
						}
					}
				}()
				nc, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				benchFrames(b, n, framing.NewConn(nc, lengthprefix.U32BE, v.opts()))
			})
		}
	}
}

// BenchmarkPush compares the push engine (Deframer) with the Reader on the
// same stream, cut into the same pieces: 16 B, 4 KiB and 1 MiB frames in
// 7 B, 1,500 B and 64 KiB pieces. Per frame.
func BenchmarkPush(b *testing.B) {
	for _, n := range []int{16, 4 << 10, 1 << 20} {
		for _, piece := range []int{7, 1500, 64 << 10} {
			data, count := encodedStream(b, n)
			name := fmt.Sprintf("size=%s/piece=%d", sizeName(n), piece)
			b.Run(name+"/impl=reader", func(b *testing.B) {
				r := framing.NewReader(&loopReader{data: data, max: piece}, lengthprefix.U32BE, nil)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := r.ReadFrame(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/impl=deframer", func(b *testing.B) {
				d := framing.NewDeframer(lengthprefix.U32BE, nil)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				off, got := 0, 0
				for got < b.N {
					end := min(off+piece, len(data))
					d.Push(data[off:end])
					if off = end; off == len(data) {
						off = 0
					}
					for got < b.N {
						if _, err := d.Next(); err != nil {
							if err != framing.ErrNeedMore {
								b.Fatal(err)
							}
							break
						}
						got++
					}
				}
				_ = count
			})
			b.Run(name+"/impl=hold", func(b *testing.B) {
				// Hold mode, as gnet's and netpoll's adapters drive it: the
				// caller keeps an incomplete frame's bytes and pushes them
				// again with the next piece.
				d := framing.NewDeframer(lengthprefix.U32BE, nil)
				d.Hold()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				lo, hi, got := 0, 0, 0
				for got < b.N {
					hi = min(hi+piece, len(data))
					d.Push(data[lo:hi])
					for got < b.N {
						if _, err := d.Next(); err != nil {
							if err != framing.ErrNeedMore {
								b.Fatal(err)
							}
							break
						}
						got++
					}
					if lo = hi - d.Held(); hi == len(data) && lo == hi {
						lo, hi = 0, 0
					}
				}
			})
		}
	}
}
