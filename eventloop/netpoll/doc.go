// Package netpollframe runs framekit codecs on cloudwego/netpoll event
// loops (Linux and macOS, as netpoll itself): frames in and out of netpoll
// connections with the guarantees of a framing.Conn (the size limit and
// fail-or-skip, the memory budget, the slow-peer guard, Stats).
//
//	loop, err := netpollframe.NewEventLoop(netpollframe.Config{
//		Codec:   lengthprefix.U32BE,
//		OnFrame: func(c *netpollframe.Conn, f []byte) { c.WriteFrame(f) },
//	})
//	...
//	err = loop.Serve(ln) // ln from netpoll.CreateListener
//
// Inbound bytes are decoded where netpoll buffered them (Peek, then Skip
// and Release of what was consumed): a frame reaches OnFrame as a view
// into netpoll's buffer, valid only for the call (Config.Owned passes a
// copy instead), and the bytes of an incomplete frame stay in netpoll's
// buffer, charged to Options.Budget, until the rest arrives. A connection
// between frames holds no goroutine; inside a frame, netpoll's OnRequest
// waits for the rest (netpoll requires it to consume what it is given),
// under the slow-peer guard's read deadline.
//
// OnFrame runs on the connection's OnRequest goroutine, one call at a
// time per connection. netpoll v0.7.2 reads from the socket whenever it
// is readable, whatever its OnRequest is doing, so a slow OnFrame does
// not push back on the peer: bytes queue in netpoll's input buffer (see
// the README's event-loop section).
//
// Most of an idle netpoll connection's memory is netpoll's own: an input
// buffer of netpoll.Config.BufferSize (8 KiB) from the moment it opens,
// never smaller than netpoll.LinkBufferCap (4 KiB). A server with many
// idle connections can lower both before it serves (Configure, then
// LinkBufferCap = 512 took an idle connection from 11.3 KB to 3.6 KB of
// heap here, of which the adapter's share is about 200 B; see
// bench/RESULTS.md); netpoll grows a connection's buffer as it reads.
package netpollframe
