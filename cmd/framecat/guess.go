package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/framekit/framekit/lengthprefix"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"strings"

	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/framekit/framekit/cmd/framecat/internal/tcpassembly"
	"github.com/framekit/framekit/framing"
)

// guess infers the framing of an unknown stream: which SPEC splits it
// into frames. The evidence for a candidate is counted in bits: how
// unlikely it is that bytes with no such framing would parse as it does.
//
//   - text first: a stream of printable bytes with regular \n, \r\n or
//     NUL ends is lines, crlf or delim:\x00;
//   - byte stuffing: COBS or SLIP frames that all decode;
//   - length fields: offsets 0 to 16, sizes 1, 2, 3, 4 and 8, both byte
//     orders, length adjustments, a varint at offsets 0 to 16 (offset 0:
//     uvarint) and every catalogue preset, each
//     parsed frame after frame from the start of the stream. A candidate
//     must parse at least guessMinFrames frames, to the end of the
//     stream exactly or into a truncated last frame, with few empty
//     frames, in every stream given. Its evidence is the exact end (about
//     log2 of the mean frame size) plus how far its length values are from
//     those of random bytes (a likelihood ratio over their bit lengths: a
//     4-byte field holding 100 is 25 bits of evidence);
//   - text framings (lsp, netstring, syslog octet counting, pktline,
//     chunked, stomp, json, resp), parsed through the engine, weighed by
//     the surprise of the bytes each frame's parse needed (textEvidence);
//     in a text stream they compete with lines and delimiters;
//   - fixed sizes only on periodic evidence: a period whose byte columns
//     are far from the stream's byte statistics (a constant or
//     low-entropy position), never merely because a size divides the
//     length.
//
// A candidate with less than guessThreshold bits is not proposed: random
// or compressed bytes give "no framing found".

// Bounds of guess.
const (
	guessMaxInput     = 4 << 20 // bytes read, unless --max asks for more
	guessMinFrames    = 3
	guessThreshold    = 30.0 // bits
	guessPreamble     = 64   // bytes of a preamble tried
	guessPreambleScan = 8 << 10
	guessStrong       = 300.0 // bits: no preamble is looked for past a fit this strong
	guessPeriodic     = 16 << 10
	guessMaxPeriod    = 256
)

// A proposal is a candidate SPEC that fits the streams.
type proposal struct {
	spec     string
	bits     float64 // evidence
	frames   int
	exact    bool // every stream parsed to its end exactly
	preamble int  // bytes before the first frame
	tier     int  // 0: text, 1: anything else (text is tested first)
	// For length layouts: the field, to order equivalent layouts.
	off, size, adjust int
	le                bool
	ends              []int64 // frame ends in the first stream, to compare proposals
	note              string
}

// guessOptions are guess's settings.
type guessOptions struct {
	max int // the frame size limit candidates must respect
}

// guessStreams proposes framings for streams, best first.
func guessStreams(streams [][]byte, o guessOptions) []proposal {
	if len(streams) == 0 {
		return nil
	}
	all := textProposals(streams)
	all = append(all, layoutProposals(streams, o)...)
	all = append(all, varintLayoutProposals(streams, o)...)
	all = append(all, codecProposals(streams, o)...)
	all = append(all, fixedProposals(streams)...)
	// A preamble: unless a framing fits from the start with strong
	// evidence, layouts that fit after the first pre bytes, found on the
	// first bytes of each stream, then weighed on the whole of them; one
	// is proposed when it has twice the evidence of any that fits from
	// the start.
	best := 0.0
	for _, p := range all {
		best = max(best, p.bits)
	}
	// Bytes as random as noise (compressed or encrypted) hold no
	// preamble before frames worth the search.
	for pre := 1; pre <= guessPreamble && best < guessStrong && entropy(streams[0]) < 7.99; pre++ {
		cut := make([][]byte, 0, len(streams))
		for _, s := range streams {
			if pre+16 > len(s) {
				break
			}
			cut = append(cut, s[pre:min(len(s), pre+guessPreambleScan)])
		}
		if len(cut) < len(streams) {
			break
		}
		found := layoutProposals(cut, o)
		sort.Slice(found, func(i, j int) bool { return found[i].bits > found[j].bits })
		for _, f := range found[:min(len(found), 2)] {
			whole := make([][]byte, len(streams))
			for k, s := range streams {
				whole[k] = s[pre:]
			}
			p, ok := tryLayout(whole, f.off, f.size, f.le, f.adjust, o.max, true)
			if !ok || p.bits < 2*best {
				continue
			}
			p.preamble = pre
			for k := range p.ends {
				p.ends[k] += int64(pre)
			}
			all = append(all, p)
		}
	}
	var kept []proposal
	for _, p := range all {
		if p.bits >= guessThreshold {
			kept = append(kept, p)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return better(kept[i], kept[j]) })
	return kept
}

