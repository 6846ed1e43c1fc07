package bench

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// Sub-benchmark names are key=value pairs, so that benchstat can put the
// implementations side by side: benchstat -col /impl.

var sizes = []int{16, 256, 4 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchDecode times impl over s, served chunk bytes per Read (0: whole).
// A full pass over the stream, compared byte for byte, comes first and is
// not timed: an implementation that decodes wrongly fails there, and is
// not timed at all. The timed loop checks every frame's length and ends.
func benchDecode(b *testing.B, s *Stream, impl DecoderImpl, chunk int) {
	want := impl.Want(s)
	d := impl.New(&LoopReader{Data: s.Data, Max: chunk}, s)
	if err := Verify(d, impl.Kind, want, len(want)); err != nil {
		b.Fatalf("FAIL %s decodes wrongly (not timed): %v", impl.Name, err)
	}
	b.SetBytes(int64(s.Size))
	b.ReportAllocs()
	b.ResetTimer()
	j := 0
	for range b.N {
		f, err := d.Next()
		if err != nil {
			b.Fatalf("FAIL %s: frame %d: %v", impl.Name, j, err)
		}
		if err := QuickCheck(f, want[j], j); err != nil {
			b.Fatalf("FAIL %s: %v", impl.Name, err)
		}
		if j++; j == len(want) {
			j = 0
		}
	}
}

func benchDecodeAll(b *testing.B, chunk int, codecs ...Codec) {
	for _, codec := range codecs {
		b.Run("codec="+string(codec), func(b *testing.B) {
			for _, size := range sizes {
				s := NewStream(codec, size)
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, impl := range Decoders(codec) {
						b.Run("impl="+impl.Name, func(b *testing.B) { benchDecode(b, s, impl, chunk) })
					}
				})
			}
		})
	}
}

// BenchmarkDecodeMem decodes with the whole stream available: each Read
// returns as much as asked.
func BenchmarkDecodeMem(b *testing.B) { benchDecodeAll(b, 0, U32, Uvarint) }

// BenchmarkDecode7 decodes the stream delivered 7 bytes per Read.
func BenchmarkDecode7(b *testing.B) { benchDecodeAll(b, 7, U32) }

// BenchmarkEncode writes frames into a sink that discards them and counts
// write calls (writes/frame) and the bytes that were copied rather than
// handed over from the caller's payload (copiedB/frame). The whole stream
// is first written untimed and compared byte for byte with the
// pre-encoded one.
func BenchmarkEncode(b *testing.B) {
	for _, codec := range []Codec{U32, Uvarint} {
		b.Run("codec="+string(codec), func(b *testing.B) {
			for _, mode := range []Mode{PerFrame, Batch} {
				b.Run("mode="+string(mode), func(b *testing.B) {
					for _, size := range sizes {
						s := NewStream(codec, size)
						b.Run("size="+sizeName(size), func(b *testing.B) {
							for _, impl := range Encoders(codec, mode) {
								b.Run("impl="+impl.Name, func(b *testing.B) { benchEncode(b, s, impl) })
							}
						})
					}
				})
			}
		})
	}
}

func benchEncode(b *testing.B, s *Stream, impl EncoderImpl) {
	if err := verifyEncoder(impl, s); err != nil {
		b.Fatalf("FAIL %s encodes wrongly (not timed): %v", impl.Name, err)
	}
	payloads := impl.Payloads(s)
	sink := &Sink{Payload: s.Backing}
	e := impl.New(sink)
	frameBytes := int64(len(s.Data) / len(payloads))
	b.SetBytes(int64(s.Size))
	b.ReportAllocs()
	b.ResetTimer()
	j := 0
	for range b.N {
		if err := e.Encode(payloads[j]); err != nil {
			b.Fatalf("FAIL %s: %v", impl.Name, err)
		}
		if j++; j == len(payloads) {
			j = 0
		}
	}
	if err := e.Flush(); err != nil {
		b.Fatalf("FAIL %s: %v", impl.Name, err)
	}
	b.StopTimer()
	if want := int64(b.N) * frameBytes; sink.Bytes != want {
		b.Fatalf("FAIL %s: wrote %d bytes for %d frames, want %d", impl.Name, sink.Bytes, b.N, want)
	}
	b.ReportMetric(float64(sink.Calls)/float64(b.N), "writes/frame")
	b.ReportMetric(float64(sink.Bytes-sink.Direct)/float64(b.N), "copiedB/frame")
}

