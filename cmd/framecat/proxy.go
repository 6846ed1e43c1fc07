package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// faults are proxy's fault-injection flags.
type faults struct {
	recut                          int           // pieces of at most recut bytes; 0: as they come
	delay                          time.Duration // each piece held this long
	drop, dup, corrupt, corruptLen float64       // per-frame probabilities
	seed                           uint64
}

// perFrame reports whether the proxy must forward frame by frame.
func (f *faults) perFrame() bool { return f.drop+f.dup+f.corrupt+f.corruptLen > 0 }

// faultSetup reads proxy's fault flags.
func faultSetup(cl *cmdline, s *setup) (*faults, error) {
	f := &faults{seed: 1}
	var err error
	if v, ok := cl.flags["recut"]; ok {
		if f.recut, err = parseCount("recut", v); err != nil {
			return nil, err
		}
	}
	if v, ok := cl.flags["delay"]; ok {
		if f.delay, err = parseDuration("delay", v); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		name string
		v    *float64
	}{{"drop", &f.drop}, {"dup", &f.dup}, {"corrupt", &f.corrupt}, {"corrupt-len", &f.corruptLen}} {
		if v, ok := cl.flags[p.name]; ok {
			if *p.v, err = parseProbability(p.name, v); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := cl.flags["seed"]; ok {
		if _, err := fmt.Sscanf(v, "%d", &f.seed); err != nil || fmt.Sprint(f.seed) != v {
			return nil, usagef("--seed %q: want a whole number >= 0", v)
		}
	}
	for _, c := range s.dirs {
		if f.corruptLen > 0 && !c.length {
			return nil, usagef("--corrupt-len: %s has no length field", c.spec)
		}
	}
	return f, nil
}

// proxyCmd relays bytes between clients and an upstream and prints the
// frames going each way, injecting the faults its flags ask for.
func proxyCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 2, 2, "LISTEN_ADDR UPSTREAM_ADDR"); err != nil {
		return err
	}
	s, err := newDirSetup(cl)
	if err != nil {
		return err
	}
	if err := guardSetup(cl, s); err != nil {
		return err
	}
	f, err := faultSetup(cl, s)
	if err != nil {
		return err
	}
	return listenUntilSignal(e, cl.pos[0], proxier(e, s, f, cl.pos[1]))
}

// proxier returns what proxy does with one client connection.
func proxier(e *env, s *setup, f *faults, upstream string) func(id int64, client net.Conn) {
	p := newPrinter(e.stdout, s.format, true)
	return func(id int64, client net.Conn) {
		defer client.Close()
		name := connName(id, client)
		up, err := net.DialTimeout("tcp", upstream, 10*time.Second)
		if err != nil {
			fmt.Fprintf(e.stderr, "framecat: %s: %v\n", name, err)
			return
		}
		defer up.Close()
		var answers *sslAnswers
		if pgPair(s) {
			answers = newSSLAnswers()
		}
		var wg sync.WaitGroup
		wg.Add(2)
		for i, d := range []*direction{
			{src: client, dst: up, mark: ">", dir: "c>s"},
			{src: up, dst: client, mark: "<", dir: "s>c"},
		} {
			d.e, d.s, d.f, d.p, d.id, d.name, d.c = e, s, f, p, id, name, s.dirs[i]
			d.peer = client.RemoteAddr().String()
			d.answers = answers
			d.rng = rand.New(rand.NewPCG(f.seed, uint64(id)<<1|uint64(i)))
			go func() { defer wg.Done(); d.run() }()
		}
		wg.Wait()
	}
}

// direction is one way through the proxy.
type direction struct {
	e         *env
	s         *setup
	c         *codec // this direction's
	f         *faults
	p         *printer
	id        int64
	name      string
	peer      string
	src, dst  net.Conn
	mark, dir string
	rng       *rand.Rand // the faults' draws, from --seed, the conn id and the direction
	// answers passes PostgreSQL's answers to SSLRequest and GSSENCRequest
	// from s>c to c>s; nil unless the codecs are postgres-fe and -be.
	answers *sslAnswers
}