// entropy estimates the bits per byte of the first 64 KiB of s
// (Miller-Madow corrected, so that random bytes come out near 8).
func entropy(s []byte) float64 {
	s = s[:min(len(s), 64<<10)]
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range s {
		counts[c]++
	}
	h, k := 0.0, 0
	for _, c := range counts {
		if c > 0 {
			k++
			p := float64(c) / float64(len(s))
			h -= p * math.Log2(p)
		}
	}
	return h + float64(k-1)/(2*float64(len(s))*math.Ln2)
}

// better orders proposals: text first (when the stream is text), then by
// evidence; among those that parse alike, the simplest layout.
func better(a, b proposal) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if sameEnds(a, b) {
		return simpler(a, b)
	}
	return a.bits > b.bits
}

// simpler prefers, among layouts that give the same frames, a small
// adjustment, then an early field, then a wide one, then big-endian.
func simpler(a, b proposal) bool {
	if abs(a.adjust) != abs(b.adjust) {
		return abs(a.adjust) < abs(b.adjust)
	}
	if a.off != b.off {
		return a.off < b.off
	}
	if a.size != b.size {
		return a.size > b.size
	}
	if a.le != b.le {
		return !a.le
	}
	return a.bits > b.bits
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func sameEnds(a, b proposal) bool {
	if len(a.ends) != len(b.ends) || a.preamble != b.preamble {
		return false
	}
	for i := range a.ends {
		if a.ends[i] != b.ends[i] {
			return false
		}
	}
	return true
}

// isText reports whether the streams are text: printable bytes, tabs,
// \r, \n, NUL and UTF-8, with at most 0.2% other control bytes (a binary
// length field shows in every frame).
func isText(streams [][]byte) bool {
	odd, total := 0, 0
	for _, s := range streams {
		total += len(s)
		for _, c := range s {
			if c < 0x20 && c != '\r' && c != '\n' && c != '\t' && c != 0 || c == 0x7f {
				odd++
			}
		}
	}
	return total > 0 && odd*500 <= total
}

// textProposals: a stream of printable bytes (tabs, \r and \n allowed)
// ended by \n, \r\n or NUL.
func textProposals(streams [][]byte) []proposal {
	var odd, total, lf, crlf, nul int
	for _, s := range streams {
		total += len(s)
		for i, c := range s {
			switch {
			case c == '\n':
				lf++
				if i > 0 && s[i-1] == '\r' {
					crlf++
				}
			case c == 0:
				nul++
			case c == '\r' || c == '\t' || c >= 0x20 && c < 0x7f || c >= 0x80:
				// UTF-8 text has bytes over 0x7f; a binary stream
				// shows itself with control bytes.
			default:
				odd++
			}
		}
	}
	// At most 0.2% control bytes: a binary length field shows in every
	// frame.
	if total == 0 || odd*500 > total {
		return nil
	}
	var out []proposal
	try := func(spec string, count int) {
		if count < guessMinFrames {
			return
		}
		ends, exact, ok := parseAll(spec, streams, 1<<30)
		if !ok {
			return
		}
		mean := float64(total) / float64(count)
		out = append(out, proposal{spec: spec, tier: 0, frames: count, exact: exact, ends: ends,
			bits: float64(count) * math.Log2(mean+1)})
	}
	// The delimiter that ends the stream is the framing; another one
	// found inside frames is proposed after it.
	last := streams[0][len(streams[0])-1]
	if nul > 0 {
		try(`delim:\x00`, nul)
		if last != 0 && len(out) > 0 {
			out[len(out)-1].tier = 1
		}
	}
	n := len(out)
	if crlf == lf {
		try("crlf", crlf)
	}
	try("lines", lf)
	if last != '\n' {
		for i := n; i < len(out); i++ {
			out[i].tier = 1
		}
	}
	return out
}

// parseAll parses every stream with spec through the engine: the frame
// ends of the first stream, and whether each parsed to its end (or into a
// truncated last frame: then exact is false); ok is false on an error or
// a stream with fewer than guessMinFrames frames.
func parseAll(spec string, streams [][]byte, limit int) (ends []int64, exact, ok bool) {
	c, err := parseSpec(spec)
	if err != nil {
		return nil, false, false
	}
	exact = true
	for i, s := range streams {
		d := framing.NewDeframer(c.dec, &framing.Options{MaxFrameSize: limit})
		if c.stuffed {
			s = append([]byte(nil), s...) // unstuffed in place
		}
		d.Push(s)
		d.End()
		n := 0
		for {
			_, err := d.Next()
			if err == nil {
				n++
				if i == 0 {
					ends = append(ends, d.Offset())
				}
				continue
			}
			if errors.Is(err, framing.ErrFinal) {
				// A final frame (a chunked body's last chunk): bytes
				// after it are something else.
				exact = exact && d.Offset() == int64(len(s))
			} else if errors.Is(err, io.ErrUnexpectedEOF) {
				exact = false
			} else if err != io.EOF {
				d.Release()
				return nil, false, false
			}
			break
		}
		d.Release()
		if n < guessMinFrames {
			return nil, false, false
		}
	}
	return ends, exact, true
}

// layoutProposals tries every length-field layout.
func layoutProposals(streams [][]byte, o guessOptions) []proposal {
	var out []proposal
	for off := 0; off <= 16; off++ {
		for _, size := range []int{1, 2, 3, 4, 8} {
			for _, le := range []bool{false, true} {
				if size == 1 && le {
					continue
				}
				for adjust := -(off + size + 4); adjust <= 24; adjust++ {
					// Frame ends are recorded only for a candidate with
					// the evidence to be proposed.
					if p, ok := tryLayout(streams, off, size, le, adjust, o.max, false); ok && p.bits >= guessThreshold {
						p, _ = tryLayout(streams, off, size, le, adjust, o.max, true)
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}

// tryLayout parses the streams with a layout: frame = off + size + value
// + adjust bytes.
func tryLayout(streams [][]byte, off, size int, le bool, adjust, limit int, record bool) (proposal, bool) {
	hdr := off + size
	var hist [65]int // bit lengths of the values
	var bins [16]int // the values' top 4 bits
	var maxV uint64
	frames, empty, total, covered := 0, 0, 0, 0
	exact := true
	var ends []int64
	for si, s := range streams {
		pos, n := 0, 0
		for pos < len(s) {
			if pos+hdr > len(s) {
				exact = false
				covered += pos
				pos = -1
				break
			}
			var v uint64
			f := s[pos+off : pos+hdr]
			for i := 0; i < size; i++ {
				if le {
					v |= uint64(f[i]) << (8 * i)
				} else {
					v = v<<8 | uint64(f[i])
				}
			}
			if v > uint64(limit)+uint64(hdr)+64 {
				return proposal{}, false
			}
			frame := hdr + int(v) + adjust
			if frame < hdr || frame-hdr > limit {
				return proposal{}, false
			}
			if frame == hdr {
				empty++
			}
			hist[bitLen(v)]++
			bins[v>>(8*size-4)]++
			maxV = max(maxV, v)
			n++
			if n&1023 == 64 && max(valueEvidence(hist[:8*size+1], frames+n, size), maxEvidence(maxV, frames+n, size)) <= 0 {
				// Hundreds of values that look like random bytes:
				// nothing can make this candidate's case any more.
				return proposal{}, false
			}
			if pos+frame > len(s) {
				// A truncated last frame (a capture cut short) is
				// accepted when the frames before it hold most of the
				// stream: a wrong layout that meets a large value
				// mid-stream is not.
				if pos*4 < len(s)*3 {
					return proposal{}, false
				}
				exact = false
				covered += pos
				pos = -1
				break
			}
			pos += frame
			if si == 0 && record {
				ends = append(ends, int64(pos))
			}
		}
		if n < guessMinFrames {
			return proposal{}, false
		}
		if pos >= 0 {
			covered += len(s)
		}
		frames += n
		total += len(s)
	}
	if empty*4 > frames {
		return proposal{}, false
	}
	bits := max(valueEvidence(hist[:8*size+1], frames, size), maxEvidence(maxV, frames, size), binEvidence(&bins, frames))
	if exact {
		bits += math.Log2(float64(total)/float64(frames) + 1)
	} else {
		bits *= float64(covered) / float64(total) // the bytes in the truncated frame are unexplained
	}
	if adjust != 0 {
		bits -= math.Log2(float64(abs(adjust)) + 1) // the adjustment is a parameter fitted to the data
	}
	if !record {
		return proposal{bits: bits}, true
	}
	// Tiny frames that repeat byte for byte (a constant header read as a
	// frame of its own) are what a layout that cuts real frames in two
	// produces: past a third of the frames, their share takes the
	// evidence away. (Real traffic repeats messages too, and has empty
	// ones, such as a sync or a heartbeat, but not every other frame.)
	if dup := duplicateShare(streams[0], ends, hdr); dup > 0.3 {
		bits *= max(0, 1-2*dup)
	}
	return proposal{spec: layoutSpec(off, size, le, adjust), bits: bits, frames: frames, exact: exact, tier: 1,
		off: off, size: size, adjust: adjust, le: le, ends: ends}, true
}

func bitLen(v uint64) int { return bits.Len64(v) }

// guessVarintBytes is the most bytes a varint length at an offset may
// take in guess's layouts (MQTT's 4: lengths up to 268,435,455).
const guessVarintBytes = 4

// varintLayoutProposals tries a varint length at offsets 1 to 16 (at
// offset 0 it is uvarint, among the codecs), with no adjustment: MQTT's
// fixed header (a type byte, then the remaining length) and its kind.
func varintLayoutProposals(streams [][]byte, o guessOptions) []proposal {
	var out []proposal
	for off := 1; off <= 16; off++ {
		if p, ok := tryVarintLayout(streams, off, o.max, false); ok && p.bits >= guessThreshold {
			p, _ = tryVarintLayout(streams, off, o.max, true)
			out = append(out, p)
		}
	}
	return out
}

// tryVarintLayout parses the streams with a varint length at off: frame
// = off + the varint's bytes + its value. The evidence is that of the
// values against varints read from random bytes (varintLenEvidence),
// plus the exact end.
func tryVarintLayout(streams [][]byte, off, limit int, record bool) (proposal, bool) {
	var hist [guessVarintBytes + 1][8*guessVarintBytes + 1]int // [bytes][bit length]
	frames, empty, total, covered := 0, 0, 0, 0
	exact := true
	var ends []int64
	for si, s := range streams {
		pos, n := 0, 0
		for pos < len(s) {
			var v uint64
			k := 0 // the varint's bytes, 0 until it ends
			for i := 0; i < guessVarintBytes && pos+off+i < len(s); i++ {
				c := s[pos+off+i]
				v |= uint64(c&0x7f) << (7 * i)
				if c < 0x80 {
					k = i + 1
					break
				}
			}
			if k == 0 {
				if pos+off+guessVarintBytes <= len(s) {
					return proposal{}, false // longer than guessVarintBytes
				}
				exact = false // the stream ends in a header
				covered += pos
				pos = -1
				break
			}
			if v > uint64(limit) {
				return proposal{}, false
			}
			frame := off + k + int(v)
			if v == 0 {
				empty++
			}
			hist[k][bitLen(v)]++
			n++
			if n&1023 == 64 && varintLenEvidence(&hist, frames+n) <= 0 {
				return proposal{}, false // values as random bytes give
			}
			if pos+frame > len(s) {
				if pos*4 < len(s)*3 {
					return proposal{}, false
				}
				exact = false
				covered += pos
				pos = -1
				break
			}
			pos += frame
			if si == 0 && record {
				ends = append(ends, int64(pos))
			}
		}
		if n < guessMinFrames {
			return proposal{}, false
		}
		if pos >= 0 {
			covered += len(s)
		}
		frames += n
		total += len(s)
	}
	if empty*4 > frames {
		return proposal{}, false
	}
	bits := varintLenEvidence(&hist, frames)
	if exact {
		bits += math.Log2(float64(total)/float64(frames) + 1)
	} else {
		bits *= float64(covered) / float64(total)
	}
	if !record {
		return proposal{bits: bits}, true
	}
	if dup := duplicateShare(streams[0], ends, off+1); dup > 0.3 {
		bits *= max(0, 1-2*dup)
	}
	spec := fmt.Sprintf("len:varint=true,offset=%d,size=%d", off, guessVarintBytes)
	if off == 1 {
		spec = "mqtt" // the same layout
	}
	return proposal{spec: spec, bits: bits, frames: frames, exact: exact, tier: 1,
		off: off, size: -1, ends: ends}, true
}

// varintLenEvidence is the log-likelihood ratio, in bits, of varint
// lengths (hist: counts by the varint's bytes and the value's bit length)
// between their own distribution and varints read from random bytes: a
// varint of n bytes holding a value of k bits is drawn from random bytes
// with probability 2^(max(k-1,0)) / 2^(8n) (each byte's top bit, and the
// value's bits), less a penalty for the fitted distribution.
func varintLenEvidence(hist *[guessVarintBytes + 1][8*guessVarintBytes + 1]int, n int) float64 {
	ev, used := 0.0, 0
	for nb := 1; nb <= guessVarintBytes; nb++ {
		for k, c := range hist[nb] {
			if c == 0 {
				continue
			}
			used++
			p := math.Exp2(float64(max(k-1, 0)) - float64(8*nb))
			ev += float64(c) * math.Log2(float64(c)/float64(n)/p)
		}
	}
	return ev - float64(used)*math.Log2(float64(n)+1)/2
}

// valueEvidence is the log-likelihood ratio, in bits, of the values' bit
// lengths (hist) between their own distribution and uniformly random
// size-byte values, less a penalty for the fitted distribution.
func valueEvidence(hist []int, n, size int) float64 {
	bits := 0.0
	used := 0
	width := float64(8 * size)
	for k, c := range hist {
		if c == 0 {
			continue
		}
		used++
		// Probability of bit length k under uniform random values.
		var p float64
		if k == 0 {
			p = math.Exp2(-width)
		} else {
			p = math.Exp2(float64(k-1) - width)
		}
		q := float64(c) / float64(n)
		bits += float64(c) * math.Log2(q/p)
	}
	return bits - float64(used)*math.Log2(float64(n)+1)/2
}

// duplicateShare is the share of frames (those ending at ends) with at
// most 2 bytes after a header of hdr bytes that repeat an earlier frame.
func duplicateShare(s []byte, ends []int64, hdr int) float64 {
	if len(ends) == 0 {
		return 0
	}
	seen := map[string]bool{}
	dup := 0
	start := int64(0)
	for _, e := range ends {
		if e-start <= int64(hdr)+2 {
			k := string(s[start:e])
			if seen[k] {
				dup++
			}
			seen[k] = true
		}
		start = e
	}
	return float64(dup) / float64(len(ends))
}

// binEvidence is the log-likelihood ratio of the values' top 4 bits
// against uniformly random values (a spike at one value, values bunched
// low), less a penalty for the fitted distribution.
func binEvidence(bins *[16]int, n int) float64 {
	ev, used := 0.0, 0
	for _, c := range bins {
		if c > 0 {
			used++
			ev += float64(c) * math.Log2(float64(c)*16/float64(n))
		}
	}
	return ev - float64(used)*math.Log2(float64(n)+1)/2
}

// maxEvidence is the evidence of n size-byte values all at most maxV:
// random values would be that small with probability
// ((maxV+1)/2^(8 size))^n; the bound itself is fitted (8 size bits).
func maxEvidence(maxV uint64, n, size int) float64 {
	width := float64(8 * size)
	return float64(n)*(width-math.Log2(float64(maxV)+1)) - width
}

// layoutSpec is the SPEC of a layout: a preset's name where one matches.
func layoutSpec(off, size int, le bool, adjust int) string {
	order := "be"
	if le {
		order = "le"
	}
	if off == 0 && adjust == 0 {
		name := fmt.Sprintf("u%d", 8*size)
		if size > 1 {
			name += order
		}
		if _, ok := presets[name]; ok {
			return name
		}
	}
	s := fmt.Sprintf("len:size=%d", size)
	if off != 0 {
		s += fmt.Sprintf(",offset=%d", off)
	}
	if le {
		s += ",order=le"
	}
	if adjust != 0 {
		s += fmt.Sprintf(",adjust=%d", adjust)
	}
	return s
}

// catalogueNames are catalogue codecs guess tries by name when framecat
// knows them (the catalogue grows; a name parseSpec refuses is passed
// over), besides the presets of the length-field table and uvarint.
var catalogueNames = []string{"uvarint", "cobs", "slip", "netstring", "resp", "lsp", "syslog",
	"json", "chunked", "pktline", "stomp", "mqtt", "tpkt", "mysql", "mongodb", "tls",
	"dns", "http2", "kafka"}

// protocolCheckBits is, for a catalogue preset with checks, the bits of
// evidence each frame that passes them gives against random bytes: 8 per
// fixed byte and trailer byte, a checksum's width (a user check counts
// 32). A varint length alone gives none here.
func protocolCheckBits(name string) (float64, bool) {
	p, ok := protocols[name]
	if !ok {
		return 0, false
	}
	k := p.Config().Checks
	if k == nil {
		return 0, true
	}
	bits := 8 * len(k.Trailer)
	for _, f := range k.Fixed {
		bits += 8 * len(f.Bytes)
	}
	if k.Checksum != nil {
		w := 4
		if k.Checksum.Algorithm == lengthprefix.CRC16CCITT {
			w = 2
		}
		bits += 8 * w
	}
	if k.Check != nil {
		bits += 32
	}
	return float64(bits), true
}

// codecProposals tries byte stuffing, uvarint and the catalogue codecs
// through the engine.
func codecProposals(streams [][]byte, o guessOptions) []proposal {
	var out []proposal
	total := 0
	for _, s := range streams {
		total += len(s)
	}
	// In text, the text framings compete with lines and delimiters (tier
	// 0) on their evidence: a chunked body is CRLF lines too, but its
	// sizes count its data.
	textTier := 1
	if isText(streams) {
		textTier = 0
	}
	for _, name := range catalogueNames {
		tier := 1
		if _, isPreset := presets[name]; isPreset {
			continue // the layouts cover them
		}
		ends, exact, ok := parseAll(name, streams, o.max)
		if !ok {
			continue
		}
		frames := len(ends) // of the first stream: enough to weigh the evidence
		var bits float64
		switch name {
		case "cobs":
			// Each frame's chain of code bytes must land on its end.
			bits = float64(frames) * math.Log2(math.Min(254, float64(total)/float64(frames))+1)
		case "slip":
			// Every ESC is followed by ESC_END or ESC_DC (7 bits each
			// against chance), and no byte is a stray ESC.
			esc := 0
			for _, st := range streams {
				esc += bytes.Count(st, []byte{0xdb, 0xdc}) + bytes.Count(st, []byte{0xdb, 0xdd})
			}
			bits = float64(total)*math.Log2(256.0/255) + 7*float64(esc) - math.Log2(float64(total))
		case "uvarint":
			bits = varintEvidence(streams[0], ends)
		case "resp", "netstring", "syslog", "pktline", "chunked", "stomp", "json", "lsp":
			bits = textEvidence(name, streams[0], ends)
			if bits <= 0 {
				continue
			}
			tier = textTier
		default:
			if per, isProtocol := protocolCheckBits(name); isProtocol {
				if per == 0 {
					continue // nothing but a length: no evidence of its own
				}
				bits = per * float64(frames)
			} else {
				bits = 4 * float64(frames)
			}
		}
		if exact {
			bits += math.Log2(float64(total)/float64(frames) + 1)
		}
		out = append(out, proposal{spec: name, bits: bits, frames: frames, exact: exact, tier: tier, ends: ends, size: -1})
	}
	return out
}

// textEvidence weighs the frames of a text framing (ends in s): per
// frame, the surprise (-log2 of the byte's frequency in s) of the bytes
// its parse needed to be what they are, which a stream with the same
// byte statistics but no such framing would rarely show: the length's
// digits and the byte after them, header names, the trailer. Frames
// parsed without such structure (an LF-ended line of octet counting, an
// inline RESP command, a top-level JSON scalar, a STOMP frame with an
// unknown command) give nothing, and unless most frames show the
// structure the framing is not the stream's.
func textEvidence(name string, s []byte, ends []int64) float64 {
	freq := byteFreq(s)
	sur := func(b []byte) float64 {
		x := 0.0
		for _, c := range b {
			x -= math.Log2(freq[c])
		}
		return x
	}
	bits, shown := 0.0, 0
	pos := int64(0)
	for _, end := range ends {
		f := s[pos:end]
		pos = end
		var b float64
		switch name {
		case "resp":
			// A RESP type byte and the CRLF that ends the first line.
			if len(f) > 0 && strings.IndexByte("+-:$*_,#!=(%~>|", f[0]) >= 0 {
				if i := bytes.Index(f, []byte("\r\n")); i > 0 {
					b = sur(f[:1]) + sur(f[i:i+2])
				}
			}
		case "netstring":
			// LEN ":" PAYLOAD ",": the digits, the colon, the comma.
			if i := bytes.IndexByte(f, ':'); i > 0 && digits(f[:i], 10) && f[len(f)-1] == ',' {
				b = sur(f[:i+1]) + sur(f[len(f)-1:])
			}
		case "syslog":
			// LEN SP MSG: the digits and the space (an LF-ended line
			// gives nothing).
			if i := bytes.IndexByte(f, ' '); i > 0 && digits(f[:i], 10) {
				b = sur(f[:i+1])
			}
		case "pktline":
			// Four hex digits that count the packet.
			if len(f) >= 4 && digits(f[:4], 16) {
				b = sur(f[:4])
			}
		case "chunked":
			// SIZE in hex, CRLF; the CRLF after the data.
			if i := bytes.Index(f, []byte("\r\n")); i > 0 {
				n := bytes.IndexByte(f[:i], ';')
				if n < 0 {
					n = i
				}
				if n > 0 && digits(f[:n], 16) {
					b = sur(f[:n]) + sur(f[i:i+2])
					if len(f) >= i+4 && bytes.HasSuffix(f, []byte("\r\n")) {
						b += sur(f[len(f)-2:])
					}
				}
			}
		case "stomp":
			// A STOMP command, the blank line ending the headers, the
			// NUL ending the body.
			f = bytes.TrimLeft(f, "\r\n") // heart-beats
			if i := bytes.IndexByte(f, '\n'); i > 0 && stompCommands[string(bytes.TrimSuffix(f[:i], []byte("\r")))] &&
				f[len(f)-1] == 0 {
				b = sur(f[:i+1]) + sur(f[len(f)-1:])
				if j := bytes.Index(f, []byte("\n\n")); j >= i {
					b += sur(f[j+1 : j+2])
				}
			}
		case "json":
			// An object or array: its opening and closing brackets.
			t := bytes.TrimSpace(f)
			if len(t) >= 2 && (t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']') {
				b = sur(t[:1]) + sur(t[len(t)-1:])
			}
		case "lsp":
			// The Content-Length header line and the blank line after
			// the header block.
			if j := bytes.Index(f, []byte("\r\n\r\n")); j >= 0 {
				for _, line := range bytes.Split(f[:j], []byte("\r\n")) {
					if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
						b = sur(line) + sur(f[j:j+4])
					}
				}
			}
		}
		if b > 0 {
			shown++
			bits += b
		}
	}
	if shown*2 < len(ends) {
		return 0
	}
	return bits
}

// stompCommands are STOMP 1.2's client and server commands.
var stompCommands = map[string]bool{
	"CONNECT": true, "STOMP": true, "CONNECTED": true, "SEND": true, "SUBSCRIBE": true, "UNSUBSCRIBE": true,
	"ACK": true, "NACK": true, "BEGIN": true, "COMMIT": true, "ABORT": true, "DISCONNECT": true,
	"MESSAGE": true, "RECEIPT": true, "ERROR": true,
}

// digits reports whether b is all digits of base 10 or 16.
func digits(b []byte, base int) bool {
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case base == 16 && (c|0x20 >= 'a' && c|0x20 <= 'f'):
		default:
			return false
		}
	}
	return len(b) > 0
}

// byteFreq is the frequency of each byte value in the first 64 KiB of s,
// smoothed so that none is 0.
func byteFreq(s []byte) *[256]float64 {
	s = s[:min(len(s), 64<<10)]
	var f [256]float64
	for _, c := range s {
		f[c]++
	}
	for i := range f {
		f[i] = (f[i] + 0.5) / (float64(len(s)) + 128)
	}
	return &f
}

// varintEvidence weighs uvarint frames as a length field: the bit
// lengths of the values against those of varints read from random bytes
// (a value of k bits takes ceil(k/7) bytes, of which 8 ceil(k/7) bits
// are drawn).
func varintEvidence(s []byte, ends []int64) float64 {
	var hist [65]int
	pos, n := int64(0), 0
	for _, end := range ends {
		v, _ := binary.Uvarint(s[pos:min(pos+10, int64(len(s)))])
		hist[bitLen(v)]++
		n++
		pos = end
	}
	if n == 0 {
		return 0
	}
	ev, used := 0.0, 0
	for k, c := range hist {
		if c == 0 {
			continue
		}
		used++
		nbytes := max(1, (k+6)/7)
		p := math.Exp2(float64(max(k-1, 0)) - float64(8*nbytes))
		ev += float64(c) * math.Log2(float64(c)/float64(n)/p)
	}
	return ev - float64(used)*math.Log2(float64(n)+1)/2
}

// fixedProposals looks for a period in the byte statistics: columns of a
// period that are far from the stream's overall byte distribution.
func fixedProposals(streams [][]byte) []proposal {
	s := streams[0]
	if len(s) > guessPeriodic {
		s = s[:guessPeriodic]
	}
	var global [256]float64
	for _, c := range s {
		global[c]++
	}
	for i := range global {
		global[i] = (global[i] + 0.5) / (float64(len(s)) + 128)
	}
	bestP, bestBits := 0, 0.0
	score := make([]float64, guessMaxPeriod+1)
	var counts [256]int
	for p := 2; p <= guessMaxPeriod; p++ {
		rows := len(s) / p
		if rows < 16 {
			break
		}
		bits := 0.0
		for col := 0; col < p; col++ {
			top, topByte := 0, 0
			for r := 0; r < rows; r++ {
				c := s[r*p+col]
				counts[c]++
				if counts[c] > top {
					top, topByte = counts[c], int(c)
				}
			}
			for r := 0; r < rows; r++ {
				counts[s[r*p+col]] = 0
			}
			// A column dominated by one byte: evidence as a likelihood
			// ratio of that byte's frequency against the stream's.
			f := float64(top) / float64(rows)
			if f > 0.6 {
				bits += float64(top)*math.Log2(f/global[topByte]) - math.Log2(float64(rows))
			}
		}
		score[p] = bits
		if bits > bestBits {
			bestP, bestBits = p, bits
		}
	}
	if bestP == 0 {
		return nil
	}
	// Multiples of the period show the same columns: the smallest period
	// with nearly the best evidence (a multiple gains a little by chance:
	// with fewer rows, a random column is dominated by one byte more
	// often).
	for p := 2; p < bestP; p++ {
		if bestP%p == 0 && score[p] >= 0.9*bestBits {
			bestP, bestBits = p, score[p]
			break
		}
	}
	spec := fmt.Sprintf("fixed:%d", bestP)
	ends, exact, ok := parseAll(spec, streams, 1<<30)
	if !ok {
		return nil
	}
	return []proposal{{spec: spec, bits: bestBits, frames: len(ends), exact: exact, tier: 1, ends: ends, size: -1,
		note: "periodic byte statistics"}}
}

// guessCmd is framecat guess [FILE | --pcap FILE].
func guessCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 0, 1, "FILE"); err != nil {
		return err
	}
	// --max is the bytes read (all directions of a capture together)
	// and, past the default frame limit, the largest frame a candidate
	// may declare: a frame longer than what was read cannot be seen whole.
	o := guessOptions{max: framing.DefaultMaxFrameSize}
	input := guessMaxInput
	if v, ok := cl.flags["max"]; ok {
		n, err := parseSize("max", v)
		if err != nil {
			return err
		}
		if n < 1 || n > math.MaxInt32 {
			return usagef("--max %s: want at least 1 byte and at most 2GiB", v)
		}
		input = int(n)
		o.max = max(o.max, input)
	}
	var streams [][]byte
	var names []string
	if name, ok := cl.flags["pcap"]; ok {
		if len(cl.pos) > 0 {
			return usagef("guess takes FILE or --pcap FILE, not both")
		}
		var err error
		streams, names, err = captureStreams(name, input)
		if err != nil {
			return err
		}
	} else {
		in, name, err := openInput(e, cl)
		if err != nil {
			return err
		}
		defer in.Close()
		b, err := io.ReadAll(io.LimitReader(in, int64(input)))
		if err != nil {
			return err
		}
		streams, names = [][]byte{b}, []string{name}
	}
	if len(streams) == 0 {
		return errors.New("no bytes to guess from")
	}
	ps := guessStreams(streams, o)
	return printGuess(e.stdout, ps, streams, names)
}

// printGuess prints the best proposals: one per class of proposals that
// parse alike, with the others of its class ("alike:" lines).
func printGuess(w io.Writer, ps []proposal, streams [][]byte, names []string) error {
	total := 0
	for _, s := range streams {
		total += len(s)
	}
	if len(ps) == 0 {
		return fmt.Errorf("no framing found in %d bytes of %d streams (%s)", total, len(streams), strings.Join(names, ", "))
	}
	var classes []guessClass
	for _, p := range ps {
		placed := false
		for i := range classes {
			if sameEnds(classes[i].best, p) {
				classes[i].others = append(classes[i].others, p)
				placed = true
				break
			}
		}
		if !placed {
			classes = append(classes, guessClass{best: p})
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "guessing from %d bytes in %d streams\n", total, len(streams))
	for i, c := range classes {
		if i == 3 {
			break
		}
		p := c.best
		conf := confidence(classes, i)
		label := "best"
		if i == 1 {
			label = "runner-up"
		} else if i > 1 {
			label = fmt.Sprintf("%d.", i+1)
		}
		end := "parses to the end"
		if !p.exact {
			end = "parses up to a truncated last frame"
		}
		fmt.Fprintf(&b, "%-9s %s\n          confidence %.0f%%, evidence %.0f bits; %d frames, %s", label, p.spec, conf, p.bits, p.frames, end)
		if p.preamble > 0 {
			fmt.Fprintf(&b, "; a preamble of %d bytes comes first", p.preamble)
		}
		if p.note != "" {
			fmt.Fprintf(&b, "; %s", p.note)
		}
		b.WriteByte('\n')
		for j, o := range c.others {
			if j == 6 {
				fmt.Fprintf(&b, "          and %d more that parse alike\n", len(c.others)-j)
				break
			}
			fmt.Fprintf(&b, "          alike: %s%s\n", o.spec, divergence(p, o))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// divergence says where a layout that parses like best here would part
// from it.
func divergence(best, o proposal) string {
	if o.size <= 0 || best.size <= 0 {
		return ""
	}
	if o.size < best.size && o.size < 8 {
		return fmt.Sprintf(" (reads %d bytes of the field: differs from a length of %d on)", o.size, uint64(1)<<(8*o.size))
	}
	return ""
}

// guessClass is a proposal and the others that parse alike.
type guessClass struct {
	best   proposal
	others []proposal
}

// confidence is how far, in percent, the class's evidence stands above
// the next class's (or the threshold): 2 bits of margin halve the doubt.
func confidence(classes []guessClass, i int) float64 {
	next := guessThreshold
	if i+1 < len(classes) {
		next = classes[i+1].best.bits
	}
	margin := max(classes[i].best.bits-next, 0)
	return 100 * (1 - math.Exp2(-margin/2))
}

// captureStreams reassembles a capture's TCP connections and returns each
// direction's bytes up to its first gap (at most limit bytes in all).
func captureStreams(name string, limit int) ([][]byte, []string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &collector{limit: limit}
	a := tcpassembly.New(tcpassembly.Config{}, c)
	var dec layers.Decoder
	var seg layers.Segment
	var p pcap.Packet
	for c.total < limit {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(c.streams) == 0 {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			break // guess from what came before the damage
		}
		if dec.Decode(p.Link, p.Data, p.OrigLen, p.Time, &seg) == nil {
			a.Add(&seg, p.Time)
		}
	}
	a.Close()
	// Directions whose start was not captured begin inside a frame:
	// they are left out when others began with their connection.
	var streams [][]byte
	var names []string
	for _, mid := range []bool{false, true} {
		for _, s := range c.streams {
			if len(s.b) > 0 && s.mid == mid {
				streams = append(streams, s.b)
				names = append(names, s.name)
			}
		}
		if len(streams) > 0 {
			break
		}
	}
	if len(streams) == 0 {
		return nil, nil, fmt.Errorf("%s: no TCP payload in %d packets", name, r.Packets())
	}
	return streams, names, nil
}

// collector keeps each direction's bytes up to its first gap.
type collector struct {
	streams []*collected
	total   int
	limit   int // bytes kept in all
}

type collected struct {
	name string
	b    []byte
	done bool
	mid  bool // the capture began inside the connection
}

func (c *collector) get(f *tcpassembly.Flow, dir int) *collected {
	st, _ := f.User.(*[2]*collected)
	if st == nil {
		st = &[2]*collected{}
		f.User = st
	}
	if st[dir] == nil {
		mark := "c>s"
		if dir == 1 {
			mark = "s>c"
		}
		st[dir] = &collected{name: fmt.Sprintf("#%d %s %s", f.ID, f, mark), mid: f.MidStream[dir]}
		c.streams = append(c.streams, st[dir])
	}
	return st[dir]
}

func (c *collector) Data(f *tcpassembly.Flow, dir int, off int64, data []byte, ts int64) {
	s := c.get(f, dir)
	if s.done || c.total >= c.limit {
		return
	}
	n := min(len(data), c.limit-c.total)
	s.b = append(s.b, data[:n]...)
	c.total += n
}

func (c *collector) Gap(f *tcpassembly.Flow, dir int, off, n int64, reason string) {
	c.get(f, dir).done = true
}

func (c *collector) End(f *tcpassembly.Flow, dir int, off int64, reason string) {}
