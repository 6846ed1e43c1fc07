package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/framekit/framekit/framing"
)

// listenUntilSignal listens on addr, prints "listening on IP:PORT" on
// stderr, and serves each connection in its own goroutine, with its id,
// until SIGINT or SIGTERM.
func listenUntilSignal(e *env, addr string, serve func(id int64, c net.Conn)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveConns(ctx, ln, serve)
}

// listenCmd prints the frames of every client, and echoes them with --echo.
func listenCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 1, 1, "ADDR"); err != nil {
		return err
	}
	echo := cl.has("echo")
	s, err := newSetup(cl, echo)
	if err != nil {
		return err
	}
	if err := guardSetup(cl, s); err != nil {
		return err
	}
	// Counters over every connection, printed on stderr when listen stops.
	stats := new(framing.Stats)
	s.opts.Stats = stats
	err = listenUntilSignal(e, cl.pos[0], listener(e, s, echo))
	if err == nil {
		fmt.Fprintf(e.stderr, "framecat: stats: %v\n", stats.Snapshot())
	}
	return err
}

// listener returns what listen does with one connection: print its frames
// ("#ID IP:PORT FRAME"), echo them with echo, and report an error in the
// data on stderr, closing the connection unless --skip lets it go on.
func listener(e *env, s *setup, echo bool) func(id int64, nc net.Conn) {
	p := newPrinter(e.stdout, s.format, true)
	return func(id int64, nc net.Conn) {
		name := connName(id, nc)
		peer := nc.RemoteAddr().String()
		fr, c := newConnFrameReader(nc, s.codec, s.opts)
		defer c.Close()
		for {
			f, err := fr.next()
			if err == io.EOF {
				return
			}
			if err == nil {
				err = p.frame(tag{time: s.now(), conn: id, peer: peer}, f)
				if err == nil && echo {
					// Buffered: the Conn writes the replies before it next
					// waits for the network (and on Close), so a pipelined
					// burst is echoed in one write, not one per frame.
					err = c.BufferFrame(f)
				}
				if err == nil {
					continue
				}
			}
			if !errors.Is(err, net.ErrClosed) {
				fmt.Fprintf(e.stderr, "framecat: %s: %v\n", name, err)
			}
			if !s.goesOn(err) {
				return
			}
		}
	}
}

// dialCmd sends the frames on stdin and prints the frames received.
func dialCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 1, 1, "ADDR"); err != nil {
		return err
	}
	s, err := newSetup(cl, true)
	if err != nil {
		return err
	}
	count := 0
	if v, ok := cl.flags["count"]; ok {
		if count, err = parseCount("count", v); err != nil {
			return err
		}
	}
	var timeout time.Duration
	if v, ok := cl.flags["timeout"]; ok {
		if timeout, err = parseDuration("timeout", v); err != nil {
			return err
		}
	}
	conn, err := (&net.Dialer{Timeout: timeout}).Dial("tcp", cl.pos[0])
	if err != nil {
		return err
	}
	defer conn.Close()
	if timeout > 0 {
		conn.SetDeadline(time.Now().Add(timeout))
	}

	// Sending: a failed write ends sending only; what the peer does next
	// (close, reset) is for the receiving side to report.
	sent := make(chan error, 1)
	go func() {
		frames := newFrameInput(e.stdin, "stdin", s.format, 0)
		enc := s.encoder(false)
		w := bufio.NewWriterSize(conn, 64<<10)
		for {
			f, err := frames.next()
			if err == io.EOF {
				if w.Flush() == nil {
					if cw, ok := conn.(interface{ CloseWrite() error }); ok {
						cw.CloseWrite()
					}
				}
				return
			}
			if err != nil {
				sent <- err
				return
			}
			if err := enc.write(w, f); err != nil {
				if de := (*dataError)(nil); errors.As(err, &de) {
					sent <- frames.at(err) // a payload the codec cannot frame
				}
				return
			}
			// Piped input goes out in large writes; a line typed at a
			// terminal goes out at once.
			if frames.r.Buffered() == 0 {
				if err := w.Flush(); err != nil {
					return
				}
			}
		}
	}()

	p := newPrinter(e.stdout, s.format, true)
	received := make(chan error, 1)
	got := 0
	go func() {
		fr := newFrameReader(conn, s.codec, s.opts)
		for count == 0 || got < count {
			f, err := fr.next()
			if err == io.EOF {
				break
			}
			if err == nil {
				got++
				err = p.frame(tag{}, f)
			}
			if err != nil && !s.goesOn(err) {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					err = fmt.Errorf("timed out after %v: %d frames received", timeout, got)
				}
				received <- err
				return
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "framecat: %v\n", err)
			}
		}
		received <- nil
	}()
	select {
	case err = <-sent:
	case err = <-received:
	}
	return err
}