// run relays src to dst. A tap decodes the bytes as they pass and prints
// each frame; with per-frame faults the bytes go on frame by frame, each
// dropped, duplicated or corrupted as drawn. After an error the tap cannot
// get past (a corrupt stream, the budget, a slow peer) it says that it
// stops decoding this direction, and the rest is relayed unchanged. After
// a final frame (the codec ends the framed stream: PostgreSQL's
// SSLRequest and 'S', the end of a chunked body) it says so, and the rest
// is relayed unframed, through --recut and --delay still; at the end it
// says how many bytes that was.
//
// PostgreSQL's SSLRequest (or GSSENCRequest) is final only if the server
// accepts it: c>s waits for s>c's next answer, and if it is 'N' it says
// that framing resumes and decodes the rest (a StartupMessage follows)
// with a new reader over the bytes after the request; if the server
// accepts, or ends without answering, the rest is relayed unframed.
func (d *direction) run() {
	answering := d.answers != nil && d.dir == "s>c"
	if answering {
		defer d.answers.close()
	}
	out := d.sink()
	tap := &tapConn{Conn: d.src, out: out, hold: d.f.perFrame()}
	fr, fc := newConnFrameReader(tap, d.c, d.s.opts)
	var err error
	var kind uint32 // of the last frame
	for {
		start := fr.r.Offset()
		var f []byte
		f, err = fr.next()
		if err == nil {
			kind = fr.r.Kind()
			if answering && isSSLAnswer(kind) {
				// Recorded before the frame is printed or, with per-frame
				// faults, sent on; c>s waits for it in any case.
				d.answers.put(kind)
			}
			err = d.forward(tap, fr, f, start, fr.r.Offset())
			if err == nil {
				continue
			}
			break
		}
		if rejected(err) {
			fmt.Fprintf(d.e.stderr, "framecat: %s %s: %v\n", d.name, d.dir, err)
			tap.pass(fr.r.Offset())
			continue
		}
		if errors.Is(err, framing.ErrFinal) {
			if d.answers != nil && !answering && kind == lengthprefix.KindSSLRequest {
				if d.answers.wait() == sslRefused {
					fr, fc, err = d.resume(tap, fr, fc)
					if err == nil {
						kind = 0
						continue
					}
					break
				}
			}
			err = d.unframed(tap, fr, fc, out)
			break
		}
		if err != io.EOF && (isDataError(err) || errors.Is(err, framing.ErrBudget) || errors.Is(err, framing.ErrSlowPeer)) {
			fmt.Fprintf(d.e.stderr, "framecat: %s %s: %v; stops decoding %s, relays the rest unchanged\n",
				d.name, d.dir, err, d.dir)
			d.src.SetReadDeadline(time.Time{}) // the guard's, if it armed one
			err = tap.flush()
			if err == nil {
				_, err = io.CopyBuffer(out, d.src, make([]byte, 32<<10))
				if err == nil {
					err = io.EOF
				}
			}
		}
		break
	}
	if err == io.EOF {
		err = tap.flush()
	}
	if cerr := out.Close(); err == io.EOF || err == nil {
		err = cerr
	}
	if err == nil || err == io.EOF {
		if cw, ok := d.dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		return
	}
	if !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(d.e.stderr, "framecat: %s %s: %v\n", d.name, d.dir, err)
	}
	d.src.Close()
	d.dst.Close()
}

