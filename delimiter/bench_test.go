package delimiter

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/framekit/framekit/framing"
)

// loopReader serves data over and over, at most max bytes per Read (0: as
// much as asked).
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
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func benchLines(b *testing.B, size, chunk int) {
	line := append(bytes.Repeat([]byte("x"), size), '\n')
	data := line
	for len(data) < 1<<20 {
		data = append(data, line...)
	}
	r := framing.NewReader(&loopReader{data: data, max: chunk}, Lines, &framing.Options{MaxFrameSize: 8 << 20})
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if f, err := r.ReadFrame(); err != nil || len(f) != size {
			b.Fatal(len(f), err)
		}
	}
}

// BenchmarkLines7: lines delivered 7 bytes per Read; the time per byte must
// not grow with the line (nothing is rescanned).
func BenchmarkLines7(b *testing.B) {
	for _, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", n>>10), func(b *testing.B) { benchLines(b, n, 7) })
	}
}

// BenchmarkLines: lines read with the whole stream available.
func BenchmarkLines(b *testing.B) {
	for _, n := range []int{64, 4 << 10} {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) { benchLines(b, n, 0) })
	}
}
