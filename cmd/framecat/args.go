package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagKind says whether a flag takes a value.
type flagKind int

const (
	boolFlag flagKind = iota
	valueFlag
)

// flagNames maps every spelling of a flag (without dashes) to its name.
var flagNames = map[string]string{
	"c": "codec", "codec": "codec",
	"f": "format", "format": "format",
	"h": "help", "help": "help",
	"max": "max", "skip": "skip", "echo": "echo",
	"count": "count", "timeout": "timeout",
	"size": "size", "duration": "duration", "conns": "conns",
	"budget": "budget", "frame-timeout": "frame-timeout", "min-rate": "min-rate", "time": "time",
	"recut": "recut", "delay": "delay", "drop": "drop", "dup": "dup",
	"corrupt": "corrupt", "corrupt-len": "corrupt-len", "seed": "seed",
	"pcap": "pcap", "flow": "flow", "max-flows": "max-flows", "idle": "idle", "max-ooo": "max-ooo",
	"summary": "summary", "c2s": "c2s", "s2c": "s2c",
}

var flagKinds = map[string]flagKind{
	"codec": valueFlag, "format": valueFlag, "help": boolFlag,
	"max": valueFlag, "skip": boolFlag, "echo": boolFlag,
	"count": valueFlag, "timeout": valueFlag,
	"size": valueFlag, "duration": valueFlag, "conns": valueFlag,
	"budget": valueFlag, "frame-timeout": valueFlag, "min-rate": valueFlag, "time": boolFlag,
	"recut": valueFlag, "delay": valueFlag, "drop": valueFlag, "dup": valueFlag,
	"corrupt": valueFlag, "corrupt-len": valueFlag, "seed": valueFlag,
	"pcap": valueFlag, "flow": valueFlag, "max-flows": valueFlag, "idle": valueFlag, "max-ooo": valueFlag,
	"summary": boolFlag, "c2s": valueFlag, "s2c": valueFlag,
}

// commandFlags lists the flags each command accepts, besides help.
var commandFlags = map[string][]string{
	"demo":   {},
	"listen": {"codec", "format", "echo", "max", "skip", "budget", "frame-timeout", "min-rate", "time"},
	"dial":   {"codec", "format", "count", "timeout", "max", "skip"},
	"proxy": {"codec", "c2s", "s2c", "format", "max", "skip", "budget", "frame-timeout", "min-rate", "time",
		"recut", "delay", "drop", "dup", "corrupt", "corrupt-len", "seed"},
	"decode": {"codec", "c2s", "s2c", "format", "max", "skip", "pcap", "flow", "max-flows", "idle", "max-ooo", "summary"},
	"encode": {"codec", "format", "max", "skip"},
	"bench":  {"codec", "size", "duration", "conns", "max", "skip"},
	"guess":  {"pcap", "max"},
}

// cmdline is a parsed command line after the command name.
type cmdline struct {
	pos   []string
	flags map[string]string // name to value; "true" for a boolean flag
}

func (c *cmdline) has(name string) bool { _, ok := c.flags[name]; return ok }

// parseArgs splits args into flags and positional arguments. Flags may come
// before or after positional arguments; "--" ends flags; -x and --x are the
// same; a value follows its flag as the next argument or after "=".
func parseArgs(cmd string, args []string) (*cmdline, error) {
	allowed := map[string]bool{"help": true}
	for _, f := range commandFlags[cmd] {
		allowed[f] = true
	}
	c := &cmdline{flags: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.pos = append(c.pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			c.pos = append(c.pos, a) // "-" alone is a positional argument (stdin)
			continue
		}
		spelled := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		key, val, hasVal := strings.Cut(spelled, "=")
		name, ok := flagNames[key]
		if !ok || !allowed[name] {
			return nil, usagef("unknown flag %s for %s", a, cmd)
		}
		if _, dup := c.flags[name]; dup {
			return nil, usagef("flag %s given twice", a)
		}
		if flagKinds[name] == boolFlag {
			if hasVal {
				return nil, usagef("flag %s takes no value", "--"+key)
			}
			c.flags[name] = "true"
			continue
		}
		if !hasVal {
			if i+1 == len(args) {
				return nil, usagef("flag %s needs a value", a)
			}
			i++
			val = args[i]
		}
		c.flags[name] = val
	}
	return c, nil
}

// parseSize parses SIZE: digits with an optional B, KiB, MiB or GiB suffix.
func parseSize(flag, s string) (int64, error) {
	digits, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			digits, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	bad := usagef("--%s %q: want a size such as 512, 64B, 16KiB, 8MiB or 1GiB", flag, s)
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, bad
	}
	return n * mult, nil
}

// parseDuration parses DUR, Go duration syntax; it must be positive.
func parseDuration(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("--%s %q: want a positive duration such as 500ms or 10s", flag, s)
	}
	return d, nil
}

// parseDurationOrZero parses DUR or 0 (off).
func parseDurationOrZero(flag, s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("--%s %q: want a positive duration such as 500ms or 10s, or 0 for none", flag, s)
	}
	return d, nil
}

// parseProbability parses P, a probability from 0 to 1.
func parseProbability(flag, s string) (float64, error) {
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || !(p >= 0 && p <= 1) {
		return 0, usagef("--%s %q: want a probability from 0 to 1, such as 0.05", flag, s)
	}
	return p, nil
}

// parseCount parses a whole number >= 1.
func parseCount(flag, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, usagef("--%s %q: want a whole number >= 1", flag, s)
	}
	return n, nil
}
