package layers_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/framekit/framekit/cmd/framecat/internal/capgen"
	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/google/go-cmp/cmp"
)

func TestLinks(t *testing.T) {
	for _, addrs := range [][2]string{{"10.0.0.2:51000", "10.0.0.1:5432"}, {"[fd00::2]:51000", "[fd00::1]:5432"}} {
		c := &capgen.Conn{Client: netip.MustParseAddrPort(addrs[0]), Server: netip.MustParseAddrPort(addrs[1]), ISN: [2]uint32{7, 9}}
		s := capgen.Seg{Dir: 1, Off: 5, Data: []byte("payload"), Flags: layers.ACK | layers.PSH}
		want := layers.Segment{Src: c.Server, Dst: c.Client, Seq: 9 + 1 + 5, Ack: 8, Flags: s.Flags, Payload: s.Data}
		for _, tc := range []struct {
			link  int
			vlans []uint16
		}{{pcap.LinkEthernet, nil}, {pcap.LinkEthernet, []uint16{10, 20}}, {pcap.LinkSLL, nil}, {pcap.LinkSLL2, nil},
			{pcap.LinkNull, nil}, {pcap.LinkLoop, nil}, {pcap.LinkRaw, nil}} {
			t.Run(fmt.Sprint(addrs[0], tc.link, tc.vlans), func(t *testing.T) {
				pkt := capgen.Link(tc.link, c.IP(s), tc.vlans...)
				if tc.link == pcap.LinkEthernet {
					pkt = append(pkt, 0, 0, 0, 0) // padding after the datagram
				}
				var d layers.Decoder
				var got layers.Segment
				if err := d.Decode(tc.link, pkt, len(pkt), 0, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
					t.Fatal(diff)
				}
				// Cut by a snapshot length: the payload's missing bytes
				// are counted.
				var cut layers.Segment
				if err := d.Decode(tc.link, pkt[:len(pkt)-4-4*btoi(tc.link == pcap.LinkEthernet)], len(pkt), 0, &cut); err != nil {
					t.Fatal(err)
				}
				if string(cut.Payload) != "pay" || cut.Missing != 4 {
					t.Fatalf("cut: payload %q missing %d, want \"pay\" and 4", cut.Payload, cut.Missing)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFragments(t *testing.T) {
	c := &capgen.Conn{Client: netip.MustParseAddrPort("10.0.0.2:51000"), Server: netip.MustParseAddrPort("10.0.0.1:80")}
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i)
	}
	frags := capgen.FragmentV4(c.IP(capgen.Seg{Data: data, Flags: layers.ACK}), 256)
	if len(frags) != 4 {
		t.Fatalf("%d fragments", len(frags))
	}
	var d layers.Decoder
	var seg layers.Segment
	for i, j := range []int{2, 0, 3, 1} { // out of order
		err := d.Decode(pcap.LinkRaw, frags[j], len(frags[j]), int64(i), &seg)
		if i < 3 && err != layers.ErrFragment {
			t.Fatalf("fragment %d: %v, want ErrFragment", j, err)
		}
		if i == 3 && err != nil {
			t.Fatal(err)
		}
	}
	if string(seg.Payload) != string(data) || d.Defrag.Held() != 0 {
		t.Fatalf("reassembled %d bytes, held %d", len(seg.Payload), d.Defrag.Held())
	}
	// A datagram missing a fragment is dropped once it times out.
	d.Decode(pcap.LinkRaw, frags[0], len(frags[0]), 0, &seg)
	other := capgen.FragmentV4(c.IP(capgen.Seg{Data: data, Flags: layers.ACK}), 256)
	d.Decode(pcap.LinkRaw, other[0], len(other[0]), layers.FragTimeout+1, &seg)
	if d.Defrag.Lost != 1 || d.Defrag.Held() != 1 {
		t.Fatalf("lost %d held %d, want 1 and 1", d.Defrag.Lost, d.Defrag.Held())
	}
}

func TestNotTCP(t *testing.T) {
	udp := capgen.IP(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 1, 17, make([]byte, 8))
	var d layers.Decoder
	var seg layers.Segment
	if err := d.Decode(pcap.LinkRaw, udp, len(udp), 0, &seg); err != layers.ErrNotTCP {
		t.Fatalf("%v, want ErrNotTCP", err)
	}
	var le *layers.Error
	if err := d.Decode(pcap.LinkEthernet, []byte{1, 2, 3}, 3, 0, &seg); !errors.As(err, &le) {
		t.Fatalf("%v, want a *layers.Error", err)
	}
	if err := d.Decode(999, []byte{1, 2, 3}, 3, 0, &seg); !errors.As(err, &le) {
		t.Fatalf("%v, want a *layers.Error for an unknown link type", err)
	}
}

// TestFragmentsV6: IPv6 fragments (a fragment header after a
// hop-by-hop header) are reassembled whatever their order.
func TestFragmentsV6(t *testing.T) {
	c := &capgen.Conn{Client: netip.MustParseAddrPort("[fd00::2]:51000"), Server: netip.MustParseAddrPort("[fd00::1]:80")}
	data := make([]byte, 700)
	for i := range data {
		data[i] = byte(i * 7)
	}
	tcp := c.TCP(capgen.Seg{Data: data, Flags: layers.ACK})
	var frags [][]byte
	for off := 0; off < len(tcp); off += 256 {
		end := min(off+256, len(tcp))
		hop := []byte{44, 0, 1, 4, 0, 0, 0, 0} // next: fragment; PadN
		fh := []byte{6, 0, byte(off >> 8), byte(off) & 0xf8, 0, 0, 0x12, 0x34}
		if end < len(tcp) {
			fh[3] |= 1
		}
		payload := append(append(hop, fh...), tcp[off:end]...)
		frags = append(frags, capgen.IP(c.Client.Addr(), c.Server.Addr(), 0, 0, payload))
	}
	var d layers.Decoder
	var seg layers.Segment
	order := []int{1, 2, 0}
	for i, j := range order {
		err := d.Decode(pcap.LinkRaw, frags[j], len(frags[j]), 0, &seg)
		if i < len(order)-1 && err != layers.ErrFragment {
			t.Fatalf("fragment %d: %v, want ErrFragment", j, err)
		}
		if i == len(order)-1 && err != nil {
			t.Fatal(err)
		}
	}
	if string(seg.Payload) != string(data) || seg.Src != c.Client {
		t.Fatalf("reassembled %d bytes from %v", len(seg.Payload), seg.Src)
	}
}
