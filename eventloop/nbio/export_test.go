package nbioframe

import (
	"github.com/framekit/framekit/eventloop/internal/loopcore"
	"github.com/lesismal/nbio"
)

// AttachCounted is Attach, and counts what the connections hold.
func AttachCounted(g *nbio.Engine, cfg Config) (*loopcore.Counts, error) {
	l, err := attach(g, cfg)
	if err != nil {
		return nil, err
	}
	return l.Count(), nil
}
