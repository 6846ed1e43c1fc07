package lengthprefix

import (
	"fmt"

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
		total, need, err := l.frameSize(buf[p:], st.Limit)
		if err != nil || (need == 0 && total-int64(l.strip+l.tlen) > lim) {
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
