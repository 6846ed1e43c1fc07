package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/libp2p/go-msgio"
)

// ConcurrentSize is the payload size of the concurrent writers workload.
const ConcurrentSize = 64

// ConcurrentImpl is one implementation whose frame writes are safe from
// many goroutines at once on one conn. goframe v1.0.0 is not among them:
// its length-field conn writes through a bufio.Writer with no lock.
type ConcurrentImpl struct {
	Name string
	New  func(net.Conn) interface{ Encode(p []byte) error }
}

type encodeFunc func([]byte) error

func (f encodeFunc) Encode(p []byte) error { return f(p) }

// ConcurrentImpls returns the implementations of the concurrent writers
// workload: framekit, the "one system call per frame" baseline (a mutex
// around one Write of header and payload), and go-msgio (the same, with a
// pooled buffer).
func ConcurrentImpls() []ConcurrentImpl {
	return []ConcurrentImpl{
		{Name: "framekit", New: func(c net.Conn) interface{ Encode(p []byte) error } {
			return encodeFunc(framing.NewWriter(c, lengthprefix.U32BE, nil).WriteFrame)
		}},
		{Name: "mutex", New: func(c net.Conn) interface{ Encode(p []byte) error } {
			var mu sync.Mutex
			var buf []byte
			return encodeFunc(func(p []byte) error {
				mu.Lock()
				defer mu.Unlock()
				buf = binary.BigEndian.AppendUint32(buf[:0], uint32(len(p)))
				buf = append(buf, p...)
				_, err := c.Write(buf)
				return err
			})
		}},
		{Name: "msgio", New: func(c net.Conn) interface{ Encode(p []byte) error } {
			return encodeFunc(msgio.NewWriter(c).WriteMsg)
		}},
	}
}

// concurrentPayload returns writer id's payload: the id, a sequence number
// (zero; the writer sets it before each frame) and bytes particular to id.
func concurrentPayload(id int) []byte {
	p := make([]byte, ConcurrentSize)
	fill(p[12:], id, nil)
	binary.BigEndian.PutUint32(p, uint32(id))
	return p
}

// errJudge marks a frame that the judge refused.
var errJudge = errors.New("bench: concurrent frame wrong")

// judge reads the frames of all writers from one conn, with a hand-written
// bufio loop (the same for every implementation), and checks that each
// writer's frames arrive whole and in its order.
type judge struct {
	r    *bufio.Reader
	next []uint64
	want [][]byte
	buf  [4 + ConcurrentSize]byte
}

func newJudge(c net.Conn, writers int) *judge {
	j := &judge{r: bufio.NewReaderSize(c, 64<<10), next: make([]uint64, writers), want: make([][]byte, writers)}
	for i := range j.want {
		j.want[i] = concurrentPayload(i)
	}
	return j
}

// frame reads and checks one frame.
func (j *judge) frame() error {
	if _, err := io.ReadFull(j.r, j.buf[:]); err != nil {
		return err
	}
	if n := binary.BigEndian.Uint32(j.buf[:4]); n != ConcurrentSize {
		return fmt.Errorf("%w: length %d", errJudge, n)
	}
	p := j.buf[4:]
	id := binary.BigEndian.Uint32(p)
	if int(id) >= len(j.next) {
		return fmt.Errorf("%w: writer %d", errJudge, id)
	}
	if seq := binary.BigEndian.Uint64(p[4:]); seq != j.next[id] {
		return fmt.Errorf("%w: writer %d: frame %d, want %d", errJudge, id, seq, j.next[id])
	}
	if !bytes.Equal(p[12:], j.want[id][12:]) {
		return fmt.Errorf("%w: writer %d: frame %d: bytes differ", errJudge, id, j.next[id])
	}
	j.next[id]++
	return nil
}

// runConcurrent has writers goroutines write frames frames in all with
// impl on client, and checks them on server. It closes client on failure.
func runConcurrent(impl ConcurrentImpl, client, server net.Conn, writers, frames int) error {
	enc := impl.New(client)
	errs := make(chan error, writers)
	for id := range writers {
		count := frames / writers
		if id < frames%writers {
			count++
		}
		go func() {
			p := concurrentPayload(id)
			for seq := range count {
				binary.BigEndian.PutUint64(p[4:], uint64(seq))
				if err := enc.Encode(p); err != nil {
					client.Close() // the judge sees the end of the stream
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	j := newJudge(server, writers)
	var err error
	for range frames {
		if err = j.frame(); err != nil {
			client.Close()
			break
		}
	}
	for range writers {
		if werr := <-errs; werr != nil && err == nil {
			err = fmt.Errorf("writer: %w", werr)
		}
	}
	return err
}
