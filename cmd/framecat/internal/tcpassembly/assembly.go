// Package tcpassembly reassembles the byte streams of TCP connections from
// captured segments: per connection and direction, in sequence order, with
// retransmissions and overlaps resolved (the bytes that arrived first win),
// out-of-order segments held until the bytes before them arrive, and lost
// bytes reported as gaps at their stream offsets. Memory is bounded: a
// number of connections, an idle timeout in capture time, and a cap on the
// out-of-order bytes held per direction.
//
//	a := tcpassembly.New(tcpassembly.Config{}, handler)
//	for each segment: a.Add(&seg, captureTime)
//	a.Close() // the end of the capture
package tcpassembly

import (
	"container/list"
	"fmt"
	"net/netip"

	"github.com/framekit/framekit/cmd/framecat/internal/layers"
)

// Directions of a connection.
const (
	ClientToServer = 0
	ServerToClient = 1
)

// A Handler receives each direction's bytes in order. Offsets count the
// direction's bytes from 0: the byte after the SYN, or, for a direction
// whose SYN was not captured, the first byte captured. Times are capture
// times in nanoseconds.
type Handler interface {
	// Data delivers the direction's bytes from offset off; data is valid
	// during the call only, and ts is the capture time of the segment
	// that carried them.
	Data(f *Flow, dir int, off int64, data []byte, ts int64)
	// Gap reports n bytes at offset off that the capture does not hold;
	// Data goes on at off+n.
	Gap(f *Flow, dir int, off, n int64, reason string)
	// End reports the end of a direction at offset off: reason says why
	// ("FIN", "RST", "idle", "evicted", "end of capture"). Nothing more
	// is delivered for it.
	End(f *Flow, dir int, off int64, reason string)
}

// Config bounds the memory an Assembler holds. Zero values take the
// defaults.
type Config struct {
	// MaxFlows is how many connections are followed at once (default
	// 10000); a new one ends the one idle longest.
	MaxFlows int
	// Idle ends a connection that sent nothing for this many
	// nanoseconds of capture time (default 5 minutes; negative: never).
	Idle int64
	// MaxPending is how many out-of-order bytes a direction holds
	// waiting for the bytes before them (default 4 MiB); past it, the
	// missing bytes are declared a gap.
	MaxPending int
}

// Defaults of Config.
const (
	DefaultMaxFlows   = 10000
	DefaultIdle       = 300e9
	DefaultMaxPending = 4 << 20
)

// A Flow is one TCP connection.
type Flow struct {
	// ID numbers connections from 1 in the order they were first seen.
	ID int64
	// Client and Server: the side that sent the SYN is the client; when
	// the capture holds no SYN, the side with the higher port number
	// (ephemeral ports are high), or on a tie the sender of the first
	// segment captured.
	Client, Server netip.AddrPort
	// MidStream says, for each direction, that its SYN was not captured:
	// its offset 0 is not the start of the stream.
	MidStream [2]bool
	// User is for the Handler's own state.
	User any

	key  flowKey
	half [2]half
	last int64 // capture time of the last segment
	elem *list.Element
}

// String is the connection as CLIENT>SERVER.
func (f *Flow) String() string { return f.Client.String() + ">" + f.Server.String() }

type flowKey struct{ a, b netip.AddrPort }

func keyOf(x, y netip.AddrPort) flowKey {
	if x.Addr().Less(y.Addr()) || (x.Addr() == y.Addr() && x.Port() < y.Port()) {
		return flowKey{x, y}
	}
	return flowKey{y, x}
}

// half is one direction.
type half struct {
	started bool
	ended   bool
	next    uint32 // sequence number of the byte at off
	off     int64  // stream offset of the next byte to deliver
	finOff  int64  // -1: no FIN seen
	pending []chunk
	held    int // bytes held in pending
}

// chunk is a run of out-of-order bytes at offset off: data, then cut bytes
// that the snapshot length removed.
type chunk struct {
	off  int64
	data []byte
	cut  int64
	ts   int64
}

func (c chunk) end() int64 { return c.off + int64(len(c.data)) + c.cut }

// Stats counts what the Assembler resolved.
type Stats struct {
	Segments      int64 // segments added
	Retransmitted int64 // payload bytes received again (dropped)
	OutOfOrder    int64 // segments held until the bytes before them arrived
	GapBytes      int64 // bytes declared lost
	Gaps          int64
	Flows         int64
}

// An Assembler reassembles every connection of a capture.
type Assembler struct {
	cfg   Config
	h     Handler
	flows map[flowKey]*Flow
	lru   list.List // front: most recently active
	next  int64
	Stats Stats
}

// New returns an Assembler that reports to h.
func New(cfg Config, h Handler) *Assembler {
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.Idle == 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	return &Assembler{cfg: cfg, h: h, flows: map[flowKey]*Flow{}}
}

