package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/framekit/framekit/framing"
)

// openInput returns the FILE argument, or stdin when there is none (or it
// is "-"), and the name to use in errors.
func openInput(e *env, cl *cmdline) (io.ReadCloser, string, error) {
	if len(cl.pos) == 0 || cl.pos[0] == "-" {
		return io.NopCloser(e.stdin), "stdin", nil
	}
	f, err := os.Open(cl.pos[0])
	if err != nil {
		return nil, "", err
	}
	return f, cl.pos[0], nil
}

// decodeCmd splits a byte stream into frames and prints them.
func decodeCmd(e *env, cl *cmdline) error {
	if cl.has("pcap") {
		return decodePcapCmd(e, cl)
	}
	for _, f := range []string{"flow", "max-flows", "idle", "max-ooo", "summary", "c2s", "s2c"} {
		if cl.has(f) {
			return usagef("--%s goes with --pcap FILE", f)
		}
	}
	if err := wantArgs(cl, 0, 1, "FILE"); err != nil {
		return err
	}
	s, err := newSetup(cl, false)
	if err != nil {
		return err
	}
	in, _, err := openInput(e, cl)
	if err != nil {
		return err
	}
	defer in.Close()
	p := newPrinter(e.stdout, s.format, false)
	fr := newFrameReader(in, s.codec, s.opts)
	for {
		f, err := fr.next()
		if err == nil {
			if err := p.frame(tag{}, f); err != nil {
				return err
			}
			continue
		}
		if ferr := p.flush(); ferr != nil {
			return ferr
		}
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, framing.ErrFinal) {
			return finalFrame(e, p, fr, in)
		}
		if s.goesOn(err) {
			fmt.Fprintf(e.stderr, "framecat: %v\n", err)
			continue
		}
		return err
	}
}

// finalFrame ends a decode whose codec ended the framed stream with a
// final frame (an HTTP chunked body's last chunk, PostgreSQL's 'S'): the
// bytes after it belong to something else (the next HTTP message, TLS),
// so they are counted, not decoded, and the decode ends cleanly. It says
// so on stderr, and with -f json in two records: "final" where the
// frames end, "unframed" with the bytes that follow.
func finalFrame(e *env, p *printer, fr *frameReader, in io.Reader) error {
	off := fr.r.Offset()
	after := fr.src.n - off
	if err := p.event(tag{}, "final", off, -1); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, in)
	if err != nil {
		return err
	}
	if err := p.event(tag{}, "unframed", off, after+n); err != nil {
		return err
	}
	if err := p.flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "framecat: frame %d, ending at offset %d, is final (it ends the framed stream): %d bytes follow, not decoded\n",
		fr.index, off, after+n)
	return nil
}

// goesOn reports whether reading goes on after err: under --skip, after a
// frame that was skipped or rejected alone (an undecodable stuffed frame).
func (s *setup) goesOn(err error) bool {
	return s.opts.Oversize == framing.Skip && rejected(err)
}

// encodeCmd turns frames into a byte stream.
func encodeCmd(e *env, cl *cmdline) error {
	if err := wantArgs(cl, 0, 1, "FILE"); err != nil {
		return err
	}
	s, err := newSetup(cl, true)
	if err != nil {
		return err
	}
	in, name, err := openInput(e, cl)
	if err != nil {
		return err
	}
	defer in.Close()
	frames := newFrameInput(in, name, s.format, s.max)
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	enc := s.encoder(true)
	for {
		f, err := frames.next()
		if err == io.EOF {
			return w.Flush()
		}
		if err == nil {
			err = frames.at(enc.write(w, f))
		}
		if err != nil {
			w.Flush()
			return err
		}
	}
}

// frameEncoder encodes frames one after the other, numbering them and
// counting the bytes of the stream it makes, for errors.
type frameEncoder struct {
	s *setup
	// limit refuses payloads over --max (encode does; senders leave that
	// to the peer).
	limit  bool
	buf    []byte
	index  int64
	offset int64
}

func (s *setup) encoder(limit bool) *frameEncoder { return &frameEncoder{s: s, limit: limit} }

// encode returns the frame of payload (valid until the next call), or a
// *dataError for a payload over --max or one the codec cannot frame.
func (fe *frameEncoder) encode(payload []byte) ([]byte, error) {
	if fe.limit && len(payload) > fe.s.max {
		return nil, &dataError{index: fe.index, offset: fe.offset, c: fe.s.codec,
			err: fmt.Errorf("frame of %d bytes, over --max %d", len(payload), fe.s.max)}
	}
	b, err := fe.s.codec.enc.AppendFrame(fe.buf[:0], payload)
	if err != nil {
		return nil, &dataError{index: fe.index, offset: fe.offset, c: fe.s.codec, err: err}
	}
	fe.buf = b
	fe.index++
	fe.offset += int64(len(b))
	return b, nil
}

// write encodes payload to w.
func (fe *frameEncoder) write(w io.Writer, payload []byte) error {
	b, err := fe.encode(payload)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
