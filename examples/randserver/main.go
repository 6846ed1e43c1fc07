// Command randserver is a concurrent TCP server that answers each request
// with a random number in the range it asks for, and the client for it.
//
//	go run ./examples/randserver -listen 127.0.0.1:9000
//	go run ./examples/randserver -dial 127.0.0.1:9000 -n 5 -min 1 -max 6
//
// Requests and replies are text in u32 big-endian length-prefixed frames:
// "MIN MAX" asks for an integer in [MIN, MAX]; the reply is the number, or
// "error: ..." for a request it cannot answer. One goroutine serves each
// connection. SIGINT or SIGTERM stops the server gracefully: it stops
// accepting, answers every request it has fully received, half-closes each
// connection (the client reads every reply, then EOF), reads and discards
// what the client still sends for at most 2 s (closing with unread bytes
// would make the kernel send a reset, losing replies in flight), then
// closes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

const (
	// idleTimeout closes connections that send nothing for this long.
	idleTimeout = 2 * time.Minute
	// writeTimeout bounds each reply, so that a client that stops reading
	// cannot hold up a shutdown for ever.
	writeTimeout = 10 * time.Second
	// lingerRead is how long, from the start of a shutdown, the requests
	// already on their way (in the socket's buffers) are still read and
	// answered; drainTimeout is how long the server then reads and
	// discards what a client still sends.
	lingerRead   = 100 * time.Millisecond
	drainTimeout = 2 * time.Second
	// maxConcurrency bounds the client's -c.
	maxConcurrency = 1000
)

// Requests are a few bytes: refusing anything longer from the header keeps a
// hostile client from making the server buffer 8 MiB per connection.
var frameOptions = &framing.Options{MaxFrameSize: 64}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "randserver:", err)
		os.Exit(1)
	}
}

// run is the whole command; the server stops when ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("randserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "serve on this `address` (host:port)")
	dial := fs.String("dial", "", "ask the server at this `address` for numbers")
	n := fs.Int("n", 1, "client: how many numbers (at least 1)")
	lo := fs.Int64("min", 1, "client: smallest number")
	hi := fs.Int64("max", 100, "client: largest number")
	conc := fs.Int("c", 1, fmt.Sprintf("client: connections asking at once (1 to %d)", maxConcurrency))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *listen != "" && *dial == "":
		l, err := framing.Listen("tcp", *listen, lengthprefix.U32BE, frameOptions)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "listening on %s\n", l.Addr())
		logger := log.New(stderr, "randserver: ", log.LstdFlags)
		return serve(ctx, l, answer, logger.Printf)
	case *dial != "" && *listen == "":
		switch {
		case *n < 1:
			return fmt.Errorf("-n %d: want at least 1", *n)
		case *lo > *hi:
			return fmt.Errorf("-min %d is larger than -max %d", *lo, *hi)
		case *conc < 1 || *conc > maxConcurrency:
			return fmt.Errorf("-c %d: want 1 to %d", *conc, maxConcurrency)
		}
		nums, err := requestConcurrently(ctx, *dial, *n, *conc, *lo, *hi)
		for _, v := range nums {
			fmt.Fprintln(stdout, v)
		}
		return err
	}
	fs.Usage()
	return errors.New("give one of -listen and -dial")
}

// serve answers requests on l, one goroutine per connection, until ctx is
// done. Then it stops accepting, lets each connection finish the request it
// is answering, closes them all and returns nil.
func serve(ctx context.Context, l *framing.Listener, answer func(req []byte) []byte, logf func(string, ...any)) error {
	var conns sync.WaitGroup
	defer conns.Wait()
	// Whatever makes serve return also shuts the connections down. They
	// are woken (closing) only once the listener is closed, so that a
	// client that sees its connection closed by the shutdown can no
	// longer connect.
	closing, closed := context.WithCancel(context.Background())
	defer closed()
	defer l.Close()
	stop := context.AfterFunc(ctx, func() { l.Close(); closed() })
	defer stop()
	for {
		c, err := l.AcceptFramed()
		if err != nil {
			if ctx.Err() != nil {
				logf("shutting down: finishing the requests in flight")
				return nil
			}
			return err
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			handle(closing, c, answer, logf)
		}()
	}
}

