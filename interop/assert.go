// Package interop holds the tests that prove framekit speaks the same bytes
// as peers we did not write: Netty, Python's asyncio, Node's
// it-length-prefixed, go-msgio, protodelim and goframe. See README.md.
package interop

import (
	"github.com/framekit/framekit/compat/goframeconn"
	"github.com/smallnest/goframe"
)

// goframe code switches to framekit by changing its constructor: the
// compat conn has goframe's FrameConn methods.
var _ goframe.FrameConn = (*goframeconn.Conn)(nil)
