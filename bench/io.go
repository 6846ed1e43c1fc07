package bench

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// LoopReader serves Data over and over, forever, at most Max bytes per Read
// (0: as many as asked, up to the end of Data). Every implementation reads
// the same stream through it, so they all pay the same copy out of it.
type LoopReader struct {
	Data []byte
	Max  int
	off  int
}

// Read copies the next bytes of the stream into p.
func (l *LoopReader) Read(p []byte) (int, error) {
	if l.Max > 0 && len(p) > l.Max {
		p = p[:l.Max]
	}
	n := copy(p, l.Data[l.off:])
	l.off += n
	if l.off == len(l.Data) {
		l.off = 0
	}
	return n, nil
}

// Offset reports where in Data the next Read starts.
func (l *LoopReader) Offset() int { return l.off }

// Sink is an io.Writer that discards what it is given and counts the calls,
// the bytes, and the bytes that were handed over from the caller's payload
// memory rather than copied (Payload). It is also a vectored writer (like a
// *net.TCPConn, one call per writev), for framekit and for anyone else who
// asks for one.
type Sink struct {
	Calls  int64
	Bytes  int64
	Direct int64 // bytes written straight out of Payload's memory

	// Payload, if set, is the caller's payload buffer: bytes written from
	// inside it were not copied by the encoder.
	Payload []byte
	// Capture, if set, receives a copy of everything written.
	Capture *[]byte
}

// Write counts p as one write call.
func (s *Sink) Write(p []byte) (int, error) {
	s.Calls++
	s.take(p)
	return len(p), nil
}

// WriteBuffers counts v as one vectored write call and consumes it.
func (s *Sink) WriteBuffers(v *net.Buffers) (int64, error) {
	s.Calls++
	var n int64
	for _, p := range *v {
		s.take(p)
		n += int64(len(p))
	}
	*v = (*v)[len(*v):]
	return n, nil
}

func (s *Sink) take(p []byte) {
	s.Bytes += int64(len(p))
	if s.Capture != nil {
		*s.Capture = append(*s.Capture, p...)
	}
	if len(p) > 0 && len(s.Payload) > 0 {
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(s.Payload)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		if at >= lo && at+uintptr(len(p)) <= lo+uintptr(len(s.Payload)) {
			s.Direct += int64(len(p))
		}
	}
}

// Reset forgets the counts.
func (s *Sink) Reset() { s.Calls, s.Bytes, s.Direct = 0, 0, 0 }

// StreamConn is a net.Conn over a reader and a writer, for the peers that
// want a net.Conn (goframe) on an in-memory stream.
type StreamConn struct {
	io.Reader
	io.Writer
}

var errNoWriter = errors.New("bench: StreamConn has no writer")

// Write writes to the writer, if there is one.
func (c *StreamConn) Write(p []byte) (int, error) {
	if c.Writer == nil {
		return 0, errNoWriter
	}
	return c.Writer.Write(p)
}

// WriteBuffers passes a vectored write on when the writer takes one, so
// that wrapping a Sink does not hide it.
func (c *StreamConn) WriteBuffers(v *net.Buffers) (int64, error) {
	if bw, ok := c.Writer.(interface {
		WriteBuffers(*net.Buffers) (int64, error)
	}); ok {
		return bw.WriteBuffers(v)
	}
	return v.WriteTo(c.Writer)
}

// Close does nothing.
func (*StreamConn) Close() error { return nil }

// LocalAddr returns a placeholder address.
func (*StreamConn) LocalAddr() net.Addr { return memAddr{} }

// RemoteAddr returns a placeholder address.
func (*StreamConn) RemoteAddr() net.Addr { return memAddr{} }

// SetDeadline does nothing.
func (*StreamConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing.
func (*StreamConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing.
func (*StreamConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// WriteSyscalls returns the number of write system calls (write, writev,
// sendmsg, …) this process has made so far, from /proc/self/io, or -1
// where that is not available.
func WriteSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
