// Package layers decodes captured packets down to TCP segments: the link
// layers of package pcap's link types (Ethernet with VLAN tags, Linux
// cooked SLL and SLL2, BSD and OpenBSD loopback, raw IP), IPv4 with its
// fragments reassembled, and IPv6 (extension headers passed over,
// fragments reassembled), with the standard library only.
//
//	var d layers.Decoder
//	var seg layers.Segment
//	err := d.Decode(p.Link, p.Data, p.OrigLen, p.Time, &seg)
package layers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// A Segment is a TCP segment.
type Segment struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
	// Payload is the captured payload, valid until the next Decode.
	Payload []byte
	// Missing is how many payload bytes after Payload the capture's
	// snapshot length cut off: the segment carried len(Payload)+Missing
	// bytes.
	Missing int
}

// Errors of Decode. A packet that is not TCP (ARP, UDP, ICMP, ...) gives
// ErrNotTCP; a fragment held until its datagram is whole gives
// ErrFragment. Others are *Error.
var (
	ErrNotTCP   = errors.New("not a TCP segment")
	ErrFragment = errors.New("IP fragment held for reassembly")
)

// An Error says why a packet could not be decoded.
type Error struct {
	Layer, Reason string
}

func (e *Error) Error() string { return e.Layer + ": " + e.Reason }

func fail(layer, format string, args ...any) error {
	return &Error{Layer: layer, Reason: fmt.Sprintf(format, args...)}
}

// A Decoder decodes packets. Its zero value is ready; it holds IP
// fragments between calls (bounded: see Defrag).
type Decoder struct {
	Defrag Defrag
}

// Decode decodes a packet of the given link type, captured at now
// (nanoseconds), orig bytes long on the wire, into seg.
func (d *Decoder) Decode(link int, data []byte, orig int, now int64, seg *Segment) error {
	cut := orig - len(data) // bytes the snapshot length cut off
	var ethertype uint16
	switch link {
	case pcap.LinkEthernet:
		if len(data) < 14 {
			return fail("ethernet", "%d bytes, shorter than a header", len(data))
		}
		ethertype, data = binary.BigEndian.Uint16(data[12:]), data[14:]
		for ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100 {
			if len(data) < 4 {
				return fail("ethernet", "VLAN tag cut short")
			}
			ethertype, data = binary.BigEndian.Uint16(data[2:]), data[4:]
		}
	case pcap.LinkSLL:
		if len(data) < 16 {
			return fail("sll", "%d bytes, shorter than a header", len(data))
		}
		ethertype, data = binary.BigEndian.Uint16(data[14:]), data[16:]
	case pcap.LinkSLL2:
		if len(data) < 20 {
			return fail("sll2", "%d bytes, shorter than a header", len(data))
		}
		ethertype, data = binary.BigEndian.Uint16(data), data[20:]
	case pcap.LinkNull, pcap.LinkLoop:
		if len(data) < 4 {
			return fail("loopback", "%d bytes, shorter than a header", len(data))
		}
		fam := binary.LittleEndian.Uint32(data)
		if link == pcap.LinkLoop || fam > 0xffff { // network order, or a big-endian writer
			fam = binary.BigEndian.Uint32(data)
		}
		data = data[4:]
		switch fam {
		case 2:
			ethertype = 0x0800
		case 10, 24, 28, 30: // AF_INET6 of Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			ethertype = 0x86dd
		default:
			return ErrNotTCP
		}
	case pcap.LinkRaw, 12, 14, pcap.LinkIPv4, pcap.LinkIPv6:
		if len(data) == 0 {
			return fail("ip", "empty packet")
		}
		ethertype = 0x0800
		if data[0]>>4 == 6 {
			ethertype = 0x86dd
		}
	default:
		return fail("link", "link type %d is not supported (Ethernet, SLL, SLL2, loopback and raw IP are)", link)
	}
	switch ethertype {
	case 0x0800:
		return d.ipv4(data, cut, now, seg)
	case 0x86dd:
		return d.ipv6(data, cut, now, seg)
	}
	return ErrNotTCP
}

