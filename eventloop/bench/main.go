//go:build linux

// Command loopbench measures framekit's event-loop adapters side by side
// (issue 20): echo servers on framekit goroutine-per-connection, framekit
// on gnet, netpoll and nbio, each loop's bare echo with a hand-written u32
// codec, and the Python asyncio server (bench/echo_server.py), each in its
// own process pinned to CPU 0, the load generator pinned to CPU 1.
//
//	go run . run                  # the protocol (about 2 hours)
//	go run . run -runs 1 -window 2s -latency 5s -idle 1000,9000
//
// Cells: idle memory per connection (heap + stacks after GC, and the
// server's resident set) at each -idle count, with the client in another
// process, and at each -idle-self count with the server's own process
// holding the client's ends (both ends counted); pipelined echo throughput
// at 64 B and 4 KiB frames, 100 and 5,000 connections; p99 (and p50)
// latency of one request/response per connection in a closed loop at 5,000
// connections, from a histogram. Throughput and latency cells show the
// client's CPU use and the server's (read by the client from
// /proc/PID/stat over the window) and the server's CPU time per frame, so
// that a client-bound cell is visible and servers compare by their own
// cost. Each cell is the median of -runs runs. It prints Markdown tables
// on stdout and its progress on stderr; a failure is an error message
// and a non-zero exit. Linux only (taskset, /proc).
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) > 1 {
		log.SetPrefix("loopbench " + os.Args[1] + ": ")
	}
	if len(os.Args) < 2 {
		log.Fatal("usage: loopbench run|serve|client [flags]")
	}
	var err error
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		impl := fs.String("impl", "", "server to run")
		netpollBufferFlag(fs)
		_ = fs.Parse(os.Args[2:])
		err = serve(*impl)
	case "client":
		err = clientMain(os.Args[2:])
	case "run":
		start := time.Now()
		if err = runMain(os.Args[2:]); err == nil {
			log.Printf("run finished after %v", time.Since(start).Round(time.Second))
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// clientMain is the load generator's process: one cell, its result as
// JSON on stdout.
func clientMain(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	mode := fs.String("mode", "throughput", "throughput, latency or idle")
	addr := fs.String("addr", "", "server address")
	conns := fs.Int("conns", 100, "connections")
	size := fs.Int("size", 64, "payload bytes per frame")
	warmup := fs.Duration("warmup", time.Second, "throughput: time before the window")
	window := fs.Duration("window", 10*time.Second, "throughput: measured time; latency: run time")
	serverPID := fs.Int("server-pid", 0, "the server's pid, to read its CPU time from /proc (0: not read)")
	_ = fs.Parse(args)
	var res any
	var err error
	switch *mode {
	case "throughput":
		res, err = throughput(*addr, *conns, *size, *warmup, *window, *serverPID)
	case "latency":
		res, err = latency(*addr, *conns, *size, *window, *serverPID)
	case "idle":
		// Hold conns open, silent, until stdin closes.
		cs, derr := dialAll(*addr, *conns)
		if derr != nil {
			return derr
		}
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		closeAll(cs)
		return nil
	default:
		return fmt.Errorf("unknown client mode %q", *mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// server is a running server process.
type server struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	impl  string
	addr  string
	goMem bool // answers "mem N"
}

var allCells = []string{"idle", "idle-self", "throughput", "latency"}

var allImpls = []string{"goroutine", "gnet+framekit", "gnet-bare", "netpoll+framekit", "netpoll-bare",
	"nbio+framekit", "nbio-bare", "python"}

func startServer(self, impl string) (*server, error) {
	var cmd *exec.Cmd
	if impl == "python" {
		py, err := filepath.Abs("../../bench/echo_server.py")
		if err != nil {
			return nil, err
		}
		cmd = exec.Command("taskset", "-c", "0", "python3", py)
	} else {
		cmd = exec.Command("taskset", "-c", "0", self, "serve", "-impl", impl, "-netpoll-buffer", strconv.Itoa(netpollBuffer))
	}
	cmd.SysProcAttr = childAttr()
	if impl != "python" {
		cmd.Stderr = os.Stderr // asyncio logs each send to a closed socket
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, in: in, out: bufio.NewScanner(out), impl: impl, goMem: impl != "python"}
	line, ok := s.line("PORT ")
	if !ok {
		return nil, fmt.Errorf("%s printed no port (%v)", impl, s.stop())
	}
	s.addr = net.JoinHostPort("127.0.0.1", strings.TrimSpace(line))
	// The client reads the server's CPU time from /proc by this pid:
	// taskset execs the server, so once it has printed its port the pid
	// must be the server's own (python3 or this program), not taskset's.
	name, err := procName(s.pid())
	if err == nil && (name == "taskset" || (impl == "python") != strings.HasPrefix(name, "python")) {
		err = fmt.Errorf("pid %d is %q", s.pid(), name)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: not the server's process: %w", impl, err)
	}
	time.Sleep(300 * time.Millisecond) // the loops listen after the port is printed
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// childAttr makes a child process die with this one (SIGKILL when the
// run process exits, however it exits), so that no server or client is
// left running, pinned to a measured CPU, to disturb the next run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// line returns the next line of the server's output that starts with
// prefix, without it (loops log lines of their own).
func (s *server) line(prefix string) (string, bool) {
	for s.out.Scan() {
		if rest, ok := strings.CutPrefix(s.out.Text(), prefix); ok {
			return rest, true
		}
		if !strings.HasPrefix(prefix, "PORT") {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimSpace(s.out.Text())); err == nil {
			return s.out.Text(), true // python prints the bare port
		}
	}
	return "", false
}

// stop ends the server; it is an error if the server had ended before
// (crashed during the cell), with what its exit status was.
func (s *server) stop() error {
	st, err := readProcStat(s.pid())
	_ = s.in.Close()
	_ = s.cmd.Process.Kill()
	werr := s.cmd.Wait()
	if err == nil && st.State != 'Z' && st.State != 'X' {
		return nil
	}
	return fmt.Errorf("server %s (pid %d) ended before it was stopped: %v", s.impl, s.pid(), cmp.Or(werr, err))
}

// mem returns the server's heap+stacks (Go servers; -1 otherwise) and
// resident set, once n connections are open.
func (s *server) mem(n int) (heap, resident int64, err error) {
	if !s.goMem {
		time.Sleep(time.Second)
		return -1, rss(s.cmd.Process.Pid), nil // taskset execs python: same pid
	}
	return s.measure("mem", n)
}

// measure sends cmd ("mem" or "self") for n connections and returns the
// server's heap+stacks and resident set.
func (s *server) measure(cmd string, n int) (heap, resident int64, err error) {
	fmt.Fprintf(s.in, "%s %d\n", cmd, n)
	line, ok := s.line("MEM ")
	if !ok {
		return 0, 0, fmt.Errorf("server gave no memory figure")
	}
	var open int64
	if _, err := fmt.Sscanf(line, "%d %d %d", &open, &heap, &resident); err != nil {
		return 0, 0, err
	}
	if open != int64(n) {
		return 0, 0, fmt.Errorf("server has %d connections open, want %d", open, n)
	}
	return heap, resident, nil
}

// client runs one client cell pinned to CPU 1 and decodes its result; a
// client that has not finished within limit is killed (an error).
func client(self string, res any, limit time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", "1", self, "client"}, args...)...)
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return fmt.Errorf("client %v: killed after %v: %w", args, limit, err)
	}
	if err != nil {
		return fmt.Errorf("client %v: %w", args, err)
	}
	if err := json.Unmarshal(out, res); err != nil {
		return fmt.Errorf("client %v: its result %q: %w", args, out, err)
	}
	return nil
}

// roundOrder is the order in which round r runs n servers: as listed in
// even rounds, reversed in odd ones. A server and the one after it (an
// adapter and its bare loop) still run back to back, each first in half
// the rounds, so that a drift within a round does not favour either.
func roundOrder(n, r int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if r%2 == 1 {
			order[i] = n - 1 - i
		}
	}
	return order
}

// pairRatios formats a[r]/b[r] for each run r, and their median.
func pairRatios(a, b []float64) string {
	var out strings.Builder
	rs := make([]float64, len(a))
	for r := range a {
		rs[r] = a[r] / b[r]
		fmt.Fprintf(&out, " %.3f", rs[r])
	}
	fmt.Fprintf(&out, " (median %.3f)", median(rs))
	return out.String()
}

// median returns the middle of xs, the mean of the middle two when their
// number is even.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func runMain(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	runs := fs.Int("runs", 5, "runs per cell (the median is shown)")
	window := fs.Duration("window", 10*time.Second, "throughput window per run")
	warmup := fs.Duration("warmup", time.Second, "throughput warm-up per run")
	lat := fs.Duration("latency", 30*time.Second, "latency run time")
	idle := fs.String("idle", "1000,9000,19000", "idle connection counts")
	idleSelf := fs.String("idle-self", "1000,9000", "idle connection counts, client and server in one process")
	implList := fs.String("impls", strings.Join(allImpls, ","), "servers")
	cells := fs.String("cells", strings.Join(allCells, ","), "what to measure")
	netpollBufferFlag(fs)
	_ = fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	impls := strings.Split(*implList, ",")
	for _, impl := range impls {
		if !slices.Contains(allImpls, impl) {
			return fmt.Errorf("no server %q (servers: %s)", impl, strings.Join(allImpls, ","))
		}
	}
	for _, c := range strings.Split(*cells, ",") {
		if !slices.Contains(allCells, c) {
			return fmt.Errorf("no cell %q (cells: %s)", c, strings.Join(allCells, ","))
		}
	}
	unlock, err := lockRun()
	if err != nil {
		return err
	}
	defer unlock()
	progress.Store("starting")
	reportSignals()
	want := func(c string) bool { return slices.Contains(strings.Split(*cells, ","), c) }
	fmt.Printf("loopbench run -runs %d -window %v -warmup %v -latency %v -idle %s -idle-self %s -impls %s -cells %s -netpoll-buffer %d\n\n",
		*runs, *window, *warmup, *lat, *idle, *idleSelf, *implList, *cells, netpollBuffer)

	if want("idle") {
		err := idleTable("### Idle memory per connection (server process, after GC)", *idle, impls, *runs,
			func(impl string, n int) (float64, float64, error) { return idleRun(self, impl, n) })
		if err != nil {
			return err
		}
	}

	if want("idle-self") {
		var goImpls []string
		for _, impl := range impls {
			if impl != "python" { // not a Go process
				goImpls = append(goImpls, impl)
			}
		}
		err := idleTable("### Idle memory per connection, client and server in one process (both ends, after GC)", *idleSelf, goImpls, *runs,
			func(impl string, n int) (float64, float64, error) { return idleSelfRun(self, impl, n) })
		if err != nil {
			return err
		}
	}

	if want("throughput") {
		type cell struct{ size, conns int }
		for _, c := range []cell{{64, 100}, {4096, 100}, {64, 5000}, {4096, 5000}} {
			fmt.Printf("### Pipelined echo throughput, %d B frames × %d conns (CPU: 1.00 = one CPU; ns: CPU time per echoed frame)\n\n", c.size, c.conns)
			fmt.Println("| server | frames/s | client CPU | server CPU | server ns/frame | client ns/frame |")
			fmt.Println("|---|---:|---:|---:|---:|---:|")
			// Runs interleave the servers (run 1 of each, then run 2, ...),
			// so that a drift of the machine's speed hits them alike, in
			// an order reversed every other round, so that neither of a
			// pair always runs first.
			type samples struct{ fps, ccpu, scpu, sns, cns []float64 }
			got := make([]samples, len(impls))
			for r := 0; r < *runs; r++ {
				for _, i := range roundOrder(len(impls), r) {
					impl := impls[i]
					progress.Store(fmt.Sprintf("throughput %d B × %d conns, %s, run %d of %d", c.size, c.conns, impl, r+1, *runs))
					var res throughputResult
					err := withServer(self, impl, func(s *server) error {
						return client(self, &res, *warmup+*window+clientSlack, "-mode", "throughput", "-addr", s.addr,
							"-conns", strconv.Itoa(c.conns), "-size", strconv.Itoa(c.size), "-warmup", warmup.String(),
							"-window", window.String(), "-server-pid", strconv.Itoa(s.pid()))
					})
					if err != nil {
						return fmt.Errorf("throughput %d B × %d conns: %w", c.size, c.conns, err)
					}
					g := &got[i]
					g.fps, g.ccpu, g.cns = append(g.fps, res.FramesPerSec), append(g.ccpu, res.ClientCPU), append(g.cns, res.ClientNsPerFrame)
					g.scpu, g.sns = append(g.scpu, res.ServerCPU), append(g.sns, res.ServerNsPerFrame)
				}
			}
			for i, impl := range impls {
				g := got[i]
				fmt.Printf("| %s | %.0f | %.2f | %.2f | %.0f | %.0f |\n", impl, median(g.fps), median(g.ccpu), median(g.scpu), median(g.sns), median(g.cns))
			}
			fmt.Println()
			// An adapter and its bare loop ran one after the other in
			// each round: the ratio of a round's pair is freer of the
			// machine's drift than the ratio of two medians.
			for i, impl := range impls {
				loop, ok := strings.CutSuffix(impl, "+framekit")
				j := slices.Index(impls, loop+"-bare")
				if !ok || j < 0 {
					continue
				}
				fmt.Printf("- %s / %s, run by run: frames/s", impl, impls[j])
				fmt.Println(pairRatios(got[i].fps, got[j].fps))
				fmt.Printf("  server ns/frame")
				fmt.Println(pairRatios(got[i].sns, got[j].sns))
			}
			fmt.Println()
		}
	}

	if want("latency") {
		fmt.Println("### Closed-loop request/response, 64 B, 5,000 conns (p50 / p99; requests/s; CPU: 1.00 = one CPU; server CPU time per request)")
		fmt.Println()
		fmt.Println("| server | p50 | p99 | requests/s | client CPU | server CPU | server ns/request |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
		for _, impl := range impls {
			var p50, p99, rps, cpu, scpu, sns []float64
			for r := 0; r < *runs; r++ {
				progress.Store(fmt.Sprintf("latency, %s, run %d of %d", impl, r+1, *runs))
				var res latencyResult
				err := withServer(self, impl, func(s *server) error {
					return client(self, &res, *lat+clientSlack, "-mode", "latency", "-addr", s.addr, "-conns", "5000",
						"-size", "64", "-window", lat.String(), "-server-pid", strconv.Itoa(s.pid()))
				})
				if err != nil {
					return fmt.Errorf("latency: %w", err)
				}
				p50, p99 = append(p50, float64(res.P50)), append(p99, float64(res.P99))
				rps, cpu = append(rps, float64(res.Requests)/lat.Seconds()), append(cpu, res.ClientCPU)
				scpu, sns = append(scpu, res.ServerCPU), append(sns, res.ServerNsPerRequest)
			}
			fmt.Printf("| %s | %v | %v | %.0f | %.2f | %.2f | %.0f |\n", impl, time.Duration(median(p50)).Round(time.Microsecond),
				time.Duration(median(p99)).Round(time.Microsecond), median(rps), median(cpu), median(scpu), median(sns))
		}
		fmt.Println()
	}
	return nil
}

// progress says what the run is measuring, for the line that the run
// writes to stderr at each step and when a signal ends it.
var progress progressLine

type progressLine struct{ v atomic.Value }

func (p *progressLine) Store(what string) {
	p.v.Store(what)
	log.Print(what)
}

func (p *progressLine) Load() string { s, _ := p.v.Load().(string); return s }

// reportSignals makes a run ended by SIGINT, SIGTERM or SIGHUP say so, and
// where it was, on stderr, and exit with status 128 + the signal's number
// (its servers and clients die with it: childAttr). SIGKILL cannot be
// caught: a run that ends without "run finished" on stderr and without a
// message was killed.
func reportSignals() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		log.Printf("stopped by %v during %s", sig, progress.Load())
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
}

// lockRun keeps two runs from measuring each other: servers pinned to
// CPU 0 and clients to CPU 1 from two runs at once share both CPUs, and
// each run's figures are then wrong without any sign of it. The lock is a
// file lock (flock), released when the process ends however it ends.
func lockRun() (unlock func(), err error) {
	name := filepath.Join(os.TempDir(), "loopbench.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		_ = f.Close()
		return nil, fmt.Errorf("another loopbench run holds %s (%s): two runs at once share the pinned CPUs: %w",
			name, strings.TrimSpace(string(holder)), err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d, started %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return func() { _ = f.Close() }, nil
}

// clientSlack is what a client may take beyond its cell's time (dialing
// 5,000 connections, closing them) before it is killed as hung.
const clientSlack = 2 * time.Minute

// withServer starts the server impl, runs f against it and stops it; a
// server that ended before it was stopped is an error.
func withServer(self, impl string, f func(*server) error) error {
	s, err := startServer(self, impl)
	if err != nil {
		return err
	}
	err = f(s)
	if serr := s.stop(); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", impl, err)
	}
	return nil
}

// idleRun measures one server's memory per idle connection at n
// connections held by a client process: (with n - with none) / n.
func idleRun(self, impl string, n int) (heap, rss float64, err error) {
	s, err := startServer(self, impl)
	if err != nil {
		return 0, 0, err
	}
	defer s.stop()
	h0, r0, err := s.mem(0)
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command("taskset", "-c", "1", self, "client", "-mode", "idle", "-addr", s.addr, "-conns", strconv.Itoa(n))
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		return 0, 0, fmt.Errorf("idle client failed")
	}
	h1, r1, err := s.mem(n)
	if err != nil {
		return 0, 0, err
	}
	if h0 < 0 {
		return -1, float64(r1-r0) / float64(n), nil
	}
	return float64(h1-h0) / float64(n), float64(r1-r0) / float64(n), nil
}

// idleSelfRun measures one server's memory per idle connection at n
// connections that its own process opened: (with n - with none) / n, the
// client's end of each connection included.
func idleSelfRun(self, impl string, n int) (heap, rss float64, err error) {
	s, err := startServer(self, impl)
	if err != nil {
		return 0, 0, err
	}
	defer s.stop()
	h0, r0, err := s.measure("mem", 0)
	if err != nil {
		return 0, 0, err
	}
	h1, r1, err := s.measure("self", n)
	if err != nil {
		return 0, 0, err
	}
	return float64(h1-h0) / float64(n), float64(r1-r0) / float64(n), nil
}

// ints parses a comma-separated list of counts.
func ints(list string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// idleTable prints a table of idle memory per connection, the median of
// runs measurements per server and count (heap -1: not a Go process).
func idleTable(title, countList string, impls []string, runs int, measure func(impl string, n int) (heap, rss float64, err error)) error {
	counts, err := ints(countList)
	if err != nil {
		return err
	}
	fmt.Println(title)
	fmt.Println()
	fmt.Print("| server |")
	for _, n := range counts {
		fmt.Printf(" heap+stacks @%d | RSS @%d |", n, n)
	}
	fmt.Print("\n|---|")
	for range counts {
		fmt.Print("---:|---:|")
	}
	fmt.Println()
	for _, impl := range impls {
		fmt.Printf("| %s |", impl)
		for _, n := range counts {
			var heaps, rsss []float64
			for r := 0; r < runs; r++ {
				progress.Store(fmt.Sprintf("%s, %s at %d conns, run %d of %d", title, impl, n, r+1, runs))
				h, rs, err := measure(impl, n)
				if err != nil {
					return fmt.Errorf("%s at %d conns: %w", impl, n, err)
				}
				heaps, rsss = append(heaps, h), append(rsss, rs)
			}
			if heaps[0] < 0 {
				fmt.Printf(" - | %.0f B |", median(rsss))
			} else {
				fmt.Printf(" %.0f B | %.0f B |", median(heaps), median(rsss))
			}
		}
		fmt.Println()
	}
	fmt.Println()
	return nil
}
