// Package bench runs framekit and the peer framing libraries side by side
// on identical pre-encoded streams and workloads (issue 7). The benchmarks
// live in the _test.go files; this package holds what they share: the
// stream builders, the readers and sinks that serve and count bytes, and
// one adapter per implementation. Run everything with bench/run.sh.
package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Codec names a wire format of the length-prefixed workloads.
type Codec string

// The length-prefixed formats the workloads use.
const (
	U32     Codec = "u32"     // 4-byte big-endian length, then the payload
	Uvarint Codec = "uvarint" // unsigned varint length, then a protobuf BytesValue
)

// Stream is a pre-encoded stream of frames, the same bytes for every
// implementation, with the frames each one must decode from it.
type Stream struct {
	Data []byte // the encoded stream
	// Frames are the payloads in stream order (views into one backing
	// array), what a decoder must return.
	Frames [][]byte
	// Inner are, for the Uvarint streams, the bytes inside each frame's
	// protobuf BytesValue (what protodelim hands back); nil otherwise.
	Inner [][]byte
	// Offsets are the offsets in Data where each frame's payload starts;
	// Offsets[i]-Header(i) is where its header starts.
	Offsets []int
	Size    int // payload size of every frame
	// Backing is the memory all of Frames (and Inner) point into.
	Backing []byte
}

// minStream is the least number of bytes a stream holds (the readers loop
// over it), so that small frames are not served from a tiny hot buffer.
const minStream = 1 << 20

// minFrames is the least number of frames a stream holds, so that a
// decoder that returns the same frame twice is caught.
const minFrames = 4

// fill writes a pattern into p that differs from frame to frame and from
// byte to byte, so that a frame returned shifted, twice, or from the wrong
// place does not compare equal. alphabet, when not nil, restricts the bytes
// (lines must not contain '\n').
func fill(p []byte, seq int, alphabet []byte) {
	for i := range p {
		v := uint32(seq)*2654435761 + uint32(i)*7 + 1
		if alphabet != nil {
			p[i] = alphabet[v%uint32(len(alphabet))]
		} else {
			p[i] = byte(v ^ v>>11)
		}
	}
	// A readable sequence number at the front where there is room.
	if len(p) >= 12 && alphabet == nil {
		binary.BigEndian.PutUint64(p[4:], uint64(seq)|0xA5<<56)
	}
}

func frameCount(size, overhead int) int {
	return max(minFrames, (minStream+size+overhead-1)/(size+overhead))
}

// NewStream encodes frames of size bytes with codec. For Uvarint each frame
// is the protobuf encoding of a google.protobuf.BytesValue whose value is
// chosen so that the whole encoding is size bytes (size must be at least 2),
// so that protodelim reads the same stream as the raw varint decoders.
func NewStream(codec Codec, size int) *Stream {
	hdr := 4
	if codec == Uvarint {
		hdr = uvarintLen(uint64(size))
	}
	n := frameCount(size, hdr)
	s := &Stream{Size: size, Frames: make([][]byte, n), Offsets: make([]int, n)}
	s.Data = make([]byte, 0, n*(size+hdr))
	payloads := make([]byte, n*size)
	s.Backing = payloads
	if codec == Uvarint {
		s.Inner = make([][]byte, n)
	}
	for i := range n {
		p := payloads[i*size : (i+1)*size : (i+1)*size]
		switch codec {
		case U32:
			fill(p, i, nil)
			s.Data = binary.BigEndian.AppendUint32(s.Data, uint32(size))
		case Uvarint:
			inner := bytesValueInner(size)
			p[0] = 0x0a // field 1, wire type 2
			k := 1 + binary.PutUvarint(p[1:], uint64(inner))
			if k+inner != size {
				panic(fmt.Sprintf("bench: no BytesValue encoding of exactly %d bytes", size))
			}
			fill(p[k:], i, nil)
			s.Inner[i] = p[k:]
			s.Data = binary.AppendUvarint(s.Data, uint64(size))
		default:
			panic("bench: unknown codec " + string(codec))
		}
		s.Offsets[i] = len(s.Data)
		s.Frames[i] = p
		s.Data = append(s.Data, p...)
	}
	return s
}

// bytesValueInner is the value length v such that a BytesValue holding v
// bytes encodes to size bytes: 1 (tag) + len(uvarint(v)) + v.
func bytesValueInner(size int) int {
	for k := 1; k <= 3; k++ {
		if v := size - 1 - k; v >= 0 && uvarintLen(uint64(v)) == k {
			return v
		}
	}
	return -1
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// lineAlphabet holds the bytes lines are made of: no '\n', no '\r'.
var lineAlphabet = []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-_")

// NewLines encodes lines of size bytes, each ended by '\n'.
func NewLines(size int) *Stream {
	n := frameCount(size, 1)
	s := &Stream{Size: size, Frames: make([][]byte, n), Offsets: make([]int, n)}
	s.Data = make([]byte, 0, n*(size+1))
	payloads := make([]byte, n*size)
	s.Backing = payloads
	for i := range n {
		p := payloads[i*size : (i+1)*size : (i+1)*size]
		fill(p, i, lineAlphabet)
		s.Offsets[i] = len(s.Data)
		s.Frames[i] = p
		s.Data = append(s.Data, p...)
		s.Data = append(s.Data, '\n')
	}
	return s
}

// Check compares got with frame i of want, in full. It is for the
// untimed passes.
func Check(got, want []byte, i int) error {
	if !bytes.Equal(got, want) {
		return mismatch(got, want, i)
	}
	return nil
}

// checkEdge is the bytes QuickCheck compares at each end of a frame.
const checkEdge = 16

// QuickCheck compares got with want by length and by the bytes at both
// ends (all of them for small frames): enough to catch a lost, repeated,
// shifted or truncated frame, at a cost that does not grow with the frame.
// It is the check inside timed loops; a full Check pass over the whole
// stream runs before timing starts.
func QuickCheck(got, want []byte, i int) error {
	if len(got) != len(want) {
		return mismatch(got, want, i)
	}
	if len(want) <= 2*checkEdge {
		if !bytes.Equal(got, want) {
			return mismatch(got, want, i)
		}
		return nil
	}
	n := len(want)
	if !bytes.Equal(got[:checkEdge], want[:checkEdge]) || !bytes.Equal(got[n-checkEdge:], want[n-checkEdge:]) {
		return mismatch(got, want, i)
	}
	return nil
}

func mismatch(got, want []byte, i int) error {
	show := func(p []byte) string {
		if len(p) > 24 {
			return fmt.Sprintf("%x… (%d bytes)", p[:24], len(p))
		}
		return fmt.Sprintf("%x (%d bytes)", p, len(p))
	}
	return fmt.Errorf("frame %d decoded wrongly: got %s, want %s", i, show(got), show(want))
}

// Verify reads n frames with d and compares each in full with want, in
// turn (want repeats, as the stream does). For a decoder of owned frames
// (kind Owned) it also keeps every frame and compares them all again at
// the end: a frame the decoder changed later is not owned.
func Verify(d Decoder, kind Kind, want [][]byte, n int) error {
	var kept [][]byte
	for i := range n {
		f, err := d.Next()
		if err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
		if err := Check(f, want[i%len(want)], i); err != nil {
			return err
		}
		if kind == Owned {
			kept = append(kept, f)
		}
	}
	for i, f := range kept {
		if err := Check(f, want[i%len(want)], i); err != nil {
			return fmt.Errorf("kept frame changed by later reads: %w", err)
		}
	}
	return nil
}
