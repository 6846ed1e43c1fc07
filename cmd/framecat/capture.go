package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/framekit/framekit/cmd/framecat/internal/layers"
	"github.com/framekit/framekit/cmd/framecat/internal/pcap"
	"github.com/framekit/framekit/cmd/framecat/internal/tcpassembly"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// decodePcapCmd splits every TCP connection of a capture into frames: both
// directions, each frame with its connection, direction, the capture time
// of its last byte and its stream offset.
func decodePcapCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 0, 0, ""); err != nil {
		return err
	}
	s, err := newDirSetup(cl)
	if err != nil {
		return err
	}
	cfg, err := captureConfig(cl)
	if err != nil {
		return err
	}
	filter, err := parseFlowFilter(cl.flags["flow"])
	if err != nil {
		return err
	}
	name := cl.flags["pcap"]
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	pd := &pcapDecoder{e: e, s: s, filter: filter, summary: cl.has("summary"),
		out: newCapturePrinter(e.stdout, s.format)}
	return pd.run(f, name, cfg)
}

// captureConfig parses --max-flows, --idle and --max-ooo.
func captureConfig(cl *cmdline) (tcpassembly.Config, error) {
	var cfg tcpassembly.Config
	if v, ok := cl.flags["max-flows"]; ok {
		n, err := parseCount("max-flows", v)
		if err != nil {
			return cfg, err
		}
		cfg.MaxFlows = n
	}
	if v, ok := cl.flags["idle"]; ok {
		d, err := parseDurationOrZero("idle", v)
		if err != nil {
			return cfg, err
		}
		cfg.Idle = int64(d)
		if d == 0 {
			cfg.Idle = -1
		}
	}
	if v, ok := cl.flags["max-ooo"]; ok {
		n, err := parseSize("max-ooo", v)
		if err != nil {
			return cfg, err
		}
		if n < 1 || n > 1<<40 {
			return cfg, usagef("--max-ooo %s: want at least 1 byte", v)
		}
		cfg.MaxPending = int(n)
	}
	return cfg, nil
}

// A flowFilter selects connections: --flow TERM[,TERM...], a connection
// is decoded when any term matches. A term is #N (the connection's
// number), an endpoint (HOST, :PORT, HOST:PORT, [V6]:PORT) matching
// either side, or CLIENT>SERVER with an endpoint (or *) on each side.
type flowFilter []flowTerm

type flowTerm struct {
	id               int64
	client, server   endpoint
	either, directed bool
}

type endpoint struct {
	addr netip.Addr // invalid: any
	port uint16     // 0: any
}

func (p endpoint) match(a netip.AddrPort) bool {
	return (!p.addr.IsValid() || p.addr == a.Addr().Unmap()) && (p.port == 0 || p.port == a.Port())
}

func parseEndpoint(s string) (endpoint, error) {
	switch {
	case s == "*":
		return endpoint{}, nil
	case strings.HasPrefix(s, ":"):
		n, err := strconv.ParseUint(s[1:], 10, 16)
		if err == nil && n > 0 {
			return endpoint{port: uint16(n)}, nil
		}
	default:
		if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
			return endpoint{addr: ap.Addr().Unmap(), port: ap.Port()}, nil
		}
		if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			return endpoint{addr: a.Unmap()}, nil
		}
	}
	return endpoint{}, fmt.Errorf("%q is not HOST, :PORT, HOST:PORT or *", s)
}

func parseFlowFilter(spec string) (flowFilter, error) {
	if spec == "" {
		return nil, nil
	}
	var ff flowFilter
	for _, term := range strings.Split(spec, ",") {
		bad := func(err error) error {
			return usagef("--flow %q: %v (want #N, an endpoint HOST, :PORT or HOST:PORT, or CLIENT>SERVER)", term, err)
		}
		switch {
		case strings.HasPrefix(term, "#"):
			n, err := strconv.ParseInt(term[1:], 10, 64)
			if err != nil || n < 1 {
				return nil, bad(errors.New("a connection number counts from 1"))
			}
			ff = append(ff, flowTerm{id: n})
		case strings.Contains(term, ">"):
			c, s, _ := strings.Cut(term, ">")
			ce, err := parseEndpoint(c)
			if err != nil {
				return nil, bad(err)
			}
			se, err := parseEndpoint(s)
			if err != nil {
				return nil, bad(err)
			}
			ff = append(ff, flowTerm{client: ce, server: se, directed: true})
		default:
			ep, err := parseEndpoint(term)
			if err != nil {
				return nil, bad(err)
			}
			ff = append(ff, flowTerm{client: ep, either: true})
		}
	}
	return ff, nil
}

