package main

// PostgreSQL's SSLRequest and GSSENCRequest (postgres-fe's KindSSLRequest)
// are final frames only if the server accepts them: after 'S' (or 'G') TLS
// (or GSSAPI) follows, after 'N' the client goes on in clear with a
// StartupMessage. Framing the client's direction past one therefore takes
// the server's answer, which comes in the other direction: proxy waits for
// it across its two goroutines (sslAnswers), decode --pcap holds the
// client's bytes until the capture gets to it (sslConn). Both read the
// answers from one sslQueue.

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/framekit/framekit/cmd/framecat/internal/tcpassembly"
	"github.com/framekit/framekit/lengthprefix"
)

// pgPair reports whether s frames a PostgreSQL session both ways
// (postgres-fe client to server, postgres-be back): only then can an
// SSLRequest's answer be read.
func pgPair(s *setup) bool {
	return s.dirs[0].dec == lengthprefix.PostgresFrontend && s.dirs[1].dec == lengthprefix.PostgresBackend
}

// isSSLAnswer reports a server frame that answers an SSLRequest or
// GSSENCRequest.
func isSSLAnswer(kind uint32) bool {
	return kind == lengthprefix.KindSSLAccepted || kind == lengthprefix.KindSSLRefused
}

// sslRequestName names the request of a KindSSLRequest frame (the whole
// message: length, then code).
func sslRequestName(f []byte) string {
	if len(f) >= 8 && binary.BigEndian.Uint32(f[4:]) == 80877104 {
		return "GSSENCRequest"
	}
	return "SSLRequest"
}

// sslAnswer is what became of an SSLRequest or GSSENCRequest.
type sslAnswer int

const (
	sslUnanswered sslAnswer = iota // the server's direction ended (or was lost) first: final
	sslRefused                     // 'N': framing goes on
	sslAccepted                    // 'S' or 'G': final
)

// sslQueue holds the server's answers, in order, until the client's
// direction takes them. It is for one goroutine (sslAnswers adds a lock).
type sslQueue struct {
	kinds  []uint32
	closed bool
}

// put records an answer (isSSLAnswer); after close it is ignored.
func (q *sslQueue) put(kind uint32) {
	if !q.closed {
		q.kinds = append(q.kinds, kind)
	}
}

// close says that no more answers come: the server's direction ended, or
// what it says next can no longer be matched to a request.
func (q *sslQueue) close() { q.closed = true }

// next takes the next answer; known is false while there is none yet and
// one may still come.
func (q *sslQueue) next() (a sslAnswer, known bool) {
	if len(q.kinds) == 0 {
		return sslUnanswered, q.closed
	}
	kind := q.kinds[0]
	q.kinds = q.kinds[1:]
	if kind == lengthprefix.KindSSLRefused {
		return sslRefused, true
	}
	return sslAccepted, true
}

// sslAnswers passes the answers from proxy's s>c goroutine to its c>s one.
type sslAnswers struct {
	mu   sync.Mutex
	cond sync.Cond
	q    sslQueue
}

func newSSLAnswers() *sslAnswers {
	a := &sslAnswers{}
	a.cond.L = &a.mu
	return a
}

func (a *sslAnswers) put(kind uint32) {
	a.mu.Lock()
	a.q.put(kind)
	a.mu.Unlock()
	a.cond.Broadcast()
}

// close says that s>c ended.
func (a *sslAnswers) close() {
	a.mu.Lock()
	a.q.close()
	a.mu.Unlock()
	a.cond.Broadcast()
}

// wait waits for the next answer.
func (a *sslAnswers) wait() sslAnswer {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		if ans, ok := a.q.next(); ok {
			return ans
		}
		a.cond.Wait()
	}
}

// sslWaitLimit is how many of the client's bytes decode --pcap holds while
// it waits for the server's answer: past it, the request is taken as
// unanswered (final).
const sslWaitLimit = 256 << 10

// sslConn is decode --pcap's view of one PostgreSQL connection's answers:
// the client's direction (waiting, while it waits) and why the answers
// stopped, once they have.
type sslConn struct {
	q       sslQueue
	why     string
	waiting *dirDecoder
}

// saw is told of each frame either direction decoded (f, of the kind the
// Deframer gives): the client's request is named for the messages, and
// the server's answer is recorded and settles a wait.
func (c *sslConn) saw(d *dirDecoder, f []byte) {
	switch kind := d.d.Kind(); {
	case d.dir == tcpassembly.ClientToServer && kind == lengthprefix.KindSSLRequest:
		d.request = sslRequestName(f)
	case d.dir == tcpassembly.ServerToClient && isSSLAnswer(kind):
		c.q.put(kind)
		c.settle()
	}
}

// close says that no more answers come, and why, for the messages; a
// waiting client's direction is settled with what is queued.
func (c *sslConn) close(why string) {
	if c.q.closed {
		return
	}
	c.q.close()
	c.why = why
	c.settle()
}

// settle gives the waiting client's direction its answer, once known.
func (c *sslConn) settle() {
	d := c.waiting
	if d == nil {
		return
	}
	a, ok := c.q.next()
	if !ok {
		return
	}
	c.waiting = nil
	d.answered(a, "no answer to it from the server is in the capture: "+c.why)
}

// awaitAnswer is final's case of a request: the bytes after it are held
// (as are the gaps and the end) until the server's answer settles what
// they are.
func (d *dirDecoder) awaitAnswer() {
	rest := d.d.Detach()
	d.mode = awaiting
	d.ssl.waiting = d
	if len(rest) > 0 {
		d.hold(heldEvent{off: d.finalAt, data: rest, ts: d.lastTs})
	}
	d.ssl.settle()
}

// heldEvent is what the client's direction received while it waited: its
// bytes at off, captured at ts; a gap of n bytes at off (gap true); or its
// end at off (end true). reason is the gap's or the end's.
type heldEvent struct {
	off, n, ts int64
	data       []byte
	gap, end   bool
	reason     string
}

// hold keeps e for the answer; past sslWaitLimit bytes, or at the end
// with no answer to come, the wait is over.
func (d *dirDecoder) hold(e heldEvent) {
	d.held = append(d.held, e)
	d.heldBytes += len(e.data)
	switch {
	case d.heldBytes > sslWaitLimit:
		d.ssl.waiting = nil
		d.answered(sslUnanswered, fmt.Sprintf("no answer to it from the server is in the capture within the %d bytes the client sent after it", sslWaitLimit))
	case e.end:
		d.ssl.settle()
	}
}

// answered ends the wait: with 'N' framing resumes after the request,
// else the request is final; then what was held is taken as it would
// have been.
func (d *dirDecoder) answered(a sslAnswer, unanswered string) {
	held := d.held
	d.held, d.heldBytes = nil, 0
	switch a {
	case sslRefused:
		d.d.Reset(d.finalAt)
		d.mode = running
		d.event("resumed", d.finalAt, -1, "the server refused the %s ('N'): framing resumes at offset %d", d.request, d.finalAt)
	case sslAccepted:
		d.handOver("the server accepted the " + d.request)
	default:
		d.handOver(unanswered)
	}
	for _, e := range held {
		switch {
		case e.gap:
			d.gap(e.off, e.n, e.reason)
		case e.end:
			d.end(e.off, e.reason)
		default:
			d.data(e.off, e.data, e.ts)
		}
	}
}
