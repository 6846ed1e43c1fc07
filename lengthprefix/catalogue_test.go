package lengthprefix

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/fuzz"
	"github.com/google/go-cmp/cmp"
)

// hx decodes hex with spaces, for vectors written as the specs print them.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads every frame of stream through a Reader, cut into pieces
// of the given size, and returns the frames and the error that ended it
// (nil for io.EOF).
func readAll(t testing.TB, dec framing.Decoder, stream []byte, piece int, opts *framing.Options) ([][]byte, []error) {
	t.Helper()
	r := framing.NewReader(fuzz.NewReader(bytes.NewReader(stream), fuzz.CutEvery(piece)), dec, opts)
	var frames [][]byte
	var errs []error
	for range len(stream) + 2 {
		f, err := r.ReadFrameOwned()
		switch {
		case err == io.EOF:
			return frames, errs
		case err == nil:
			frames = append(frames, f)
		default:
			errs = append(errs, err)
			if framing.Classify(err) == framing.Fatal {
				return frames, errs
			}
		}
	}
	t.Fatalf("reader did not end")
	return nil, nil
}

// catalogue is every Config preset, with a vector from its spec: the bytes
// on the wire and the frame a reader returns.
var catalogue = []struct {
	name  string
	c     *Codec
	wire  string
	frame string // "" means the wire bytes
}{
	// MQTT 3.1.1 section 3.3: PUBLISH QoS 0, topic "a/b", payload "hi".
	{"MQTT", MQTT, "30 07 0003 612f62 6869", ""},
	// MQTT 3.1.1 section 3.12: PINGREQ.
	{"MQTT", MQTT, "C0 00", ""},
	// MQTT remaining length 321 = C1 02 (section 2.2.3's encoding).
	{"MQTT", MQTT, "30 C102 " + strings.Repeat("00", 321), ""},
	// AMQP 0-9-1 section 4.2.7: a heartbeat frame on channel 0.
	{"AMQP", AMQP, "08 0000 00000000 CE", "08 0000 00000000"},
	// RFC 9113 section 6.5: an empty SETTINGS frame, and its ACK.
	{"HTTP2Frame", HTTP2Frame, "000000 04 00 00000000", ""},
	{"HTTP2Frame", HTTP2Frame, "000000 04 01 00000000", ""},
	// RFC 9113 section 6.9: WINDOW_UPDATE of 65,535 on the connection.
	{"HTTP2Frame", HTTP2Frame, "000004 08 00 00000000 0000FFFF", ""},
	// gRPC: an uncompressed message of 2 bytes (protobuf field 1 = 1).
	{"GRPC", GRPC, "00 00000002 0801", ""},
	// Modbus/TCP implementation guide 4.2: read holding registers.
	{"ModbusTCP", ModbusTCP, "0001 0000 0006 11 03 006B 0003", ""},
	// RFC 1006 / X.224: a DT TPDU with 0 bytes of user data.
	{"TPKT", TPKT, "03 00 0007 02 F0 80", ""},
	// MS-SMB2 2.1: a message of 4 bytes (the protocol id).
	{"SMB2", SMB2, "00 000004 FE534D42", ""},
	// RFC 6733 section 3: a header-only message of 20 bytes.
	{"Diameter", Diameter, "01 000014 80 000101 00000000 00000001 00000001", ""},
	// RFC 4271 section 4.4: KEEPALIVE.
	{"BGP", BGP, strings.Repeat("FF", 16) + " 0013 04", ""},
	// OpenFlow 1.3: OFPT_HELLO with xid 1.
	{"OpenFlow", OpenFlow, "04 00 0008 00000001", ""},
	// The memcached binary protocol, 4.1 (Get request, key "Hello").
	{"MemcachedRequest", MemcachedRequest, "80 00 0005 00 00 0000 00000005 00000000 0000000000000000 48656c6c6f", ""},
	// ... and 4.1's response "Not found".
	{"MemcachedResponse", MemcachedResponse, "81 00 0000 00 00 0001 00000009 00000000 0000000000000000 4e6f7420666f756e64", ""},
	// native_protocol_v4.spec 4.1.3: OPTIONS, stream 0.
	{"CQL", CQL, "04 00 0000 05 00000000", ""},
	// MongoDB: an OP_MSG of 21 bytes (header, flagBits 0, an empty kind-0 section).
	{"MongoDB", MongoDB, "15000000 01000000 00000000 dd070000 00000000 00", ""},
	// Bitcoin: verack on mainnet (the checksum of an empty payload is 5DF6E0E2).
	{"Bitcoin", Bitcoin, "F9BEB4D9 76657261636B000000000000 00000000 5DF6E0E2", ""},
	// Thrift TFramedTransport: a 2-byte message.
	{"ThriftFramed", ThriftFramed, "00000002 6869", "6869"},
	{"TLSRecord", TLSRecord, "17 0303 0002 6869", ""},
	{"DNSOverTCP", DNSOverTCP, "0002 6869", "6869"},
	{"Kafka", Kafka, "00000002 6869", "6869"},
}

