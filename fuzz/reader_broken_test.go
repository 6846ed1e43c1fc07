package fuzz

import (
	"io"
	"net"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

// Deliberately broken Conns and Readers, for the checks that hold
// framing's own Reader to its contract (a codec cannot break those).

// leakyConn closes the network connection on Close but never releases its
// Reader: the buffer of a partial frame, and the budget drawn for it, stay
// held until the garbage collector reclaims the Conn.
type leakyConn struct {
	*framing.Conn
	nc net.Conn
}

func (c leakyConn) Close() error { return c.nc.Close() }

// leakyReader's Release does nothing.
type leakyReader struct{ *framing.Reader }

func (leakyReader) Release() {}

// dropper loses every fourth frame: it reads it and returns the next.
type dropper struct {
	*framing.Conn
	n int
}

func (d *dropper) ReadFrame() ([]byte, error) {
	d.n++
	if d.n%4 == 0 {
		if _, err := d.Conn.ReadFrame(); err != nil {
			return nil, err
		}
	}
	return d.Conn.ReadFrame()
}

// TestSuiteCatchesBrokenReaders: the budget and stats checks report a Conn
// or Reader that keeps its budget or miscounts, naming the way the
// connection ended and the counter.
func TestSuiteCatchesBrokenReaders(t *testing.T) {
	codec := lengthprefix.U32BE
	tests := []struct {
		name  string
		broke func(s *suite)
		check string
		want  []string
	}{
		{"Close does not release the Reader", func(s *suite) {
			s.newConn = func(nc net.Conn, o *framing.Options) framedConn { return leakyConn{framing.NewConn(nc, codec, o), nc} }
		}, "budget", []string{"a read deadline inside a frame, then Close", "bytes of the budget are still held"}},
		{"Release does nothing", func(s *suite) {
			s.newReader = func(rd io.Reader, o *framing.Options) framedReader {
				return leakyReader{framing.NewReader(rd, codec, o)}
			}
		}, "budget", []string{"a Reader released after a read deadline inside a frame", "bytes of the budget are still held"}},
		{"frames lost behind the caller's back", func(s *suite) {
			s.newConn = func(nc net.Conn, o *framing.Options) framedConn { return &dropper{Conn: framing.NewConn(nc, codec, o)} }
		}, "stats", []string{"through a Conn", "Stats say FramesRead", "the reads gave"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSuite(codecFramer(codec), codec, &Options{Seed: 3})
			tt.broke(s)
			fs := runCheck(check{tt.check, s.checkNamed(tt.check)})
			if len(fs) == 0 {
				t.Fatalf("the %s check did not report it", tt.check)
			}
			msg := fs[0].Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the failure does not say %q: %s", w, msg)
				}
			}
			t.Logf("reported: %s", msg)
			// The same check passes framing's own.
			if fs := runCheck(check{tt.check, newSuite(codecFramer(codec), codec, &Options{Seed: 3}).checkNamed(tt.check)}); len(fs) > 0 {
				t.Errorf("the %s check fails framing's own Conn and Reader: %v", tt.check, fs[0])
			}
		})
	}
}
