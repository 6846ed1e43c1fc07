package lengthprefix

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/framekit/framekit/framing"
)

// codecName is the Codec of every ConfigError from this package.
const codecName = "lengthprefix"

// maxInt is the largest int, as an int64 (2^31-1 on 32-bit platforms).
const maxInt = int64(math.MaxInt)

// ByteOrder is the byte order of a length field.
type ByteOrder int

const (
	// BigEndian is network byte order, most significant byte first. It is
	// the zero value, and Netty's default.
	BigEndian ByteOrder = iota
	// LittleEndian puts the least significant byte first.
	LittleEndian
)

// String returns "BigEndian" or "LittleEndian".
func (o ByteOrder) String() string {
	switch o {
	case BigEndian:
		return "BigEndian"
	case LittleEndian:
		return "LittleEndian"
	}
	return fmt.Sprintf("ByteOrder(%d)", int(o))
}

// Config describes a frame made of a fixed header that holds a length
// field, followed by a body; see the package documentation for diagrams.
// A frame whose field holds L is Offset+Size+L+Adjust bytes long.
type Config struct {
	// Offset is the number of header bytes before the length field
	// (Netty's lengthFieldOffset).
	Offset int
	// Size is the length field's width in bytes: 1, 2, 3, 4 or 8
	// (lengthFieldLength).
	Size int
	// Order is the length field's byte order; the zero value is BigEndian.
	Order ByteOrder
	// Adjust is added to the field's value to get the number of bytes
	// after the field (Netty's decoder lengthAdjustment): the frame is
	// Offset+Size+L+Adjust bytes. It is negative when L counts header bytes
	// too, positive when header bytes after the field are not counted.
	Adjust int
	// IncludesHeader says that L counts the whole frame, header included:
	// it is a shorthand for Adjust = -(Offset+Size), and an error together
	// with a non-zero Adjust. With Offset 0 it is Netty's
	// LengthFieldPrepender with lengthIncludesLengthFieldLength.
	IncludesHeader bool
	// Strip is the number of bytes removed from the front of the frame
	// before it is returned (initialBytesToStrip). 0 keeps the header;
	// Offset+Size removes it. It may not go beyond the fixed part of the
	// frame, Offset+Size plus a positive Adjust.
	Strip int
	// Signed says the field is a two's complement integer, as Kafka's
	// int32 sizes: a negative value is a corrupt frame, and the largest
	// length is halved. 8-byte fields are always read as signed, as Netty
	// reads a long: a value of 2^63 or more is corrupt.
	Signed bool
	// Varint says the length field is an unsigned LEB128 varint at Offset
	// (MQTT's remaining length) instead of a fixed-width integer: the frame
	// is Offset + (the varint's bytes) + L + Adjust bytes. Size is then the
	// most bytes the varint may take, 1 to 10 (MQTT: 4, so L is at most
	// 268,435,455); a longer one is corrupt. Order, Signed and
	// IncludesHeader do not apply, and Strip is at most Offset. The encoder
	// (Strip 0) takes the whole frame with a varint of any value and length
	// in place, and writes the minimal varint of the right value.
	Varint bool
	// Checks, when set, are checked on every frame: fixed header bytes, a
	// trailer, a checksum, a function of the caller's (see Checks).
	Checks *Checks
}

// encMode says what a layout's encoder takes.
type encMode uint8

const (
	encNone   encMode = iota // decode-only
	encWhole                 // Strip 0: the caller passes the whole frame
	encPrefix                // Offset 0, Strip = Size: the caller passes the body
)