func (d *Decoder) ipv4(b []byte, cut int, now int64, seg *Segment) error {
	if len(b) < 20 || b[0]>>4 != 4 {
		return fail("ipv4", "bad header")
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl || len(b) < ihl {
		return fail("ipv4", "header length %d, total length %d", ihl, total)
	}
	// Link padding after the datagram is dropped; bytes the snapshot
	// length cut off are counted.
	missing := 0
	if len(b) > total {
		b = b[:total]
	} else if len(b) < total {
		missing = total - len(b)
		if cut < missing {
			return fail("ipv4", "datagram of %d bytes but %d captured", total, len(b))
		}
	}
	var src, dst [4]byte
	copy(src[:], b[12:16])
	copy(dst[:], b[16:20])
	proto := b[9]
	flags := binary.BigEndian.Uint16(b[6:])
	fragOff := int(flags&0x1fff) * 8
	more := flags&0x2000 != 0
	payload := b[ihl:]
	if more || fragOff > 0 {
		if proto != 6 {
			return ErrNotTCP
		}
		if missing > 0 {
			d.Defrag.Lost++
			return fail("ipv4", "fragment cut by the snapshot length: its datagram is lost")
		}
		key := fragKey{src: netip.AddrFrom4(src), dst: netip.AddrFrom4(dst), id: uint32(binary.BigEndian.Uint16(b[4:])), proto: proto}
		whole, ok := d.Defrag.add(key, fragOff, more, payload, now)
		if !ok {
			return ErrFragment
		}
		payload = whole
	}
	if proto != 6 {
		return ErrNotTCP
	}
	return tcp(payload, missing, netip.AddrFrom4(src), netip.AddrFrom4(dst), seg)
}

func (d *Decoder) ipv6(b []byte, cut int, now int64, seg *Segment) error {
	if len(b) < 40 || b[0]>>4 != 6 {
		return fail("ipv6", "bad header")
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	missing := 0
	if len(b)-40 > plen {
		b = b[:40+plen]
	} else if len(b)-40 < plen {
		missing = plen - (len(b) - 40)
		if cut < missing {
			return fail("ipv6", "payload of %d bytes but %d captured", plen, len(b)-40)
		}
	}
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	next, p := b[6], b[40:]
	for {
		switch next {
		case 6:
			return tcp(p, missing, src, dst, seg)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(p) < 8 || len(p) < 8+int(p[1])*8 {
				return fail("ipv6", "extension header cut short")
			}
			next, p = p[0], p[8+int(p[1])*8:]
		case 44: // fragment
			if len(p) < 8 {
				return fail("ipv6", "fragment header cut short")
			}
			off := int(binary.BigEndian.Uint16(p[2:]) &^ 7)
			more := p[3]&1 != 0
			id := binary.BigEndian.Uint32(p[4:])
			inner := p[0]
			p = p[8:]
			if !more && off == 0 { // an atomic fragment
				next = inner
				continue
			}
			if missing > 0 {
				d.Defrag.Lost++
				return fail("ipv6", "fragment cut by the snapshot length: its datagram is lost")
			}
			// The unfragmentable headers are not kept: the reassembled
			// payload starts at the inner header.
			whole, ok := d.Defrag.add(fragKey{src: src, dst: dst, id: id, proto: inner}, off, more, p, now)
			if !ok {
				return ErrFragment
			}
			next, p = inner, whole
		default:
			return ErrNotTCP
		}
	}
}

func tcp(b []byte, missing int, src, dst netip.Addr, seg *Segment) error {
	if len(b) < 20 {
		if missing > 0 {
			return fail("tcp", "header cut by the snapshot length")
		}
		return fail("tcp", "%d bytes, shorter than a header", len(b))
	}
	off := int(b[12]>>4) * 4
	if off < 20 {
		return fail("tcp", "data offset %d", off)
	}
	if len(b) < off {
		if missing > 0 {
			return fail("tcp", "header cut by the snapshot length")
		}
		return fail("tcp", "data offset %d past the segment's %d bytes", off, len(b))
	}
	*seg = Segment{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		Seq:     binary.BigEndian.Uint32(b[4:]),
		Ack:     binary.BigEndian.Uint32(b[8:]),
		Flags:   b[13],
		Payload: b[off:],
		Missing: missing,
	}
	return nil
}
