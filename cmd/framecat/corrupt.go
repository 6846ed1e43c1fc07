package main

import (
	"bytes"
	"math/rand/v2"
)

// corruptPayload flips one byte of a frame's payload in raw, the frame's
// bytes on the wire (payload n bytes long), leaving its framing intact: no
// length field byte changes, and no byte becomes one that ends a frame.
// It returns the offset in raw of the byte, or -1 when the frame has no
// byte to flip.
func corruptPayload(c *codec, raw []byte, n int, rng *rand.Rand) int {
	lo, hi := c.body(raw, n)
	if hi <= lo {
		return -1
	}
	at := lo + rng.IntN(hi-lo)
	for {
		b := raw[at] ^ byte(1+rng.IntN(255))
		if bytes.IndexByte(c.special, b) < 0 {
			raw[at] = b
			return at
		}
	}
}

// corruptLength flips one byte of a frame's length field in raw; it
// returns the byte's offset, or -1 for a codec without a length field.
func corruptLength(c *codec, raw []byte, n int, rng *rand.Rand) int {
	if !c.length {
		return -1
	}
	lo, hi := c.fieldOff, c.fieldOff+c.fieldSize
	if c.fieldSize == 0 { // uvarint: the header before the payload
		lo, hi = 0, len(raw)-n
	}
	if hi > len(raw) || hi <= lo {
		return -1
	}
	at := lo + rng.IntN(hi-lo)
	raw[at] ^= byte(1 + rng.IntN(255))
	return at
}

// body returns where, in a frame's bytes on the wire, lie the bytes of its
// payload (for COBS and SLIP, the stuffed payload) that hold no framing.
func (c *codec) body(raw []byte, n int) (lo, hi int) {
	switch {
	case c.length && c.fieldSize == 0:
		return len(raw) - n, len(raw)
	case c.length:
		return c.fieldOff + c.fieldSize, len(raw)
	case c.stuffed:
		lo, hi = 0, len(raw)-1 // the frame's end marker
		if c.spec == "slip" && hi > 0 && raw[0] == 0xC0 {
			lo = 1
		}
		return lo, hi
	case c.fixed > 0:
		return 0, len(raw)
	}
	return 0, n // delimiters: the payload, then the delimiter
}