func TestCatalogueVectors(t *testing.T) {
	for _, tc := range catalogue {
		wire := hx(t, tc.wire)
		want := wire
		if tc.frame != "" {
			want = hx(t, tc.frame)
		}
		for _, piece := range []int{1, 3, len(wire)} {
			frames, errs := readAll(t, tc.c, append(append([]byte{}, wire...), wire...), piece, nil)
			if diff := cmp.Diff([][]byte{want, want}, frames); diff != "" || errs != nil {
				t.Errorf("%s % x in pieces of %d: errors %v, frames (-want +got):\n%s", tc.name, wire, piece, errs, diff)
			}
		}
		// The encoder rebuilds the wire bytes from the frame, whatever
		// the caller left in the length (and checked) bytes.
		got, err := tc.c.AppendFrame(nil, want)
		if err != nil || !bytes.Equal(got, wire) {
			t.Errorf("%s: AppendFrame(% x) = % x, %v; want % x", tc.name, want, got, err, wire)
		}
	}
}

// TestCatalogueEncoderFills: the encoder fills in lengths, fixed bytes and
// checksums that the caller left wrong.
func TestCatalogueEncoderFills(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        *Codec
		in, wire string
	}{
		{"MQTT long varint in", MQTT, "30 FFFF7F 6869", "30 02 6869"},
		{"MQTT non-minimal varint", MQTT, "30 8000 6869", "30 02 6869"},
		{"BGP marker", BGP, strings.Repeat("00", 16) + " 0000 04", strings.Repeat("FF", 16) + " 0013 04"},
		{"TPKT version", TPKT, "00 00 0000 02F080", "03 00 0007 02F080"},
		{"Bitcoin checksum", Bitcoin, "00000000 76657261636B000000000000 00000000 00000000", "F9BEB4D9 76657261636B000000000000 00000000 5DF6E0E2"},
		{"AMQP trailer", AMQP, "08 0000 FFFFFFFF", "08 0000 00000000 CE"},
	} {
		got, err := tc.c.AppendFrame(nil, hx(t, tc.in))
		if want := hx(t, tc.wire); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: % x, %v; want % x", tc.name, got, err, want)
		}
	}
	for _, tc := range []struct {
		name string
		c    *Codec
		in   string
	}{
		{"MQTT without a varint", MQTT, "30"},
		{"MQTT varint of 5 bytes", MQTT, "30 8080808001"},
		{"1-byte varint over 127", mustNew(Config{Offset: 1, Size: 1, Varint: true}), "30 00" + strings.Repeat("00", 128)},
		{"TPKT shorter than its header", TPKT, "03 00 00"},
		{"Bitcoin shorter than its header", Bitcoin, "F9BEB4D9"},
	} {
		in := hx(t, tc.in)
		got, err := tc.c.AppendFrame([]byte("x"), in)
		var pe *framing.PayloadError
		if !errors.As(err, &pe) || string(got) != "x" {
			t.Errorf("%s: %q, %v; want a PayloadError and nothing appended", tc.name, got, err)
		}
	}
}

// canonical is a Payload for fuzz.Conformance: n random bytes made into a
// frame as the codec returns it (the encoder fills the length and checks
// in, and the reader returns the frame without its trailer).
func canonical(c *Codec) func(r *rand.Rand, n int) []byte {
	return func(r *rand.Rand, n int) []byte {
		l := &c.l
		head := l.hdr + int(max(0, l.adjust-int64(l.tlen)))
		if l.varint {
			head = l.off + 1
		}
		room := int64(min(l.maxLen, 1<<30)) + l.adjust - int64(l.tlen)
		if l.enc == encPrefix {
			head = 0
		} else {
			room += int64(l.hdr - head)
		}
		n = int(min(int64(n), room))
		p := fuzz.RandomBytes(r, head+n)
		if l.varint {
			p[l.off] = 0
		}
		enc, err := c.AppendFrame(nil, p)
		if err != nil {
			panic(err)
		}
		return enc[l.strip : len(enc)-l.tlen]
	}
}

func TestCatalogueConformance(t *testing.T) {
	seen := map[*Codec]bool{}
	for _, tc := range catalogue {
		if seen[tc.c] {
			continue
		}
		seen[tc.c] = true
		t.Run(tc.name, func(t *testing.T) {
			opts := &fuzz.Options{Payload: canonical(tc.c), MaxPayload: 300}
			if tc.c == TLSRecord || tc.c == HTTP2Frame {
				opts.MaxPayload = 1024
			}
			fuzz.Conformance(t, tc.c, opts)
		})
	}
}