// layout is a validated Config and the values derived from it.
type layout struct {
	cfg    Config
	off    int    // Offset
	size   int    // Size
	hdr    int    // Offset+Size, the bytes needed to read the length
	strip  int    // Strip
	little bool   // LittleEndian
	adjust int64  // Adjust, with IncludesHeader applied
	fixed  int64  // hdr + adjust: the frame is fixed + L bytes
	maxLen uint64 // the largest field value that is a length (not negative)
	enc    encMode
	plain  bool // Offset 0, Adjust 0, Strip = Size: the presets' layout, decoded on a fast path
	varint bool // the field is a varint of at most size bytes at off
	k      *checks
	tlen   int // bytes after the body (k.tlen)
	// sumTrail: a fixed-size field and Checks that are a checksum trailer
	// (and Trailer bytes) and nothing else, decoded on a fast path;
	// minTotal is then the smallest frame frameSize accepts.
	sumTrail bool
	minTotal int64
	// ieeeAt: with sumTrail, the commonest such check (a big-endian
	// CRC-32/IEEE trailer from byte ieeeAt-1 to the end of the body, no
	// Trailer bytes) checked inline; 0 otherwise.
	ieeeAt int
	// copyHead is, for Strip 0, how many bytes of the caller's frame the
	// encoder copies as the header (the varint's bytes for a varint).
	copyHead int
}

func configError(format string, args ...any) error {
	return &framing.ConfigError{Codec: codecName, Reason: fmt.Sprintf(format, args...)}
}

// newLayout validates c.
func newLayout(c Config) (layout, error) {
	l := layout{cfg: c, off: c.Offset, size: c.Size, strip: c.Strip, varint: c.Varint}
	if c.Varint {
		return newVarintLayout(c)
	}
	switch c.Size {
	case 1, 2, 3, 4, 8:
	default:
		return l, configError("Size %d: the length field must be 1, 2, 3, 4 or 8 bytes", c.Size)
	}
	switch c.Order {
	case BigEndian:
	case LittleEndian:
		l.little = true
	default:
		return l, configError("Order %d: must be BigEndian or LittleEndian", int(c.Order))
	}
	if c.Offset < 0 {
		return l, configError("Offset %d is negative", c.Offset)
	}
	if int64(c.Offset) > maxInt-int64(c.Size) {
		return l, configError("Offset %d is too large: the header would not fit in an int", c.Offset)
	}
	if c.Strip < 0 {
		return l, configError("Strip %d is negative", c.Strip)
	}
	l.hdr = c.Offset + c.Size
	hdr := int64(l.hdr)
	l.adjust = int64(c.Adjust)
	if c.IncludesHeader {
		if c.Adjust != 0 {
			return l, configError("IncludesHeader with Adjust %d: IncludesHeader already means Adjust = -(Offset+Size) = %d; set one or the other", c.Adjust, -hdr)
		}
		l.adjust = -hdr
	}

	switch {
	case c.Size == 8:
		l.maxLen = math.MaxInt64
	case c.Signed:
		l.maxLen = 1<<(8*c.Size-1) - 1
	default:
		l.maxLen = 1<<(8*c.Size) - 1
	}
	// A frame is hdr + L + adjust bytes with L + adjust >= 0; the smallest
	// is hdr + max(adjust, 0), the largest hdr + maxLen + adjust.
	if l.adjust > 0 && l.adjust > maxInt-hdr {
		return l, configError("Adjust %d makes the smallest frame larger than the largest int (%d bytes)", l.adjust, maxInt)
	}
	if l.adjust < 0 && int64(l.maxLen)+l.adjust < 0 { // no overflow: opposite signs
		what := "Adjust"
		if c.IncludesHeader {
			what = "IncludesHeader, Adjust"
		}
		return l, configError("%s %d makes every frame corrupt: the largest value of %s is %d, so the adjusted length would always be negative", what, l.adjust, l.fieldName(), l.maxLen)
	}
	if s := int64(c.Strip) - hdr; s > 0 && s > l.adjust {
		return l, configError("Strip %d goes beyond the fixed part of the header (%d bytes: Offset %d + Size %d + Adjust %d)", c.Strip, hdr+max(l.adjust, 0), c.Offset, c.Size, max(l.adjust, 0))
	}
	l.fixed = hdr + l.adjust

	switch {
	case c.Strip == 0:
		l.enc = encWhole
	case c.Offset == 0 && c.Strip == c.Size:
		l.enc = encPrefix
	}
	l.plain = c.Offset == 0 && l.adjust == 0 && c.Strip == c.Size && c.Checks == nil
	l.copyHead = l.hdr
	return l, l.addChecks()
}