// loopbackSizes are the frame sizes of the loopback TCP workload.
var loopbackSizes = []int{64, 64 << 10}

// BenchmarkLoopback sends frames over loopback TCP from an encoder
// goroutine to a decoder goroutine, each implementation with its own
// writer and reader. writes/frame counts the process's write system calls
// (/proc/self/io). In mode=batch, msgio and goframe, which have no
// batching, write as they do per frame.
func BenchmarkLoopback(b *testing.B) {
	for _, mode := range []Mode{PerFrame, Batch} {
		b.Run("mode="+string(mode), func(b *testing.B) {
			for _, size := range loopbackSizes {
				s := NewStream(U32, size)
				b.Run("size="+sizeName(size), func(b *testing.B) {
					readers := map[string]ConnImpl{}
					for _, c := range ConnImpls() {
						readers[c.Name] = c
					}
					// A Batch writes what framekit's Reader reads.
					readers["framekit-batch"] = readers["framekit"]
					for _, impl := range Encoders(U32, mode) {
						rd, ok := readers[impl.Name]
						if !ok {
							continue
						}
						b.Run("impl="+impl.Name, func(b *testing.B) { benchLoopback(b, s, impl, rd) })
					}
				})
			}
		})
	}
}

func benchLoopback(b *testing.B, s *Stream, enc EncoderImpl, dec ConnImpl) {
	a, c, closeAll, err := TCPPairs(1)
	if err != nil {
		b.Fatal(err)
	}
	defer closeAll()
	e := enc.New(a[0])
	d := dec.Wrap(c[0])
	send := func(n int) chan error {
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if err := e.Encode(s.Frames[i%len(s.Frames)]); err != nil {
					a[0].Close()
					done <- err
					return
				}
			}
			done <- e.Flush()
		}()
		return done
	}
	receive := func(n int, check func([]byte, []byte, int) error) error {
		for i := range n {
			f, err := d.ReadFrame()
			if err != nil {
				return fmt.Errorf("frame %d: %w", i, err)
			}
			if err := check(f, s.Frames[i%len(s.Frames)], i); err != nil {
				return err
			}
		}
		return nil
	}
	// Untimed: one pass over the stream, compared byte for byte.
	done := send(len(s.Frames))
	if err := receive(len(s.Frames), Check); err != nil {
		b.Fatalf("FAIL %s decodes wrongly (not timed): %v", enc.Name, err)
	}
	if err := <-done; err != nil {
		b.Fatalf("FAIL %s: %v", enc.Name, err)
	}
	b.SetBytes(int64(s.Size))
	b.ReportAllocs()
	sys := WriteSyscalls()
	b.ResetTimer()
	start := time.Now()
	done = send(b.N)
	err = receive(b.N, QuickCheck)
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("FAIL %s: %v", enc.Name, err)
	}
	if err := <-done; err != nil {
		b.Fatalf("FAIL %s: %v", enc.Name, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
	if sys >= 0 {
		b.ReportMetric(float64(WriteSyscalls()-sys)/float64(b.N), "writes/frame")
	}
}

// concurrentWriters is the number of goroutines of the concurrent writers
// workload.
const concurrentWriters = 64

// BenchmarkConcurrentWriters has 64 goroutines write 64-byte frames on one
// loopback TCP conn; one hand-written reader (the same for every
// implementation) checks that each writer's frames arrive whole and in
// order. impl=mutex is one system call per frame: a mutex around one Write.
func BenchmarkConcurrentWriters(b *testing.B) {
	b.Run("size="+sizeName(ConcurrentSize), func(b *testing.B) {
		for _, impl := range ConcurrentImpls() {
			b.Run("impl="+impl.Name, func(b *testing.B) {
				a, c, closeAll, err := TCPPairs(1)
				if err != nil {
					b.Fatal(err)
				}
				defer closeAll()
				b.SetBytes(ConcurrentSize)
				b.ReportAllocs()
				sys := WriteSyscalls()
				b.ResetTimer()
				start := time.Now()
				err = runConcurrent(impl, a[0], c[0], concurrentWriters, b.N)
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatalf("FAIL %s: %v", impl.Name, err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
				if sys >= 0 {
					b.ReportMetric(float64(WriteSyscalls()-sys)/float64(b.N), "writes/frame")
				}
			})
		}
	})
}

func benchLines(b *testing.B, chunk int, lineSizes ...int) {
	for _, size := range lineSizes {
		s := NewLines(size)
		b.Run("size="+sizeName(size), func(b *testing.B) {
			for _, impl := range LineDecoders() {
				b.Run("impl="+impl.Name, func(b *testing.B) { benchDecode(b, s, impl, chunk) })
			}
		})
	}
}

// BenchmarkLines reads lines with the whole stream available.
func BenchmarkLines(b *testing.B) { benchLines(b, 0, 64, 4<<10) }

// BenchmarkLines7 reads lines of 16 B to 1 MiB delivered 7 bytes per Read.
func BenchmarkLines7(b *testing.B) { benchLines(b, 7, 16, 256, 4<<10, 1<<20) }

// BenchmarkIdleHeap measures the heap each idle framed connection holds
// beyond its raw conn (B/conn), 10,000 over net.Pipe and 2,000 over
// loopback TCP; see IdleHeap. Its time per op is the setup's and means
// nothing; run it with -benchtime 1x.
func BenchmarkIdleHeap(b *testing.B) {
	for _, network := range []struct {
		name  string
		conns int
		pairs func(n int) ([]net.Conn, []net.Conn, func(), error)
	}{
		{"pipe", 10000, func(n int) ([]net.Conn, []net.Conn, func(), error) {
			a, c := PipePairs(n)
			return a, c, func() { ClosePairs(a, c) }, nil
		}},
		{"tcp", 2000, TCPPairs},
	} {
		b.Run("net="+network.name, func(b *testing.B) {
			for _, impl := range ConnImpls() {
				b.Run("impl="+impl.Name, func(b *testing.B) {
					var sum float64
					for range b.N {
						a, c, closeAll, err := network.pairs(network.conns)
						if err != nil {
							b.Fatal(err)
						}
						per, err := IdleHeap(impl, a, c)
						closeAll()
						if err != nil {
							b.Fatalf("FAIL %s: %v", impl.Name, err)
						}
						sum += per
					}
					b.ReportMetric(sum/float64(b.N), "B/conn")
				})
			}
		})
	}
}

// BenchmarkEcho measures pipelined request/response over loopback TCP:
// clients on conns connections send u32 frames through buffered writers
// while reading the replies, and each server echoes every frame (see
// EchoServers). ns/op is per frame echoed; frames/s counts them.
func BenchmarkEcho(b *testing.B) {
	for _, conns := range []int{1, 4, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			for _, size := range []int{64, 4 << 10} {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, srv := range EchoServers() {
						b.Run("impl="+srv.Name, func(b *testing.B) {
							addr, stop, err := srv.Start()
							if err != nil {
								b.Fatal(err)
							}
							defer stop()
							if err := Echo(addr, conns, 4*conns, size, true); err != nil {
								b.Fatalf("FAIL %s (not timed): %v", srv.Name, err)
							}
							b.SetBytes(int64(size))
							b.ReportAllocs()
							b.ResetTimer()
							start := time.Now()
							err = Echo(addr, conns, max(b.N, conns), size, false)
							elapsed := time.Since(start)
							b.StopTimer()
							if err != nil {
								b.Fatalf("FAIL %s: %v", srv.Name, err)
							}
							b.ReportMetric(float64(max(b.N, conns))/elapsed.Seconds(), "frames/s")
						})
					}
				})
			}
		})
	}
}