func (ff flowFilter) match(f *tcpassembly.Flow) bool {
	if ff == nil {
		return true
	}
	for _, t := range ff {
		switch {
		case t.id != 0:
			if f.ID == t.id {
				return true
			}
		case t.either:
			if t.client.match(f.Client) || t.client.match(f.Server) {
				return true
			}
		case t.directed:
			if t.client.match(f.Client) && t.server.match(f.Server) {
				return true
			}
		}
	}
	return false
}

// pcapDecoder is the tcpassembly.Handler of decode --pcap: a Deframer per
// direction.
type pcapDecoder struct {
	e       *env
	s       *setup
	filter  flowFilter
	summary bool
	out     *capturePrinter
	err     error // the first output error

	problems int   // gaps, stopped directions, frames cut by the end
	frames   int64 // frames printed
}

// flowState is what the decoder keeps per connection.
type flowState struct {
	skip bool
	dir  [2]*dirDecoder
	ssl  *sslConn // the server's answers to SSLRequest; nil unless -c postgres
}

func (pd *pcapDecoder) state(f *tcpassembly.Flow) *flowState {
	if st, ok := f.User.(*flowState); ok {
		return st
	}
	st := &flowState{skip: !pd.filter.match(f)}
	if !st.skip && pgPair(pd.s) {
		st.ssl = &sslConn{}
	}
	f.User = st
	return st
}

func (pd *pcapDecoder) dir(f *tcpassembly.Flow, dir int) *dirDecoder {
	st := pd.state(f)
	if st.skip {
		return nil
	}
	if st.dir[dir] == nil {
		st.dir[dir] = newDirDecoder(pd, f, dir)
	}
	return st.dir[dir]
}

func (pd *pcapDecoder) Data(f *tcpassembly.Flow, dir int, off int64, data []byte, ts int64) {
	if d := pd.dir(f, dir); d != nil {
		d.data(off, data, ts)
	}
}

func (pd *pcapDecoder) Gap(f *tcpassembly.Flow, dir int, off, n int64, reason string) {
	if d := pd.dir(f, dir); d != nil {
		d.gap(off, n, reason)
	}
}

func (pd *pcapDecoder) End(f *tcpassembly.Flow, dir int, off int64, reason string) {
	st := pd.state(f)
	if st.skip {
		return
	}
	if d := st.dir[dir]; d != nil {
		st.dir[dir] = nil
		d.end(off, reason)
	}
	// Even a server that sent nothing ends: a client waiting for its
	// answer waits no longer.
	if st.ssl != nil && dir == tcpassembly.ServerToClient {
		st.ssl.close(fmt.Sprintf("the server's direction ended (%s) at offset %d", reason, off))
	}
}

// warn writes a line about a direction on stderr (after the frames before
// it, so that the two streams read in order on a terminal).
func (pd *pcapDecoder) warn(format string, args ...any) {
	if err := pd.out.flush(); err != nil && pd.err == nil {
		pd.err = err
	}
	fmt.Fprintf(pd.e.stderr, "framecat: "+format+"\n", args...)
}