// addChecks validates Config.Checks against the rest of the layout.
func (l *layout) addChecks() error {
	c := l.cfg.Checks
	if c == nil {
		return nil
	}
	k, err := newChecks(c, l)
	if err != nil {
		return err
	}
	for _, f := range k.fixed {
		if !l.varint && f.Offset < l.hdr && f.Offset+len(f.Bytes) > l.off {
			return configError("Fixed at offset %d overlaps the length field (bytes %d to %d)", f.Offset, l.off, l.hdr-1)
		}
	}
	l.k, l.tlen = k, k.tlen
	l.sumTrail = !l.varint && k.fixed == nil && k.check == nil && !k.resync && k.sum != nil && !k.sum.inHead
	l.minTotal = int64(max(l.hdr+l.tlen, l.strip))
	if s := k.sum; l.sumTrail && s.alg == CRC32IEEE && !s.little && s.n == 0 && len(k.trailer) == 0 && s.from <= l.hdr {
		l.ieeeAt = s.from + 1
	}
	if !l.varint {
		// The header the encoder copies reaches the bytes a positive
		// Adjust adds (a checksum after the length field), except those
		// the trailer accounts for.
		l.copyHead = l.hdr + int(max(0, l.adjust-int64(l.tlen)))
	}
	if int64(l.tlen) > l.adjust+int64(l.maxLen) {
		return configError("a %d-byte trailer does not fit any frame: the largest value of %s plus Adjust %d is %d", l.tlen, l.fieldName(), l.adjust, int64(l.maxLen)+l.adjust)
	}
	if (k.check != nil && k.sealFn == nil) ||
		(l.enc == encPrefix && (k.sealFn != nil || (k.sum != nil && k.sum.inHead))) {
		l.enc = encNone
	}
	return nil
}

// newVarintLayout validates a Config with a varint length.
func newVarintLayout(c Config) (layout, error) {
	l := layout{cfg: c, off: c.Offset, size: c.Size, strip: c.Strip, varint: true}
	if l.size == 0 {
		l.size = binary.MaxVarintLen64
	}
	switch {
	case l.size < 1 || l.size > binary.MaxVarintLen64:
		return l, configError("Size %d: a varint length takes 1 to 10 bytes at most", c.Size)
	case c.Order != BigEndian || c.Signed || c.IncludesHeader:
		return l, configError("Order, Signed and IncludesHeader do not apply to a varint length")
	case c.Offset < 0 || c.Offset > 1<<20:
		return l, configError("Offset %d: must be 0 to 1 MiB", c.Offset)
	case c.Strip < 0 || c.Strip > c.Offset:
		return l, configError("Strip %d: with a varint length, at most Offset (%d) bytes can be stripped", c.Strip, c.Offset)
	case c.Adjust < -(1<<20) || c.Adjust > 1<<20:
		return l, configError("Adjust %d: with a varint length, must be within 1 MiB of 0", c.Adjust)
	}
	l.hdr = c.Offset
	l.adjust = int64(c.Adjust)
	l.maxLen = math.MaxInt64 >> 1 // so that Offset + varint + L + Adjust never overflows
	if l.size < 9 {
		l.maxLen = 1<<(7*l.size) - 1
	}
	if l.adjust < 0 && int64(l.maxLen)+l.adjust < 0 {
		return l, configError("Adjust %d makes every frame corrupt: a %d-byte varint holds at most %d", l.adjust, l.size, l.maxLen)
	}
	l.fixed = int64(c.Offset) + l.adjust
	if c.Strip == 0 {
		l.enc = encWhole
	}
	return l, l.addChecks()
}

// fieldName describes the length field, for messages: "a 2-byte unsigned
// length field".
func (l *layout) fieldName() string {
	if l.varint {
		return fmt.Sprintf("a varint length field of at most %d bytes", l.size)
	}
	if l.size == 8 {
		return "an 8-byte signed length field"
	}
	s := "unsigned"
	if l.cfg.Signed {
		s = "signed"
	}
	return fmt.Sprintf("a %d-byte %s length field", l.size, s)
}

