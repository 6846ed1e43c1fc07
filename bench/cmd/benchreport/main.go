// Command benchreport turns the raw output of bench/run.sh into Markdown:
// one table per workload with the implementations as columns, the
// failures, and the issue 7 targets, each met or missed with its ratio.
//
//	go run ./cmd/benchreport results/raw.txt > section.md
//
// A figure is the median over the runs (-count), with benchstat's 95%
// confidence interval (golang.org/x/perf/benchmath, the code benchstat
// uses). A ratio of two medians comes with the interval from the two
// confidence intervals (lowest over highest, highest over lowest), and a
// target is met only when that whole interval lies inside it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// key identifies one benchmark configuration, without the runs.
type key struct {
	family string // base name and every key=value but size and impl
	row    string // size=…
	impl   string
}

type data struct {
	samples  map[key]map[string][]float64 // unit → values
	families []string
	rows     map[string][]string
	impls    map[string][]string
	failures map[key]string
	failRuns map[key]int // how many runs of each failed
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchreport raw.txt")
		os.Exit(2)
	}
	d, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	d.writeTargets(w)
	d.writeTables(w)
	d.writeFailures(w)
	w.Flush()
}

var procs = regexp.MustCompile(`-\d+$`)

func split(name string) key {
	name = procs.ReplaceAllString(name, "")
	parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
	k := key{}
	fam := []string{parts[0]}
	for _, p := range parts[1:] {
		switch {
		case strings.HasPrefix(p, "size="):
			k.row = strings.TrimPrefix(p, "size=")
		case strings.HasPrefix(p, "impl="):
			k.impl = strings.TrimPrefix(p, "impl=")
		default:
			fam = append(fam, p)
		}
	}
	k.family = strings.Join(fam, "/")
	return k
}

// A FAIL line may follow a benchmark's name on the same line, when the
// benchmark failed after it started to print its result.
var failLine = regexp.MustCompile(`--- FAIL: (Benchmark\S+)`)
var failMsg = regexp.MustCompile(`^\s+\S+\.go:\d+: (FAIL .*)$`)

