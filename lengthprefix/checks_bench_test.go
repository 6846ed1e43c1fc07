package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/framekit/framekit/framing"
)

// The targets: a CRC-32 trailer on 4 KiB frames costs no more
// than hash/crc32 over the same bytes plus 10%; CRC-16 within 10% of a
// plain table loop. bench/RESULTS.md has the figures and the command.

const benchFrame = 4 << 10

// Sinks keep the compiler from dropping a result nobody reads.
var (
	sink32 uint32
	sink16 uint16
)

var (
	benchPlain = mustNew(Config{Size: 2, Strip: 2})
	benchCRC32 = mustNew(Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC32IEEE}}})
	benchCRC16 = mustNew(Config{Size: 2, Strip: 2, Checks: &Checks{Checksum: &Checksum{Algorithm: CRC16CCITT}}})
)

// benchStream is 64 frames of 4 KiB payload framed by c.
func benchStream(b *testing.B, c *Codec) []byte {
	p := bytes.Repeat([]byte("framekit"), benchFrame/8)
	var s []byte
	for range 64 {
		var err error
		if s, err = c.AppendFrame(s, p); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchDecode pushes the stream through a Deframer, one frame an op.
func benchDecode(b *testing.B, c *Codec) {
	s := benchStream(b, c)
	d := framing.NewDeframer(c, nil)
	b.SetBytes(benchFrame)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		d.Push(s)
		for ; ; i++ {
			f, err := d.Next()
			if err == framing.ErrNeedMore {
				break
			}
			if err != nil || len(f) != benchFrame {
				b.Fatal(len(f), err)
			}
		}
	}
}

// BenchmarkCRC32Trailer4K: decoding 4 KiB frames without a check, with a
// CRC-32 trailer, and hash/crc32 alone over the bytes the trailer covers
// (the length field and the payload of each frame of the same stream).
// The trailer costs the difference of the first two; the target is that
// difference <= 1.1 x the third.
func BenchmarkCRC32Trailer4K(b *testing.B) {
	b.Run("decode-plain", func(b *testing.B) { benchDecode(b, benchPlain) })
	b.Run("decode-crc32", func(b *testing.B) { benchDecode(b, benchCRC32) })
	b.Run("hash-crc32", func(b *testing.B) {
		// The same bytes the decoder checks, in the same order: each
		// frame's length field and payload, frame after frame of the
		// 64-frame stream (so the cache sees what the decoder's does).
		s := benchStream(b, benchCRC32)
		const size = 2 + benchFrame + 4
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			at := i % 64 * size
			sink32 += crc32.ChecksumIEEE(s[at : at+size-4])
		}
	})
	b.Run("hash-check", func(b *testing.B) {
		// What a hand-written check does: hash/crc32 over the same bytes,
		// frame after frame, compared with the stored trailer, a mismatch
		// an error (so the next frame's work waits on the comparison as
		// the decoder's does).
		s := benchStream(b, benchCRC32)
		const size = 2 + benchFrame + 4
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			at := i % 64 * size
			f := s[at : at+size]
			if crc32.ChecksumIEEE(f[:size-4]) != binary.BigEndian.Uint32(f[size-4:]) {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("verify-crc32", func(b *testing.B) {
		f := benchStream(b, benchCRC32)[:2+benchFrame+4]
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if benchCRC32.l.k.verify(f) != nil {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("encode-crc32", func(b *testing.B) {
		p := bytes.Repeat([]byte("framekit"), benchFrame/8)
		dst := make([]byte, 0, 2*benchFrame)
		b.SetBytes(benchFrame)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			dst, _ = benchCRC32.AppendFrame(dst[:0], p)
		}
	})
}

// tableCRC16 is the plain table loop the target compares with: the
// textbook CRC-16/CCITT-FALSE, its own table.
var tableCRC16 = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func plainCRC16(p []byte) uint16 {
	c := uint16(0xFFFF)
	for i := 0; i < len(p); i++ {
		c = c<<8 ^ tableCRC16[byte(c>>8)^p[i]]
	}
	return c
}

// BenchmarkCRC16 compares the codec's CRC-16 check of a 4 KiB frame with
// the plain table loop over the same bytes.
func BenchmarkCRC16(b *testing.B) {
	f := benchStream(b, benchCRC16)[:2+benchFrame+2]
	b.Run("verify-crc16", func(b *testing.B) {
		b.SetBytes(benchFrame)
		for range b.N {
			if benchCRC16.l.k.verify(f) != nil {
				b.Fatal("mismatch")
			}
		}
	})
	b.Run("table-loop", func(b *testing.B) {
		b.SetBytes(benchFrame)
		for range b.N {
			sink16 += plainCRC16(f[:2+benchFrame])
		}
	})
	b.Run("decode-crc16", func(b *testing.B) { benchDecode(b, benchCRC16) })
}

func TestPlainCRC16MatchesCodec(t *testing.T) {
	if got := plainCRC16([]byte("123456789")); got != 0x29B1 || crc16(0xFFFF, []byte("123456789")) != got {
		t.Errorf("plain table loop %#x, codec %#x, want 0x29b1", got, crc16(0xFFFF, []byte("123456789")))
	}
}
