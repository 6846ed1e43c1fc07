// Package pcap reads packet capture files, both the classic pcap format
// (microsecond and nanosecond timestamps, either byte order) and pcapng
// (any number of sections and interfaces), with the standard library only.
//
//	r, err := pcap.NewReader(f)
//	for {
//		p, err := r.Next() // p.Data is valid until the next call
//		...
//	}
//
// It writes both formats too (Writer, NGWriter), for tests and benchmarks
// that build captures.
package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Link types (LINKTYPE_* values of the tcpdump.org registry) that the
// layers package decodes.
const (
	LinkNull     = 0   // BSD loopback: a 4-byte address family in host order
	LinkEthernet = 1   // Ethernet II, 802.1Q/802.1ad tags
	LinkRaw      = 101 // raw IPv4 or IPv6
	LinkLoop     = 108 // OpenBSD loopback: the family in network order
	LinkSLL      = 113 // Linux cooked capture v1
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276 // Linux cooked capture v2
)

// MaxPacket is the largest captured packet accepted: a record claiming
// more is corrupt (the memory a reader holds is bounded by it).
const MaxPacket = 256 << 10

// A Packet is one captured packet.
type Packet struct {
	// Time is the capture time in nanoseconds since the Unix epoch.
	Time int64
	// Link is the link type of the interface the packet was captured on.
	Link int
	// Interface is the interface's index in its pcapng section (0 in a
	// pcap file); Section counts pcapng sections from 0.
	Interface, Section int
	// Data is the captured bytes, valid until the next call to Next.
	Data []byte
	// OrigLen is the packet's length on the wire: more than len(Data)
	// when the capture's snapshot length cut it.
	OrigLen int
	// Index counts packets from 1; Pos is the record's byte offset in
	// the file.
	Index int64
	Pos   int64
}

// ErrTruncated matches (errors.Is) an error for a capture file that ends
// inside a record or block.
var ErrTruncated = errors.New("capture truncated")

// ErrCorrupt matches (errors.Is) an error for bytes that are not a valid
// capture.
var ErrCorrupt = errors.New("corrupt capture")

// A FormatError says what is wrong with a capture file and where.
type FormatError struct {
	Pos    int64  // byte offset in the file of the record or block
	Packet int64  // packets read before it
	Reason string // what is wrong
	Err    error  // ErrTruncated or ErrCorrupt
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at byte %d (after packet %d): %s", e.Err, e.Pos, e.Packet, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

// A Reader reads packets from a pcap or pcapng file.
type Reader struct {
	r     *bufio.Reader
	pos   int64 // bytes read so far
	count int64
	buf   []byte
	ng    bool
	err   error // sticky

	// pcap
	order binary.ByteOrder
	nanos bool
	link  int

	// pcapng: the current section's byte order and interfaces.
	section int
	ifaces  []iface
}

type iface struct {
	link    int
	unitsNs float64 // nanoseconds per timestamp unit (0: 1000)
	perSec  uint64  // timestamp units per second, when a power of ten
	offset  int64   // if_tsoffset, in seconds
}

// Magic numbers.
const (
	magicMicros = 0xa1b2c3d4
	magicNanos  = 0xa1b23c4d
	blockSHB    = 0x0a0d0d0a
	byteOrderNG = 0x1a2b3c4d
)

// NewReader reads the file header and returns a Reader, or an error that
// says the input is no capture this package reads.
func NewReader(rd io.Reader) (*Reader, error) {
	r := &Reader{r: bufio.NewReaderSize(rd, 256<<10)}
	head, err := r.r.Peek(4)
	if err != nil {
		if err == io.EOF && len(head) == 0 {
			return nil, &FormatError{Reason: "empty file", Err: ErrTruncated}
		}
		return nil, r.short(0, "the file header", err)
	}
	le := binary.LittleEndian.Uint32(head)
	be := binary.BigEndian.Uint32(head)
	switch {
	case le == blockSHB:
		r.ng = true
		return r, nil
	case le == magicMicros || le == magicNanos:
		r.order, r.nanos = binary.LittleEndian, le == magicNanos
	case be == magicMicros || be == magicNanos:
		r.order, r.nanos = binary.BigEndian, be == magicNanos
	default:
		return nil, &FormatError{Reason: fmt.Sprintf("not a pcap or pcapng file (starts % x)", head), Err: ErrCorrupt}
	}
	h := make([]byte, 24)
	if _, err := io.ReadFull(r.r, h); err != nil {
		return nil, r.short(0, "the file header", err)
	}
	r.pos = 24
	r.link = int(r.order.Uint32(h[20:]) & 0x0fffffff) // the upper bits carry FCS information
	return r, nil
}

// short is the error for input that ended at pos inside what.
func (r *Reader) short(pos int64, what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FormatError{Pos: pos, Packet: r.count, Reason: "the file ends inside " + what, Err: ErrTruncated}
	}
	return err
}

