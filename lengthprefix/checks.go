package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/framekit/framekit/framing"
)

// Checks are what a frame must hold besides a sane length: fixed header
// bytes, a trailer, a checksum, a check of the caller's own. Set
// Config.Checks to a Checks value; New and NewDecoder copy it, so changing
// it afterwards changes no codec.
//
// A frame that fails a check is corrupt: a *framing.CorruptError at the
// frame's offset, Fatal (the length field itself may be what is wrong, so
// nothing after it can be trusted), unless Resync is set.
type Checks struct {
	// Fixed are bytes the header must hold on every frame (BGP's marker of
	// sixteen 0xFF, TPKT's version 3, a magic number). Each must end within
	// the header: Offset+Size, or Offset when the length is a varint. The
	// decoder checks them as soon as they are buffered; the encoder writes
	// them into its copy of the caller's header.
	Fixed []Fixed
	// Trailer are bytes every frame ends with (AMQP's frame-end 0xCE),
	// after a Checksum placed as a trailer. They are part of the frame's
	// length like any byte after the field (AMQP: Adjust 1), are checked,
	// are not returned, and the encoder appends them.
	Trailer []byte
	// Checksum is a CRC checked on every frame; see Checksum.
	Checksum *Checksum
	// Check, when set, is called with every whole frame (header and
	// trailer included) once it is buffered, after the other checks; an
	// error makes the frame corrupt (its text is the reason). It must not
	// keep or modify the frame.
	Check func(frame []byte) error
	// Seal, when set, fills what Check checks on encoding: it is called
	// with the frame's header as the encoder wrote it (modifiable: the
	// fixed part of the header, Offset+Size plus a positive Adjust, or the
	// bytes before the varint and the varint) and the bytes that follow it
	// up to the trailer. A layout with Check and no Seal is decode-only.
	Seal func(head, body []byte)
	// Resync makes a frame that fails a check (or whose header is
	// impossible) a Rejected error instead of a Fatal one: the decoder
	// drops its first byte and the bytes after it up to the next position
	// where a header parses, within the limit, and passes the header's
	// checks; that position is then decoded as a frame (which may fail in
	// turn). Each error's CorruptError.Dropped is the bytes it dropped
	// (framing.Stats.Resynced adds them up). The work is bounded: checking
	// candidate frames may examine at most 4 times the bytes the stream
	// has consumed, plus one limit; past that, resynchronising gives up
	// with a Fatal error. Off by default.
	Resync bool
}

// Fixed is a run of bytes a header holds at Offset on every frame.
type Fixed struct {
	Offset int
	Bytes  []byte
}

// Algorithm is a checksum algorithm.
type Algorithm int

const (
	// CRC32IEEE is CRC-32 (ISO-HDLC, as zlib, Ethernet and hash/crc32's
	// IEEE table): the check value of "123456789" is 0xCBF43926. 4 bytes.
	CRC32IEEE Algorithm = iota + 1
	// CRC32C is CRC-32C (Castagnoli, as iSCSI, SCTP, ext4): the check
	// value of "123456789" is 0xE3069283. 4 bytes.
	CRC32C
	// CRC16CCITT is CRC-16/CCITT-FALSE (CRC-16/IBM-3740: polynomial
	// 0x1021, initial value 0xFFFF, not reflected, no final XOR): the check
	// value of "123456789" is 0x29B1. 2 bytes.
	CRC16CCITT
)