// unframed relays the rest of the direction after a final frame, and
// reports where that began and, at the end, how many bytes it was.
func (d *direction) unframed(tap *tapConn, fr *frameReader, fc *framing.Conn, out io.Writer) error {
	off := fr.r.Offset()
	if _, _, err := fc.Detach(); err != nil {
		return err
	}
	d.src.SetReadDeadline(time.Time{}) // the guard's, if it armed one
	after := fr.src.n - off            // read past the final frame already
	if err := d.p.event(d.eventTag(), "final", off, -1); err != nil {
		return err
	}
	if err := tap.flush(); err != nil {
		return err
	}
	// However the relay ends (the peer may be gone before the last bytes
	// could be written), the bytes that went on are reported.
	n, err := io.CopyBuffer(out, d.src, make([]byte, 32<<10))
	if perr := d.p.event(d.eventTag(), "unframed", off, after+n); err == nil {
		err = perr
	}
	if err == nil {
		err = io.EOF
	}
	return err
}

// resume goes on framing the direction after a final frame the peer
// refused (PostgreSQL's 'N' to SSLRequest): a new reader with the same
// codec reads the bytes the old one had received past the frame, then the
// rest of the stream, its offsets and frame numbers going on from the old
// one's.
func (d *direction) resume(tap *tapConn, fr *frameReader, fc *framing.Conn) (*frameReader, *framing.Conn, error) {
	off := fr.r.Offset()
	_, rest, err := fc.Detach()
	if err != nil {
		return nil, nil, err
	}
	if err := d.p.event(d.eventTag(), "resumed", off, -1); err != nil {
		return nil, nil, err
	}
	nfr, nfc := newConnFrameReader(&prefixConn{Conn: tap, rest: rest}, d.c, d.s.opts)
	nfr.r = shifted{nfr.r, off}
	nfr.src.n = off
	nfr.index = fr.index
	return nfr, nfc, nil
}