// field reads the length field in b, which is l.size bytes long.
func (l *layout) field(b []byte) uint64 {
	if l.little {
		switch l.size {
		case 1:
			return uint64(b[0])
		case 2:
			return uint64(binary.LittleEndian.Uint16(b))
		case 3:
			return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
		case 4:
			return uint64(binary.LittleEndian.Uint32(b))
		default:
			return binary.LittleEndian.Uint64(b)
		}
	}
	switch l.size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 3:
		return uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	default:
		return binary.BigEndian.Uint64(b)
	}
}

// putField writes v into the length field b, which is l.size bytes long.
func (l *layout) putField(b []byte, v uint64) {
	if l.little {
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		return
	}
	for i := range b {
		b[len(b)-1-i] = byte(v >> (8 * i))
	}
}

// frameSize reads the header at the start of buf: the frame's total size
// in bytes, or need > 0 bytes to buffer before the header is complete.
// limit only fills in the error for a frame too large to represent.
func (l *layout) frameSize(buf []byte, limit int) (total int64, need int, err error) {
	if l.k != nil && l.k.fixed != nil {
		if err := l.k.fixedOK(buf); err != nil {
			return 0, 0, err
		}
	}
	hdr, fixed := l.hdr, l.fixed
	var raw uint64
	if l.varint {
		if len(buf) <= l.off {
			return 0, l.off + 1, nil
		}
		v, n, err := l.readVarint(buf[l.off:])
		if err != nil || n == 0 {
			return 0, len(buf) + 1, err
		}
		raw, hdr, fixed = v, l.off+n, fixed+int64(n)
	} else {
		if len(buf) < l.hdr {
			return 0, l.hdr, nil
		}
		raw = l.field(buf[l.off:l.hdr])
		if raw > l.maxLen {
			return 0, 0, l.negativeField(raw)
		}
	}
	n := int64(raw)
	if fixed > 0 && n > math.MaxInt64-fixed {
		// The frame is 2^63 bytes or more: far over any limit, and too
		// long even to skip.
		size := int64(-1)
		if f := fixed - int64(l.strip) - int64(l.tlen); f <= 0 || n <= math.MaxInt64-f {
			size = n + f
		}
		return 0, 0, &framing.FrameTooLargeError{Size: size, Limit: limit}
	}
	total = n + fixed
	if total < int64(hdr) {
		return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf(
			"adjusted length %d is negative: length field %d plus Adjust %d leaves the frame shorter than its %d-byte header",
			n+l.adjust, n, l.adjust, hdr)}
	}
	if l.k != nil {
		min := int64(hdr + l.tlen)
		if s := l.k.sum; s != nil && s.inHead {
			min = int64(max(hdr, s.at+s.w) + l.tlen)
		}
		if total < min {
			return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf(
				"frame of %d bytes (length field %d) is shorter than its header and trailer (%d bytes)", total, n, min)}
		}
	}
	if total < int64(l.strip) {
		// Unreachable for a validated Config (Strip is at most
		// Offset+Size+max(Adjust, 0), the smallest frame); kept so that no
		// input can ever give Start > End.
		return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf(
			"frame of %d bytes (length field %d) is shorter than the %d bytes to strip", total, n, l.strip)}
	}
	return total, 0, nil
}

// readVarint reads the varint length at the start of b: its value and
// length n, n 0 while it is incomplete.
func (l *layout) readVarint(b []byte) (v uint64, n int, err error) {
	var shift uint
	for i, c := range b {
		if i == l.size {
			break
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, 0, &framing.CorruptError{Reason: "varint length overflows 64 bits"}
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if v > l.maxLen {
				return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("varint length %d is larger than %d", v, l.maxLen)}
			}
			return v, i + 1, nil
		}
		shift += 7
	}
	if len(b) >= l.size {
		return 0, 0, &framing.CorruptError{Reason: fmt.Sprintf("varint length longer than %d bytes", l.size)}
	}
	return 0, 0, nil
}

