package gnetframe

import "github.com/framekit/framekit/eventloop/internal/loopcore"

// Count makes h count what its connections hold (call it before gnet.Run).
func Count(h *Handler) *loopcore.Counts { return h.l.Count() }
