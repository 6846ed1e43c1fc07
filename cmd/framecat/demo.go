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
	demoShown    = 6  // reads shown
	demoColumns  = 68 // the most a read shown takes
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
on 127.0.0.1 through a proxy that re-cuts the stream into pieces of 1 to
%d bytes, as a network path can.

1. The server reads naively, one Read = one message. Its first reads, in
   order; [ marks where a message starts, ] where it ends:
`, len(msgs), demoMin, demoMax, demoPiece)
	reads, err := exchange(msgs, nil)
	if err != nil {
		return err
	}
	st, err := classify(msgs, reads)
	if err != nil {
		return err
	}
	for i, line := range markReads(msgs, reads, demoShown) {
		fmt.Fprintf(w, "   read %d  %s\n", i+1, line)
	}
	fmt.Fprintf(w, `
   reads %d   intact %d   split %d   glued %d
     intact: the message came in one read, alone
     split:  the message took more than one read
     glued:  a read held the message and part of another
   A message can be split and glued at once, so the three need not add
   up to %d. %d of %d messages did not come as one read of their own.
`, len(reads), st.intact, st.split, st.glued, len(msgs), len(msgs)-st.intact, len(msgs))

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
}

// classify compares the reads with the messages sent. A message is split
// if it took more than one read, glued if a read that holds some of it
// holds bytes of another message too.
func classify(msgs, reads [][]byte) (stats, error) {
	if !bytes.Equal(bytes.Join(msgs, nil), bytes.Join(reads, nil)) {
		return stats{}, errors.New("demo: the bytes read differ from the bytes sent")
	}
	var st stats
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
		}
		if glued {
			st.glued++
		}
		if !split && !glued {
			st.intact++
		}
		start = end
	}
	return st, nil
}

// markReads returns the first n reads as text, with [ where a message
// starts and ] where one ends; a read too long to show has its middle
// left out ("...").
func markReads(msgs, reads [][]byte, n int) []string {
	starts, ends := map[int64]bool{}, map[int64]bool{}
	var off int64
	for _, m := range msgs {
		starts[off] = true
		off += int64(len(m))
		ends[off] = true
	}
	var lines []string
	off = 0
	for _, r := range reads[:min(n, len(reads))] {
		var b strings.Builder
		for i, c := range r {
			if starts[off+int64(i)] {
				b.WriteByte('[')
			}
			b.WriteByte(c)
			if ends[off+int64(i)+1] {
				b.WriteByte(']')
			}
		}
		off += int64(len(r))
		line := b.String()
		if len(line) > demoColumns {
			half := (demoColumns - 5) / 2
			line = line[:half] + " ... " + line[len(line)-half:]
		}
		lines = append(lines, line)
	}
	return lines
}

// thousands formats n with commas: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
