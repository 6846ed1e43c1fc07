// Package fuzz is a test harness for message framing: it cuts byte streams
// the ways a network does and checks that a codec or framer survives every
// one of them.
package fuzz
