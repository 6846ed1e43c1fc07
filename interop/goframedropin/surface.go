// Package goframedropin proves that compat/goframe is a drop-in for
// github.com/smallnest/goframe v1.0.0: goframe's own test (frame_test.go)
// runs here with only its package clause changed, goframe's example
// programs (testdata/goserver, testdata/goclient) build and talk to each
// other with only their import path changed, and the names and signatures
// below match goframe's at compile time. The copied files are goframe's,
// under its Apache License 2.0 (LICENSE.goframe); TestCopies checks that
// they differ from the originals in the module cache only as their
// headers say.
package goframedropin

import (
	"io"
	"net"

	upstream "github.com/smallnest/goframe"

	"github.com/framekit/framekit/compat/goframe"
)

// compat/goframe's surface under the names goframe's frame_test.go uses
// unqualified, so that the copy compiles in this package.
type (
	FrameConn     = goframe.FrameConn
	EncoderConfig = goframe.EncoderConfig
	DecoderConfig = goframe.DecoderConfig
)

// The constructors, helpers and error variables, likewise.
var (
	NewLengthFieldBasedFrameConn = goframe.NewLengthFieldBasedFrameConn
	NewLineBasedFrameConn        = goframe.NewLineBasedFrameConn
	NewDelimiterBasedFrameConn   = goframe.NewDelimiterBasedFrameConn
	NewFixedLengthFrameConn      = goframe.NewFixedLengthFrameConn
	ReadN                        = goframe.ReadN
	CRLFBytes                    = goframe.CRLFBytes
	ErrUnsupportedlength         = goframe.ErrUnsupportedlength
	ErrTooLessLength             = goframe.ErrTooLessLength
	ErrUnexpectedFixedLength     = goframe.ErrUnexpectedFixedLength
)

// Each name has goframe's type, package aside: the interfaces have the
// same methods (each is assignable to the other), the config structs the
// same fields (they convert), and the functions the same signatures (the
// same function types, stated once for each package).
var (
	_ upstream.FrameConn = goframe.FrameConn(nil)
	_ goframe.FrameConn  = upstream.FrameConn(nil)
	_                    = goframe.EncoderConfig(upstream.EncoderConfig{})
	_                    = goframe.DecoderConfig(upstream.DecoderConfig{})

	_ func(goframe.EncoderConfig, goframe.DecoderConfig, net.Conn) goframe.FrameConn    = goframe.NewLengthFieldBasedFrameConn
	_ func(upstream.EncoderConfig, upstream.DecoderConfig, net.Conn) upstream.FrameConn = upstream.NewLengthFieldBasedFrameConn
	_ func(net.Conn) goframe.FrameConn                                                  = goframe.NewLineBasedFrameConn
	_ func(net.Conn) upstream.FrameConn                                                 = upstream.NewLineBasedFrameConn
	_ func(byte, net.Conn) goframe.FrameConn                                            = goframe.NewDelimiterBasedFrameConn
	_ func(byte, net.Conn) upstream.FrameConn                                           = upstream.NewDelimiterBasedFrameConn
	_ func(int, net.Conn) goframe.FrameConn                                             = goframe.NewFixedLengthFrameConn
	_ func(int, net.Conn) upstream.FrameConn                                            = upstream.NewFixedLengthFrameConn
	_ func(io.Reader, int) ([]byte, error)                                              = goframe.ReadN
	_ func(io.Reader, int) ([]byte, error)                                              = upstream.ReadN

	_ []byte = goframe.CRLFBytes
	_ []byte = upstream.CRLFBytes
	_ error  = goframe.ErrUnsupportedlength
	_ error  = upstream.ErrUnsupportedlength
	_ error  = goframe.ErrTooLessLength
	_ error  = upstream.ErrTooLessLength
	_ error  = goframe.ErrUnexpectedFixedLength
	_ error  = upstream.ErrUnexpectedFixedLength
)
