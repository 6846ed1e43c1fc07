package lengthprefix

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

// kindFrame is a frame and its kind.
type kindFrame struct {
	Kind  uint32
	Frame string
}

// readKinds reads frames and kinds until the stream ends, in pieces of
// piece bytes, and returns them, what Detach handed over then plus what
// the reader had not read, and the error that ended them.
func readKinds(t *testing.T, dec framing.Decoder, stream []byte, piece int) ([]kindFrame, []byte, error) {
	t.Helper()
	src := bytes.NewReader(stream)
	r := framing.NewReader(fuzz.NewReader(src, fuzz.CutEvery(piece)), dec, nil)
	var got []kindFrame
	for range len(stream) + 2 {
		f, err := r.ReadFrame()
		if err != nil {
			rest, _ := io.ReadAll(src)
			return got, append(r.Detach(), rest...), err
		}
		got = append(got, kindFrame{r.Kind(), string(f)})
	}
	t.Fatal("reader did not end")
	return nil, nil, nil
}

func enc(t *testing.T, c framing.Encoder, payloads ...string) []byte {
	t.Helper()
	var out []byte
	for _, p := range payloads {
		var err error
		if out, err = c.AppendFrame(out, []byte(p)); err != nil {
			t.Fatalf("AppendFrame(%q): %v", p, err)
		}
	}
	return out
}

const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func TestPreamble(t *testing.T) {
	settings := "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
	stream := enc(t, HTTP2Client, preface, settings, settings)
	if string(stream) != preface+settings+settings {
		t.Fatalf("encoded %q", stream)
	}
	for _, piece := range []int{1, 5, len(stream)} {
		got, _, err := readKinds(t, HTTP2Client, stream, piece)
		want := []kindFrame{{KindPreamble, preface}, {KindMessage, settings}, {KindMessage, settings}}
		if diff := cmp.Diff(want, got); diff != "" || err != io.EOF {
			t.Errorf("pieces of %d: %v, frames (-want +got):\n%s", piece, err, diff)
		}
		// A wrong preface is corrupt at offset 0, as soon as a byte differs.
		_, _, err = readKinds(t, HTTP2Client, []byte("PRI * HTTP/1.1\r\n"), piece)
		var ce *framing.CorruptError
		if !errors.As(err, &ce) || ce.Offset != 0 {
			t.Errorf("pieces of %d: wrong preface gives %v", piece, err)
		}
	}
	amqp := enc(t, AMQPClient, "AMQP\x00\x00\x09\x01", "\x08\x00\x00\xFF\xFF\xFF\xFF")
	if want := "AMQP\x00\x00\x09\x01\x08\x00\x00\x00\x00\x00\x00\xCE"; string(amqp) != want {
		t.Errorf("AMQP client stream %q, want %q", amqp, want)
	}
}

func TestProxyHeader(t *testing.T) {
	c := NewProxyHeader(U32BE)
	v1 := "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"
	v2 := "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + "\xc0\x00\x02\x01\xc6\x33\x64\x01\xdc\x04\x01\xbb"
	for _, hdr := range []string{v1, v2} {
		stream := enc(t, c, hdr, "hello")
		for _, piece := range []int{1, 7, len(stream)} {
			got, _, err := readKinds(t, c, stream, piece)
			want := []kindFrame{{KindProxy, hdr}, {KindMessage, "hello"}}
			if diff := cmp.Diff(want, got); diff != "" || err != io.EOF {
				t.Errorf("pieces of %d: %v, frames (-want +got):\n%s", piece, err, diff)
			}
		}
	}
	for _, bad := range []string{"\x00\x00\x00\x05hello", "PROXY " + string(bytes.Repeat([]byte("x"), 120)), "\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x00"} {
		_, _, err := readKinds(t, c, []byte(bad), 3)
		var ce *framing.CorruptError
		if !errors.As(err, &ce) || ce.Offset != 0 {
			t.Errorf("%q: %v, want a CorruptError at offset 0", bad, err)
		}
	}
}

// Spec messages (PostgreSQL documentation 55.7, "Message Formats").
const (
	pgSSL      = "\x00\x00\x00\x08\x04\xd2\x16\x2f"
	pgStartup  = "\x00\x00\x00\x14\x00\x03\x00\x00user\x00alice\x00\x00"
	pgQuery    = "Q\x00\x00\x00\x0dselect 1\x00"
	pgTerm     = "X\x00\x00\x00\x04"
	pgAuthOK   = "R\x00\x00\x00\x08\x00\x00\x00\x00"
	pgParam    = "S\x00\x00\x00\x0cclient\x00\x00"
	pgReady    = "Z\x00\x00\x00\x05I"
	tlsHello   = "\x16\x03\x01\x00\x05hello"
	pgCancel   = "\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x00\x01\x00\x00\x00\x02"
	pgNotice   = "N\x00\x00\x00\x05\x00"
	pgTooLarge = "\x00\x00\x27\x11\x00\x03\x00\x00"
)

