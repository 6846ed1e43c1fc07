package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
	"github.com/libp2p/go-msgio"
	"github.com/smallnest/goframe"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// MaxFrame is the frame size limit every implementation that has one is
// given: the largest frame of any workload fits.
const MaxFrame = 8 << 20

// Kind says who owns the memory of a decoded frame, so that like is
// compared with like.
type Kind string

// The kinds of decoded frames.
const (
	View  Kind = "view"  // points into the decoder's buffer, valid until the next call
	Copy  Kind = "copy"  // copied into memory the caller (or a pool) reuses
	Owned Kind = "owned" // memory the caller keeps, never changed by later reads
	Bound Kind = "bound" // the lower bound: a copy of the payload, no parsing
)

// A Decoder is one implementation's read loop over one stream.
type Decoder interface {
	// Next returns the next frame.
	Next() ([]byte, error)
}

// DecoderImpl is one implementation of a decode workload.
type DecoderImpl struct {
	Name string
	Kind Kind
	// Inner is set when Next returns the value inside each frame's
	// BytesValue (Stream.Inner) rather than the frame (protodelim).
	Inner bool
	// New starts decoding the stream that r serves.
	New func(r *LoopReader, s *Stream) Decoder
}

// Want returns the frames that impl must decode from s.
func (d DecoderImpl) Want(s *Stream) [][]byte {
	if d.Inner {
		return s.Inner
	}
	return s.Frames
}

type decodeFunc func() ([]byte, error)

func (f decodeFunc) Next() ([]byte, error) { return f() }

var opts = &framing.Options{MaxFrameSize: MaxFrame}

// Decoders returns the implementations of the length-prefixed decode
// workloads for codec, framekit first.
func Decoders(codec Codec) []DecoderImpl {
	var fc framing.Decoder = lengthprefix.U32BE
	if codec == Uvarint {
		fc = lengthprefix.Uvarint
	}
	impls := []DecoderImpl{
		{Name: "framekit", Kind: View, New: func(r *LoopReader, _ *Stream) Decoder {
			return decodeFunc(framing.NewReader(r, fc, opts).ReadFrame)
		}},
		{Name: "framekit-into", Kind: Copy, New: func(r *LoopReader, _ *Stream) Decoder {
			fr := framing.NewReader(r, fc, opts)
			var buf []byte
			return decodeFunc(func() ([]byte, error) {
				var err error
				buf, err = fr.ReadFrameInto(buf[:0])
				return buf, err
			})
		}},
		{Name: "framekit-owned", Kind: Owned, New: func(r *LoopReader, _ *Stream) Decoder {
			fr := framing.NewReader(r, fc, opts)
			return decodeFunc(fr.ReadFrameOwned)
		}},
	}
	switch codec {
	case U32:
		impls = append(impls,
			DecoderImpl{Name: "bufio", Kind: Copy, New: newBufioU32},
			DecoderImpl{Name: "bufio-peek", Kind: View, New: newBufioPeekU32},
			DecoderImpl{Name: "msgio", Kind: Copy, New: func(r *LoopReader, _ *Stream) Decoder {
				return newMsgio(msgio.NewReaderSize(r, MaxFrame))
			}},
			DecoderImpl{Name: "goframe", Kind: Owned, New: func(r *LoopReader, _ *Stream) Decoder {
				return decodeFunc(newGoframeU32(&StreamConn{Reader: r}).ReadFrame)
			}},
			DecoderImpl{Name: "memcpy", Kind: Bound, New: newMemcpy},
		)
	case Uvarint:
		impls = append(impls,
			DecoderImpl{Name: "bufio", Kind: Copy, New: newBufioUvarint},
			DecoderImpl{Name: "msgio", Kind: Copy, New: func(r *LoopReader, _ *Stream) Decoder {
				return newMsgio(msgio.NewVarintReaderSize(r, MaxFrame))
			}},
			DecoderImpl{Name: "protodelim", Kind: Owned, Inner: true, New: newProtodelim},
			DecoderImpl{Name: "memcpy", Kind: Bound, New: newMemcpy},
		)
	}
	return impls
}

// errTooLarge is the hand-written loops' size limit error.
var errTooLarge = errors.New("bench: frame too large")

// newBufioU32 is the loop a careful programmer writes by hand: a
// bufio.Reader, io.ReadFull of the 4-byte header, then of the payload into
// a buffer reused from frame to frame.
func newBufioU32(r *LoopReader, _ *Stream) Decoder {
	br := bufio.NewReader(r)
	var hdr [4]byte
	var buf []byte
	return decodeFunc(func() ([]byte, error) {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > MaxFrame {
			return nil, errTooLarge
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		_, err := io.ReadFull(br, buf)
		return buf, err
	})
}

// newBufioPeekU32 is the hand-written loop that returns views: Peek the
// whole frame when it fits the bufio buffer (4 KiB), else fall back to
// io.ReadFull into a reused buffer.
func newBufioPeekU32(r *LoopReader, _ *Stream) Decoder {
	br := bufio.NewReader(r)
	var buf []byte
	return decodeFunc(func() ([]byte, error) {
		hdr, err := br.Peek(4)
		if err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint32(hdr))
		if n > MaxFrame {
			return nil, errTooLarge
		}
		if 4+n <= br.Size() {
			f, err := br.Peek(4 + n)
			if err != nil {
				return nil, err
			}
			_, _ = br.Discard(4 + n) // cannot fail: the bytes are buffered
			return f[4:], nil
		}
		_, _ = br.Discard(4)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		_, err = io.ReadFull(br, buf)
		return buf, err
	})
}

