package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// The demo's stream: demoMessages messages of demoMin to demoMax bytes,
// re-cut by the proxy into pieces of 1 to demoPiece bytes.
const (
	demoMessages = 200
	demoMin      = 16
	demoMax      = 120
	demoPiece    = 48
	demoSeed     = 7
)

// demoProxy cuts the client's stream into small pieces, sent as separate
// segments (Pause) and spanning the client's writes (Hold), so that a
// naive reader sees both split and glued messages on every run: a piece
// that spans two messages glues them whatever the timing, and reads of a
// fixed-size buffer split messages even when a slow reader lets the pieces
// pile up.
var demoProxy = fuzz.ProxyOptions{
	Cut:   fuzz.CutRandom(demoSeed, demoPiece),
	Back:  fuzz.CutWhole(),
	Pause: 200 * time.Microsecond,
	Hold:  2 * time.Millisecond,
}

// demo shows the split/sticky packet problem and framekit's fix.
func demo(e *env) error {
	w := e.stdout
	msgs := demoStream()
	fmt.Fprintf(w, `framekit demo: TCP delivers bytes, not messages.

A client sends %d messages of %d to %d bytes, one Write each, to a server
on 127.0.0.1 through a proxy that re-cuts the stream as a network path can
(%v: pieces of 1 to %d bytes).

1. The server reads naively, one Read = one message:
`, len(msgs), demoMin, demoMax, demoProxy.Cut, demoPiece)
	reads, err := exchange(msgs, nil)
	if err != nil {
		return err
	}
	st, err := classify(msgs, reads)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   reads %d   intact %d   split %d   glued %d\n", len(reads), st.intact, st.split, st.glued)
	if st.gluedRead >= 0 {
		fmt.Fprintf(w, "   read %-3d %s (glued)\n", st.gluedRead, excerpt(reads[st.gluedRead], 56))
	}
	if st.splitRead >= 0 {
		fmt.Fprintf(w, "   read %-3d %s (split)\n", st.splitRead, excerpt(reads[st.splitRead], 56))
	}
	fmt.Fprintf(w, "   %d of %d messages came out wrong.\n", len(msgs)-st.intact, len(msgs))

	fmt.Fprintf(w, `
2. The same client and server code, each conn wrapped by
   framing.NewConn(conn, lengthprefix.U32BE, nil):
`)
	framed, err := exchange(msgs, func(c net.Conn) net.Conn {
		return framing.NewConn(c, lengthprefix.U32BE, nil)
	})
	if err != nil {
		return err
	}
	st, err = classify(msgs, framed)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   reads %d   intact %d   split %d   glued %d\n", len(framed), st.intact, st.split, st.glued)
	if st.intact != len(msgs) || len(framed) != len(msgs) {
		return fmt.Errorf("demo: framekit delivered %d of %d messages intact", st.intact, len(msgs))
	}
	fmt.Fprintf(w, "   all %d messages intact.\n", len(msgs))

	fmt.Fprintf(w, "\n3. Throughput: framekit on loopback, u32be, 64-byte frames, 1 connection:\n")
	r, err := runBench(lengthprefix.U32BE, nil, bytes.Repeat([]byte{'x'}, 64), 1, time.Second, nil, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   %s frames/s, %.1f MB/s over %.1f s\n", thousands(int64(r.perSecond())),
		r.perSecond()*float64(r.size)/1e6, r.elapsed.Seconds())
	return nil
}

// demoStream returns the demo's messages: numbered, readable, of varied
// sizes, the same on every run.
func demoStream() [][]byte {
	words := strings.Fields("the quick brown fox jumps over a lazy dog while " +
		"seven packets glue and split on their way through")
	rng := rand.New(rand.NewSource(demoSeed))
	msgs := make([][]byte, demoMessages)
	for i := range msgs {
		size := demoMin + rng.Intn(demoMax-demoMin+1)
		m := []byte(fmt.Sprintf("#%03d", i))
		for len(m) < size {
			m = append(m, ' ')
			m = append(m, words[rng.Intn(len(words))]...)
		}
		m = append(m[:size-1], '.')
		msgs[i] = m
	}
	return msgs
}

