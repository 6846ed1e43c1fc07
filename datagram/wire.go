package datagram

import (
	"encoding/binary"
	"fmt"
)

const (
	magic   = 0xFD
	version = 1

	// HeaderSize is the size of the header in front of the frames of every
	// datagram.
	HeaderSize = 4
	// MaxUDPPayload is the largest datagram UDP over IPv4 can carry, and
	// the largest Options.MaxDatagram.
	MaxUDPPayload = 65507
	// DefaultMaxDatagram is the size limit of the datagrams a Conn sends
	// when Options.MaxDatagram is zero: the IPv6 minimum MTU (1280) less
	// the IPv6 and UDP headers, so that no path fragments them.
	DefaultMaxDatagram = 1232
	// DefaultReadBuffer is the receive buffer of a Conn when
	// Options.ReadBuffer is zero: larger than any UDP datagram, so that
	// none is truncated.
	DefaultReadBuffer = 64 << 10
)

// uvarintLen is the length of the minimal unsigned varint of n >= 0.
func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// encodedSize is the size of a frame with a payload of n bytes.
func encodedSize(n int) int { return uvarintLen(n) + n }

// maxPayload is the largest payload that fits alone in a datagram of at most
// max bytes.
func maxPayload(max int) int {
	room := max - HeaderSize
	n := room - uvarintLen(room)
	for n > 0 && encodedSize(n+1) <= room {
		n++
	}
	if n < 0 {
		return -1
	}
	return n
}

// startDatagram appends an empty datagram's header to d.
func startDatagram(d []byte) []byte { return append(d, magic, version, 0, 0) }

// appendFrame appends one frame to a datagram being built.
func appendFrame(d, p []byte) []byte {
	d = binary.AppendUvarint(d, uint64(len(p)))
	return append(d, p...)
}

// seal fills in the size of a datagram built by startDatagram and
// appendFrame; len(d) must not exceed MaxUDPPayload.
func seal(d []byte) { binary.BigEndian.PutUint16(d[2:4], uint16(len(d))) }

// split appends the frames of the received datagram d to dst, as views into
// d. full reports that d filled the receive buffer, so that a datagram
// declaring more bytes than arrived was truncated by it rather than forged.
// It never panics, whatever d holds; on error it appends nothing.
func split(dst [][]byte, d []byte, full bool) ([][]byte, error) {
	if len(d) < HeaderSize {
		return dst, corrupt(0, fmt.Sprintf("%d bytes, shorter than the %d-byte header", len(d), HeaderSize))
	}
	if d[0] != magic {
		return dst, corrupt(0, fmt.Sprintf("first byte %#02x is not the magic %#02x: not a framekit datagram", d[0], magic))
	}
	if d[1] != version {
		return dst, corrupt(1, fmt.Sprintf("unsupported version %d", d[1]))
	}
	size := int(binary.BigEndian.Uint16(d[2:4]))
	switch {
	case size > len(d) && full:
		return dst, &TruncatedError{Size: size, Received: len(d)}
	case size != len(d):
		return dst, corrupt(2, fmt.Sprintf("header says %d bytes, %d arrived", size, len(d)))
	case size == HeaderSize:
		return dst, corrupt(HeaderSize, "no frame")
	}
	start := len(dst)
	for off := HeaderSize; off < len(d); {
		n, w := binary.Uvarint(d[off:])
		switch {
		case w <= 0:
			return dst[:start], corrupt(off, "malformed length varint")
		case w > 1 && d[off+w-1] == 0:
			return dst[:start], corrupt(off, "length varint is not minimal")
		case n > uint64(len(d)-off-w):
			return dst[:start], corrupt(off, fmt.Sprintf("frame of %d bytes overruns the datagram by %d", n, n-uint64(len(d)-off-w)))
		}
		off += w
		dst = append(dst, d[off:off+int(n):off+int(n)])
		off += int(n)
	}
	return dst, nil
}

func corrupt(off int, reason string) *CorruptError {
	return &CorruptError{Offset: off, Reason: reason}
}