// negativeField reports a field value above maxLen, which is negative as a
// signed number.
func (l *layout) negativeField(raw uint64) error {
	bits := 8 * l.size
	v := int64(raw) // exact for 8 bytes
	if bits < 64 {
		v = int64(raw) - 1<<bits
	}
	return &framing.CorruptError{Reason: fmt.Sprintf("negative length %d in %s", v, l.fieldName())}
}

// length returns the field value for a frame with n bytes after the length
// field, and whether the field can hold it.
func (l *layout) length(n int64) (uint64, bool) {
	if l.adjust >= 0 {
		if n < l.adjust {
			return 0, false
		}
		v := uint64(n - l.adjust)
		return v, v <= l.maxLen
	}
	if n > int64(l.maxLen)+l.adjust { // no overflow: opposite signs
		return 0, false
	}
	return uint64(n - l.adjust), true // at most maxLen
}

// satAdd is a + b for b >= 0, saturated at 2^63-1.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// payloadError explains why the field cannot describe n bytes after the
// length field; size is the length of what the caller passed.
func (l *layout) payloadError(size int, n int64) error {
	// The field describes n in [lo, hi]; the caller passes n bytes, or
	// n + hdr with the whole frame.
	lo := max(l.adjust, 0)
	hi := int64(l.maxLen) + l.adjust // no overflow when adjust <= 0
	if l.adjust > 0 {
		hi = satAdd(int64(l.maxLen), l.adjust)
	}
	what := "payloads"
	if l.enc == encWhole {
		what = "frames (header included)"
		lo += int64(l.hdr)
		hi = satAdd(hi, int64(l.hdr))
		n += int64(l.hdr)
	}
	if n < lo {
		return &framing.PayloadError{Size: size, Reason: fmt.Sprintf(
			"too short: with Adjust %d, this layout takes %s of at least %d bytes", l.adjust, what, lo)}
	}
	return &framing.PayloadError{Size: size, Reason: fmt.Sprintf(
		"too long for %s, which takes %s of at most %d bytes", l.fieldName(), what, hi)}
}

// check validates a payload (the whole frame with Strip 0, the trailer
// excluded) and returns its length field value and how many of its bytes
// the header replaces.
func (l *layout) check(p []byte) (v uint64, skip int, err error) {
	n := int64(len(p) + l.tlen)
	switch {
	case l.varint:
		if len(p) <= l.off {
			return 0, 0, &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(
				"shorter than the %d header bytes and a varint: this codec takes the whole frame, header included", l.off+1)}
		}
		old := 0
		for old < len(p)-l.off && old < l.size && p[l.off+old] >= 0x80 {
			old++
		}
		if old == len(p)-l.off || old == l.size {
			return 0, 0, &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(
				"the bytes at offset %d are not a varint of at most %d bytes (the length's place)", l.off, l.size)}
		}
		skip = l.off + old + 1
		n = int64(len(p) - skip + l.tlen)
	case l.enc == encWhole:
		if len(p) < l.copyHead {
			return 0, 0, &framing.PayloadError{Size: len(p), Reason: fmt.Sprintf(
				"shorter than the %d-byte header: this codec takes the whole frame, header included", l.copyHead)}
		}
		skip = l.copyHead
		n -= int64(l.hdr)
	}
	v, ok := l.length(n)
	if !ok {
		return 0, 0, l.payloadError(len(p), n)
	}
	return v, skip, nil
}

// appendHeader implements AppendHeader for an encoding layout.
func (l *layout) appendHeader(dst, p []byte) ([]byte, int, error) {
	if n := uint64(len(p)); l.plain && n <= l.maxLen {
		// The presets' layout: the length is the payload's, written
		// directly (a third of the cost of a small buffered frame).
		switch {
		case l.size == 1:
			return append(dst, byte(n)), 0, nil
		case l.size == 2 && !l.little:
			return binary.BigEndian.AppendUint16(dst, uint16(n)), 0, nil
		case l.size == 4 && !l.little:
			return binary.BigEndian.AppendUint32(dst, uint32(n)), 0, nil
		case l.size == 4:
			return binary.LittleEndian.AppendUint32(dst, uint32(n)), 0, nil
		case l.size == 8 && !l.little:
			return binary.BigEndian.AppendUint64(dst, n), 0, nil
		}
	}
	v, skip, err := l.check(p)
	if err != nil {
		return dst, 0, err
	}
	start := len(dst)
	switch {
	case l.varint:
		dst = append(dst, p[:l.off]...)
		dst = binary.AppendUvarint(dst, v)
	case l.enc == encWhole:
		dst = append(dst, p[:skip]...)
		l.putField(dst[start+l.off:start+l.hdr], v)
	default:
		var zero [8]byte
		dst = append(dst, zero[:l.size]...)
		l.putField(dst[start:], v)
	}
	if l.k != nil {
		l.k.seal(dst[start:], p[skip:])
	}
	return dst, skip, nil
}