func TestPostgres(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     *Postgres
		msgs  []string
		after string // bytes after a Final frame, handed over by Detach
		want  []kindFrame
	}{
		{"frontend in clear", PostgresFrontend, []string{pgStartup, pgQuery, pgTerm}, "",
			[]kindFrame{{KindStartup, pgStartup}, {KindMessage, pgQuery}, {KindMessage, pgTerm}}},
		{"frontend SSLRequest then TLS", PostgresFrontend, []string{pgSSL}, tlsHello,
			[]kindFrame{{KindSSLRequest, pgSSL}}},
		{"frontend CancelRequest", PostgresFrontend, []string{pgCancel}, "",
			[]kindFrame{{KindCancel, pgCancel}}},
		{"backend refuses SSL", PostgresBackend, []string{"N", pgAuthOK, pgParam, pgNotice, pgReady}, "",
			[]kindFrame{{KindSSLRefused, "N"}, {KindMessage, pgAuthOK}, {KindMessage, pgParam}, {KindMessage, pgNotice}, {KindMessage, pgReady}}},
		{"backend accepts SSL", PostgresBackend, []string{"S"}, tlsHello,
			[]kindFrame{{KindSSLAccepted, "S"}}},
		{"backend without SSL", PostgresBackend, []string{pgAuthOK, pgParam}, "",
			[]kindFrame{{KindMessage, pgAuthOK}, {KindMessage, pgParam}}},
	} {
		stream := append(enc(t, tc.c, tc.msgs...), tc.after...)
		if want := []byte(joinStrings(tc.msgs) + tc.after); !bytes.Equal(stream, want) {
			t.Errorf("%s: encoded % x, want % x", tc.name, stream, want)
		}
		for _, piece := range []int{1, 3, len(stream)} {
			got, rest, err := readKinds(t, tc.c, stream, piece)
			wantErr := io.EOF
			if tc.after != "" {
				wantErr = framing.ErrFinal
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || err != wantErr || string(rest) != tc.after {
				t.Errorf("%s in pieces of %d: ended with %v, handed over %q; frames (-want +got):\n%s", tc.name, piece, err, rest, diff)
			}
		}
	}
	// A startup message over PostgreSQL's limit, after a complete
	// exchange on another stream: corrupt at its offset.
	for _, piece := range []int{1, 8} {
		_, _, err := readKinds(t, PostgresFrontend, []byte(pgTooLarge), piece)
		var ce *framing.CorruptError
		if !errors.As(err, &ce) || ce.Offset != 0 || framing.Classify(err) != framing.Fatal {
			t.Errorf("startup over the limit: %v", err)
		}
	}
}

func joinStrings(s []string) string {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
	}
	return b.String()
}

// pgMessages is a Payload of typed PostgreSQL messages (a type letter of
// types, a length, n random bytes), the length filled in by c.
func pgMessages(c *Postgres, types string) func(r *rand.Rand, n int) []byte {
	return func(r *rand.Rand, n int) []byte {
		p := fuzz.RandomBytes(r, 5+n)
		p[0] = types[r.IntN(len(types))]
		p, _ = c.AppendFrame(nil, p) // the length filled in
		return p
	}
}

func TestPostgresBackendConformance(t *testing.T) {
	fuzz.Conformance(t, PostgresBackend, &fuzz.Options{MaxPayload: 300, Payload: pgMessages(PostgresBackend, "RDTCZEK")})
}