// run reads the capture and decodes it.
func (pd *pcapDecoder) run(in io.Reader, name string, cfg tcpassembly.Config) error {
	r, err := pcap.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	a := tcpassembly.New(cfg, pd)
	var (
		dec      layers.Decoder
		seg      layers.Segment
		p        pcap.Packet
		notTCP   int64
		bad      int64
		firstBad error
		readErr  error
	)
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		switch err := dec.Decode(p.Link, p.Data, p.OrigLen, p.Time, &seg); {
		case err == nil:
			a.Add(&seg, p.Time)
		case err == layers.ErrNotTCP:
			notTCP++
		case err == layers.ErrFragment:
		default:
			bad++
			if firstBad == nil {
				firstBad = fmt.Errorf("packet %d: %w", p.Index, err)
			}
		}
		if pd.err != nil {
			return pd.err
		}
	}
	a.Close()
	if err := pd.out.flush(); err != nil {
		return err
	}
	if pd.err != nil {
		return pd.err
	}
	if bad > 0 {
		fmt.Fprintf(pd.e.stderr, "framecat: %s: %d packets could not be decoded (the first: %v)\n", name, bad, firstBad)
	}
	if dec.Defrag.Lost > 0 {
		fmt.Fprintf(pd.e.stderr, "framecat: %s: %d fragmented IP datagrams were incomplete and lost\n", name, dec.Defrag.Lost)
	}
	if readErr != nil {
		return fmt.Errorf("%s: %w (the frames before it were printed)", name, readErr)
	}
	if a.Stats.Segments == 0 {
		return fmt.Errorf("%s: no TCP segments in %d packets (%d not TCP, %d undecodable)", name, r.Packets(), notTCP, bad)
	}
	if bad > 0 || pd.problems > 0 {
		return fmt.Errorf("%s: not every frame could be decoded: %d gaps or stopped directions, %d undecodable packets (see above)", name, pd.problems, bad)
	}
	return nil
}

// Modes of a direction's decoding.
const (
	running = iota
	syncing // looking for the first frame boundary (a start mid-stream, or after a gap)
	stopped
	handedOver // after a final frame: the bytes are counted, not decoded
	awaiting   // after an SSLRequest: held until the server's answer (pgssl.go)
)

// Bounds of the search for a frame boundary.
const (
	syncWindow  = 256 << 10 // bytes held while searching
	syncScan    = 64 << 10  // candidate start offsets tried
	syncConfirm = 4         // frames in a row that confirm a start
)

// dirDecoder decodes one direction of a connection.
type dirDecoder struct {
	pd   *pcapDecoder
	f    *tcpassembly.Flow
	dir  int
	c    *codec // this direction's
	d    *framing.Deframer
	mode int
	// dropFirst: the first frame after a (re)start is the tail of a
	// frame whose start was not captured (delimiter and stuffing codecs).
	dropFirst bool
	skipTo    int64 // bytes before this offset are dropped (a resync at a known boundary)
	// The bytes held while syncing, from offset syncOff, with each
	// piece's end offset and capture time.
	sync    []byte
	syncOff int64
	pieces  []piece
	tried   int // len(sync) at the last search
	frames  int64
	bytes   int64
	gaps    int64
	lastTs  int64  // capture time of the last bytes
	ended   string // why the connection ended, once it has
	// After a final frame (handedOver): where it ended, the bytes
	// captured after it, and those lost in gaps.
	finalAt, unframed, lost int64
	// ssl is the connection's SSLRequest answers (nil unless -c
	// postgres); request names the client's last SSLRequest or
	// GSSENCRequest; held is what came after it while its answer is
	// awaited, heldBytes the bytes in held.
	ssl       *sslConn
	request   string
	held      []heldEvent
	heldBytes int
}

type piece struct {
	end, ts int64
}

func newDirDecoder(pd *pcapDecoder, f *tcpassembly.Flow, dir int) *dirDecoder {
	c := pd.s.dirs[dir]
	d := &dirDecoder{pd: pd, f: f, dir: dir, c: c, d: framing.NewDeframer(c.dec, pd.s.opts), ssl: pd.state(f).ssl}
	if d.ssl != nil && dir == tcpassembly.ServerToClient && f.MidStream[dir] {
		d.ssl.close("the capture starts inside the server's direction")
	}
	if f.MidStream[dir] {
		d.restart(0, "the capture starts inside the connection")
	}
	return d
}

