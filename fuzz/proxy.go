package fuzz

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// ProxyOptions configures a Proxy. A nil *ProxyOptions cuts both directions
// with CutRandom(1, 64) and holds 1 ms for coalescing.
type ProxyOptions struct {
	// Cut says how the client's bytes are cut into the writes the proxy
	// makes to the upstream; Back, the upstream's bytes to the client.
	Cut, Back Cutting
	// Pause is slept after each piece is written, so that pieces travel
	// as separate segments and a reader on the other side sees them
	// separately (the proxy sets TCP_NODELAY on both sockets).
	Pause time.Duration
	// Hold is how long the proxy waits for more bytes when what it has
	// buffered is shorter than the next piece, so that pieces span
	// several of the sender's writes (coalescing). Zero writes what it
	// has at once.
	Hold time.Duration
}

// Proxy is a loopback TCP proxy (127.0.0.1 only) that relays every
// connection to an upstream address while re-cutting the bytes in both
// directions: it reads what arrives, then writes it on in pieces of the
// Cutting's sizes, gluing the ends and starts of the sender's writes
// together and splitting them, as a real network path can. The bytes
// themselves are relayed unchanged; a half-close (EOF) is passed on as
// one.
type Proxy struct {
	ln       net.Listener
	upstream string
	opts     ProxyOptions

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewProxy starts a proxy listening on 127.0.0.1 (a free port) that
// relays each accepted connection to upstream ("host:port", dialled over
// TCP when the client connects).
func NewProxy(upstream string, opts *ProxyOptions) (*Proxy, error) {
	o := ProxyOptions{Cut: CutRandom(1, 64), Back: CutRandom(1, 64), Hold: time.Millisecond}
	if opts != nil {
		o = *opts
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, upstream: upstream, opts: o, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address clients connect to, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every relayed connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track registers c to be closed by Close; it reports false (and closes
// c) when the proxy is already closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	up, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	for _, c := range []net.Conn{client, up} {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.relay(up, client, p.opts.Cut) }()
	go func() { defer wg.Done(); p.relay(client, up, p.opts.Back) }()
	wg.Wait()
}

// relay copies src to dst in pieces cut by cut. At src's EOF it half-closes
// dst; on any other error it closes both.
func (p *Proxy) relay(dst, src net.Conn, cut Cutting) {
	chunks := make(chan []byte, 16)
	var srcErr error
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				srcErr = err
				return
			}
		}
	}()

	pc := newPiece(cut)
	var pending []byte
	open := true
	fail := func() {
		src.Close()
		dst.Close()
		for range chunks { // let the reader goroutine end
		}
	}
	for open || len(pending) > 0 {
		if len(pending) == 0 {
			b, ok := <-chunks
			if !ok {
				open = false
				continue
			}
			pending = append(pending, b...)
			continue
		}
		n := pc.limit(len(pending))
		if open && !pc.rest && int64(n) < pc.left && p.opts.Hold > 0 {
			// The piece is longer than what is buffered: give the
			// sender a moment to add to it, so pieces span writes.
			t := time.NewTimer(p.opts.Hold)
		wait:
			for int64(len(pending)) < pc.left {
				select {
				case b, ok := <-chunks:
					if !ok {
						open = false
						break wait
					}
					pending = append(pending, b...)
				case <-t.C:
					break wait
				}
			}
			t.Stop()
			n = pc.limit(len(pending))
		}
		if _, err := dst.Write(pending[:n]); err != nil {
			fail()
			return
		}
		pc.took(n)
		pending = pending[n:]
		if len(pending) == 0 {
			pending = nil
		}
		if p.opts.Pause > 0 {
			time.Sleep(p.opts.Pause)
		}
	}
	if srcErr != nil && !errors.Is(srcErr, io.EOF) {
		fail()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}
