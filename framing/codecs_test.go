package framing

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
)

// Test codecs: the smallest honest implementations of the two kinds of
// decoder the Reader serves (exact need from a header; lower-bound need
// from scanning), so the Reader is tested without the codec packages.

// u32 is a big-endian uint32 length prefix, stripped.
type u32 struct{}

func (u32) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	if len(buf) < 4 {
		return Need(4), nil
	}
	n := int64(binary.BigEndian.Uint32(buf))
	return NeedFrame(4, 4+n, 4+n), nil
}

func (u32) AppendFrame(dst, p []byte) ([]byte, error) {
	dst, _, err := u32{}.AppendHeader(dst, p)
	if err != nil {
		return dst, err
	}
	return append(dst, p...), nil
}

func (u32) AppendHeader(dst, p []byte) ([]byte, int, error) {
	if uint64(len(p)) > 1<<32-1 {
		return dst, 0, &PayloadError{Size: len(p), Reason: "too long for a 4-byte length"}
	}
	return binary.BigEndian.AppendUint32(dst, uint32(len(p))), 0, nil
}

func (u32) AppendTrailer(dst, _ []byte) []byte { return dst }

// nl is newline-terminated frames, newline stripped. A line "BAD" is a
// rejected corrupt frame.
type nl struct{}

func (nl) Decode(buf []byte, atEOF bool, st *DecodeState) (Decoded, error) {
	from := st.Scanned
	i := bytes.IndexByte(buf[from:], '\n')
	if i < 0 {
		if len(buf) > st.Limit {
			return OverLimit(len(buf)), nil
		}
		st.Scanned = len(buf)
		return Need(len(buf) + 1), nil
	}
	end := from + i
	if string(buf[:end]) == "BAD" {
		return Consume(end + 1), &CorruptError{Reason: "BAD line", Rejected: true}
	}
	return Frame(0, end, end+1), nil
}

func (nl) AppendFrame(dst, p []byte) ([]byte, error) {
	if bytes.IndexByte(p, '\n') >= 0 {
		return dst, &PayloadError{Size: len(p), Reason: "contains a newline"}
	}
	return append(append(dst, p...), '\n'), nil
}

// chunkReader returns the bytes of data in pieces of the sizes that next
// returns.
type chunkReader struct {
	data []byte
	next func() int
	err  error // returned once data is exhausted, io.EOF when nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := c.next()
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func fixedChunks(data []byte, n int) *chunkReader {
	return &chunkReader{data: data, next: func() int { return n }}
}

func randomChunks(data []byte, rng *rand.Rand, max int) *chunkReader {
	return &chunkReader{data: data, next: func() int { return 1 + rng.Intn(max) }}
}
