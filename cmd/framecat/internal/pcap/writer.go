package pcap

import (
	"encoding/binary"
	"io"
)

// A Writer writes a pcap file: for tests and benchmarks that build
// captures.
type Writer struct {
	w     io.Writer
	order order
	nanos bool
	buf   []byte
}

// NewWriter writes the file header of a pcap file of one link type, with
// nanosecond timestamps when nanos is set, in the given byte order.
func NewWriter(w io.Writer, link int, snaplen int, nanos bool, bo binary.ByteOrder) (*Writer, error) {
	h := make([]byte, 24)
	magic := uint32(magicMicros)
	if nanos {
		magic = magicNanos
	}
	bo.PutUint32(h, magic)
	bo.PutUint16(h[4:], 2)
	bo.PutUint16(h[6:], 4)
	bo.PutUint32(h[16:], uint32(snaplen))
	bo.PutUint32(h[20:], uint32(link))
	_, err := w.Write(h)
	return &Writer{w: w, order: bo.(order), nanos: nanos}, err
}

// WritePacket writes a record: data as captured, orig the length on the
// wire (at least len(data)), t nanoseconds since the epoch.
func (w *Writer) WritePacket(t int64, data []byte, orig int) error {
	b := w.buf[:0]
	b = w.order.AppendUint32(b, uint32(t/1e9))
	frac := t % 1e9
	if !w.nanos {
		frac /= 1000
	}
	b = w.order.AppendUint32(b, uint32(frac))
	b = w.order.AppendUint32(b, uint32(len(data)))
	b = w.order.AppendUint32(b, uint32(max(orig, len(data))))
	b = append(b, data...)
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// An NGWriter writes a pcapng file.
type NGWriter struct {
	w     io.Writer
	order order
	buf   []byte
}

// NewNGWriter writes a section header and returns the writer.
func NewNGWriter(w io.Writer, bo binary.ByteOrder) (*NGWriter, error) {
	n := &NGWriter{w: w, order: bo.(order)}
	return n, n.Section()
}

// Section starts a new section: the interfaces described so far are
// forgotten.
func (n *NGWriter) Section() error {
	body := n.order.AppendUint32(nil, byteOrderNG)
	body = n.order.AppendUint16(body, 1)
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint64(body, ^uint64(0)) // section length unknown
	return n.block(blockSHB, body)
}

// Interface describes the next interface of the section (numbered from
// 0); tsresol is the if_tsresol option's byte (6: microseconds, 9:
// nanoseconds, 0x80|k: 2^-k seconds).
func (n *NGWriter) Interface(link, snaplen int, tsresol byte) error {
	body := n.order.AppendUint16(nil, uint16(link))
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, uint32(snaplen))
	body = n.order.AppendUint16(body, 9)
	body = n.order.AppendUint16(body, 1)
	body = append(body, tsresol, 0, 0, 0)
	body = n.order.AppendUint32(body, 0) // opt_endofopt
	return n.block(blockIDB, body)
}

// WritePacket writes an enhanced packet block; ts is in the interface's
// units.
func (n *NGWriter) WritePacket(ifc int, ts uint64, data []byte, orig int) error {
	body := n.order.AppendUint32(n.buf[:0], uint32(ifc))
	body = n.order.AppendUint32(body, uint32(ts>>32))
	body = n.order.AppendUint32(body, uint32(ts))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = n.order.AppendUint32(body, uint32(max(orig, len(data))))
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n.buf = body
	return n.block(blockEPB, body)
}

// Block writes a block of any type (a statistics block, say, that a reader
// must pass over).
func (n *NGWriter) Block(typ uint32, body []byte) error { return n.block(typ, body) }

func (n *NGWriter) block(typ uint32, body []byte) error {
	total := uint32(12 + len(body))
	h := n.order.AppendUint32(make([]byte, 0, total), typ)
	h = n.order.AppendUint32(h, total)
	h = append(h, body...)
	h = n.order.AppendUint32(h, total)
	_, err := n.w.Write(h)
	return err
}

// order is a byte order with the append methods (binary.LittleEndian and
// binary.BigEndian have them).
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