// appendTrailer implements AppendTrailer: the checksum trailer and the
// fixed trailer, for a payload appendHeader accepted.
func (l *layout) appendTrailer(dst, p []byte) []byte {
	if l.k == nil || l.tlen == 0 {
		return dst
	}
	if s := l.k.sum; s != nil && !s.inHead {
		// The checksum may cover the header: build it again.
		var b [64]byte
		head, skip, _ := l.appendHeader(b[:0], p)
		return l.k.appendTrailer(dst, head, p[skip:])
	}
	_, skip, _ := l.check(p)
	return l.k.appendTrailer(dst, nil, p[skip:])
}

// appendFrame implements AppendFrame for an encoding layout: the header,
// then the rest of the payload, then the trailer.
func (l *layout) appendFrame(dst, p []byte) ([]byte, error) {
	start := len(dst)
	dst, skip, err := l.appendHeader(dst, p)
	if err != nil {
		return dst, err
	}
	hlen := len(dst) - start
	dst = append(dst, p[skip:]...)
	if l.k != nil && l.tlen > 0 {
		dst = l.k.appendTrailer(dst, dst[start:start+hlen], p[skip:])
	}
	return dst, nil
}

// A Decoder decodes one length-field layout. It is built by NewDecoder, is
// immutable, and is safe for concurrent use by any number of Readers.
type Decoder struct {
	l layout
}

// NewDecoder returns a Decoder for any valid layout, including the ones
// that have no encoder. An invalid Config gives a *framing.ConfigError.
func NewDecoder(c Config) (*Decoder, error) {
	l, err := newLayout(c)
	if err != nil {
		return nil, err
	}
	return &Decoder{l: l}, nil
}

// Config returns the configuration the Decoder was built with.
func (d *Decoder) Config() Config { return d.l.cfg }

// Decode implements framing.Decoder; see Codec.Decode.
func (d *Decoder) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	return (*Codec)(d).Decode(buf, atEOF, st) // the same struct: Codec.Decode decodes any layout
}

// A Codec decodes and encodes one length-field layout; see the package
// documentation for what its encoder takes. It is built by New or is one of
// the presets, is immutable, and is safe for concurrent use. It implements
// framing.Codec and framing.WrapEncoder.
type Codec struct {
	l layout
}

// New returns a Codec for c. An invalid Config, or a layout that only
// NewDecoder supports (Strip neither 0 nor Size with Offset 0), gives a
// *framing.ConfigError.
func New(c Config) (*Codec, error) {
	l, err := newLayout(c)
	if err != nil {
		return nil, err
	}
	if l.enc == encNone {
		return nil, configError("decode-only layout: Strip %d with Offset %d and Size %d cannot be encoded "+
			"(an encoder needs Strip 0, taking the whole frame, or Offset 0 and Strip = Size, taking the body); use NewDecoder",
			c.Strip, c.Offset, c.Size)
	}
	return &Codec{l: l}, nil
}

// mustNew is New for the presets.
func mustNew(c Config) *Codec {
	cd, err := New(c)
	if err != nil {
		panic(err)
	}
	return cd
}

// Config returns the configuration the Codec was built with.
func (c *Codec) Config() Config { return c.l.cfg }

