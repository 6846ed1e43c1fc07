//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	gnetframe "github.com/framekit/framekit/eventloop/gnet"
	nbioframe "github.com/framekit/framekit/eventloop/nbio"
	netpollframe "github.com/framekit/framekit/eventloop/netpoll"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/lesismal/nbio"
	nbiolog "github.com/lesismal/nbio/logging"
	"github.com/panjf2000/gnet/v2"
	gnetlog "github.com/panjf2000/gnet/v2/pkg/logging"
)

// maxFrame is the bare codecs' limit, as framekit's default.
const maxFrame = framing.DefaultMaxFrameSize

// open counts the server's open connections, so that the idle-memory
// measurement waits until all were accepted.
var open atomic.Int64

// servers start the Go echo servers, by name, on ln's address (python is
// started apart): once start returns the server is listening, and stop
// ends it.
var servers = map[string]func(ln net.Listener) (stop func(), err error){
	"goroutine":        serveGoroutine,
	"gnet+framekit":    serveGnet(true),
	"gnet-bare":        serveGnet(false),
	"netpoll+framekit": serveNetpoll(true),
	"netpoll-bare":     serveNetpoll(false),
	"nbio+framekit":    serveNbio(true),
	"nbio-bare":        serveNbio(false),
}

// serve runs the server impl on a loopback port: it prints the port, then
// answers "mem N" on stdin (waiting until N connections are open) with
// the heap and stacks in use after GC, until stdin closes. "self N"
// first opens N silent client connections from this process, for the
// idle memory of client and server in one process.
func serve(impl string) error {
	run, ok := servers[impl]
	if !ok {
		return fmt.Errorf("no server %q", impl)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	stop, err := run(ln)
	if err != nil {
		return err
	}
	defer stop()
	var held []net.Conn
	defer func() { closeAll(held) }()
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd string
		var n int64
		if _, err := fmt.Sscanf(in.Text(), "%s %d", &cmd, &n); err != nil || (cmd != "mem" && cmd != "self") {
			return fmt.Errorf("bad command %q", in.Text())
		}
		if cmd == "self" {
			cs, err := dialAll(addr, int(n))
			if err != nil {
				return err
			}
			held = append(held, cs...)
		}
		for deadline := time.Now().Add(20 * time.Second); open.Load() < n && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // let the loops settle
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("MEM %d %d %d\n", open.Load(), ms.HeapAlloc+ms.StackInuse, rss(os.Getpid()))
	}
	return nil
}

// rss returns a process's resident set in bytes (0 if unknown).
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}

// serveGoroutine is framekit goroutine-per-connection, the README's loop:
// replies buffered, written before each read from the network.
func serveGoroutine(ln net.Listener) (func(), error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		acceptLoop(ln)
	}()
	return func() { _ = ln.Close(); <-done }, nil
}

func acceptLoop(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		open.Add(1)
		go func() {
			defer open.Add(-1)
			c := framing.NewConn(nc, lengthprefix.U32BE, nil)
			defer c.Close()
			for {
				f, err := c.ReadFrame()
				if err != nil || c.BufferFrame(f) != nil {
					return
				}
			}
		}()
	}
}

// reuse closes a Go listener and returns its address, for the loops,
// which listen themselves, to listen on the port it was given.
func reuse(ln net.Listener) string {
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

type gnetBare struct {
	gnet.BuiltinEventEngine
}

// booted is a gnet handler that hands its engine over once it serves.
type booted struct {
	gnet.EventHandler
	eng chan gnet.Engine
}

func (b *booted) OnBoot(eng gnet.Engine) gnet.Action {
	b.eng <- eng
	return b.EventHandler.OnBoot(eng)
}

// stopper returns a stop function: shutdown, given 10 s, then the wait
// for done (when not nil).
func stopper(shutdown func(context.Context) error, done <-chan error) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = shutdown(ctx)
		if done != nil {
			<-done
		}
	}
}