func load(path string) (*data, error) {
	d := &data{
		samples:  map[key]map[string][]float64{},
		rows:     map[string][]string{},
		impls:    map[string][]string{},
		failures: map[key]string{},
		failRuns: map[key]int{},
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		k := split(string(res.Name.Full()))
		if k.impl == "" {
			continue
		}
		d.note(k)
		m := d.samples[k]
		if m == nil {
			m = map[string][]float64{}
			d.samples[k] = m
		}
		for _, v := range res.Values {
			unit, val := v.Unit, v.Value
			if v.OrigUnit != "" { // as go test printed it: ns/op, MB/s
				unit, val = v.OrigUnit, v.OrigValue
			}
			m[unit] = append(m[unit], val)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	// Failures are in the test output around the results.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var last key
	for sc.Scan() {
		if m := failLine.FindStringSubmatch(sc.Text()); m != nil {
			last = split(m[1])
			if last.impl != "" {
				d.failRuns[last]++
			}
			continue
		}
		if m := failMsg.FindStringSubmatch(sc.Text()); m != nil && last.impl != "" {
			if _, seen := d.failures[last]; !seen {
				d.failures[last] = m[1]
				d.note(last)
			}
		}
	}
	return d, sc.Err()
}

func (d *data) note(k key) {
	if _, ok := d.rows[k.family]; !ok {
		d.families = append(d.families, k.family)
	}
	if !contains(d.rows[k.family], k.row) {
		d.rows[k.family] = append(d.rows[k.family], k.row)
	}
	if !contains(d.impls[k.family], k.impl) {
		d.impls[k.family] = append(d.impls[k.family], k.impl)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (d *data) summary(k key, unit string) (benchmath.Summary, bool) {
	if d.failed(k) {
		return benchmath.Summary{}, false // a wrong answer is not timed
	}
	v := d.samples[k][unit]
	if len(v) == 0 {
		return benchmath.Summary{}, false
	}
	s := benchmath.NewSample(v, &benchmath.DefaultThresholds)
	return benchmath.AssumeNothing.Summary(s, 0.95), true
}

// writeTables writes one table per workload, time per frame with the
// ratio to framekit, then the other measurements.
func (d *data) writeTables(w io.Writer) {
	fmt.Fprintf(w, "### Tables\n\n")
	fmt.Fprintf(w, "Medians over the runs, ± the half-width of the 95%% confidence interval. In the time\n")
	fmt.Fprintf(w, "tables, (×N) is the implementation's time over framekit's: above 1, framekit is faster.\n\n")
	for _, fam := range d.families {
		rows, impls := d.rows[fam], d.impls[fam]
		fmt.Fprintf(w, "#### %s\n\n", fam)
		timeUnit := "ns/op"
		if strings.HasPrefix(fam, "IdleHeap") {
			timeUnit = ""
		}
		if timeUnit != "" {
			header(w, "time/frame", impls)
			for _, row := range rows {
				fmt.Fprintf(w, "| %s |", row)
				base, hasBase := d.summary(key{fam, row, "framekit"}, timeUnit)
				for _, impl := range impls {
					k := key{fam, row, impl}
					s, ok := d.summary(k, timeUnit)
					switch {
					case !ok && d.failed(k):
						fmt.Fprintf(w, " FAIL (%s) |", d.failCount(k))
					case !ok:
						fmt.Fprintf(w, " |")
					default:
						cell := fmt.Sprintf("%s %s", duration(s.Center), pm(s))
						if hasBase && impl != "framekit" {
							cell += fmt.Sprintf(" (×%.2f)", s.Center/base.Center)
						}
						fmt.Fprintf(w, " %s |", cell)
					}
				}
				fmt.Fprintln(w)
			}
			fmt.Fprintln(w)
		}
		header(w, "other", impls)
		for _, row := range rows {
			fmt.Fprintf(w, "| %s |", row)
			for _, impl := range impls {
				k := key{fam, row, impl}
				var parts []string
				for _, u := range []struct{ unit, show string }{
					{"MB/s", "MB/s"}, {"frames/s", "frames/s"}, {"allocs/op", "allocs"}, {"B/op", "B"},
					{"writes/frame", "writes/frame"}, {"copiedB/frame", "B copied"}, {"B/conn", "B/conn"},
				} {
					if s, ok := d.summary(k, u.unit); ok {
						parts = append(parts, fmt.Sprintf("%s %s", num(s.Center), u.show))
					}
				}
				if len(parts) == 0 && d.failed(k) {
					parts = []string{"FAIL (" + d.failCount(k) + ")"}
				}
				fmt.Fprintf(w, " %s |", strings.Join(parts, " · "))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
}

func header(w io.Writer, first string, impls []string) {
	fmt.Fprintf(w, "| %s |", first)
	for _, impl := range impls {
		fmt.Fprintf(w, " %s |", impl)
	}
	fmt.Fprintf(w, "\n|---|")
	for range impls {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
}

func pm(s benchmath.Summary) string {
	if s.Center == 0 {
		return ""
	}
	h := math.Max(s.Hi-s.Center, s.Center-s.Lo) / s.Center * 100
	return fmt.Sprintf("±%.0f%%", h)
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3g s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case math.Abs(v) >= 1e3:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func (d *data) failed(k key) bool { _, ok := d.failures[k]; return ok }

// failCount says in how many of the runs k failed.
func (d *data) failCount(k key) string {
	runs := d.failRuns[k]
	for _, v := range d.samples[k] {
		runs += len(v)
		break
	}
	return fmt.Sprintf("%d of %d runs", d.failRuns[k], runs)
}

func (d *data) writeFailures(w io.Writer) {
	if len(d.failures) == 0 {
		return
	}
	fmt.Fprintf(w, "### Failures (not timed)\n\n")
	var ks []key
	for k := range d.failures {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return fmt.Sprint(ks[i]) < fmt.Sprint(ks[j]) })
	for _, k := range ks {
		fmt.Fprintf(w, "- %s/size=%s/impl=%s, %s: %s\n", k.family, k.row, k.impl, d.failCount(k), d.failures[k])
	}
	fmt.Fprintln(w)
}

// ratio is a/b for one unit, with the interval from the two confidence
// intervals.
type ratio struct {
	center, lo, hi float64
	ok             bool
}

func (d *data) ratio(a, b key, unit string) ratio {
	sa, oka := d.summary(a, unit)
	sb, okb := d.summary(b, unit)
	if !oka || !okb || sb.Center == 0 {
		return ratio{}
	}
	hi := math.Inf(1)
	if sb.Lo > 0 {
		hi = sa.Hi / sb.Lo
	}
	return ratio{sa.Center / sb.Center, sa.Lo / sb.Hi, hi, true}
}

// verdict says whether r lies within bound (at most bound when atMost,
// else at least bound), and by how much it misses.
func verdict(r ratio, bound float64, atMost bool) string {
	if !r.ok {
		return "no data"
	}
	if atMost {
		switch {
		case r.hi <= bound:
			return "**met**"
		case r.lo > bound:
			return fmt.Sprintf("**missed** by ×%s", factor(r.center/bound))
		case r.center <= bound:
			return "unclear (median inside, interval straddles)"
		}
		return fmt.Sprintf("unclear (median misses by ×%.2f, interval straddles)", r.center/bound)
	}
	switch {
	case r.lo >= bound:
		return "**met**"
	case r.hi < bound:
		return fmt.Sprintf("**missed** by ×%s", factor(bound/r.center))
	case r.center >= bound:
		return "unclear (median inside, interval straddles)"
	}
	return fmt.Sprintf("unclear (median misses by ×%.2f, interval straddles)", bound/r.center)
}

// factor formats a ratio, with more digits when it is close to 1.
func factor(f float64) string {
	if f < 1.01 {
		return fmt.Sprintf("%.4f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func (r ratio) String() string {
	if !r.ok {
		return "–"
	}
	return fmt.Sprintf("%.2f [%.2f, %.2f]", r.center, r.lo, r.hi)
}

type targetRow struct {
	target, compared, measured, bound, verdict string
}

// writeTargets evaluates the targets of issue 7.
func (d *data) writeTargets(w io.Writer) {
	var rows []targetRow
	add := func(target, compared string, r ratio, bound float64, atMost bool) {
		op := "≥"
		if atMost {
			op = "≤"
		}
		rows = append(rows, targetRow{target, compared, r.String(), fmt.Sprintf("%s %.2f", op, bound), verdict(r, bound, atMost)})
	}
	const t = "ns/op"

	mem := "DecodeMem/codec=u32"
	for _, size := range []string{"16B", "256B", "4KiB", "1MiB"} {
		k := func(impl string) key { return key{mem, size, impl} }
		add("mem decode ≤1.15× hand loop, "+size, "framekit (view) / bufio (ReadFull copy)", d.ratio(k("framekit"), k("bufio"), t), 1.15, true)
		add("", "framekit-into / bufio (copy vs copy)", d.ratio(k("framekit-into"), k("bufio"), t), 1.15, true)
		add("", "framekit / bufio-peek (view vs view)", d.ratio(k("framekit"), k("bufio-peek"), t), 1.15, true)
	}
	k16 := func(impl string) key { return key{mem, "16B", impl} }
	add("mem decode 16B ≥2.5× faster than go-msgio", "msgio / framekit (time)", d.ratio(k16("msgio"), k16("framekit"), t), 2.5, false)
	add("", "msgio / framekit-into (copy vs copy)", d.ratio(k16("msgio"), k16("framekit-into"), t), 2.5, false)
	add("mem decode 16B ≥4× faster than goframe", "goframe / framekit (time)", d.ratio(k16("goframe"), k16("framekit"), t), 4, false)
	add("", "goframe / framekit-owned (owned vs owned)", d.ratio(k16("goframe"), k16("framekit-owned"), t), 4, false)
	k1m := func(impl string) key { return key{mem, "1MiB", impl} }
	add("mem decode 1MiB ≥85% of memcpy throughput", "memcpy time / framekit time", d.ratio(k1m("memcpy"), k1m("framekit"), t), 0.85, false)

	for _, size := range []string{"16B", "256B", "4KiB", "1MiB"} {
		fam := "Decode7/codec=u32"
		best, bestName := d.bestPeer(fam, size, t, []string{"bufio", "bufio-peek", "msgio", "goframe"})
		add("7-byte reads no slower than best peer, "+size, "framekit / "+bestName+" (the fastest of any kind)", d.ratio(key{fam, size, "framekit"}, best, t), 1.05, true)
		// Like with like, as the issue asks: views against the view peer,
		// copies into a reused buffer against the peers that copy.
		if bestName != "bufio-peek" {
			add("", "framekit / bufio-peek (view vs view)", d.ratio(key{fam, size, "framekit"}, key{fam, size, "bufio-peek"}, t), 1.05, true)
		}
		bestCopy, bestCopyName := d.bestPeer(fam, size, t, []string{"bufio", "msgio"})
		add("", "framekit-into / "+bestCopyName+" (copy vs copy)", d.ratio(key{fam, size, "framekit-into"}, bestCopy, t), 1.05, true)
	}

	add("1MiB line in 7-byte reads ≥100× faster than Scanner", "scanner / framekit (time)",
		d.ratio(key{"Lines7", "1MiB", "scanner"}, key{"Lines7", "1MiB", "framekit"}, t), 100, false)
	for _, size := range []string{"64B", "4KiB"} {
		best, bestName := d.bestPeer("Lines", size, t, []string{"scanner", "bufio", "goframe"})
		add("lines read whole no slower than best peer, "+size, "framekit / "+bestName, d.ratio(key{"Lines", size, "framekit"}, best, t), 1.05, true)
	}

	e16 := func(impl string) key { return key{"Encode/codec=u32/mode=batch", "16B", impl} }
	add("batched 16B encode ≤1.2× hand-written batched loop", "framekit-batch (Batch, one goroutine) / bufio", d.ratio(e16("framekit-batch"), e16("bufio"), t), 1.2, true)
	add("", "framekit (BufferFrame, any goroutines) / bufio", d.ratio(e16("framekit"), e16("bufio"), t), 1.2, true)
	add("", "for context: framekit / bufio-locked (both safe for concurrent writers)", d.ratio(e16("framekit"), e16("bufio-locked"), t), 1.2, true)
	for _, impl := range []string{"framekit-batch", "framekit"} {
		if s, ok := d.summary(e16(impl), "writes/frame"); ok && s.Center > 0 {
			perWrite := 20 / s.Center
			rows = append(rows, targetRow{"batched 16B: ≤1 write per 64 KiB of output", impl + " bytes per write",
				fmt.Sprintf("%.0f", perWrite), "≥ 65536 (less the last flush)", map[bool]string{true: "**met**", false: "**missed**"}[perWrite >= 0.99*65536]})
		}
	}
	lb := func(impl string) key { return key{"Loopback/mode=batch", "64B", impl} }
	add("loopback 64B batched ≥0.8× hand-written batched", "framekit-batch / bufio (frames/s)", d.ratio(lb("framekit-batch"), lb("bufio"), "frames/s"), 0.8, false)
	add("", "framekit (BufferFrame) / bufio (frames/s)", d.ratio(lb("framekit"), lb("bufio"), "frames/s"), 0.8, false)
	add("loopback 64B batched ≥10× go-msgio", "framekit / msgio (frames/s)", d.ratio(lb("framekit"), lb("msgio"), "frames/s"), 10, false)

	cw := func(impl string) key { return key{"ConcurrentWriters", "64B", impl} }
	add("64 concurrent writers ≥5× one syscall per frame", "framekit / mutex (frames/s)", d.ratio(cw("framekit"), cw("mutex"), "frames/s"), 5, false)

	for _, net := range []string{"pipe", "tcp"} {
		k := key{"IdleHeap/net=" + net, "", "framekit"}
		if s, ok := d.summary(k, "B/conn"); ok {
			r := ratio{s.Center / 512, s.Lo / 512, s.Hi / 512, true}
			rows = append(rows, targetRow{"idle framed conn ≤512 B heap, " + net, "framekit B/conn / 512",
				fmt.Sprintf("%.1f B [%.1f, %.1f]", s.Center, s.Lo, s.Hi), "≤ 512 B", verdict(r, 1, true)})
		}
	}

	rows = append(rows, d.allocRows()...)
	rows = append(rows, d.zeroCopyRow())

	fmt.Fprintf(w, "### Targets\n\n")
	fmt.Fprintf(w, "Ratios of medians with the interval from both 95%% confidence intervals; a target is met\n")
	fmt.Fprintf(w, "when the whole interval is inside it. \"Time\" ratios are peer/framekit or framekit/peer as stated.\n\n")
	fmt.Fprintf(w, "| target | compared | ratio [interval] | bound | verdict |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.target, r.compared, r.measured, r.bound, r.verdict)
	}
	fmt.Fprintln(w)
}

// worst returns the largest value of unit over the runs, NaN if none.
func (d *data) worst(k key, unit string) float64 {
	v := d.samples[k][unit]
	if len(v) == 0 {
		return math.NaN()
	}
	m := v[0]
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// bestPeer returns the peer with the lowest median in unit that did not
// fail.
func (d *data) bestPeer(fam, row, unit string, peers []string) (key, string) {
	var best key
	bestName, bestV := "no peer", math.Inf(1)
	for _, p := range peers {
		k := key{fam, row, p}
		if s, ok := d.summary(k, unit); ok && s.Center < bestV {
			best, bestName, bestV = k, p, s.Center
		}
	}
	return best, bestName
}

// allocRows checks 0 allocations per frame on framekit's view read path
// and every write path: the largest allocs/op of any run.
func (d *data) allocRows() []targetRow {
	var bad []string
	checked := 0
	for k, m := range d.samples {
		read := (strings.HasPrefix(k.family, "DecodeMem") || strings.HasPrefix(k.family, "Decode7") ||
			strings.HasPrefix(k.family, "Lines")) && (k.impl == "framekit" || k.impl == "framekit-into")
		write := strings.HasPrefix(k.family, "Encode") && strings.HasPrefix(k.impl, "framekit")
		loop := (strings.HasPrefix(k.family, "Loopback") || strings.HasPrefix(k.family, "ConcurrentWriters")) && k.impl == "framekit"
		if !read && !write && !loop {
			continue
		}
		checked++
		worst := 0.0
		for _, v := range m["allocs/op"] {
			worst = math.Max(worst, v)
		}
		if worst > 0 {
			bad = append(bad, fmt.Sprintf("%s/size=%s/impl=%s (%g)", k.family, k.row, k.impl, worst))
		}
	}
	sort.Strings(bad)
	v := "**met**"
	if len(bad) > 0 {
		v = "**missed**: " + strings.Join(bad, ", ")
	}
	return []targetRow{{"0 allocs/frame, view reads and all writes", fmt.Sprintf("framekit, %d configurations, worst run", checked), fmt.Sprintf("%d with allocations", len(bad)), "0", v}}
}

// zeroCopyRow checks that a 1 MiB frame is written with one vectored write
// and without copying the payload.
func (d *data) zeroCopyRow() targetRow {
	k := key{"Encode/codec=u32/mode=frame", "1MiB", "framekit"}
	w, c := d.worst(k, "writes/frame"), d.worst(k, "copiedB/frame")
	if math.IsNaN(w) || math.IsNaN(c) {
		return targetRow{"1MiB frame written without copying", "framekit WriteFrame", "–", "", "no data"}
	}
	v := "**missed**"
	if w <= 1 && c <= 4 {
		v = "**met**"
	}
	return targetRow{"1MiB frame written without copying, one vectored write", "framekit WriteFrame, worst run",
		fmt.Sprintf("%g writes/frame, %g B copied/frame", w, c), "1 write, 4 B (the header)", v}
}
