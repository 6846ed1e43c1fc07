// Command udp is a UDP echo server and its client, exchanging frames with
// the datagram package: several small frames to a datagram, and a datagram
// cut short by a too-small receive buffer reported instead of read as short
// data.
//
//	go run ./examples/udp -listen 127.0.0.1:9002
//	go run ./examples/udp -dial 127.0.0.1:9002 -n 1000 -size 100
//	go run ./examples/udp -dial 127.0.0.1:9002 -n 1000 -size 100 -read-buffer 512
//
// The client sends numbered frames, checks that each comes back intact, and
// reports the frames lost and the datagrams that arrived truncated or
// corrupt. The last line shows the bug of the classic UDP programs, a
// receive buffer smaller than the datagrams, reported rather than silent.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/framekit/framekit/datagram"
	"github.com/framekit/framekit/framing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "udp:", err)
		os.Exit(1)
	}
}

// maxFrames bounds the client's -n: it keeps a flag for each frame.
const maxFrames = 100_000_000

// run is the whole command; the server stops when ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "echo frames on this `address` (host:port)")
	dial := fs.String("dial", "", "send frames to the echo server at this `address`")
	n := fs.Int("n", 100, "client: how many frames")
	size := fs.Int("size", 100, "client: frame size in `bytes` (at least 4)")
	wait := fs.Duration("wait", time.Second, "client: how long to wait for the echoes after the last one")
	var opts datagram.Options
	fs.IntVar(&opts.MaxDatagram, "max-datagram", datagram.DefaultMaxDatagram, "largest datagram sent, in `bytes`")
	fs.IntVar(&opts.ReadBuffer, "read-buffer", datagram.DefaultReadBuffer, "receive buffer in `bytes`: larger datagrams are reported truncated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *listen != "" && *dial == "":
		pc, err := net.ListenPacket("udp", *listen)
		if err != nil {
			return err
		}
		c, err := framed(pc, &opts)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(stdout, "listening on %s\n", c.LocalAddr())
		return serve(ctx, c, log.New(stderr, "udp: ", log.LstdFlags).Printf)
	case *dial != "" && *listen == "":
		// Every flag is checked before anything is sent or printed.
		switch {
		case *n < 1 || *n > maxFrames:
			return fmt.Errorf("-n %d: want 1 to %d", *n, maxFrames)
		case *size < 4:
			return fmt.Errorf("-size %d: want at least 4", *size)
		case *wait <= 0:
			return fmt.Errorf("-wait %v: want a positive duration", *wait)
		}
		raddr, err := net.ResolveUDPAddr("udp", *dial)
		if err != nil {
			return err
		}
		// A connected socket: the server's address is the default, and an
		// ICMP "port unreachable" comes back as an error.
		pc, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return err
		}
		c, err := framed(pc, &opts)
		if err != nil {
			return err
		}
		defer c.Close()
		if *size > c.MaxPayload() {
			return fmt.Errorf("-size %d: want 4 to %d (the largest frame a datagram of -max-datagram %d holds)",
				*size, c.MaxPayload(), opts.MaxDatagram)
		}
		res, err := echo(ctx, c, *n, *size, *wait, stderr)
		fmt.Fprintln(stdout, res)
		if err == nil && res.intact < res.sent {
			err = fmt.Errorf("%d of %d frames did not come back intact", res.sent-res.intact, res.sent)
		}
		return err
	}
	fs.Usage()
	return errors.New("give one of -listen and -dial")
}

// serve echoes every frame to its sender, the frames of one datagram in one
// datagram when they fit, until ctx is done. A datagram that arrives
// truncated or corrupt is logged and dropped; the server goes on.
func serve(ctx context.Context, c *datagram.Conn, logf func(string, ...any)) error {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	var frames [][]byte
	for {
		var from net.Addr
		var err error
		frames, from, err = c.ReadFrames(frames[:0])
		switch {
		case err == nil:
			if err := c.WriteFramesTo(frames, from); err != nil {
				logf("echo to %v: %v", from, err) // only this datagram is lost
			}
		case framing.Classify(err) == framing.Rejected:
			logf("%v", err)
		case ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
}

// result is what the client saw.
type result struct {
	sent, intact       int // frames
	truncated, corrupt int // datagrams reported, their frames lost
	mangled            int // frames that came back different: never, with UDP's checksum
}

func (r result) String() string {
	s := fmt.Sprintf("sent %d frames: %d echoed intact, %d lost; %d datagrams reported truncated, %d corrupt",
		r.sent, r.intact, r.sent-r.intact, r.truncated, r.corrupt)
	if r.mangled > 0 {
		s += fmt.Sprintf("; %d frames came back different", r.mangled)
	}
	return s
}

// frame returns frame number i of the given size: its number, then bytes
// that depend on it, so that the client can tell an intact echo.
func frame(i, size int) []byte {
	p := binary.BigEndian.AppendUint32(make([]byte, 0, size), uint32(i))
	for j := 4; j < size; j++ {
		p = append(p, byte(i+j))
	}
	return p
}

// echo sends n numbered frames on the connected c while it reads the
// echoes, until all came back or none came for wait. It reports rejected
// datagrams on errOut.
func echo(ctx context.Context, c *datagram.Conn, n, size int, wait time.Duration, errOut io.Writer) (result, error) {
	res := result{sent: n}
	if size < 4 || size > c.MaxPayload() {
		return res, fmt.Errorf("-size %d: want 4 to %d", size, c.MaxPayload())
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	sent := make(chan error, 1)
	go func() {
		// Frames are buffered into datagrams, then sent in groups of 50,
		// so that the socket buffers are not flooded at once.
		for i := 0; i < n; i++ {
			if err := c.BufferFrameTo(frame(i, size), nil); err != nil {
				sent <- err
				return
			}
			if i%50 == 49 {
				if err := c.Flush(); err != nil {
					sent <- err
					return
				}
			}
		}
		sent <- c.Flush()
	}()

	seen := make([]bool, n)
	for res.intact < n {
		c.SetReadDeadline(time.Now().Add(wait))
		p, _, err := c.ReadFrame()
		var te *datagram.TruncatedError
		switch {
		case err == nil:
			i := -1
			if len(p) >= 4 {
				i = int(binary.BigEndian.Uint32(p))
			}
			switch {
			case i < 0 || i >= n || string(p) != string(frame(i, size)):
				res.mangled++
			case !seen[i]: // UDP may duplicate a datagram
				seen[i] = true
				res.intact++
			}
		case errors.As(err, &te):
			res.truncated++
			if res.truncated == 1 {
				fmt.Fprintln(errOut, err)
			}
		case framing.Classify(err) == framing.Rejected:
			res.corrupt++
			fmt.Fprintln(errOut, err)
		case framing.Classify(err) == framing.Temporary && ctx.Err() == nil:
			return res, <-sent // nothing more came: what is missing is lost
		default:
			<-sent
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return res, err
		}
	}
	return res, <-sent
}

// framed wraps pc for frames, closing it if that fails.
func framed(pc net.PacketConn, opts *datagram.Options) (*datagram.Conn, error) {
	c, err := datagram.New(pc, opts)
	if err != nil {
		pc.Close()
	}
	return c, err
}