// runGnet runs h on addr until stop.
func runGnet(h gnet.EventHandler, addr string, opts ...gnet.Option) (func(), error) {
	b := &booted{EventHandler: h, eng: make(chan gnet.Engine, 1)}
	done := make(chan error, 1)
	go func() { done <- gnet.Run(b, addr, opts...) }()
	select {
	case eng := <-b.eng:
		return stopper(eng.Stop, done), nil
	case err := <-done:
		return nil, err
	}
}

func (*gnetBare) OnOpen(gnet.Conn) ([]byte, gnet.Action) { open.Add(1); return nil, gnet.None }
func (*gnetBare) OnClose(gnet.Conn, error) gnet.Action   { open.Add(-1); return gnet.None }

// OnTraffic is the hand-written u32 codec: frames are decoded once whole
// (partial frames stay in gnet's buffer) and answered together, the
// replies of one event in one write, as the adapter's BufferFrame does.
func (*gnetBare) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	used := 0
	for len(buf)-used >= 4 {
		size := binary.BigEndian.Uint32(buf[used:])
		if size > maxFrame {
			return gnet.Close
		}
		if len(buf)-used < 4+int(size) {
			break
		}
		used += 4 + int(size)
	}
	if used == 0 {
		return gnet.None
	}
	if _, err := c.Write(buf[:used]); err != nil { // the echo: the frames as they came
		return gnet.Close
	}
	_, _ = c.Discard(used)
	return gnet.None
}

func serveGnet(framed bool) func(net.Listener) (func(), error) {
	return func(ln net.Listener) (func(), error) {
		addr := "tcp://" + reuse(ln)
		opts := []gnet.Option{gnet.WithLogLevel(gnetlog.ErrorLevel), gnet.WithMulticore(true)}
		if !framed {
			return runGnet(&gnetBare{}, addr, opts...)
		}
		h, err := gnetframe.NewHandler(gnetframe.Config{
			Codec:   lengthprefix.U32BE,
			OnOpen:  func(*gnetframe.Conn) { open.Add(1) },
			OnFrame: func(c *gnetframe.Conn, f []byte) { _ = c.BufferFrame(f) },
			OnClose: func(*gnetframe.Conn, error) { open.Add(-1) },
		})
		if err != nil {
			return nil, err
		}
		return runGnet(h, addr, opts...)
	}
}

var errTooLarge = errors.New("frame too large")

// netpollBare is the hand-written u32 codec on netpoll: frames are read
// as they complete (Next waits for the rest of one), replies flushed once
// per batch.
func netpollBare(c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	for r.Len() > 0 {
		hdr, err := r.Peek(4)
		if err != nil {
			return err
		}
		size := binary.BigEndian.Uint32(hdr)
		if size > maxFrame {
			return c.Close()
		}
		frame, err := r.Next(4 + int(size))
		if err != nil {
			return err
		}
		if _, err := w.WriteBinary(frame); err != nil {
			return err
		}
	}
	err := w.Flush()
	_ = r.Release()
	return err
}

// netpollBuffer is netpoll.Config.BufferSize for both netpoll servers:
// the input buffer each connection gets when it opens (netpoll's default
// is 8 KiB, most of an idle netpoll connection's memory), and
// netpoll.LinkBufferCap (the least any of its buffers gets, 4 KiB) when
// smaller. 0 leaves both.
var netpollBuffer int

// netpollBufferFlag sets netpollBuffer from -netpoll-buffer (run passes
// it on to each server it starts).
func netpollBufferFlag(fs *flag.FlagSet) {
	fs.IntVar(&netpollBuffer, "netpoll-buffer", 0,
		"netpoll.Config.BufferSize and, when smaller, netpoll.LinkBufferCap for both netpoll servers (0: netpoll's defaults, 8 KiB and 4 KiB)")
}

