package layers

import (
	"net/netip"
	"sort"
)

// Bounds of the fragments held: a datagram whose fragments do not all
// arrive within FragTimeout (capture time), or that would hold more than
// MaxFragBytes in all, is dropped and counted in Lost.
const (
	MaxFragDatagrams = 64
	MaxFragBytes     = 4 << 20
	FragTimeout      = 30e9 // nanoseconds
	maxDatagram      = 65535
)

// Defrag reassembles IP fragments.
type Defrag struct {
	held  map[fragKey]*datagram
	bytes int
	// Lost counts datagrams dropped for lack of a fragment, over a
	// bound, or because a fragment was inconsistent.
	Lost int
	out  []byte
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type datagram struct {
	first  int64
	pieces []piece
	total  int // -1 until the last fragment arrives
	bytes  int
}

type piece struct {
	off  int
	data []byte
}

// add holds a fragment; when its datagram is whole it returns the
// datagram's payload, valid until the next call.
func (f *Defrag) add(k fragKey, off int, more bool, data []byte, now int64) ([]byte, bool) {
	if f.held == nil {
		f.held = map[fragKey]*datagram{}
	}
	for key, d := range f.held {
		if now-d.first > FragTimeout {
			f.drop(key)
		}
	}
	d := f.held[k]
	if d == nil {
		if len(f.held) >= MaxFragDatagrams {
			f.dropOldest()
		}
		d = &datagram{first: now, total: -1}
		f.held[k] = d
	}
	if off+len(data) > maxDatagram || (more && len(data)%8 != 0) {
		f.drop(k)
		return nil, false
	}
	if !more {
		if d.total >= 0 && d.total != off+len(data) {
			f.drop(k)
			return nil, false
		}
		d.total = off + len(data)
	}
	for f.bytes+len(data) > MaxFragBytes && len(f.held) > 1 {
		f.dropOldestBut(k)
	}
	d.pieces = append(d.pieces, piece{off, append([]byte(nil), data...)})
	d.bytes += len(data)
	f.bytes += len(data)
	if d.total < 0 {
		return nil, false
	}
	sort.SliceStable(d.pieces, func(i, j int) bool { return d.pieces[i].off < d.pieces[j].off })
	end := 0
	for _, p := range d.pieces {
		if p.off > end {
			return nil, false // a hole
		}
		end = max(end, p.off+len(p.data))
	}
	if end < d.total {
		return nil, false
	}
	out := f.out[:0]
	if cap(out) < d.total {
		out = make([]byte, 0, d.total)
	}
	out = out[:d.total]
	for _, p := range d.pieces { // later pieces overwrite overlaps, in offset order
		copy(out[p.off:], p.data)
	}
	f.out = out
	f.bytes -= d.bytes
	delete(f.held, k)
	return out, true
}

func (f *Defrag) drop(k fragKey) {
	f.bytes -= f.held[k].bytes
	delete(f.held, k)
	f.Lost++
}

func (f *Defrag) dropOldest() { f.dropOldestBut(fragKey{}) }

func (f *Defrag) dropOldestBut(keep fragKey) {
	var oldest fragKey
	found := false
	for k, d := range f.held {
		if k != keep && (!found || d.first < f.held[oldest].first) {
			oldest, found = k, true
		}
	}
	if found {
		f.drop(oldest)
	}
}

// Held returns how many datagrams are waiting for fragments.
func (f *Defrag) Held() int { return len(f.held) }
