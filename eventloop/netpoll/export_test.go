//go:build linux || darwin

package netpollframe

import (
	"github.com/cloudwego/netpoll"
	"github.com/framekit/framekit/eventloop/internal/loopcore"
)

// NewEventLoopCounted is NewEventLoop, and counts what the connections
// hold.
func NewEventLoopCounted(cfg Config, opts ...netpoll.Option) (netpoll.EventLoop, *loopcore.Counts, error) {
	el, l, err := newEventLoop(cfg, opts...)
	if err != nil {
		return nil, nil, err
	}
	return el, l.Count(), nil
}