// Flows returns how many connections are followed.
func (a *Assembler) Flows() int { return len(a.flows) }

// Add adds a segment captured at ts (nanoseconds). Its payload is not
// kept past the call (out-of-order bytes are copied).
func (a *Assembler) Add(s *layers.Segment, ts int64) {
	a.Stats.Segments++
	a.expire(ts)
	k := keyOf(s.Src, s.Dst)
	f := a.flows[k]
	if f != nil && s.Flags&layers.SYN != 0 && s.Flags&layers.ACK == 0 && f.half[0].ended && f.half[1].ended {
		a.remove(f)
		f = nil
	}
	if f == nil {
		if s.Flags&layers.RST != 0 || (len(s.Payload) == 0 && s.Missing == 0 && s.Flags&layers.SYN == 0) {
			return // nothing to follow: a reset or an ACK of a connection not seen
		}
		f = a.newFlow(k, s, ts)
	}
	f.last = ts
	a.lru.MoveToFront(f.elem)
	dir := ClientToServer
	if s.Src != f.Client {
		dir = ServerToClient
	}
	h := &f.half[dir]
	if h.ended {
		return
	}
	seq := s.Seq
	if s.Flags&layers.SYN != 0 {
		seq++
		if !h.started {
			h.started, h.next, h.finOff = true, seq, -1
		}
	}
	n := int64(len(s.Payload)) + int64(s.Missing)
	if !h.started {
		if n == 0 {
			return
		}
		h.started, h.next, h.finOff = true, seq, -1
		f.MidStream[dir] = true
	}
	rel := int64(int32(seq - h.next))
	if s.Flags&layers.FIN != 0 && h.finOff < 0 {
		h.finOff = h.off + rel + n
	}
	if n > 0 {
		a.segment(f, dir, rel, s.Payload, int64(s.Missing), ts)
	}
	if s.Flags&layers.RST != 0 {
		a.end(f, "RST")
		return
	}
	a.checkFin(f, dir)
}

func (a *Assembler) newFlow(k flowKey, s *layers.Segment, ts int64) *Flow {
	if len(a.flows) >= a.cfg.MaxFlows {
		a.end(a.lru.Back().Value.(*Flow), "evicted (over the limit of connections)")
	}
	a.next++
	a.Stats.Flows++
	f := &Flow{ID: a.next, key: k, last: ts}
	client, server := s.Src, s.Dst
	switch {
	case s.Flags&layers.SYN != 0 && s.Flags&layers.ACK != 0:
		client, server = s.Dst, s.Src
	case s.Flags&layers.SYN != 0:
	case s.Dst.Port() > s.Src.Port():
		client, server = s.Dst, s.Src
	}
	f.Client, f.Server = client, server
	f.half[0].finOff, f.half[1].finOff = -1, -1
	f.elem = a.lru.PushFront(f)
	a.flows[k] = f
	return f
}

// segment takes n bytes (data, then cut bytes) at rel bytes past the next
// byte expected.
func (a *Assembler) segment(f *Flow, dir int, rel int64, data []byte, cut int64, ts int64) {
	h := &f.half[dir]
	n := int64(len(data)) + cut
	if rel+n <= 0 {
		a.Stats.Retransmitted += n
		return
	}
	if rel < 0 { // partly a retransmission
		a.Stats.Retransmitted += -rel
		drop := -rel
		if drop <= int64(len(data)) {
			data = data[drop:]
		} else {
			cut -= drop - int64(len(data))
			data = nil
		}
		rel = 0
	}
	if rel == 0 && (len(h.pending) == 0 || h.off+int64(len(data))+cut <= h.pending[0].off) {
		a.deliver(f, dir, data, cut, ts) // in order: the common case, not copied
		a.drain(f, dir)
		return
	}
	if rel > 0 {
		a.Stats.OutOfOrder++
	}
	// Held (copied), trimmed against the bytes held already, which win.
	a.hold(h, chunk{off: h.off + rel, data: data, cut: cut, ts: ts})
	a.drain(f, dir)
	for h.held > a.cfg.MaxPending && len(h.pending) > 0 {
		first := h.pending[0]
		a.gap(f, dir, first.off-h.off, fmt.Sprintf("missing while over %d out-of-order bytes were held", a.cfg.MaxPending))
		a.drain(f, dir)
	}
}

// deliver hands data (then a gap of cut bytes) at the direction's offset.
func (a *Assembler) deliver(f *Flow, dir int, data []byte, cut int64, ts int64) {
	h := &f.half[dir]
	if len(data) > 0 {
		a.h.Data(f, dir, h.off, data, ts)
		h.off += int64(len(data))
		h.next += uint32(len(data))
	}
	if cut > 0 {
		a.gap(f, dir, cut, "cut by the capture's snapshot length")
	}
}

