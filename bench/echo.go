package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/libp2p/go-msgio"
)

// An EchoServer answers each u32 frame with the same frame, pipelined
// over loopback TCP.
type EchoServer struct {
	Name string
	// Start serves on a new listener and returns its address and a
	// function that stops it.
	Start func() (addr string, stop func(), err error)
}

// EchoServers returns the echo servers: framekit's first loop (ReadFrame
// then WriteFrame: one write per reply), framekit the README's way
// (BufferFrame, written before each read from the network; and with a
// 64 KiB read buffer, the size the hand loop reads with), the
// hand-written bufio loop that flushes when its read buffer has drained,
// go-msgio, and a Python asyncio server.
func EchoServers() []EchoServer {
	goServer := func(name string, serve func(net.Conn)) EchoServer {
		return EchoServer{Name: name, Start: func() (string, func(), error) { return startGo(serve) }}
	}
	return []EchoServer{
		goServer("framekit-first", func(nc net.Conn) {
			c := framing.NewConn(nc, lengthprefix.U32BE, nil)
			defer c.Close()
			for {
				f, err := c.ReadFrame()
				if err != nil || c.WriteFrame(f) != nil {
					return
				}
			}
		}),
		goServer("framekit", func(nc net.Conn) {
			c := framing.NewConn(nc, lengthprefix.U32BE, nil)
			defer c.Close()
			for {
				f, err := c.ReadFrame()
				if err != nil || c.BufferFrame(f) != nil {
					return
				}
			}
		}),
		goServer("framekit-64k", func(nc net.Conn) {
			c := framing.NewConn(nc, lengthprefix.U32BE, &framing.Options{InitialBufferSize: 64 << 10})
			defer c.Close()
			for {
				f, err := c.ReadFrame()
				if err != nil || c.BufferFrame(f) != nil {
					return
				}
			}
		}),
		goServer("bufio", func(nc net.Conn) {
			defer nc.Close()
			r, w := bufio.NewReaderSize(nc, 64<<10), bufio.NewWriterSize(nc, 64<<10)
			var hdr [4]byte
			var buf []byte
			for {
				if _, err := io.ReadFull(r, hdr[:]); err != nil {
					return
				}
				n := binary.BigEndian.Uint32(hdr[:])
				if n > MaxFrame {
					return
				}
				if cap(buf) < int(n) {
					buf = make([]byte, n)
				}
				buf = buf[:n]
				if _, err := io.ReadFull(r, buf); err != nil {
					return
				}
				w.Write(hdr[:])
				w.Write(buf)
				if r.Buffered() == 0 && w.Flush() != nil {
					return
				}
			}
		}),
		goServer("msgio", func(nc net.Conn) {
			defer nc.Close()
			rw := msgio.NewReadWriter(nc)
			for {
				m, err := rw.ReadMsg()
				if err != nil {
					return
				}
				err = rw.WriteMsg(m)
				rw.ReleaseMsg(m)
				if err != nil {
					return
				}
			}
		}),
		{Name: "python", Start: startPython},
	}
}

func startGo(serve func(net.Conn)) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}, nil
}

func startPython() (string, func(), error) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("python3", filepath.Join(filepath.Dir(file), "echo_server.py"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return "", nil, fmt.Errorf("python echo server: %w", err)
	}
	return "127.0.0.1:" + strings.TrimSpace(line), func() {
		cmd.Process.Kill()
		cmd.Wait()
	}, nil
}

// Echo sends frames frames of the given size in all over conns
// connections to addr, each connection pipelining: one goroutine writes
// its share through a 64 KiB bufio.Writer, another reads the replies and
// checks each one's length and first and last bytes (all of it when check
// is set).
func Echo(addr string, conns, frames, size int, check bool) error {
	payload := make([]byte, size)
	fill(payload, 7, nil)
	errs := make(chan error, 2*conns)
	for i := range conns {
		n := frames / conns
		if i < frames%conns {
			n++
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		go func() {
			bw := bufio.NewWriterSize(c, 64<<10)
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(size))
			for range n {
				bw.Write(hdr[:])
				bw.Write(payload)
			}
			errs <- bw.Flush()
		}()
		go func() {
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			buf := make([]byte, 4+size)
			for k := range n {
				if _, err := io.ReadFull(br, buf); err != nil {
					errs <- fmt.Errorf("reply %d of %d: %w", k, n, err)
					return
				}
				if binary.BigEndian.Uint32(buf) != uint32(size) || buf[4] != payload[0] || buf[len(buf)-1] != payload[size-1] ||
					(check && !bytes.Equal(buf[4:], payload)) {
					errs <- fmt.Errorf("reply %d differs", k)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range 2 * conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