// Decode implements framing.Decoder: as soon as the header at buf[0] is
// buffered, it reports the frame's bounds with framing.NeedFrame (the
// payload is the frame minus its first Strip bytes), or, for the presets'
// layout with the whole frame buffered, the frame itself; the Reader
// compares the payload's size with its limit. A frame of 2^63 bytes or
// more is a fatal *framing.FrameTooLargeError; an impossible length is a
// *framing.CorruptError.
func (c *Codec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	// The whole decoder is in this method, not in a layout method it calls:
	// small frames in small reads call it two or three times a frame, and
	// the second call level cost more than the fast path below.
	l := &c.l
	if l.plain && len(buf) >= l.hdr {
		// The common layout, a length then that many bytes, whose end fits
		// an int: the result is built here, without the general path's
		// intermediate values (a third of the cost of a small frame).
		var n uint64
		if l.hdr == 4 && !l.little {
			n = uint64(binary.BigEndian.Uint32(buf)) // the most common field, read inline
		} else {
			n = l.field(buf[:l.hdr])
		}
		if n <= l.maxLen && n <= uint64(maxInt-int64(l.hdr)) {
			t := l.hdr + int(n)
			if len(buf) >= t {
				return framing.Frame(l.hdr, t, t), nil
			}
			return framing.NeedFrame(l.hdr, int64(t), int64(t)), nil
		}
	}
	if l.sumTrail && len(buf) >= l.hdr {
		// A checksum trailer and nothing else to check: the header is
		// read and the checksum compared here, with one call into
		// hash/crc32, without the general path's layers (their cost is
		// what a CRC-32 trailer adds to hash/crc32's; bench/RESULTS.md,
		// issue 18). Anything unusual (a frame too short or too long for
		// this path, a mismatch) goes on to the general path, which finds
		// the same and says why.
		n := l.field(buf[l.off:l.hdr])
		if n <= l.maxLen && int64(n) <= maxInt-max(l.fixed, 0) {
			t := int64(n) + l.fixed
			if t >= l.minTotal {
				end := t - int64(l.tlen)
				if int64(len(buf)) < t {
					return framing.NeedFrame(l.strip, end, t).Checked(), nil
				}
				if l.ieeeAt > 0 {
					// The checked range starts in the header, so it fits.
					if f := buf[:t]; crc32.ChecksumIEEE(f[l.ieeeAt-1:end]) == binary.BigEndian.Uint32(f[end:]) {
						return framing.Frame(l.strip, int(end), int(t)), nil
					}
				} else if l.k.trailerSumOK(buf[:t]) {
					return framing.Frame(l.strip, int(end), int(t)), nil
				}
			}
		}
	}
	if l.k != nil {
		return l.decodeChecked(buf, atEOF, st)
	}
	total, need, err := l.frameSize(buf, st.Limit)
	if err != nil || need > 0 {
		return framing.Need(need), err
	}
	return framing.NeedFrame(l.strip, total, total), nil
}

// AppendFrame appends the frame for payload to dst. With Strip 0, payload
// is the whole frame, header included, and the frame is payload with its
// length field filled in (payload itself is not modified); otherwise it is
// the length field followed by payload. A payload the field cannot
// describe gives a *framing.PayloadError, and dst is returned unchanged.
func (c *Codec) AppendFrame(dst, payload []byte) ([]byte, error) {
	return c.l.appendFrame(dst, payload)
}

// AppendHeader implements framing.WrapEncoder: it validates payload,
// appends the frame's header and returns how many bytes of payload the
// header replaces. With Strip 0 that is the whole header, Offset+Size bytes,
// copied from payload with the length filled in; otherwise it appends the
// length field and skip is 0. On error it appends nothing.
func (c *Codec) AppendHeader(dst, payload []byte) (out []byte, skip int, err error) {
	return c.l.appendHeader(dst, payload)
}

// AppendTrailer implements framing.WrapEncoder: it appends the trailer
// Checks ask for (a checksum, fixed bytes), or nothing.
func (c *Codec) AppendTrailer(dst, payload []byte) []byte { return c.l.appendTrailer(dst, payload) }

var (
	_ framing.Decoder     = (*Decoder)(nil)
	_ framing.Codec       = (*Codec)(nil)
	_ framing.WrapEncoder = (*Codec)(nil)
)