func (d *dirDecoder) name() string {
	mark := "c>s"
	if d.dir == tcpassembly.ServerToClient {
		mark = "s>c"
	}
	return fmt.Sprintf("#%d %s %s", d.f.ID, d.f, mark)
}

// scanning reports a codec that finds frame ends by scanning (delimiters,
// byte stuffing): after a lost start, its next frame begins after the
// next frame end.
func (d *dirDecoder) scanning() bool { return !d.c.length && d.c.fixed == 0 }

// restart begins decoding at offset off, where a frame boundary is not
// known.
func (d *dirDecoder) restart(off int64, why string) {
	c := d.c
	d.d.Reset(off)
	switch {
	case d.scanning():
		d.dropFirst = true
		d.mode = running
	case c.fixed > 0:
		d.mode = running
		if off == 0 {
			d.event("midstream", 0, -1, "%s; fixed-size frames are counted from its first byte captured", why)
		}
	default:
		d.mode = syncing
		d.sync, d.syncOff, d.pieces, d.tried = d.sync[:0], off, d.pieces[:0], 0
	}
}

func (d *dirDecoder) data(off int64, data []byte, ts int64) {
	if d.mode == awaiting {
		d.hold(heldEvent{off: off, data: bytes.Clone(data), ts: ts})
		return
	}
	if d.mode == handedOver {
		d.unframed += int64(len(data))
		d.lastTs = ts
		return
	}
	if d.mode == stopped {
		return
	}
	if off < d.skipTo {
		if off+int64(len(data)) <= d.skipTo {
			return
		}
		data = data[d.skipTo-off:]
	}
	if d.mode == syncing {
		d.sync = append(d.sync, data...)
		d.pieces = append(d.pieces, piece{d.syncOff + int64(len(d.sync)), ts})
		d.search(false)
		return
	}
	d.push(data, ts)
}

// push decodes bytes in order and prints the frames they complete.
func (d *dirDecoder) push(data []byte, ts int64) {
	d.lastTs = ts
	d.d.Push(data)
	d.drain(ts)
}

// drain prints the frames decoded so far; their last byte was captured at
// ts.
func (d *dirDecoder) drain(ts int64) {
	for d.mode == running {
		start := d.d.Offset()
		f, err := d.d.Next()
		if err == framing.ErrNeedMore {
			return
		}
		if err == io.EOF {
			return
		}
		if d.dropFirst {
			// The tail of a frame whose start is not in the capture, or
			// an error about it.
			d.dropFirst = false
			if err == nil {
				d.event("resync", d.d.Offset(), d.d.Offset()-start, "%d bytes before the first frame boundary at offset %d were dropped", d.d.Offset()-start, d.d.Offset())
			}
			if err == nil || framing.Classify(err) != framing.Fatal {
				continue
			}
		}
		if errors.Is(err, framing.ErrFinal) {
			d.final()
			continue // framing may resume at once (an SSLRequest refused)
		}
		if err != nil {
			de := &dataError{index: d.frames, offset: start, err: err, c: d.c}
			if d.ended != "" && errors.Is(err, io.ErrUnexpectedEOF) {
				d.stop("the connection ended (%s) inside a frame: %v", d.ended, de)
				return
			}
			if d.pd.s.goesOn(de) {
				d.event("rejected", start, -1, "%v", de)
				continue
			}
			d.stop("%v", de)
			return
		}
		d.frames++
		d.bytes += int64(len(f))
		d.pd.frames++
		if !d.pd.summary {
			if err := d.pd.out.frame(d, start, ts, f); err != nil && d.pd.err == nil {
				d.pd.err = err
			}
		}
		if d.ssl != nil {
			d.ssl.saw(d, f)
		}
	}
}

