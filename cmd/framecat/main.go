// Command framecat is a netcat for framed protocols: it listens, dials,
// proxies, decodes captured byte streams into frames and encodes frames
// into streams, with any framekit codec named by a short SPEC, and shows
// frames as hex, text or JSON lines.
//
//	framecat demo                        # the split/sticky packet problem, and the fix
//	framecat decode -c u32be capture.bin # frames of a captured stream, one per line
//	framecat dial 127.0.0.1:9000 -c lines -f text
//
// Run framecat -h for every command and SPEC.
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/framekit/framekit/framing"
)

const usage = `framecat: a netcat for framed protocols

usage:
  framecat demo
  framecat listen ADDR  -c SPEC [--echo] [-f FORMAT] [GUARD]
  framecat dial ADDR    -c SPEC [-f FORMAT] [--count N] [--timeout DUR]
  framecat proxy LISTEN_ADDR UPSTREAM_ADDR -c SPEC [--c2s SPEC] [--s2c SPEC]
                [-f FORMAT] [GUARD] [FAULTS]
  framecat decode -c SPEC [-f FORMAT] [FILE]
  framecat decode -c SPEC [-f FORMAT] --pcap FILE [CAPTURE]
  framecat guess [FILE | --pcap FILE] [--max SIZE]
  framecat encode -c SPEC [-f FORMAT] [FILE]
  framecat bench  -c SPEC [--size SIZE] [--duration DUR] [--conns N]
common flags: --max SIZE (frame size limit, default 8MiB),
              --skip (skip oversized frames, and undecodable COBS or SLIP
              frames, with a line on stderr, instead of failing)

GUARD (listen, proxy: the peers may be strangers):
  --budget SIZE         memory for partial frames, shared by every
                        connection (default 64MiB, at least 2x --max; 0: none)
  --frame-timeout DUR   a frame, once started, must arrive within DUR
                        (default 1m; 0: none)
  --min-rate SIZE       ... and at SIZE bytes a second after its first
                        second (default 1KiB; 0: none)
  --time                lines begin with the time (UTC, microseconds)
  listen closes a connection over budget or too slow; proxy stops decoding
  that direction and relays the rest unchanged.
FAULTS (proxy), drawn from --seed N (default 1), so a run can be repeated:
  --recut N             re-cut each direction into pieces of 1 to N bytes
  --delay DUR           hold every piece DUR (a latency; the order is kept)
  --drop P, --dup P     drop, or send twice, each frame with probability P
  --corrupt P           flip one payload byte of a frame (framing kept)
  --corrupt-len P       flip one byte of a frame's length field
  the frame lines say what was done: "#1 > (drop) ...", "(corrupt@5)".
  With --drop, --dup or --corrupt*, bytes go on frame by frame: a frame's
  bytes are held (outside --budget) until it is whole.
A codec per direction (proxy, decode --pcap): -c SPEC for both, or a pair
  (-c postgres), and --c2s SPEC (client to server) / --s2c SPEC override.
After a final frame (PostgreSQL's SSLRequest or 'S' answer, then TLS; a
  chunked body's last chunk) proxy relays the rest of that direction
  unframed, unchanged: "#1 > -- final frame: from offset 8 the stream is
  relayed unframed", and when it ends "#1 > -- N bytes relayed unframed
  from offset 8"; in JSON {"event":"final"|"unframed", "conn", "peer",
  "dir", "offset", "bytes" (unframed)}. --recut and --delay still apply
  to those bytes; the per-frame faults have no frames left to act on.
  With the postgres pair an SSLRequest or GSSENCRequest is final only if
  the server accepts it: if it answers 'N', framing resumes ("#1 > --
  SSL refused: framing resumes at offset 8", {"event":"resumed"}) and
  the StartupMessage and what follows are printed. decode --pcap does the
  same, holding the client's bytes until the server's answer comes in the
  capture; with no answer in it (the server's direction ends or has a
  gap first, or 256KiB of the client's bytes come first) the request is
  final.

CAPTURE (decode --pcap: pcap or pcapng, Ethernet/VLAN, SLL, SLL2,
loopback or raw IP; IPv4 and IPv6; TCP reassembled per connection):
  --flow TERM,...       decode only the connections a term matches: #N
                        (connection number), HOST, :PORT, HOST:PORT,
                        [V6]:PORT (either side), CLIENT>SERVER (each an
                        endpoint or *)
  --summary             per direction: frames, bytes, gaps, how it ended
  --max-flows N         connections followed at once (default 10000; the
                        one idle longest is ended first)
  --idle DUR            end a connection silent this long in capture
                        time (default 5m; 0: never)
  --max-ooo SIZE        out-of-order bytes held per direction before the
                        missing ones are a gap (default 4MiB)
  each line: TIME #ID CLIENT>SERVER > @OFFSET FRAME (< server to client);
  TIME is the capture time of the frame's last byte, OFFSET the stream
  offset of its first. JSON: {"len","hex","time","conn","flow","dir":
  "c>s"|"s>c","offset"}. Gaps, resyncs and stopped directions go to
  stderr; any of them makes the exit status 1. With -f json they are
  also records among the frames: {"event","time","conn","flow","dir",
  "offset","bytes" (some),"msg" (the stderr line)}, event one of gap
  (bytes lost at offset), lost (the frame at offset; a boundary is
  searched for), resync (decoding resumes at offset, bytes dropped),
  stop, rejected (--skip), midstream, ended, final, unframed (see
  decode), resumed (-c postgres: an SSLRequest refused, framing goes on
  at offset). A line has "event" or "len", never both.

commands:
  demo    shows TCP's split and glued reads through a re-cutting proxy, then
          framekit reading the same stream intact, then a throughput figure
  listen  prints the frames of every client ("#ID IP:PORT FRAME", ID the
          connection's number from 1); --echo sends each frame back;
          stops on SIGINT or SIGTERM
  dial    sends the frames on stdin (then half-closes) and prints the frames
          received until the peer closes, --count N arrived or --timeout
  proxy   relays bytes unchanged and prints each frame: "#ID > " client
          to server, "#ID < " server to client
  decode  splits a byte stream (FILE or stdin) into frames; with --pcap,
          every TCP connection of a packet capture, both directions.
          After a final frame (chunked's last chunk, postgres-be's 'S')
          it ends with exit 0 and says how many bytes follow, not
          decoded: on stderr, and with -f json in two records,
          {"event":"final","offset":N} and {"event":"unframed",
          "offset":N,"bytes":M} (per direction with --pcap)
  guess   infers the framing of a stream (FILE, stdin, or every TCP
          direction of a capture): the best SPECs, with a confidence and
          the layouts that parse alike; "no framing found" is exit 1.
          It reads at most --max bytes (default 4MiB; for a capture, all
          directions together, each up to its first gap), and candidates'
          frames may be as long as the larger of --max and 8MiB. From a
          capture, directions whose start was not captured (begun
          mid-connection, so mid-frame) are left out when any direction
          was captured from its start; only when none was are they used
  encode  turns frames (FILE or stdin) into a byte stream on stdout
  bench   framekit client and server over loopback: frames/s and MB/s
          (defaults --size 64B --duration 3s --conns 1)

SPEC:
` + specForms + `

FORMAT, one frame per line on stdin and stdout (default: text on a
terminal, hex otherwise):
  hex     lowercase hex; on input any case, spaces ignored
  text    the bytes, then a newline (lossy: for people); on input each
          line, without its \n, is a frame
  json    {"len":5,"hex":"68656c6c6f"}, plus "time", "conn", "peer" (listen,
          proxy), "dir" and "fault" (proxy), "kind" (a staged codec's
          frame kind: startup, ssl-request, ssl-accepted, ...; in text
          and hex "[startup] " before the frame)

Errors name frames and input lines counted from 1 (so that in hex and
text, line N of encode's input is frame N of its output), and byte
offsets counted from 0.
SIZE: digits with an optional B, KiB, MiB or GiB suffix. DUR: 500ms, 10s.
Flags may come before or after arguments; -x and --x are the same.
Exit status: 0 success, 1 runtime error, 2 usage error.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "framecat: %s\nrun 'framecat -h' for usage\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "framecat: %v\n", err)
		return 1
	}
}

// errHelp asks for the usage on stdout and exit status 0.
var errHelp = errors.New("help")

// env is what a command reads and writes.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command; want demo, listen, dial, proxy, decode, encode, guess or bench")
	}
	cmd := args[0]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		return errHelp
	}
	if _, ok := commandFlags[cmd]; !ok {
		return usagef("unknown command %q; want demo, listen, dial, proxy, decode, encode, guess or bench", cmd)
	}
	cl, err := parseArgs(cmd, args[1:])
	if err != nil {
		return err
	}
	if cl.has("help") {
		return errHelp
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "demo":
		if err := wantArgs(cl, 0, 0, ""); err != nil {
			return err
		}
		return demo(e)
	case "listen":
		return listenCmd(e, cl)
	case "dial":
		return dialCmd(e, cl)
	case "proxy":
		return proxyCmd(e, cl)
	case "decode":
		return decodeCmd(e, cl)
	case "encode":
		return encodeCmd(e, cl)
	case "bench":
		return benchCmd(e, cl)
	case "guess":
		return guessCmd(e, cl)
	}
	panic("unreachable")
}

// wantArgs checks the number of positional arguments.
func wantArgs(cl *cmdline, min, max int, names string) error {
	n := len(cl.pos)
	if n < min {
		return usagef("missing %s", names)
	}
	if n > max {
		return usagef("unexpected argument %q", cl.pos[max])
	}
	return nil
}

// setup is what every command but demo takes from its flags.
type setup struct {
	codec *codec
	// dirs are the codecs of the two directions of a connection, client
	// to server then server to client (proxy, decode --pcap): codec
	// twice unless -c named a pair or --c2s / --s2c were given.
	dirs   [2]*codec
	opts   *framing.Options
	max    int
	format string
	stamp  bool // --time: lines of listen and proxy begin with the time
}

// newSetup parses -c, --max, --skip and -f; encoding says the command
// encodes frames, which a decode-only layout cannot.
func newSetup(cl *cmdline, encoding bool) (*setup, error) {
	spec, ok := cl.flags["codec"]
	if !ok {
		return nil, usagef("missing -c SPEC; valid forms:\n%s", specForms)
	}
	c, err := parseSpec(spec)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return setupFor(cl, [2]*codec{c, c}, encoding)
}

// newDirSetup is newSetup for a command that sees both directions of a
// connection: -c may name a pair, and --c2s and --s2c override it for
// one direction.
func newDirSetup(cl *cmdline) (*setup, error) {
	var specs [2]string
	if spec, ok := cl.flags["codec"]; ok {
		specs = [2]string{spec, spec}
		if p, ok := pairs[spec]; ok {
			specs = p
		}
	}
	for i, name := range [2]string{"c2s", "s2c"} {
		if v, ok := cl.flags[name]; ok {
			specs[i] = v
		}
	}
	if specs[0] == "" || specs[1] == "" {
		return nil, usagef("missing -c SPEC (or --c2s and --s2c); valid forms:\n%s", specForms)
	}
	var cs [2]*codec
	for i, spec := range specs {
		c, err := parseSpec(spec)
		if err != nil {
			return nil, usagef("%v", err)
		}
		cs[i] = c
	}
	return setupFor(cl, cs, false)
}

// setupFor reads the flags besides the codecs.
func setupFor(cl *cmdline, cs [2]*codec, encoding bool) (*setup, error) {
	c := cs[0]
	s := &setup{codec: c, dirs: cs, max: framing.DefaultMaxFrameSize}
	if v, ok := cl.flags["max"]; ok {
		n, err := parseSize("max", v)
		if err != nil {
			return nil, err
		}
		if n < 1 || n > math.MaxInt {
			return nil, usagef("--max %s: want at least 1 byte and at most %d", v, math.MaxInt)
		}
		s.max = int(n)
	}
	for _, c := range cs {
		if c.fixed > s.max {
			return nil, usagef("%s: frames of %d bytes are over --max %d", c.spec, c.fixed, s.max)
		}
	}
	if encoding && c.enc == nil {
		return nil, usagef("%s", c.noEnc)
	}
	var err error
	s.opts = &framing.Options{MaxFrameSize: s.max}
	if cl.has("skip") {
		s.opts.Oversize = framing.Skip
	}
	if s.format, err = pickFormat(cl); err != nil {
		return nil, err
	}
	return s, nil
}
