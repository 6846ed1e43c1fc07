package delimiter_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/framekit/framekit/delimiter"
	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
)

// TestFinalAtEOF: with FinalAtEOF the bytes after the last delimiter are a
// last frame at a clean EOF, however the stream is cut; without it they
// are an unexpected EOF.
func TestFinalAtEOF(t *testing.T) {
	crlfFinal, err := delimiter.New(delimiter.Config{Delimiters: [][]byte{[]byte("\r\n")}, FinalAtEOF: true, KeepDelimiter: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		codec  *delimiter.Codec
		stream string
		want   []string
		err    error
	}{
		{"lines strict", delimiter.Lines, "a\nhi", []string{"a"}, io.ErrUnexpectedEOF},
		{"lines at EOF", delimiter.LinesAtEOF, "a\nhi", []string{"a", "hi"}, io.EOF},
		{"lines at EOF, terminated", delimiter.LinesAtEOF, "a\nhi\n", []string{"a", "hi"}, io.EOF},
		{"lines at EOF, CR kept", delimiter.LinesAtEOF, "a\r\nhi\r", []string{"a", "hi\r"}, io.EOF},
		{"lines at EOF, empty", delimiter.LinesAtEOF, "", nil, io.EOF},
		{"kept CRLF at EOF", crlfFinal, "a\r\nb\r", []string{"a\r\n", "b\r"}, io.EOF},
	}
	for _, tc := range tests {
		for _, cut := range []fuzz.Cutting{fuzz.CutWhole(), fuzz.CutEvery(1)} {
			r := framing.NewReader(fuzz.NewReader(strings.NewReader(tc.stream), cut), tc.codec, nil)
			var got []string
			var err error
			for {
				var f []byte
				if f, err = r.ReadFrame(); err != nil {
					break
				}
				got = append(got, string(f))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || !errors.Is(err, tc.err) {
				t.Errorf("%s, %v: frames (-want +got):\n%s; ended with %v, want %v", tc.name, cut, diff, err, tc.err)
			}
		}
	}
	// The last frame is held to the limit like any other.
	r := framing.NewReader(strings.NewReader("0123456789"), delimiter.LinesAtEOF, &framing.Options{MaxFrameSize: 4})
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) {
		t.Errorf("an unterminated last line over the limit: %v", err)
	}
}

// TestFinalAtEOFConformance runs the suite, which expects the bytes of a
// stream cut inside a frame as a last frame at EOF in every check.
func TestFinalAtEOFConformance(t *testing.T) {
	fuzz.Conformance(t, delimiter.LinesAtEOF, &fuzz.Options{Payload: fuzz.Without('\n', '\r')})
}