// final hands the direction over after a final frame: the codec ended
// the framed stream (PostgreSQL's 'S', then TLS; an HTTP chunked body's
// last chunk, then the next message). That is no problem: the bytes that
// follow are counted and reported when the direction ends. A client's
// SSLRequest or GSSENCRequest under -c postgres waits for the server's
// answer instead (awaitAnswer).
func (d *dirDecoder) final() {
	d.finalAt = d.d.Offset()
	if d.ssl != nil && d.dir == tcpassembly.ClientToServer && d.d.Kind() == lengthprefix.KindSSLRequest {
		d.awaitAnswer()
		return
	}
	d.unframed = int64(len(d.d.Detach()))
	d.handOver("it ends the framed stream")
}

// handOver says that the frame ending at finalAt is final, and why: from
// there on the direction's bytes are counted, not decoded.
func (d *dirDecoder) handOver(why string) {
	d.mode = handedOver
	d.event("final", d.finalAt, -1, "the frame ending at offset %d is final (%s); what follows is not decoded", d.finalAt, why)
}

// event reports something about the direction other than a frame: a
// line on stderr, and with -f json also a record in the output (see
// capturePrinter.event), n < 0 leaving out its "bytes".
func (d *dirDecoder) event(name string, off, n int64, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if d.pd.s.format == formatJSON {
		d.pd.out.event(d, name, off, n, msg)
	}
	d.pd.warn("%s: %s", d.name(), msg)
}

func (d *dirDecoder) stop(format string, args ...any) {
	d.mode = stopped
	d.pd.problems++
	d.event("stop", d.d.Offset(), -1, "%s; this direction is not decoded further", fmt.Sprintf(format, args...))
	d.sync, d.pieces = nil, nil
	if d.ssl != nil && d.dir == tcpassembly.ServerToClient {
		d.ssl.close(fmt.Sprintf("the server's direction is not decoded past offset %d", d.d.Offset()))
	}
}

// gap handles n bytes lost at off: the frame they cut is lost, and
// decoding resumes at the next frame boundary the codec can find.
func (d *dirDecoder) gap(off, n int64, reason string) {
	if d.mode == awaiting {
		d.hold(heldEvent{off: off, n: n, gap: true, reason: reason})
		return
	}
	if d.ssl != nil && d.dir == tcpassembly.ServerToClient {
		// What the server says after a gap cannot be matched to a
		// request (said once the gap is).
		defer d.ssl.close(fmt.Sprintf("a gap at offset %d in the server's direction", off))
	}
	d.gaps++
	end := off + n
	if d.mode == handedOver {
		d.lost += n
		return
	}
	d.pd.problems++
	if d.mode == stopped {
		return
	}
	d.event("gap", off, n, "gap of %d bytes at offset %d (%s)", n, off, reason)
	if d.mode == syncing {
		d.restart(end, "")
		return
	}
	c := d.c
	start := d.d.Offset() // of the frame the gap cut
	switch {
	case c.fixed > 0:
		next := start + (end-start+int64(c.fixed)-1)/int64(c.fixed)*int64(c.fixed)
		d.resumeAt(next)
	case c.length:
		// The frame's size is known when its header was captured: the
		// next frame starts where it ends.
		rest := d.d.Detach()
		st := framing.DecodeState{Limit: d.pd.s.max}
		dd, err := c.dec.Decode(rest[:len(rest):len(rest)], false, &st)
		if err == nil {
			if _, _, total, ok := dd.Located(); ok && start+total >= end {
				d.resumeAt(start + total)
				return
			}
			if _, _, ok := dd.Frame(); ok && start+int64(dd.Advance()) >= end {
				d.resumeAt(start + int64(dd.Advance()))
				return
			}
		}
		d.restart(end, "")
		d.event("lost", start, -1, "the frame at offset %d is lost; looking for the next frame boundary after offset %d", start, end)
	default:
		d.d.Reset(end)
		d.dropFirst = true
	}
}

// resumeAt resumes at the frame boundary next, past a gap.
func (d *dirDecoder) resumeAt(next int64) {
	d.d.Reset(next)
	d.skipTo = next
	d.mode = running
	d.event("resync", next, -1, "the frame cut by the gap is lost; decoding resumes at offset %d", next)
}

