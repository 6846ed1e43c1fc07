package bench

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/libp2p/go-msgio"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Mode says whether each frame is written out before the call returns.
type Mode string

// The write modes.
const (
	// PerFrame: each call puts its frame on the destination before it
	// returns (one write per frame unless writes are combined).
	PerFrame Mode = "frame"
	// Batch: frames are gathered and written in large writes, with a
	// flush at the end. An implementation without a batching mode of its
	// own runs in this mode as it does per frame.
	Batch Mode = "batch"
)

// An Encoder is one implementation's write loop.
type Encoder interface {
	// Encode sends p as a frame (or queues it, in Batch mode).
	Encode(p []byte) error
	// Flush writes whatever is queued.
	Flush() error
}

// EncoderImpl is one implementation of an encode workload.
type EncoderImpl struct {
	Name string
	// Inner is set when Encode takes the value inside each frame's
	// BytesValue (Stream.Inner) rather than the frame (protodelim).
	Inner bool
	// Unbatched is set for an implementation that has no batching of its
	// own and runs in Batch mode as it does per frame.
	Unbatched bool
	New       func(w io.Writer) Encoder
}

// Payloads returns the payloads impl must be given to write s.
func (e EncoderImpl) Payloads(s *Stream) [][]byte {
	if e.Inner {
		return s.Inner
	}
	return s.Frames
}

type encoder struct {
	encode func([]byte) error
	flush  func() error
}

func (e encoder) Encode(p []byte) error { return e.encode(p) }
func (e encoder) Flush() error          { return e.flush() }

func noFlush() error { return nil }

// batchWriteFrames is how many frames framekit-frames hands to one
// WriteFrames call.
const batchWriteFrames = 64

// handBuffer is the bufio.Writer size of the hand-written loops: the same
// 64 KiB at which framekit's buffered mode writes.
const handBuffer = 64 << 10

// Encoders returns the implementations of the encode workloads for codec
// and mode, framekit first.
func Encoders(codec Codec, mode Mode) []EncoderImpl {
	var fc framing.Encoder = lengthprefix.U32BE
	if codec == Uvarint {
		fc = lengthprefix.Uvarint
	}
	var impls []EncoderImpl
	if mode == PerFrame {
		impls = append(impls,
			EncoderImpl{Name: "framekit", New: func(w io.Writer) Encoder {
				fw := framing.NewWriter(w, fc, nil)
				return encoder{fw.WriteFrame, fw.Flush}
			}},
			EncoderImpl{Name: "bufio", New: func(w io.Writer) Encoder {
				return newBufioEncoder(w, codec, true)
			}},
		)
	} else {
		impls = append(impls,
			EncoderImpl{Name: "framekit", New: func(w io.Writer) Encoder {
				fw := framing.NewWriter(w, fc, nil)
				return encoder{fw.BufferFrame, fw.Flush}
			}},
			EncoderImpl{Name: "framekit-batch", New: func(w io.Writer) Encoder {
				fb := framing.NewWriter(w, fc, nil).NewBatch()
				return encoder{fb.BufferFrame, fb.Flush}
			}},
			EncoderImpl{Name: "framekit-frames", New: func(w io.Writer) Encoder {
				return newWriteFrames(framing.NewWriter(w, fc, nil))
			}},
			EncoderImpl{Name: "bufio", New: func(w io.Writer) Encoder {
				return newBufioEncoder(w, codec, false)
			}},
			EncoderImpl{Name: "bufio-locked", New: func(w io.Writer) Encoder {
				return newLockedEncoder(newBufioEncoder(w, codec, false))
			}},
		)
	}
	switch codec {
	case U32:
		impls = append(impls,
			EncoderImpl{Name: "msgio", Unbatched: true, New: func(w io.Writer) Encoder {
				mw := msgio.NewWriter(w)
				return encoder{mw.WriteMsg, noFlush}
			}},
			EncoderImpl{Name: "goframe", Unbatched: true, New: func(w io.Writer) Encoder {
				return encoder{newGoframeU32(asConn(w)).WriteFrame, noFlush}
			}},
		)
	case Uvarint:
		impls = append(impls,
			EncoderImpl{Name: "msgio", Unbatched: true, New: func(w io.Writer) Encoder {
				mw := msgio.NewVarintWriter(w)
				return encoder{mw.WriteMsg, noFlush}
			}},
			EncoderImpl{Name: "protodelim", Inner: true, Unbatched: true, New: func(w io.Writer) Encoder {
				var m wrapperspb.BytesValue
				return encoder{func(p []byte) error {
					m.Value = p
					_, err := protodelim.MarshalTo(w, &m)
					return err
				}, noFlush}
			}},
		)
	}
	return impls
}

// asConn returns w as a net.Conn for goframe, which wants one.
func asConn(w io.Writer) net.Conn {
	if c, ok := w.(net.Conn); ok {
		return c
	}
	return &StreamConn{Writer: w}
}

// newBufioEncoder is the hand-written write loop: header and payload into a
// 64 KiB bufio.Writer, flushed after each frame (flush) or only when full
// and at the end (batched).
func newBufioEncoder(w io.Writer, codec Codec, flush bool) Encoder {
	bw := bufio.NewWriterSize(w, handBuffer)
	var hdr [binary.MaxVarintLen64]byte
	return encoder{func(p []byte) error {
		var h []byte
		if codec == Uvarint {
			h = hdr[:binary.PutUvarint(hdr[:], uint64(len(p)))]
		} else {
			binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
			h = hdr[:4]
		}
		if _, err := bw.Write(h); err != nil {
			return err
		}
		if _, err := bw.Write(p); err != nil {
			return err
		}
		if flush {
			return bw.Flush()
		}
		return nil
	}, bw.Flush}
}

// newLockedEncoder is the hand-written batched loop made safe for
// concurrent writers, as framekit's BufferFrame is: a mutex around it.
func newLockedEncoder(e Encoder) Encoder {
	var mu sync.Mutex
	return encoder{func(p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return e.Encode(p)
	}, func() error {
		mu.Lock()
		defer mu.Unlock()
		return e.Flush()
	}}
}

// newWriteFrames gathers frames and hands them to WriteFrames
// batchWriteFrames at a time. The payloads are referenced, not copied,
// until then, so the caller must not reuse them before Flush (the
// benchmarks' payloads never change).
func newWriteFrames(fw *framing.Writer) Encoder {
	ps := make([][]byte, 0, batchWriteFrames)
	flush := func() error {
		if len(ps) == 0 {
			return nil
		}
		err := fw.WriteFrames(ps)
		clear(ps)
		ps = ps[:0]
		return err
	}
	return encoder{func(p []byte) error {
		ps = append(ps, p)
		if len(ps) == batchWriteFrames {
			return flush()
		}
		return nil
	}, flush}
}
