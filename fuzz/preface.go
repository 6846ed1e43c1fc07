package fuzz

import (
	"bytes"
	"fmt"
	"io"
	"net"

	"github.com/framekit/framekit/framing"
)

// Streams that start with Options.Preface: the first stage of a staged
// protocol (a preamble, a PROXY header, a startup message). Every stream a
// check reads is the preface's encoded bytes, then the stream the check
// built; every reader the checks make reads the preface first, holds it to
// Options.Preface (and PrefaceKind), and hands the check only what follows,
// so the checks' models stay those of a stream without a preface.

// prefaceMax is the longest Preface the suite takes: it is read under the
// checks' smallest limit (64 bytes, in hostile and readpaths).
const prefaceMax = 64

// prefaceEncoded writes Options.Preface through the framer under test and
// returns its bytes on the wire (nil without a preface): the encoder must
// take it, as the payload of a first-stage message.
func (s *suite) prefaceEncoded() ([]byte, error) {
	if s.o.Preface == nil {
		return nil, nil
	}
	if len(s.o.Preface) > prefaceMax {
		return nil, fmt.Errorf("Options.Preface is %d bytes, more than %d", len(s.o.Preface), prefaceMax)
	}
	e, err := s.encode([][]byte{s.o.Preface})
	if err != nil {
		return nil, fmt.Errorf("Options.Preface: %w", err)
	}
	return e.stream, nil
}

// prefaceCheck is the check that stands in for all the others when the
// preface cannot be written.
func (s *suite) prefaceCheck() []*Failure {
	return []*Failure{s.fail("preface", nil, "%v", s.preErr)}
}

// prefixed returns the preface's bytes, then stream, in a new slice.
func (s *suite) prefixed(stream []byte) []byte {
	if s.pre == nil {
		return stream
	}
	return append(append(make([]byte, 0, len(s.pre)+len(stream)), s.pre...), stream...)
}

// shift returns cut for a stream with n bytes in front of the stream cut
// was made for: CutAt's offsets move by n (and the prefix is a piece of
// its own); the other cuttings cut any stream alike.
func (c Cutting) shift(n int) Cutting {
	if n == 0 || c.kind != cutAt {
		return c
	}
	at := make([]int64, 0, len(c.at)+1)
	at = append(at, int64(n))
	for _, o := range c.at {
		at = append(at, o+int64(n))
	}
	return Cutting{kind: cutAt, at: at}
}

// prefaceError is what a read returns, from then on, when the stream's
// first frame is not the preface.
type prefaceError struct {
	want []byte
	kind uint32
	got  string
}

func (e *prefaceError) Error() string {
	return fmt.Sprintf("fuzz: the stream starts with Options.Preface (%d bytes %x), which must read back as a frame equal to it of kind %d; the first read gave %s",
		len(e.want), e.want, e.kind, e.got)
}

// ErrorClass makes the error fatal (sticky): the stream is off its rails.
func (e *prefaceError) ErrorClass() framing.ErrorClass { return framing.Fatal }

// prefaceReads reads the preface with next (kind, if not nil, reporting the
// kind of the frame just read) before the first read it serves.
type prefaceReads struct {
	s    *suite
	next func() ([]byte, error)
	kind func() uint32
	done bool
	err  error
}

func (p *prefaceReads) read() ([]byte, error) {
	if !p.done {
		if p.err != nil {
			return nil, p.err
		}
		f, err := p.next()
		switch {
		case err != nil && framing.Classify(err) == framing.Temporary:
			return nil, err // a deadline: the preface is read on the next call
		case err != nil:
			p.err = &prefaceError{p.s.o.Preface, p.s.o.PrefaceKind, fmt.Sprintf("error %q (%T)", err, err)}
		case !bytes.Equal(f, p.s.o.Preface):
			p.err = &prefaceError{p.s.o.Preface, p.s.o.PrefaceKind, describe(f)}
		case p.kind != nil && p.kind() != p.s.o.PrefaceKind:
			p.err = &prefaceError{p.s.o.Preface, p.s.o.PrefaceKind, fmt.Sprintf("the right bytes, of kind %d", p.kind())}
		}
		if p.err != nil {
			return nil, p.err
		}
		p.done = true
	}
	return p.next()
}

// kindOf returns x's Kind method, if it has one.
func kindOf(x any) func() uint32 {
	if k, ok := x.(interface{ Kind() uint32 }); ok {
		return k.Kind
	}
	return nil
}

// prefaced returns next with the preface read first (next itself when the
// suite has no preface).
func (s *suite) prefaced(next func() ([]byte, error), kind func() uint32) func() ([]byte, error) {
	if s.pre == nil {
		return next
	}
	return (&prefaceReads{s: s, next: next, kind: kind}).read
}

// readFramer builds the framer under test on c for reading a stream that
// starts with the preface.
func (s *suite) readFramer(c net.Conn, l Limits) Framer {
	fr := s.nf(c, l)
	if s.pre == nil {
		return fr
	}
	return prefacedFramer{fr, s.prefaced(fr.ReadFrame, kindOf(fr))}
}

type prefacedFramer struct {
	Framer
	read func() ([]byte, error)
}

func (f prefacedFramer) ReadFrame() ([]byte, error) { return f.read() }

// readConn is newConn for reading a stream that starts with the preface
// (its first read must be ReadFrame).
func (s *suite) readConn(nc net.Conn, o *framing.Options) framedConn {
	c := s.newConn(nc, o)
	if s.pre == nil {
		return c
	}
	return prefacedConn{c, s.prefaced(c.ReadFrame, kindOf(c))}
}

type prefacedConn struct {
	framedConn
	read func() ([]byte, error)
}

func (c prefacedConn) ReadFrame() ([]byte, error) { return c.read() }

// readReader is newReader for a stream that starts with the preface.
func (s *suite) readReader(rd io.Reader, o *framing.Options) framedReader {
	r := s.newReader(rd, o)
	if s.pre == nil {
		return r
	}
	return prefacedReader{r, s.prefaced(r.ReadFrame, kindOf(r))}
}

type prefacedReader struct {
	framedReader
	read func() ([]byte, error)
}

func (r prefacedReader) ReadFrame() ([]byte, error) { return r.read() }