// gap declares the next n bytes of a direction lost.
func (a *Assembler) gap(f *Flow, dir int, n int64, reason string) {
	h := &f.half[dir]
	a.Stats.Gaps++
	a.Stats.GapBytes += n
	a.h.Gap(f, dir, h.off, n, reason)
	h.off += n
	h.next += uint32(n)
}

// hold inserts c among the pending chunks; bytes already held win.
func (a *Assembler) hold(h *half, c chunk) {
	i := 0
	for i < len(h.pending) && h.pending[i].end() <= c.off {
		i++
	}
	// c's bytes not covered by pending[i:] go in as new chunks.
	var add []chunk
	for _, p := range h.pending[i:] {
		if c.end() <= c.off {
			break
		}
		if p.off >= c.end() {
			break
		}
		if c.off < p.off {
			add = append(add, c.head(p.off-c.off))
		}
		c = c.tail(p.end() - c.off)
	}
	if c.end() > c.off {
		add = append(add, c)
	}
	for _, n := range add {
		n.data = append([]byte(nil), n.data...)
		h.held += len(n.data)
		j := i
		for j < len(h.pending) && h.pending[j].off < n.off {
			j++
		}
		h.pending = append(h.pending, chunk{})
		copy(h.pending[j+1:], h.pending[j:])
		h.pending[j] = n
	}
}

// head is c's first n bytes; tail is c without its first n bytes (n may
// pass its end).
func (c chunk) head(n int64) chunk {
	if n <= int64(len(c.data)) {
		return chunk{off: c.off, data: c.data[:n], ts: c.ts}
	}
	return chunk{off: c.off, data: c.data, cut: n - int64(len(c.data)), ts: c.ts}
}

func (c chunk) tail(n int64) chunk {
	if n >= c.end()-c.off {
		return chunk{off: c.end(), ts: c.ts}
	}
	if n <= int64(len(c.data)) {
		return chunk{off: c.off + n, data: c.data[n:], cut: c.cut, ts: c.ts}
	}
	return chunk{off: c.off + n, cut: c.cut - (n - int64(len(c.data))), ts: c.ts}
}

// drain delivers the pending chunks that are now in order.
func (a *Assembler) drain(f *Flow, dir int) {
	h := &f.half[dir]
	for len(h.pending) > 0 && h.pending[0].off <= h.off {
		c := h.pending[0]
		h.pending[0] = chunk{}
		h.pending = h.pending[1:]
		h.held -= len(c.data)
		if c.end() <= h.off {
			a.Stats.Retransmitted += c.end() - c.off
			continue
		}
		c = c.tail(h.off - c.off)
		a.deliver(f, dir, c.data, c.cut, c.ts)
	}
	if len(h.pending) == 0 {
		h.pending = nil
	}
}

func (a *Assembler) checkFin(f *Flow, dir int) {
	h := &f.half[dir]
	if h.finOff >= 0 && h.off >= h.finOff {
		a.endHalf(f, dir, "FIN")
		if f.half[1-dir].ended {
			a.remove(f)
		}
	}
}

// endHalf ends a direction: held bytes are delivered, with gaps for what
// is missing between them.
func (a *Assembler) endHalf(f *Flow, dir int, reason string) {
	h := &f.half[dir]
	if h.ended {
		return
	}
	for len(h.pending) > 0 {
		a.gap(f, dir, h.pending[0].off-h.off, "never captured")
		a.drain(f, dir)
	}
	if h.finOff > h.off && reason != "FIN" {
		a.gap(f, dir, h.finOff-h.off, "never captured")
	}
	h.ended = true
	a.h.End(f, dir, h.off, reason)
}

// end ends both directions of a connection and forgets it.
func (a *Assembler) end(f *Flow, reason string) {
	for dir := range f.half {
		a.endHalf(f, dir, reason)
	}
	a.remove(f)
}

func (a *Assembler) remove(f *Flow) {
	if a.flows[f.key] == f {
		delete(a.flows, f.key)
		a.lru.Remove(f.elem)
	}
}

// expire ends the connections idle for longer than Config.Idle at now.
func (a *Assembler) expire(now int64) {
	if a.cfg.Idle < 0 {
		return
	}
	for e := a.lru.Back(); e != nil; e = a.lru.Back() {
		f := e.Value.(*Flow)
		if now-f.last <= a.cfg.Idle {
			return
		}
		a.end(f, "idle")
	}
}

// Close ends every connection still followed: the end of the capture.
func (a *Assembler) Close() {
	for e := a.lru.Back(); e != nil; e = a.lru.Back() {
		a.end(e.Value.(*Flow), "end of capture")
	}
}
