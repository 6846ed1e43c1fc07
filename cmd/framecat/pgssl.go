package main

// PostgreSQL's SSLRequest and GSSENCRequest (postgres-fe's KindSSLRequest)
// are final frames only if the server accepts them: after 'S' (or 'G') TLS
// (or GSSAPI) follows, after 'N' the client goes on in clear with a
// StartupMessage. Framing the client's direction past one therefore takes
// the server's answer, which comes in the other direction: proxy waits for
// it across its two goroutines (sslAnswers), reading the answers from an
// sslQueue.

import (
	"sync"

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