// exchange runs the demo's client and server over the re-cutting proxy:
// the client writes each message with one Write, the server takes each
// Read as one message. wrap, if set, wraps both ends' connections.
func exchange(msgs [][]byte, wrap func(net.Conn) net.Conn) ([][]byte, error) {
	if wrap == nil {
		wrap = func(c net.Conn) net.Conn { return c }
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	px, err := fuzz.NewProxy(ln.Addr().String(), &demoProxy)
	if err != nil {
		return nil, err
	}
	defer px.Close()

	deadline := time.Now().Add(5 * time.Second)
	type result struct {
		reads [][]byte
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		reads, err := receive(wrap(c))
		done <- result{reads, err}
	}()
	c, err := net.DialTimeout("tcp", px.Addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if err := send(wrap(c), msgs); err != nil {
		return nil, fmt.Errorf("demo client: %w", err)
	}
	r := <-done
	if r.err != nil {
		return nil, fmt.Errorf("demo server: %w", r.err)
	}
	return r.reads, nil
}

// send is a client written as if TCP kept messages apart: one Write per
// message, then the end of the stream.
func send(c net.Conn, msgs [][]byte) error {
	for _, m := range msgs {
		if _, err := c.Write(m); err != nil {
			return err
		}
	}
	return c.(interface{ CloseWrite() error }).CloseWrite()
}

// receive is a server written as if TCP kept messages apart: each Read is
// taken as one message.
func receive(c net.Conn) ([][]byte, error) {
	var msgs [][]byte
	buf := make([]byte, 512) // larger than any message
	for {
		n, err := c.Read(buf)
		if n > 0 {
			msgs = append(msgs, append([]byte(nil), buf[:n]...))
		}
		if err == io.EOF {
			return msgs, nil
		}
		if err != nil {
			return msgs, err
		}
	}
}

// stats says how the messages came out of naive reads.
type stats struct {
	intact, split, glued int // a message can be both split and glued
	// gluedRead and splitRead are the first read holding bytes of two
	// messages, and the first holding part of one message only; -1 if none.
	gluedRead, splitRead int
}

// classify compares the reads with the messages sent. A message is split
// if it took more than one read, glued if a read that holds some of it
// holds bytes of another message too.
func classify(msgs, reads [][]byte) (stats, error) {
	if !bytes.Equal(bytes.Join(msgs, nil), bytes.Join(reads, nil)) {
		return stats{}, errors.New("demo: the bytes read differ from the bytes sent")
	}
	st := stats{gluedRead: -1, splitRead: -1}
	var readStart []int64 // start offset of each read, then the end
	var off int64
	for _, r := range reads {
		readStart = append(readStart, off)
		off += int64(len(r))
	}
	readStart = append(readStart, off)
	j := 0 // the first read that may hold bytes of the current message
	var start int64
	for _, m := range msgs {
		end := start + int64(len(m))
		for readStart[j+1] <= start {
			j++
		}
		first := j
		last := j
		for readStart[last+1] < end {
			last++
		}
		split := last > first
		glued := readStart[first] < start || readStart[last+1] > end
		if split {
			st.split++
			for k := first; k <= last; k++ {
				if st.splitRead < 0 && readStart[k] >= start && readStart[k+1] <= end &&
					(readStart[k] > start || readStart[k+1] < end) {
					st.splitRead = k
				}
			}
		}
		if glued {
			st.glued++
			if st.gluedRead < 0 {
				st.gluedRead = first
				if readStart[first] >= start {
					st.gluedRead = last
				}
			}
		}
		if !split && !glued {
			st.intact++
		}
		start = end
	}
	return st, nil
}

// excerpt quotes b in at most n columns.
func excerpt(b []byte, n int) string {
	q := strconv.Quote(string(b))
	if len(q) <= n {
		return q
	}
	return q[:n-4] + `..."`
}

// thousands formats n with commas: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