// handle answers the requests of one connection until the client closes it,
// an error occurs, or ctx is done. Then it answers the requests already
// received, half-closes, drains and closes (see shutdown).
func handle(ctx context.Context, c *framing.Conn, answer func(req []byte) []byte, logf func(string, ...any)) {
	defer c.Close()
	// Shutdown wakes a connection waiting for its next request; one that is
	// answering a request finishes it first.
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()); close(woken) })
	defer stop()
	// shutDown waits for the wake-up to be done, so that it cannot
	// overwrite the deadlines of shutdown (a drain cut short would close
	// with unread bytes: a reset).
	shutDown := func() {
		if !stop() {
			<-woken
		}
		shutdown(c, answer, logf)
	}
	for {
		c.SetReadDeadline(time.Now().Add(idleTimeout))
		// Checked after setting the deadline: a shutdown that began just
		// before would otherwise have its wake-up overwritten.
		if ctx.Err() != nil {
			shutDown()
			return
		}
		req, err := c.ReadFrame()
		if err != nil {
			if ctx.Err() != nil && framing.Classify(err) == framing.Temporary {
				shutDown()
				return
			}
			if err != io.EOF {
				logf("%v: %v", c.RemoteAddr(), err)
			}
			return
		}
		// Buffered: the Conn writes the answers before it next waits for
		// the network, so a pipelining client's burst is answered in one
		// write; a failed write shows on the next BufferFrame.
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := c.BufferFrame(answer(req)); err != nil {
			logf("%v: %v", c.RemoteAddr(), err)
			return
		}
	}
}

// shutdown ends a connection gracefully: it answers the requests received
// within lingerRead (a pipelining client never pauses, so the window is
// fixed; the requests after it are the client's to send again: it knows
// which, replies coming in order), half-closes so that the client reads
// every reply and then EOF, and reads and discards what the client still
// sends until it closes or drainTimeout passes, so that the close does not
// find unread bytes (which would make it a reset, and the client could
// lose replies it had not read yet).
func shutdown(c *framing.Conn, answer func(req []byte) []byte, logf func(string, ...any)) {
	c.SetReadDeadline(time.Now().Add(lingerRead))
	for {
		req, err := c.ReadFrame()
		if err != nil {
			break
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := c.BufferFrame(answer(req)); err != nil {
			logf("%v: %v", c.RemoteAddr(), err)
			return
		}
	}
	if err := c.CloseWrite(); err != nil {
		return
	}
	nc := c.NetConn()
	nc.SetReadDeadline(time.Now().Add(drainTimeout))
	io.Copy(io.Discard, nc)
}

// answer returns the reply to one request: a random integer in [MIN, MAX]
// for "MIN MAX", or an error message.
func answer(req []byte) []byte {
	lo, hi, err := parseRequest(req)
	if err != nil {
		return []byte("error: " + err.Error())
	}
	return strconv.AppendInt(nil, randomIn(lo, hi), 10)
}

func parseRequest(req []byte) (lo, hi int64, err error) {
	f := strings.Fields(string(req))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("want \"MIN MAX\", got %q", req)
	}
	if lo, err = strconv.ParseInt(f[0], 10, 64); err == nil {
		hi, err = strconv.ParseInt(f[1], 10, 64)
	}
	if err == nil && lo > hi {
		err = fmt.Errorf("MIN %d is larger than MAX %d", lo, hi)
	}
	return lo, hi, err
}

// randomIn returns a uniformly random integer in [lo, hi]. The span is
// computed in uint64, where hi-lo+1 cannot overflow unless the range is all
// of int64.
func randomIn(lo, hi int64) int64 {
	span := uint64(hi-lo) + 1
	if span == 0 {
		return int64(rand.Uint64())
	}
	return lo + int64(rand.Uint64N(span))
}

// requestConcurrently asks for n numbers over conc connections at once,
// each asking for its share, and returns them all.
func requestConcurrently(ctx context.Context, addr string, n, conc int, lo, hi int64) ([]int64, error) {
	conc = min(conc, n)
	type result struct {
		nums []int64
		err  error
	}
	results := make([]result, conc)
	var wg sync.WaitGroup
	for i := range conc {
		share := n / conc
		if i < n%conc {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nums, err := request(ctx, addr, share, lo, hi)
			results[i] = result{nums, err}
		}()
	}
	wg.Wait()
	var all []int64
	var errs []error
	for _, r := range results {
		all = append(all, r.nums...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return all, errors.Join(errs...)
}

// request asks the server at addr for n random numbers in [lo, hi]. The
// requests go out while the replies come in: a client that wrote them all
// before reading could deadlock with a server blocked writing replies.
func request(ctx context.Context, addr string, n int, lo, hi int64) ([]int64, error) {
	c, err := framing.DialContext(ctx, "tcp", addr, lengthprefix.U32BE, frameOptions)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	sent := make(chan error, 1)
	go func() {
		req := fmt.Appendf(nil, "%d %d", lo, hi)
		for i := 0; i < n; i++ {
			if err := c.WriteFrame(req); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	nums := make([]int64, 0, n)
	fail := func(err error) ([]int64, error) {
		c.Close() // unblocks the writer
		<-sent
		return nums, err
	}
	for len(nums) < n {
		reply, err := c.ReadFrame()
		if err != nil {
			return fail(fmt.Errorf("reply %d: %w", len(nums)+1, err))
		}
		v, err := strconv.ParseInt(string(reply), 10, 64)
		if err != nil {
			return fail(fmt.Errorf("server: %s", reply))
		}
		nums = append(nums, v)
	}
	return nums, <-sent
}