// Next returns the next packet, io.EOF after the last one, or a
// *FormatError (sticky) for a truncated or corrupt file.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	var err error
	if r.ng {
		err = r.nextNG(p)
	} else {
		err = r.nextPcap(p)
	}
	if err != nil {
		r.err = err
		return err
	}
	r.count++
	p.Index = r.count
	return nil
}

// read reads n bytes into the reader's buffer.
func (r *Reader) read(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	m, err := io.ReadFull(r.r, b)
	r.pos += int64(m)
	return b, err
}

func (r *Reader) nextPcap(p *Packet) error {
	start := r.pos
	h, err := r.r.Peek(16)
	if len(h) == 0 && err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return r.short(start, "a record header", err)
	}
	sec, frac := r.order.Uint32(h), r.order.Uint32(h[4:])
	caplen, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if _, err := r.r.Discard(16); err != nil {
		return err
	}
	r.pos += 16
	if caplen > MaxPacket {
		return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt,
			Reason: fmt.Sprintf("a record of %d bytes (at most %d)", caplen, MaxPacket)}
	}
	data, err := r.read(int(caplen))
	if err != nil {
		return r.short(start, "a packet's data", err)
	}
	ns := int64(frac)
	if !r.nanos {
		ns *= 1000
	}
	*p = Packet{Time: int64(sec)*1e9 + ns, Link: r.link, Data: data, OrigLen: int(max(orig, caplen)), Pos: start}
	return nil
}

// Block types of pcapng.
const (
	blockIDB = 1
	blockPB  = 2 // obsolete packet block
	blockSPB = 3
	blockEPB = 6
)

func (r *Reader) nextNG(p *Packet) error {
	for {
		start := r.pos
		h, err := r.r.Peek(8)
		if len(h) == 0 && err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return r.short(start, "a block header", err)
		}
		typ := binary.LittleEndian.Uint32(h)
		if typ == blockSHB {
			if err := r.readSHB(start); err != nil {
				return err
			}
			continue
		}
		if r.order == nil {
			return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt, Reason: "no section header"}
		}
		typ = r.order.Uint32(h)
		total := r.order.Uint32(h[4:])
		if total < 12 || total%4 != 0 || total > MaxPacket+1024 {
			return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt,
				Reason: fmt.Sprintf("block of type %d with a length of %d", typ, total)}
		}
		b, err := r.read(int(total))
		if err != nil {
			return r.short(start, "a block", err)
		}
		if r.order.Uint32(b[total-4:]) != total {
			return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt, Reason: "block lengths differ"}
		}
		body := b[8 : total-4]
		ok, err := r.block(typ, body, start, p)
		if err != nil || ok {
			return err
		}
	}
}

// readSHB reads a section header block: a new byte order, no interfaces.
func (r *Reader) readSHB(start int64) error {
	h, err := r.r.Peek(12)
	if err != nil {
		return r.short(start, "a section header", err)
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(h[8:]) == byteOrderNG:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[8:]) == byteOrderNG:
		order = binary.BigEndian
	default:
		return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt, Reason: "section header with a bad byte-order magic"}
	}
	total := order.Uint32(h[4:])
	if total < 28 || total%4 != 0 || total > 1<<20 {
		return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt,
			Reason: fmt.Sprintf("section header with a length of %d", total)}
	}
	b, err := r.read(int(total))
	if err != nil {
		return r.short(start, "a section header", err)
	}
	if order.Uint32(b[total-4:]) != total {
		return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt, Reason: "block lengths differ"}
	}
	if r.order != nil {
		r.section++
	}
	r.order = order
	r.ifaces = r.ifaces[:0]
	return nil
}