// search looks for the first offset in the held bytes from which the
// codec parses syncConfirm frames in a row (or, at the end, every byte
// held); ended says no more bytes will come.
func (d *dirDecoder) search(ended bool) {
	if !ended && len(d.sync) < syncWindow && len(d.sync) < 2*d.tried+64 {
		return // searched not long ago: wait for twice the bytes
	}
	d.tried = len(d.sync)
	full := len(d.sync) >= syncWindow
	k, found, waiting := findBoundary(d.c, d.pd.s.max, d.sync, ended || full)
	if !found {
		if waiting && !full {
			return
		}
		if ended && len(d.sync) == 0 {
			return
		}
		d.stop("no frame boundary found in the %d bytes from offset %d (%d frames in a row are wanted)", len(d.sync), d.syncOff, syncConfirm)
		return
	}
	if k > 0 {
		d.event("resync", d.syncOff+int64(k), int64(k), "the first frame boundary found is at offset %d (%d bytes dropped)", d.syncOff+int64(k), k)
	}
	held, pieces, base := d.sync, d.pieces, d.syncOff
	d.sync, d.pieces = nil, nil
	d.mode = running
	d.d.Reset(base + int64(k))
	from := k
	for _, p := range pieces {
		to := int(p.end - base)
		if to <= from {
			continue
		}
		// Each piece pushed alone, so that a frame gets the time of the
		// piece with its last byte; after a final frame or a stop, taken
		// as the mode says.
		if d.mode == running {
			d.push(held[from:to], p.ts)
		} else {
			d.data(base+int64(from), held[from:to], p.ts)
		}
		from = to
	}
}

// findBoundary returns the first offset k of buf from which the codec
// parses syncConfirm frames in a row, or (final: no more bytes to come)
// frames up to the end of buf exactly. waiting says that an offset before
// any found might still qualify with more bytes.
func findBoundary(c *codec, max int, buf []byte, final bool) (k int, found, waiting bool) {
	d := framing.NewDeframer(c.dec, &framing.Options{MaxFrameSize: max})
	defer d.Release()
	for k = 0; k < len(buf) && k < syncScan; k++ {
		d.Reset(0)
		d.Push(buf[k:])
		if final {
			d.End()
		}
		n := 0
		for n < syncConfirm {
			_, err := d.Next()
			if err == nil {
				n++
				continue
			}
			if err == io.EOF && n > 0 {
				return k, true, false
			}
			if err == framing.ErrNeedMore && n > 0 {
				if final {
					return k, true, false // at the end of the window: the frames so far
				}
				return 0, false, true
			}
			if err == framing.ErrNeedMore && !final {
				return 0, false, true
			}
			break
		}
		if n == syncConfirm {
			return k, true, false
		}
	}
	return 0, false, false
}

// end ends the direction: the frames the end completes are printed, and
// a frame cut by it is reported.
func (d *dirDecoder) end(off int64, reason string) {
	d.ended = reason
	if d.mode == syncing {
		d.search(true)
	}
	if d.mode == awaiting {
		d.hold(heldEvent{off: off, end: true, reason: reason})
		return
	}
	if d.mode == running {
		d.d.End()
		d.drain(d.lastTs)
	}
	if d.mode == handedOver {
		d.event("unframed", d.finalAt, d.unframed, "%d bytes followed the final frame at offset %d, not decoded (%d more lost in gaps)", d.unframed, d.finalAt, d.lost)
	}
	if reason != "FIN" && reason != "RST" && reason != "end of capture" {
		d.event("ended", off, -1, "the connection was %s at offset %d", reason, off)
	}
	if d.pd.summary {
		d.pd.out.summary(d, reason)
	}
	d.d.Release()
}

// capturePrinter prints the frames of decode --pcap, one per line.
type capturePrinter struct {
	w      *bufio.Writer
	format string
	b      []byte
}

func newCapturePrinter(w io.Writer, format string) *capturePrinter {
	return &capturePrinter{w: bufio.NewWriterSize(w, 64<<10), format: format}
}

// captureTime is how a capture time is printed: UTC, to the nanosecond.
const captureTime = "2006-01-02T15:04:05.000000000Z07:00"

