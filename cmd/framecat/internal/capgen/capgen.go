// Package capgen builds synthetic TCP traffic as captured packets, for the
// tests and benchmarks of framecat's capture reading: a connection's
// segments (handshake, data cut into pieces, FIN), laid in any link type
// over IPv4 or IPv6, with IPv4 fragmentation.
package capgen

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
)

// A Conn is a TCP connection between a client and a server.
type Conn struct {
	Client, Server netip.AddrPort
	// ISN is each direction's initial sequence number (the SYN's).
	ISN [2]uint32
	id  uint16
}

// A Seg is a segment of a Conn: Data at stream offset Off of direction
// Dir (0 client to server, 1 server to client).
type Seg struct {
	Dir   int
	Off   int64
	Data  []byte
	Flags uint8
}

// Handshake returns the SYN, SYN-ACK and ACK.
func (c *Conn) Handshake() []Seg {
	return []Seg{{Dir: 0, Off: -1, Flags: layers.SYN}, {Dir: 1, Off: -1, Flags: layers.SYN | layers.ACK}, {Dir: 0, Flags: layers.ACK}}
}

// Cut cuts data, at stream offset off of dir, into segments of 1 to max
// bytes.
func Cut(dir int, off int64, data []byte, max int, rng *rand.Rand) []Seg {
	var out []Seg
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(max))
		out = append(out, Seg{Dir: dir, Off: off, Data: data[:n], Flags: layers.ACK | layers.PSH})
		off += int64(n)
		data = data[n:]
	}
	return out
}

// Fin is dir's FIN after n bytes.
func Fin(dir int, n int64) Seg { return Seg{Dir: dir, Off: n, Flags: layers.FIN | layers.ACK} }

// TCP returns the TCP header and payload of s (checksum not computed:
// nothing here checks it).
func (c *Conn) TCP(s Seg) []byte {
	src, dst := c.Client, c.Server
	if s.Dir == 1 {
		src, dst = dst, src
	}
	seq := c.ISN[s.Dir] + 1 + uint32(s.Off)
	b := make([]byte, 20, 20+len(s.Data))
	binary.BigEndian.PutUint16(b, src.Port())
	binary.BigEndian.PutUint16(b[2:], dst.Port())
	binary.BigEndian.PutUint32(b[4:], seq)
	if s.Flags&layers.ACK != 0 {
		binary.BigEndian.PutUint32(b[8:], c.ISN[1-s.Dir]+1)
	}
	b[12] = 5 << 4
	b[13] = s.Flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return append(b, s.Data...)
}

// IP returns s in an IP packet (IPv4 or IPv6 as the addresses are).
func (c *Conn) IP(s Seg) []byte {
	src, dst := c.Client.Addr(), c.Server.Addr()
	if s.Dir == 1 {
		src, dst = dst, src
	}
	c.id++
	return IP(src, dst, c.id, 6, c.TCP(s))
}

// IP wraps a payload of protocol proto in an IPv4 or IPv6 header.
func IP(src, dst netip.Addr, id uint16, proto byte, payload []byte) []byte {
	if src.Is4() {
		b := make([]byte, 20, 20+len(payload))
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
		binary.BigEndian.PutUint16(b[4:], id)
		b[8] = 64
		b[9] = proto
		s4, d4 := src.As4(), dst.As4()
		copy(b[12:], s4[:])
		copy(b[16:], d4[:])
		return append(b, payload...)
	}
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = proto
	b[7] = 64
	s16, d16 := src.As16(), dst.As16()
	copy(b[8:], s16[:])
	copy(b[24:], d16[:])
	return append(b, payload...)
}

// FragmentV4 splits an IPv4 packet into fragments carrying at most size
// payload bytes each (size a multiple of 8).
func FragmentV4(ip []byte, size int) [][]byte {
	ihl := int(ip[0]&0x0f) * 4
	payload := ip[ihl:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		f := append(append([]byte(nil), ip[:ihl]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		v := uint16(off / 8)
		if end < len(payload) {
			v |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], v)
		out = append(out, f)
	}
	return out
}

// Link wraps an IP packet in a link-layer header of the given type;
// vlans are 802.1Q tags (Ethernet only).
func Link(link int, ip []byte, vlans ...uint16) []byte {
	ethertype := uint16(0x0800)
	if ip[0]>>4 == 6 {
		ethertype = 0x86dd
	}
	var h []byte
	switch link {
	case pcap.LinkEthernet:
		h = make([]byte, 12, 14+4*len(vlans))
		copy(h, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2})
		for _, v := range vlans {
			h = binary.BigEndian.AppendUint16(h, 0x8100)
			h = binary.BigEndian.AppendUint16(h, v)
		}
		h = binary.BigEndian.AppendUint16(h, ethertype)
	case pcap.LinkSLL:
		h = make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], ethertype)
	case pcap.LinkSLL2:
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h, ethertype)
		binary.BigEndian.PutUint32(h[4:], 1)
		binary.BigEndian.PutUint16(h[8:], 772)
		h[11] = 6
	case pcap.LinkNull:
		fam := uint32(2)
		if ethertype == 0x86dd {
			fam = 30
		}
		h = binary.LittleEndian.AppendUint32(nil, fam)
	case pcap.LinkLoop:
		fam := uint32(2)
		if ethertype == 0x86dd {
			fam = 24
		}
		h = binary.BigEndian.AppendUint32(nil, fam)
	case pcap.LinkRaw:
	default:
		panic("capgen: unknown link type")
	}
	return append(h, ip...)
}
