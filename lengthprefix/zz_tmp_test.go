package lengthprefix

import (
	"hash/crc32"
	"testing"

	"github.com/framekit/framekit/framing"
)

func BenchmarkZZ(b *testing.B) {
	const size = 2 + benchFrame + 4
	b.Run("decode-direct", func(b *testing.B) {
		s := benchStream(b, benchCRC32)
		var st framing.DecodeState
		st.Limit = 8 << 20
		for i := range b.N {
			at := i % 64 * size
			d, err := benchCRC32.Decode(s[at:], false, &st)
			if err != nil {
				b.Fatal(err)
			}
			_ = d
		}
	})
	b.Run("verify-walk", func(b *testing.B) {
		s := benchStream(b, benchCRC32)
		for i := range b.N {
			at := i % 64 * size
			if benchCRC32.l.k.verify(s[at:at+size]) != nil {
				b.Fatal()
			}
		}
	})
	b.Run("update-walk", func(b *testing.B) {
		s := benchStream(b, benchCRC32)
		for i := range b.N {
			at := i % 64 * size
			sink32 += crc32.Update(0, crc32.IEEETable, s[at:at+size-4])
		}
	})
	b.Run("hash-walk", func(b *testing.B) {
		s := benchStream(b, benchCRC32)
		for i := range b.N {
			at := i % 64 * size
			sink32 += crc32.ChecksumIEEE(s[at : at+size-4])
		}
	})
}
