package lengthprefix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/framekit/framekit/framing"
)

// resyncWork is how many times, at most, checking candidate frames while
// resynchronising may examine each byte the stream consumes (plus one
// limit's worth): what keeps Resync linear whatever the bytes.
const resyncWork = 4

// minAllowance is the work allowance under a tiny limit.
const minAllowance = 64 << 10

// The resync work balance lives in DecodeState.Stream's low 62 bits, as a
// signed number: bytes examined by checks minus resyncWork times the bytes
// consumed. Its zero value is a fresh stream.
const balanceBits = 62

func balance(st *framing.DecodeState) int64 {
	return int64(st.Stream<<(64-balanceBits)) >> (64 - balanceBits)
}

func setBalance(st *framing.DecodeState, v, limit int64) {
	v = max(v, -resyncWork*allowance(limit))
	st.Stream = st.Stream&^(1<<balanceBits-1) | uint64(v)&(1<<balanceBits-1)
}

func allowance(limit int64) int64 { return max(limit, minAllowance) }

// decodeChecked is Decode for a layout with Checks.
func (l *layout) decodeChecked(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	k := l.k
	if k.resync && st.Scanned > 0 {
		// The frame at buf[0] failed; the scan for the next one goes on.
		return l.resync(buf, atEOF, st)
	}
	total, need, err := l.frameSize(buf, st.Limit)
	if err != nil {
		if _, ok := err.(*framing.CorruptError); ok && k.resync {
			return l.resync(buf, atEOF, st)
		}
		return framing.Decoded{}, err
	}
	if need > 0 {
		return framing.Need(need), nil
	}
	end := total - int64(l.tlen)
	if !k.whole {
		return framing.NeedFrame(l.strip, end, total), nil
	}
	if int64(len(buf)) < total {
		return framing.NeedFrame(l.strip, end, total).Checked(), nil
	}
	lim := int64(st.Limit)
	if k.resync && balance(st)+total > allowance(lim) {
		return framing.Decoded{}, &framing.CorruptError{Reason: fmt.Sprintf(
			"resynchronising gave up: checking this %d-byte frame would examine more than %d times the bytes consumed so far", total, resyncWork)}
	}
	if ce := k.verify(buf[:total]); ce != nil {
		if k.resync {
			return l.resync(buf, atEOF, st)
		}
		return framing.Decoded{}, ce
	}
	if k.resync {
		setBalance(st, balance(st)+total-resyncWork*total, lim)
	}
	return framing.Frame(l.strip, int(end), int(total)), nil
}

// resync is called with a frame at buf[0] that failed a check: it looks
// from byte 1 (or from st.Scanned, where the last call stopped) for the
// next position whose header parses, within the limit, and passes the
// header's checks, and drops the bytes before it with a Rejected error.
// What it decides depends only on the bytes: it waits for a header rather
// than stopping at the end of what is buffered, and drops at most a
// limit's worth of bytes with one error.
func (l *layout) resync(buf []byte, atEOF bool, st *framing.DecodeState) (framing.Decoded, error) {
	lim := int64(st.Limit)
	scanCap := int(min(allowance(lim), int64(maxInt)))
	p := max(st.Scanned, 1)
	for ; p < len(buf) && p < scanCap; p++ {
		need, ok := l.probe(buf[p:], lim)
		if !ok {
			continue
		}
		if need > 0 && !atEOF {
			st.Scanned = p
			return framing.Need(p + need), nil
		}
		break
	}
	if p == len(buf) && p < scanCap && !atEOF {
		st.Scanned = p
		return framing.Need(p + 1), nil
	}
	// The reason, found again (a call that only scanned does not keep it),
	// and what finding it cost.
	reason, cost := l.diagnose(buf, st.Limit)
	setBalance(st, balance(st)+cost-resyncWork*int64(p), lim)
	return framing.Consume(p), &framing.CorruptError{
		Reason:   fmt.Sprintf("%s (resynchronised: %d bytes dropped)", reason, p),
		Rejected: true,
		Dropped:  int64(p),
	}
}

// diagnose says why the frame at buf[0] failed, and how many bytes the
// checks examined to find out.
func (l *layout) diagnose(buf []byte, limit int) (string, int64) {
	total, _, err := l.frameSize(buf, limit)
	if err != nil {
		return err.(*framing.CorruptError).Reason, 0
	}
	if ce := l.k.verify(buf[:total]); ce != nil {
		return ce.Reason, 2 * total // checked twice: once to fail, once here
	}
	return "frame failed its checks", 0 // unreachable: resync follows a failure
}

// probe is frameSize's verdict on a candidate header at b[0], without its
// errors (which allocate): whether it parses, passes the header's checks
// and is within limit, or how many bytes it needs to tell.
func (l *layout) probe(b []byte, limit int64) (need int, ok bool) {
	for _, f := range l.k.fixed {
		if len(b) >= f.Offset+len(f.Bytes) && !bytes.Equal(b[f.Offset:f.Offset+len(f.Bytes)], f.Bytes) {
			return 0, false
		}
	}
	hdr, fixed := l.hdr, l.fixed
	var raw uint64
	if l.varint {
		if len(b) <= l.off {
			return l.off + 1, true
		}
		n := 0
		var shift uint
		for i, c := range b[l.off:] {
			if i == l.size || (i == binary.MaxVarintLen64-1 && c > 1) {
				return 0, false
			}
			raw |= uint64(c&0x7f) << shift
			if c < 0x80 {
				n = i + 1
				break
			}
			shift += 7
		}
		switch {
		case n == 0 && len(b)-l.off >= l.size:
			return 0, false
		case n == 0:
			return len(b) + 1, true
		case raw > l.maxLen:
			return 0, false
		}
		hdr, fixed = l.off+n, fixed+int64(n)
	} else {
		if len(b) < l.hdr {
			return l.hdr, true
		}
		if raw = l.field(b[l.off:l.hdr]); raw > l.maxLen {
			return 0, false
		}
	}
	n := int64(raw)
	if fixed > 0 && n > math.MaxInt64-fixed {
		return 0, false
	}
	total := n + fixed
	min := int64(hdr + l.tlen)
	if s := l.k.sum; s != nil && s.inHead {
		min = int64(max(hdr, s.at+s.w) + l.tlen)
	}
	return 0, total >= min && total-int64(l.strip+l.tlen) <= limit
}