func serveNetpoll(framed bool) func(net.Listener) (func(), error) {
	return func(ln net.Listener) (func(), error) {
		if netpollBuffer > 0 {
			if err := netpoll.Configure(netpoll.Config{BufferSize: netpollBuffer}); err != nil {
				return nil, err
			}
			netpoll.LinkBufferCap = min(netpoll.LinkBufferCap, netpollBuffer)
		}
		nln, err := netpoll.CreateListener("tcp", reuse(ln))
		if err != nil {
			return nil, err
		}
		var loop netpoll.EventLoop
		if framed {
			loop, err = netpollframe.NewEventLoop(netpollframe.Config{
				Codec:   lengthprefix.U32BE,
				OnOpen:  func(*netpollframe.Conn) { open.Add(1) },
				OnFrame: func(c *netpollframe.Conn, f []byte) { _ = c.BufferFrame(f) },
				OnClose: func(*netpollframe.Conn, error) { open.Add(-1) },
			})
		} else {
			loop, err = netpoll.NewEventLoop(netpollBareRequest,
				netpoll.WithOnConnect(netpollBareConnect))
		}
		if err != nil {
			return nil, err
		}
		done := make(chan error, 1)
		go func() { done <- loop.Serve(nln) }()
		return stopper(loop.Shutdown, done), nil
	}
}

func netpollBareConnect(ctx context.Context, c netpoll.Connection) context.Context {
	open.Add(1)
	_ = c.AddCloseCallback(func(netpoll.Connection) error { open.Add(-1); return nil })
	return ctx
}

func netpollBareRequest(ctx context.Context, c netpoll.Connection) error {
	return netpollBare(c)
}

// nbioBare is the hand-written u32 codec on nbio: frames whole in a read
// are decoded in place and answered together in one write; an incomplete
// tail is copied into the connection's buffer until the rest arrives.
type nbioBare struct{ buf []byte }

func (s *nbioBare) onData(c *nbio.Conn, data []byte) {
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		data = s.buf
	}
	used := 0
	for len(data)-used >= 4 {
		size := binary.BigEndian.Uint32(data[used:])
		if size > maxFrame {
			_ = c.CloseWithError(errTooLarge)
			return
		}
		if len(data)-used < 4+int(size) {
			break
		}
		used += 4 + int(size)
	}
	if used > 0 {
		if _, err := c.Write(data[:used]); err != nil { // the echo: the frames as they came
			return
		}
	}
	s.buf = append(s.buf[:0], data[used:]...)
	if len(s.buf) == 0 {
		s.buf = nil // an idle connection holds no buffer
	}
}

func serveNbio(framed bool) func(net.Listener) (func(), error) {
	return func(ln net.Listener) (func(), error) {
		nbiolog.SetLevel(nbiolog.LevelError)
		g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{reuse(ln)}})
		if framed {
			err := nbioframe.Attach(g, nbioframe.Config{
				Codec:   lengthprefix.U32BE,
				OnOpen:  func(*nbioframe.Conn) { open.Add(1) },
				OnFrame: func(c *nbioframe.Conn, f []byte) { _ = c.BufferFrame(f) },
				OnClose: func(*nbioframe.Conn, error) { open.Add(-1) },
			})
			if err != nil {
				return nil, err
			}
		} else {
			// nbio opens a connection on one goroutine and reads it on
			// another, ordered by epoll, which Go's memory model does not
			// see: the session is handed over through a sync.Map, as the
			// adapter does.
			var opening sync.Map
			g.OnOpen(func(c *nbio.Conn) { open.Add(1); opening.Store(c, &nbioBare{}) })
			g.OnData(func(c *nbio.Conn, data []byte) {
				s, ok := c.Session().(*nbioBare)
				if !ok {
					v, _ := opening.LoadAndDelete(c)
					s = v.(*nbioBare)
					c.SetSession(s)
				}
				s.onData(c, data)
			})
			g.OnClose(func(c *nbio.Conn, _ error) { open.Add(-1); opening.Delete(c) })
		}
		if err := g.Start(); err != nil {
			return nil, err
		}
		return stopper(g.Shutdown, nil), nil
	}
}