// TestStagedConformance runs the suite on the staged codecs, every stream
// starting with the first stage (fuzz.Options.Preface): a preamble, a
// PROXY header (v1 and v2), a PostgreSQL StartupMessage, the backend's 'N'
// answer to SSLRequest. The stage's frame is written through the encoder
// and read back, with its kind, by every reader the suite makes.
func TestStagedConformance(t *testing.T) {
	v1 := "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"
	v2 := "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + "\xc0\x00\x02\x01\xc6\x33\x64\x01\xdc\x04\x01\xbb"
	for _, tc := range []struct {
		name  string
		c     framing.Codec
		opts  fuzz.Options
		first string
		kind  uint32
	}{
		{"HTTP2Client", HTTP2Client, fuzz.Options{Payload: canonical(HTTP2Frame), MaxPayload: 1024}, preface, KindPreamble},
		{"AMQPClient", AMQPClient, fuzz.Options{Payload: canonical(AMQP), MaxPayload: 300}, "AMQP\x00\x00\x09\x01", KindPreamble},
		{"NewPreamble", NewPreamble([]byte("HELLO\n"), U32BE), fuzz.Options{}, "HELLO\n", KindPreamble},
		{"ProxyHeader v1", NewProxyHeader(U32BE), fuzz.Options{}, v1, KindProxy},
		{"ProxyHeader v2", NewProxyHeader(U32BE), fuzz.Options{}, v2, KindProxy},
		{"PostgresFrontend", PostgresFrontend, fuzz.Options{MaxPayload: 300, Payload: pgMessages(PostgresFrontend, "QPBEDSCXFHdcf")}, pgStartup, KindStartup},
		{"PostgresBackend after N", PostgresBackend, fuzz.Options{MaxPayload: 300, Payload: pgMessages(PostgresBackend, "RDTCZEK")}, "N", KindSSLRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Preface, o.PrefaceKind = []byte(tc.first), tc.kind
			fuzz.Conformance(t, tc.c, &o)
		})
	}
}

func TestMySQLConformance(t *testing.T) {
	fuzz.Conformance(t, MySQL, &fuzz.Options{MaxPayload: 600, Payload: func(r *rand.Rand, n int) []byte {
		return fuzz.RandomBytes(r, 1+n)
	}})
}

// TestMySQLContinuation: a message of 16 MiB + 2 bytes arrives as two
// packets and is one frame; over the limit it is refused, or skipped
// while holding far less than the message; truncated, it is an unexpected
// EOF.
func TestMySQLContinuation(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB of streams")
	}
	msg := make([]byte, 1+mysqlMax+2)
	msg[0] = 7
	for i := 1; i < len(msg); i++ {
		msg[i] = byte(i * 31)
	}
	small := []byte{9, 'o', 'k'}
	stream := enc(t, MySQL, string(msg), string(small))
	if len(stream) != 4+mysqlMax+4+2+4+2 || stream[3] != 7 || stream[4+mysqlMax+3] != 8 {
		t.Fatalf("encoded %d bytes, sequence ids %d %d", len(stream), stream[3], stream[4+mysqlMax+3])
	}
	frames, errs := readAll(t, MySQL, stream, 1<<16, &framing.Options{MaxFrameSize: 32 << 20})
	if len(errs) != 0 || len(frames) != 2 || !bytes.Equal(frames[0], msg) || !bytes.Equal(frames[1], small) {
		t.Fatalf("errors %v, %d frames", errs, len(frames))
	}
	// Over a 1 MiB limit: Fail refuses it at offset 0; Skip drops it and
	// reads the next message.
	_, errs = readAll(t, MySQL, stream, 1<<16, &framing.Options{MaxFrameSize: 1 << 20})
	if len(errs) != 1 || !errors.Is(errs[0], framing.ErrFrameTooLarge) || framing.Classify(errs[0]) != framing.Fatal {
		t.Errorf("Fail: %v", errs)
	}
	var ms runtimeAlloc
	ms.start()
	frames, errs = readAll(t, MySQL, stream, 1<<16, &framing.Options{MaxFrameSize: 1 << 20, Oversize: framing.Skip})
	if alloc := ms.stop(); alloc > 8<<20 {
		t.Errorf("skipping a 16 MiB message under a 1 MiB limit allocated %d bytes", alloc)
	}
	if len(errs) != 1 || framing.Classify(errs[0]) != framing.Rejected || len(frames) != 1 || !bytes.Equal(frames[0], small) {
		t.Errorf("Skip: errors %v, frames %d", errs, len(frames))
	}
	// Truncated inside the continuation.
	_, errs = readAll(t, MySQL, stream[:4+mysqlMax+5], 1<<16, &framing.Options{MaxFrameSize: 32 << 20})
	if len(errs) != 1 || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", errs)
	}
}

// TestProxyHeaderEmptyFrame: an empty payload is an empty frame of the
// wrapped codec, not a PROXY header of no bytes (it was written as
// nothing, and the peer lost the frame).
func TestProxyHeaderEmptyFrame(t *testing.T) {
	got, err := NewProxyHeader(U32BE).AppendFrame(nil, []byte{})
	if err != nil || string(got) != "\x00\x00\x00\x00" {
		t.Fatalf("AppendFrame(empty) = %q, %v; want 00 00 00 00", got, err)
	}
}
