package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// notifyConn reports the size of every successful Read.
type notifyConn struct {
	net.Conn
	reads chan int
}

func (c *notifyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.reads <- n
	}
	return n, err
}

func TestDeadlineMidFrameOverTCP(t *testing.T) {
	client, server := tcpPair(t)
	frame := encodeAll(t, u32{}, [][]byte{bytes.Repeat([]byte("0123456789"), 1000)})
	for _, cut := range []int{2, 4, 3000} {
		nc := &notifyConn{Conn: server, reads: make(chan int, 16)}
		c := NewConn(nc, u32{}, nil)
		type res struct {
			f   []byte
			err error
		}
		done := make(chan res, 1)
		go func() {
			f, err := c.ReadFrameInto(nil)
			done <- res{f, err}
		}()
		if _, err := client.Write(frame[:cut]); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < cut; {
			got += <-nc.reads
		}
		// The Reader holds the first part and is blocked for the rest.
		if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if !errors.Is(r.err, os.ErrDeadlineExceeded) || Classify(r.err) != Temporary {
			t.Fatalf("cut %d: got %v, want a timeout", cut, r.err)
		}
		if rd, _ := c.Deadlines(); !rd.Equal(time.Unix(1, 0)) {
			t.Fatalf("caller's deadline not recorded: %v", rd)
		}
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write(frame[cut:]); err != nil {
			t.Fatal(err)
		}
		go func() {
			for range nc.reads {
			}
		}()
		f, err := c.ReadFrame()
		if err != nil || !bytes.Equal(f, frame[4:]) {
			t.Fatalf("cut %d: resumed frame: %d bytes, %v", cut, len(f), err)
		}
		close(nc.reads)
	}
}

// countConn counts write calls; it implements BuffersWriter so that the
// Writer still uses vectored writes through it.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *countConn) WriteBuffers(v *net.Buffers) (int64, error) {
	c.writes.Add(1)
	return v.WriteTo(c.Conn)
}

func TestConcurrentWritersOverTCP(t *testing.T) {
	const writers, perWriter = 64, 1000
	client, server := tcpPair(t)
	cc := &countConn{Conn: client}
	wc := NewConn(cc, u32{}, nil)
	rc := NewConn(server, u32{}, nil)

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]byte, 0, 64)
			for i := 0; i < perWriter; i++ {
				buf = binary.BigEndian.AppendUint32(buf[:0], uint32(g))
				buf = binary.BigEndian.AppendUint32(buf, uint32(i))
				for j := 0; j < (g+i)%40; j++ {
					buf = append(buf, byte(g+i+j))
				}
				if err := wc.WriteFrame(buf); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	next := make([]int, writers)
	for n := 0; n < writers*perWriter; n++ {
		f, err := rc.ReadFrame()
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if len(f) < 8 {
			t.Fatalf("short frame %x", f)
		}
		g, i := int(binary.BigEndian.Uint32(f)), int(binary.BigEndian.Uint32(f[4:]))
		if g >= writers || i != next[g] || len(f) != 8+(g+i)%40 {
			t.Fatalf("frame %d: writer %d seq %d len %d, want seq %d", n, g, i, len(f), next[g])
		}
		for j, b := range f[8:] {
			if b != byte(g+i+j) {
				t.Fatalf("frame %d corrupted", n)
			}
		}
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w := cc.writes.Load()
	t.Logf("%d frames in %d write calls", writers*perWriter, w)
	if w > writers*perWriter/4 {
		t.Fatalf("%d write calls for %d frames: concurrent frames were not combined", w, writers*perWriter)
	}
}

func TestFailedWriteBreaksWriter(t *testing.T) {
	t.Run("deadline halfway", func(t *testing.T) {
		client, _ := tcpPair(t) // the server never reads
		c := NewConn(client, u32{}, nil)
		big := make([]byte, 8<<20)
		if err := c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		err := c.WriteFrame(big)
		if !errors.Is(err, ErrWriterBroken) || !errors.Is(err, os.ErrDeadlineExceeded) || Classify(err) != Fatal {
			t.Fatalf("got %v, want a broken writer from a deadline", err)
		}
		c.SetWriteDeadline(time.Time{})
		if err := c.WriteFrame([]byte("x")); !errors.Is(err, ErrWriterBroken) {
			t.Fatalf("after failure: %v", err)
		}
		if n, err := c.Write([]byte("x")); n != 0 || !errors.Is(err, ErrWriterBroken) {
			t.Fatalf("Write after failure: %d, %v", n, err)
		}
	})
	t.Run("closed peer", func(t *testing.T) {
		client, server := tcpPair(t)
		c := NewConn(client, u32{}, nil)
		server.Close()
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			err = c.WriteFrame(make([]byte, 64<<10))
		}
		if !errors.Is(err, ErrWriterBroken) {
			t.Fatalf("got %v", err)
		}
		if err := c.WriteFrame([]byte("x")); !errors.Is(err, ErrWriterBroken) {
			t.Fatalf("after failure: %v", err)
		}
	})
}

func TestConnReadWriteSemantics(t *testing.T) {
	client, server := tcpPair(t)
	wc := NewConn(client, u32{}, nil)
	rc := NewConn(server, u32{}, nil)
	for _, p := range []string{"hello", "", "world!!", "tail"} {
		n, err := wc.Write([]byte(p))
		if err != nil || n != len(p) {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	buf := make([]byte, 3)
	var got []string
	for i := 0; i < 4; i++ {
		n, err := rc.Read(buf)
		if err != nil || n == 0 {
			t.Fatalf("Read = %d, %v", n, err)
		}
		got = append(got, string(buf[:n]))
	}
	// A ReadFrame after a partial Read returns the rest of that frame.
	f, err := rc.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, string(f))
	f, err = rc.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, string(f))
	want := []string{"hel", "lo", "wor", "ld!", "!", "tail"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if err := wc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after CloseWrite: %d, %v", n, err)
	}
}

func TestListenerDial(t *testing.T) {
	l, err := Listen("tcp", "127.0.0.1:0", u32{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		fc := c.(*Conn)
		f, err := fc.ReadFrame()
		if err == nil {
			err = fc.WriteFrame(append([]byte("echo:"), f...))
		}
		done <- err
	}()
	c, err := Dial("tcp", l.Addr().String(), u32{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.LocalAddr() == nil || c.RemoteAddr().String() != l.Addr().String() {
		t.Fatalf("addresses: %v %v", c.LocalAddr(), c.RemoteAddr())
	}
	if err := c.WriteFrame([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	f, err := c.ReadFrame()
	if err != nil || string(f) != "echo:ping" {
		t.Fatalf("%q %v", f, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Conn must satisfy net.Conn, Listener net.Listener.
var (
	_ net.Conn     = (*Conn)(nil)
	_ net.Listener = (*Listener)(nil)
)