// frame prints a frame: in hex and text, "TIME #ID CLIENT>SERVER MARK
// @OFFSET PAYLOAD" (MARK > client to server, < server to client); in
// JSON, an object with len, hex, time, conn, flow, dir and offset.
func (cp *capturePrinter) frame(d *dirDecoder, off, ts int64, payload []byte) error {
	b := cp.b[:0]
	t := time.Unix(0, ts).UTC()
	if cp.format == formatJSON {
		b = append(b, `{"len":`...)
		b = strconv.AppendInt(b, int64(len(payload)), 10)
		b = append(b, `,"hex":"`...)
		b = hex.AppendEncode(b, payload)
		b = append(b, `","time":"`...)
		b = t.AppendFormat(b, captureTime)
		b = cp.flowJSON(append(b, '"'), d)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, off, 10)
		b = append(b, '}')
	} else {
		b = t.AppendFormat(b, captureTime)
		b = cp.flowText(append(b, ' '), d)
		b = append(b, " @"...)
		b = strconv.AppendInt(b, off, 10)
		b = append(b, ' ')
		if cp.format == formatHex {
			b = hex.AppendEncode(b, payload)
		} else {
			b = append(b, payload...)
		}
	}
	b = append(b, '\n')
	cp.b = b
	_, err := cp.w.Write(b)
	return err
}

// event prints a record about a direction (JSON only): {"event":NAME,
// "time","conn","flow","dir","offset","bytes" (when n >= 0),"msg"}, time
// being the capture time of the direction's last bytes so far.
func (cp *capturePrinter) event(d *dirDecoder, name string, off, n int64, msg string) {
	b := cp.b[:0]
	b = append(b, `{"event":`...)
	b = strconv.AppendQuote(b, name)
	if d.lastTs != 0 {
		b = append(b, `,"time":"`...)
		b = time.Unix(0, d.lastTs).UTC().AppendFormat(b, captureTime)
		b = append(b, '"')
	}
	b = cp.flowJSON(b, d)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, off, 10)
	if n >= 0 {
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, n, 10)
	}
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, "}\n"...)
	cp.b = b
	cp.w.Write(b)
}

func (cp *capturePrinter) flowText(b []byte, d *dirDecoder) []byte {
	b = append(b, '#')
	b = strconv.AppendInt(b, d.f.ID, 10)
	b = append(b, ' ')
	b = append(b, d.f.String()...)
	if d.dir == tcpassembly.ClientToServer {
		return append(b, " >"...)
	}
	return append(b, " <"...)
}

func (cp *capturePrinter) flowJSON(b []byte, d *dirDecoder) []byte {
	b = append(b, `,"conn":`...)
	b = strconv.AppendInt(b, d.f.ID, 10)
	b = append(b, `,"flow":`...)
	b = strconv.AppendQuote(b, d.f.String())
	if d.dir == tcpassembly.ClientToServer {
		return append(b, `,"dir":"c>s"`...)
	}
	return append(b, `,"dir":"s>c"`...)
}

// summary prints a direction's counts (--summary): "#ID CLIENT>SERVER
// MARK frames=N bytes=N gaps=N end=REASON", or a JSON object with conn,
// flow, dir, frames, bytes, gaps and end.
func (cp *capturePrinter) summary(d *dirDecoder, reason string) {
	b := cp.b[:0]
	if cp.format == formatJSON {
		b = cp.flowJSON(append(b, '{'), d)
		b = append(b[:1], b[2:]...) // no comma after the brace
		b = fmt.Appendf(b, `,"frames":%d,"bytes":%d,"gaps":%d,"end":%q}`, d.frames, d.bytes, d.gaps, reason)
	} else {
		b = cp.flowText(b, d)
		b = fmt.Appendf(b, " frames=%d bytes=%d gaps=%d end=%s", d.frames, d.bytes, d.gaps, reason)
	}
	b = append(b, '\n')
	cp.b = b
	cp.w.Write(b)
}

func (cp *capturePrinter) flush() error { return cp.w.Flush() }