// prefixConn is a net.Conn whose reads return rest first.
type prefixConn struct {
	net.Conn
	rest []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.rest) > 0 {
		n := copy(b, p.rest)
		p.rest = p.rest[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// shifted is a frame source whose offsets start at base.
type shifted struct {
	frameSource
	base int64
}

func (s shifted) Offset() int64 { return s.base + s.frameSource.Offset() }

// eventTag is the tag of a line about the direction rather than a frame.
func (d *direction) eventTag() tag {
	t := tag{time: d.s.now(), conn: d.id, mark: d.mark, dir: d.dir}
	if d.s.format == formatJSON {
		t.peer = d.peer
	}
	return t
}

// forward prints frame f, which the stream holds from start to end, and,
// with per-frame faults, sends its bytes on, as the draws say.
func (d *direction) forward(tap *tapConn, fr *frameReader, f []byte, start, end int64) error {
	t := d.eventTag()
	if d.c.kinds != nil {
		t.kind = d.c.kinds[fr.r.Kind()]
	}
	if !tap.hold {
		return d.p.frame(t, f)
	}
	raw := tap.take(start, end)
	var err error
	switch {
	case d.draw(d.f.drop):
		t.fault = "drop"
	default:
		var notes []string
		if d.draw(d.f.corrupt) {
			if at := corruptPayload(d.c, raw, len(f), d.rng); at >= 0 {
				notes = append(notes, fmt.Sprintf("corrupt@%d", at))
			}
		}
		if d.draw(d.f.corruptLen) {
			if at := corruptLength(d.c, raw, len(f), d.rng); at >= 0 {
				notes = append(notes, fmt.Sprintf("corrupt-len@%d", at))
			}
		}
		_, err = tap.out.Write(raw)
		if err == nil && d.draw(d.f.dup) {
			notes = append(notes, "dup")
			_, err = tap.out.Write(raw)
		}
		for i, n := range notes {
			if i > 0 {
				t.fault += ","
			}
			t.fault += n
		}
	}
	if perr := d.p.frame(t, f); err == nil {
		err = perr
	}
	return err
}

// draw returns true with probability p.
func (d *direction) draw(p float64) bool { return p > 0 && d.rng.Float64() < p }

// sink is where a direction's bytes go: dst, through --delay and --recut.
func (d *direction) sink() io.WriteCloser {
	var w io.WriteCloser = nopCloser{d.dst}
	if d.f.delay > 0 {
		w = newDelayWriter(w, d.f.delay)
	}
	if d.f.recut > 0 {
		w = &recutWriter{w: w, n: d.f.recut, rng: rand.New(rand.NewPCG(d.f.seed, uint64(d.id)<<1|1<<62))}
	}
	return w
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// tapConn is the source of a direction as the tap's framing.Conn sees it:
// what it reads goes on to out at once, or, with hold, is kept until
// forward takes a whole frame (or pass lets bytes through).
type tapConn struct {
	net.Conn
	out      io.WriteCloser
	hold     bool
	buf      []byte // held bytes, from stream offset base
	base     int64
	passTo   int64 // bytes before this offset are not held
	received int64
}

func (t *tapConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		if !t.hold {
			if _, werr := t.out.Write(p[:n]); werr != nil {
				return 0, werr
			}
		} else {
			t.buf = append(t.buf, p[:n]...)
			t.received += int64(n)
			if werr := t.pass(t.passTo); werr != nil {
				return 0, werr
			}
		}
	}
	return n, err
}

// take returns the held bytes from start to end and lets them go.
func (t *tapConn) take(start, end int64) []byte {
	raw := append([]byte(nil), t.buf[start-t.base:end-t.base]...)
	t.buf = t.buf[end-t.base:]
	t.base = end
	return raw
}

// pass sends the held bytes before offset to (those of a skipped frame)
// on unchanged, and those still to come.
func (t *tapConn) pass(to int64) error {
	if !t.hold {
		return nil
	}
	t.passTo = max(t.passTo, to)
	if n := min(t.passTo, t.received) - t.base; n > 0 {
		if _, err := t.out.Write(t.buf[:n]); err != nil {
			return err
		}
		t.buf = t.buf[n:]
		t.base += n
	}
	return nil
}

// flush sends every held byte on.
func (t *tapConn) flush() error {
	if !t.hold || len(t.buf) == 0 {
		return nil
	}
	_, err := t.out.Write(t.buf)
	t.base += int64(len(t.buf))
	t.buf = nil
	return err
}

// recutWriter writes in pieces of 1 to n bytes, sizes drawn from rng, a
// piece spanning writes as the fuzz package's CutRandom does: each piece
// is one Write (one TCP segment, Nagle being off).
type recutWriter struct {
	w    io.WriteCloser
	n    int
	rng  *rand.Rand
	left int // bytes left in the current piece
}

func (r *recutWriter) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		if r.left == 0 {
			r.left = 1 + r.rng.IntN(r.n)
		}
		k := min(r.left, len(p))
		if _, err := r.w.Write(p[:k]); err != nil {
			return done, err
		}
		r.left -= k
		done += k
		p = p[k:]
	}
	return done, nil
}

func (r *recutWriter) Close() error { return r.w.Close() }

// delayWriter holds each write for a delay, keeping their order: a
// latency, not a slower rate (writes pile up, at most 256 of them).
type delayWriter struct {
	w     io.WriteCloser
	delay time.Duration
	q     chan delayed
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

type delayed struct {
	due  time.Time
	data []byte
}

func newDelayWriter(w io.WriteCloser, delay time.Duration) *delayWriter {
	d := &delayWriter{w: w, delay: delay, q: make(chan delayed, 256), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for x := range d.q {
			time.Sleep(time.Until(x.due))
			if _, err := d.w.Write(x.data); err != nil {
				d.mu.Lock()
				d.err = err
				d.mu.Unlock()
				for range d.q {
				}
				return
			}
		}
	}()
	return d
}

func (d *delayWriter) Write(p []byte) (int, error) {
	d.mu.Lock()
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return 0, err
	}
	d.q <- delayed{due: time.Now().Add(d.delay), data: append([]byte(nil), p...)}
	return len(p), nil
}

// Close waits until every write held has gone out.
func (d *delayWriter) Close() error {
	close(d.q)
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.err, d.w.Close())
}
