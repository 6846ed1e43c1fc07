package lengthprefix

import (
	"fmt"

	"github.com/framekit/framekit/framing"
)

// MySQL is the MySQL / MariaDB client/server protocol's packet framing
// (MySQL Internals, "MySQL Packets"; MariaDB "0 - Packet"): a 3-byte
// little-endian payload length, a 1-byte sequence id, the payload. A
// payload of 16 MiB - 1 bytes or more is sent as packets of exactly
// 0xFFFFFF bytes, each continued by the next, and ended by a shorter one
// (possibly empty).
//
//	[ 05 00 00 | 00 | 03 "SELECT" ... ]                          one packet
//	[ FF FF FF | 01 | 16 MiB - 1 bytes ][ 02 00 00 | 02 | 2 bytes ]  one message
//
// A frame is one message: the first packet's sequence id, then the joined
// payloads (joined in place, in the Reader's buffer). The whole message
// counts against the size limit, as one frame: an over-the-limit message
// is refused, or skipped packet by packet under framing.Skip, without
// ever holding more than the limit. The encoder takes the same form (a
// sequence id, then the payload) and writes the packets, numbering them
// from that id (modulo 256).
var MySQL = mysqlCodec{}

type mysqlCodec struct{}

const mysqlMax = 0xFFFFFF

// MySQL's per-stream state while skipping an oversized message, in
// DecodeState.Stream: the bytes of the current packet still to drop, and
// whether a packet follows it.
const (
	mysqlRemain = 1<<32 - 1
	mysqlMore   = 1 << 32
)

func mysqlLen(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

// Decode implements framing.Decoder. DecodeState.Scanned is the bytes of
// the message's complete continued packets, Carry their payload bytes.
func (mysqlCodec) Decode(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	if st.Limit == 0 {
		return mysqlSkip(buf, st)
	}
	at, carry := st.Scanned, st.Carry
	for {
		if len(buf) < at+4 {
			st.Scanned, st.Carry = at, carry
			return framing.Need(at + 4), nil
		}
		n := mysqlLen(buf[at:])
		if at == 0 && n < mysqlMax {
			// One packet: the Reader checks its size and reads it.
			return framing.NeedFrame(3, int64(4+n), int64(4+n)), nil
		}
		if 1+carry+int64(n) > int64(st.Limit) {
			// The message is over the limit: its first at bytes are
			// whole continued packets.
			st.Stream = 0
			return framing.OverLimit(at), nil
		}
		if n < mysqlMax {
			if len(buf) < at+4+n {
				st.Scanned, st.Carry = at, carry
				return framing.Need(at + 4 + n), nil
			}
			// Join the payloads after the first packet's.
			end := 4 + mysqlMax
			for src := end; src < at+4+n; {
				k := mysqlLen(buf[src:])
				copy(buf[end:], buf[src+4:src+4+k])
				end += k
				src += 4 + k
			}
			return framing.Frame(3, end, at+4+n), nil
		}
		if len(buf) < at+4+n+4 {
			st.Scanned, st.Carry = at, carry
			return framing.Need(at + 4 + n + 4), nil
		}
		at += 4 + n
		carry += int64(n)
	}
}

// mysqlSkip drops an oversized message packet by packet (framing's skip
// policy: Limit is 0), never holding a whole packet: it ends with a
// Consume of the last byte.
func mysqlSkip(buf []byte, st *framing.DecodeState) (framing.Decoded, error) {
	if st.Stream&mysqlRemain == 0 {
		if len(buf) < 4 {
			return framing.Need(4), nil
		}
		n := mysqlLen(buf)
		st.Stream = uint64(4 + n)
		if n == mysqlMax {
			st.Stream |= mysqlMore
		}
	}
	remain := int(st.Stream & mysqlRemain)
	more := st.Stream&mysqlMore != 0
	if !more && remain == 1 {
		if len(buf) == 0 {
			return framing.Need(1), nil
		}
		st.Stream = 0
		return framing.Consume(1), nil
	}
	drop := min(len(buf), remain)
	if !more {
		drop = min(drop, remain-1)
	}
	st.Stream = st.Stream&mysqlMore | uint64(remain-drop)
	if remain-drop == 0 {
		st.Stream = 0
	}
	return framing.OverLimit(drop), nil
}

// AppendFrame implements framing.Encoder: payload is a sequence id, then
// the message.
func (mysqlCodec) AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return dst, &framing.PayloadError{Size: 0, Reason: "a MySQL frame starts with its sequence id"}
	}
	seq, p := payload[0], payload[1:]
	for {
		n := min(len(p), mysqlMax)
		dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
		dst = append(dst, p[:n]...)
		p = p[n:]
		seq++
		if n < mysqlMax {
			return dst, nil
		}
	}
}

func (mysqlCodec) String() string {
	return fmt.Sprintf("MySQL packets (continued at %d bytes)", mysqlMax)
}

var _ framing.Codec = mysqlCodec{}