// newBufioUvarint is the hand-written varint loop: binary.ReadUvarint from
// a bufio.Reader, then io.ReadFull into a reused buffer.
func newBufioUvarint(r *LoopReader, _ *Stream) Decoder {
	br := bufio.NewReader(r)
	var buf []byte
	return decodeFunc(func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		if n > MaxFrame {
			return nil, errTooLarge
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		_, err = io.ReadFull(br, buf)
		return buf, err
	})
}

// newMsgio reads with go-msgio, giving each message back to its pool before
// reading the next (its documented use): the frame is valid until the next
// call, as a view.
func newMsgio(mr msgio.Reader) Decoder {
	var prev []byte
	return decodeFunc(func() ([]byte, error) {
		if prev != nil {
			mr.ReleaseMsg(prev)
		}
		msg, err := mr.ReadMsg()
		prev = msg
		return msg, err
	})
}

// newGoframeU32 returns goframe's length-field conn set up for a 4-byte big-endian
// length that is stripped: Netty's LengthFieldPrepender(4) and
// LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4).
func newGoframeU32(c net.Conn) goframe.FrameConn {
	return goframe.NewLengthFieldBasedFrameConn(
		goframe.EncoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4},
		goframe.DecoderConfig{ByteOrder: binary.BigEndian, LengthFieldLength: 4, InitialBytesToStrip: 4},
		c)
}

// newProtodelim reads with protodelim from a bufio.Reader into one reused
// BytesValue; the frame it returns is the message's value.
func newProtodelim(r *LoopReader, _ *Stream) Decoder {
	br := bufio.NewReader(r)
	var m wrapperspb.BytesValue
	uo := protodelim.UnmarshalOptions{MaxSize: MaxFrame}
	return decodeFunc(func() ([]byte, error) {
		if err := uo.UnmarshalFrom(br, &m); err != nil {
			return nil, err
		}
		return m.Value, nil
	})
}

// newMemcpy is the lower bound of any decoder that hands frames out of an
// io.Reader: one copy of each payload into a reused buffer, and no parsing
// (the frame offsets are known from when the stream was built). With the
// whole stream available it copies straight out of the stream's memory;
// with small reads it pulls each frame through the reader in its pieces,
// as any decoder must.
func newMemcpy(r *LoopReader, s *Stream) Decoder {
	hdr := s.Offsets[0]
	buf := make([]byte, hdr+s.Size)
	i := 0
	return decodeFunc(func() ([]byte, error) {
		if r.Max > 0 {
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, err
			}
			return buf[hdr:], nil
		}
		off := s.Offsets[i]
		copy(buf[hdr:], r.Data[off:off+s.Size])
		if i++; i == len(s.Offsets) {
			i = 0
		}
		return buf[hdr:], nil
	})
}

// LineDecoders returns the implementations of the line workloads.
func LineDecoders() []DecoderImpl {
	return []DecoderImpl{
		{Name: "framekit", Kind: View, New: func(r *LoopReader, _ *Stream) Decoder {
			return decodeFunc(framing.NewReader(r, delimiter.Lines, opts).ReadFrame)
		}},
		{Name: "scanner", Kind: View, New: func(r *LoopReader, _ *Stream) Decoder {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 4096), MaxFrame)
			return decodeFunc(func() ([]byte, error) {
				if sc.Scan() {
					return sc.Bytes(), nil
				}
				if err := sc.Err(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			})
		}},
		{Name: "bufio", Kind: View, New: newBufioLines},
		{Name: "goframe", Kind: Owned, New: func(r *LoopReader, _ *Stream) Decoder {
			return decodeFunc(goframe.NewLineBasedFrameConn(&StreamConn{Reader: r}).ReadFrame)
		}},
	}
}

// newBufioLines is the hand-written line loop: ReadSlice('\n'), a view when
// the line fits the bufio buffer, appended piece by piece into a reused
// buffer when it does not; the "\n" or "\r\n" is stripped.
func newBufioLines(r *LoopReader, _ *Stream) Decoder {
	br := bufio.NewReader(r)
	var long []byte
	return decodeFunc(func() ([]byte, error) {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if len(long)+len(line) > MaxFrame+2 {
					return nil, errTooLarge
				}
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			return nil, err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	})
}