// block decodes a block's body; ok says it was a packet, now in p.
func (r *Reader) block(typ uint32, body []byte, start int64, p *Packet) (ok bool, err error) {
	bad := func(reason string) error {
		return &FormatError{Pos: start, Packet: r.count, Err: ErrCorrupt, Reason: reason}
	}
	o := r.order
	switch typ {
	case blockIDB:
		if len(body) < 8 {
			return false, bad("interface description block too short")
		}
		ifc := iface{link: int(o.Uint16(body)), perSec: 1e6}
		if err := r.options(body[8:], func(code uint16, v []byte) {
			switch {
			case code == 9 && len(v) >= 1: // if_tsresol
				ifc.perSec = 0
				if v[0]&0x80 == 0 {
					ifc.unitsNs = 1e9
					pow := uint64(1)
					for i := 0; i < int(v[0]); i++ {
						ifc.unitsNs /= 10
						if pow <= 1e18 {
							pow *= 10
						}
					}
					if v[0] <= 9 {
						ifc.perSec = pow
					}
				} else {
					ifc.unitsNs = 1e9
					for i := 0; i < int(v[0]&0x7f); i++ {
						ifc.unitsNs /= 2
					}
				}
			case code == 14 && len(v) >= 8: // if_tsoffset
				ifc.offset = int64(o.Uint64(v))
			}
		}); err != nil {
			return false, bad(err.Error())
		}
		if len(r.ifaces) >= 1024 {
			return false, bad("more than 1024 interfaces in a section")
		}
		r.ifaces = append(r.ifaces, ifc)
		return false, nil
	case blockEPB, blockPB:
		if len(body) < 20 {
			return false, bad("packet block too short")
		}
		var id int
		if typ == blockEPB {
			id = int(o.Uint32(body))
		} else {
			id = int(o.Uint16(body))
		}
		ts := uint64(o.Uint32(body[4:]))<<32 | uint64(o.Uint32(body[8:]))
		caplen, orig := o.Uint32(body[12:]), o.Uint32(body[16:])
		if uint64(caplen) > uint64(len(body)-20) {
			return false, bad(fmt.Sprintf("packet of %d bytes in a block of %d", caplen, len(body)))
		}
		if id >= len(r.ifaces) {
			return false, bad(fmt.Sprintf("packet on interface %d, of %d described", id, len(r.ifaces)))
		}
		ifc := r.ifaces[id]
		*p = Packet{Time: ifc.time(ts), Link: ifc.link, Interface: id, Section: r.section,
			Data: body[20 : 20+caplen], OrigLen: int(max(orig, caplen)), Pos: start}
		return true, nil
	case blockSPB:
		if len(body) < 4 {
			return false, bad("simple packet block too short")
		}
		if len(r.ifaces) == 0 {
			return false, bad("simple packet block without an interface")
		}
		orig := int(o.Uint32(body))
		data := body[4:]
		if orig < len(data) {
			data = data[:orig]
		}
		*p = Packet{Link: r.ifaces[0].link, Section: r.section, Data: data, OrigLen: max(orig, len(data)), Pos: start}
		return true, nil
	}
	return false, nil // other blocks (statistics, name resolution, ...) say nothing about packets
}

// time converts a timestamp in the interface's units to nanoseconds.
func (ifc iface) time(ts uint64) int64 {
	off := ifc.offset * 1e9
	if ifc.perSec != 0 {
		sec, frac := ts/ifc.perSec, ts%ifc.perSec
		return off + int64(sec)*1e9 + int64(frac*1e9/ifc.perSec)
	}
	return off + int64(float64(ts)*ifc.unitsNs)
}

// options walks a pcapng options list.
func (r *Reader) options(b []byte, fn func(code uint16, v []byte)) error {
	for len(b) >= 4 {
		code, n := r.order.Uint16(b), int(r.order.Uint16(b[2:]))
		if code == 0 {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return errors.New("an option runs past its block")
		}
		fn(code, b[4:4+n])
		b = b[4+padded:]
	}
	return nil
}

// Packets returns how many packets were read.
func (r *Reader) Packets() int64 { return r.count }
