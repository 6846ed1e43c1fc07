// Package framing turns a byte stream into a stream of messages and back:
// codecs say where frames start and end, and this package does all the I/O.
//
// Concurrency: any number of goroutines may write frames at once; one
// goroutine at a time may read.
//
// Buffers: a frame returned by ReadFrame is a view into the Reader's buffer,
// valid until the next call on the Reader; ReadFrameInto returns a copy.
package framing