// String returns the algorithm's name.
func (a Algorithm) String() string {
	switch a {
	case CRC32IEEE:
		return "CRC-32"
	case CRC32C:
		return "CRC-32C"
	case CRC16CCITT:
		return "CRC-16/CCITT"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// width is the checksum's size in bytes.
func (a Algorithm) width() int {
	if a == CRC16CCITT {
		return 2
	}
	return 4
}

// Checksum is a CRC over a range of every frame, stored in the frame in a
// chosen byte order: as a trailer (after the body, before Checks.Trailer)
// or at an offset in the header.
type Checksum struct {
	// Algorithm is the CRC; required.
	Algorithm Algorithm
	// Order is the byte order the value is stored in.
	Order ByteOrder
	// From is the first byte covered, from the frame's start: 0 covers the
	// header too, Offset+Size (for a fixed header) only what follows it.
	From int
	// Len is the number of bytes covered; 0 covers everything from From to
	// the end of the body (the trailer is never covered). A checksum stored
	// in the header does not cover its own bytes.
	Len int
	// InHeader places the value at header offset At instead of as a
	// trailer. It must lie within the fixed part of the header (Offset+Size
	// plus a positive Adjust), and outside the length field.
	InHeader bool
	At       int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// castagnoliOrIEEE is the hash/crc32 table of a CRC-32 algorithm.
func castagnoliOrIEEE(a Algorithm) *crc32.Table {
	switch a {
	case CRC32IEEE:
		return crc32.IEEETable
	case CRC32C:
		return castagnoli
	}
	return nil
}

// crc16Table is the CRC-16/CCITT-FALSE table, most significant bit first.
var crc16Table = func() (t [256]uint16) {
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

// crc16 continues a CRC-16/CCITT-FALSE register over p.
func crc16(c uint16, p []byte) uint16 {
	for _, b := range p {
		c = c<<8 ^ crc16Table[byte(c>>8)^b]
	}
	return c
}

// sum is a validated Checksum.
type sum struct {
	alg     Algorithm
	little  bool
	from    int
	n       int // Len; 0: to the end of the body
	inHead  bool
	at, w   int
	table32 *crc32.Table
}

// over returns the checksum of a frame whose bytes up to the end of its
// body are head followed by body (the trailer is never covered), skipping
// the value's own bytes when it is in the header; ok is false when the
// range does not fit the frame.
func (s *sum) over(head, body []byte) (v uint32, ok bool) {
	total := len(head) + len(body)
	end := total
	if s.n > 0 {
		end = s.from + s.n
	}
	if s.from > end || end > total {
		return 0, false
	}
	var c uint32
	if s.alg == CRC16CCITT {
		c = 0xFFFF
	}
	if head == nil && !s.inHead {
		// Decoding a trailer checksum: one contiguous range.
		return s.update(c, body[s.from:end]), true
	}
	if s.inHead {
		c = s.feed(c, head, body, s.from, min(end, s.at))
		return s.feed(c, head, body, max(s.from, s.at+s.w), end), true
	}
	return s.feed(c, head, body, s.from, end), true
}

// feed continues the checksum c over bytes lo to hi of head followed by
// body.
func (s *sum) feed(c uint32, head, body []byte, lo, hi int) uint32 {
	if lo >= hi {
		return c
	}
	if lo < len(head) {
		c = s.update(c, head[lo:min(hi, len(head))])
	}
	if hi > len(head) {
		c = s.update(c, body[max(lo-len(head), 0):hi-len(head)])
	}
	return c
}

func (s *sum) update(c uint32, p []byte) uint32 {
	if s.alg == CRC16CCITT {
		return uint32(crc16(uint16(c), p))
	}
	return crc32.Update(c, s.table32, p)
}

// get reads a stored value.
func (s *sum) get(b []byte) uint32 {
	switch {
	case s.w == 2 && s.little:
		return uint32(binary.LittleEndian.Uint16(b))
	case s.w == 2:
		return uint32(binary.BigEndian.Uint16(b))
	case s.little:
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

// put stores v into b.
func (s *sum) put(b []byte, v uint32) {
	switch {
	case s.w == 2 && s.little:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case s.w == 2:
		binary.BigEndian.PutUint16(b, uint16(v))
	case s.little:
		binary.LittleEndian.PutUint32(b, v)
	default:
		binary.BigEndian.PutUint32(b, v)
	}
}

// checks is a validated Checks.
type checks struct {
	fixed   []Fixed
	trailer []byte
	sum     *sum
	check   func([]byte) error
	sealFn  func(head, body []byte)
	resync  bool
	tlen    int // bytes after the body: the checksum trailer and Trailer
	fixEnd  int // where the last Fixed ends
	whole   bool
}

// newChecks validates c against the layout l (whose fixed fields are set).
func newChecks(c *Checks, l *layout) (*checks, error) {
	k := &checks{check: c.Check, sealFn: c.Seal, resync: c.Resync, trailer: bytes.Clone(c.Trailer)}
	head := l.hdr // where Fixed may end
	if l.varint {
		head = l.off
	}
	for _, f := range c.Fixed {
		if f.Offset < 0 || len(f.Bytes) == 0 || f.Offset > head-len(f.Bytes) {
			return nil, configError("Fixed at offset %d (%d bytes) must be non-empty and end within the header's first %d bytes", f.Offset, len(f.Bytes), head)
		}
		k.fixed = append(k.fixed, Fixed{Offset: f.Offset, Bytes: bytes.Clone(f.Bytes)})
		k.fixEnd = max(k.fixEnd, f.Offset+len(f.Bytes))
	}
	if s := c.Checksum; s != nil {
		sm := &sum{alg: s.Algorithm, from: s.From, n: s.Len, inHead: s.InHeader, at: s.At, table32: castagnoliOrIEEE(s.Algorithm)}
		switch s.Algorithm {
		case CRC32IEEE, CRC32C, CRC16CCITT:
		default:
			return nil, configError("Checksum.Algorithm %d: must be CRC32IEEE, CRC32C or CRC16CCITT", int(s.Algorithm))
		}
		sm.w = s.Algorithm.width()
		switch s.Order {
		case BigEndian:
		case LittleEndian:
			sm.little = true
		default:
			return nil, configError("Checksum.Order %d: must be BigEndian or LittleEndian", int(s.Order))
		}
		if s.From < 0 || s.Len < 0 {
			return nil, configError("Checksum From %d and Len %d must not be negative", s.From, s.Len)
		}
		if s.InHeader {
			if l.varint {
				return nil, configError("Checksum.InHeader with a varint length: the header has no fixed place after the varint")
			}
			fixedHead := l.hdr + int(max(l.adjust, 0))
			if s.At < 0 || s.At+sm.w > fixedHead || (s.At < l.hdr && s.At+sm.w > l.off) {
				return nil, configError("Checksum.At %d: its %d bytes must lie in the fixed part of the header (%d bytes) and outside the length field", s.At, sm.w, fixedHead)
			}
		} else {
			k.tlen += sm.w
		}
		k.sum = sm
	}
	k.tlen += len(k.trailer)
	k.whole = k.sum != nil || k.check != nil || len(k.trailer) > 0
	if c.Resync && !k.whole && len(k.fixed) == 0 {
		return nil, configError("Resync without a check: nothing could tell a frame from the bytes around it")
	}
	return k, nil
}

// corrupt is a CorruptError for a check that failed.
func corrupt(format string, args ...any) *framing.CorruptError {
	return &framing.CorruptError{Reason: fmt.Sprintf(format, args...)}
}

// fixedOK checks the Fixed bytes that b holds; b may be short.
func (k *checks) fixedOK(b []byte) *framing.CorruptError {
	for _, f := range k.fixed {
		if len(b) < f.Offset+len(f.Bytes) {
			continue
		}
		if !bytes.Equal(b[f.Offset:f.Offset+len(f.Bytes)], f.Bytes) {
			return corrupt("header bytes % x at offset %d, want % x", b[f.Offset:f.Offset+len(f.Bytes)], f.Offset, f.Bytes)
		}
	}
	return nil
}

// verify checks a whole frame: its trailer, its checksum, the user's
// check.
func (k *checks) verify(frame []byte) *framing.CorruptError {
	if n := len(k.trailer); n > 0 && !bytes.Equal(frame[len(frame)-n:], k.trailer) {
		return corrupt("frame ends with % x, want % x", frame[len(frame)-n:], k.trailer)
	}
	if s := k.sum; s != nil {
		at := len(frame) - k.tlen
		if s.inHead {
			at = s.at
		}
		// The stored value is read after the bytes it covers: they bring
		// it into the cache (a trailer read first costs a miss).
		got, ok := s.over(nil, frame[:len(frame)-k.tlen])
		if !ok {
			return corrupt("frame of %d bytes is too short for its %v range", len(frame), s.alg)
		}
		want := s.get(frame[at : at+s.w])
		if got != want {
			return corrupt("%v mismatch: the frame says %#0*x, its bytes give %#0*x", s.alg, 2*s.w, want, 2*s.w, got)
		}
	}
	if k.check != nil {
		if err := k.check(frame); err != nil {
			return corrupt("check failed: %v", err)
		}
	}
	return nil
}

// trailerSumOK reports whether a whole frame passes checks that are a
// checksum trailer, then Trailer bytes: verify's verdict for such checks,
// without its error.
func (k *checks) trailerSumOK(frame []byte) bool {
	s := k.sum
	end := len(frame) - k.tlen
	lo, hi := s.from, end
	if s.n > 0 {
		hi = s.from + s.n
	}
	if lo > hi || hi > end {
		return false
	}
	var c uint32
	switch s.alg {
	case CRC32IEEE:
		c = crc32.ChecksumIEEE(frame[lo:hi])
	case CRC32C:
		c = crc32.Checksum(frame[lo:hi], castagnoli)
	default:
		c = uint32(crc16(0xFFFF, frame[lo:hi]))
	}
	return c == s.get(frame[end:end+s.w]) && bytes.Equal(frame[end+s.w:], k.trailer)
}

// seal fills, in a header the encoder wrote, what the checks need: the
// fixed bytes, the caller's Seal, a checksum in the header. body is what
// follows the header up to the trailer.
func (k *checks) seal(head, body []byte) {
	for _, f := range k.fixed {
		copy(head[f.Offset:], f.Bytes)
	}
	if k.sealFn != nil {
		k.sealFn(head, body)
	}
	if s := k.sum; s != nil && s.inHead {
		v, _ := s.over(head, body) // the range fits: the encoder validated the frame's size
		s.put(head[s.at:s.at+s.w], v)
	}
}

// appendTrailer appends the trailer of a frame whose header is head and
// whose body (up to the trailer) is body.
func (k *checks) appendTrailer(dst, head, body []byte) []byte {
	if s := k.sum; s != nil && !s.inHead {
		v, _ := s.over(head, body)
		var b [4]byte
		s.put(b[:s.w], v)
		dst = append(dst, b[:s.w]...)
	}
	return append(dst, k.trailer...)
}
