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
	"sync"
	"syscall"
	"time"

	"github.com/framekit/framekit/framing"
)

// listenUntilSignal listens on addr, prints "listening on IP:PORT" on
// stderr, and serves each connection in its own goroutine until SIGINT or
// SIGTERM.
func listenUntilSignal(e *env, addr string, serve func(net.Conn)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go serve(c)
	}
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
	p := newPrinter(e.stdout, s.format, true)
	// Counters over every connection, printed on stderr when listen stops.
	stats := new(framing.Stats)
	s.opts.Stats = stats
	err = listenUntilSignal(e, cl.pos[0], func(c net.Conn) {
		defer c.Close()
		peer := c.RemoteAddr().String()
		fr := newFrameReader(c, s.codec, s.opts)
		enc := s.encoder(false)
		for {
			f, err := fr.next()
			if err == io.EOF {
				return
			}
			if err == nil {
				err = p.frame(peer, "peer", peer, f)
				if err == nil && echo {
					err = enc.write(c, f)
				}
				if err == nil {
					continue
				}
			}
			fmt.Fprintf(e.stderr, "framecat: %s: %v\n", peer, err)
			if !s.goesOn(err) {
				return
			}
		}
	})
	if err == nil {
		fmt.Fprintf(e.stderr, "framecat: stats: %v\n", stats.Snapshot())
	}
	return err
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
				err = p.frame("", "", "", f)
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

// proxyCmd relays bytes between clients and an upstream and prints the
// frames going each way.
func proxyCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 2, 2, "LISTEN_ADDR UPSTREAM_ADDR"); err != nil {
		return err
	}
	s, err := newSetup(cl, false)
	if err != nil {
		return err
	}
	upstream := cl.pos[1]
	p := newPrinter(e.stdout, s.format, true)
	return listenUntilSignal(e, cl.pos[0], func(client net.Conn) {
		defer client.Close()
		peer := client.RemoteAddr().String()
		up, err := net.DialTimeout("tcp", upstream, 10*time.Second)
		if err != nil {
			fmt.Fprintf(e.stderr, "framecat: %s: %v\n", peer, err)
			return
		}
		defer up.Close()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); relay(e, s, p, up, client, peer, ">", "c>s") }()
		go func() { defer wg.Done(); relay(e, s, p, client, up, peer, "<", "s>c") }()
		wg.Wait()
	})
}

// relay copies src to dst unchanged, as the bytes arrive, and feeds a copy
// to a decoder beside it that prints each frame with mark (or dir in JSON).
// A decoding error is reported and the relay goes on.
func relay(e *env, s *setup, p *printer, dst, src net.Conn, peer, mark, dir string) {
	pr, pw := io.Pipe()
	tapped := make(chan struct{})
	go func() {
		defer close(tapped)
		defer io.Copy(io.Discard, pr) // after a fatal error, keep the relay going
		fr := newFrameReader(pr, s.codec, s.opts)
		for {
			f, err := fr.next()
			if err == io.EOF {
				return
			}
			if err == nil {
				err = p.frame(mark, "dir", dir, f)
				if err == nil {
					continue
				}
			}
			fmt.Fprintf(e.stderr, "framecat: %s %s: %v\n", peer, dir, err)
			if rejected(err) {
				continue
			}
			return
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				break
			}
			pw.Write(buf[:n])
		}
		if err == io.EOF {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			break
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				fmt.Fprintf(e.stderr, "framecat: %s %s: %v\n", peer, dir, err)
			}
			dst.Close()
			break
		}
	}
	pw.Close()
	<-tapped
}
