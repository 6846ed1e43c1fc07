//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procStat is what /proc/PID/stat says of a process: its state letter
// and the CPU time its threads used (utime + stime).
type procStat struct {
	State byte // R, S, D, Z (exited, not reaped), ...
	CPU   time.Duration
}

// readProcStat reads /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so the fields are counted from its last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name in %q", pid, s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state): field n is f[n-3]
	if len(f) < 13 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	var ticks int64
	for _, field := range f[11:13] { // utime (14), stime (15)
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return procStat{State: f[0][0], CPU: time.Duration(ticks) * time.Second / time.Duration(clockTicks)}, nil
}

// procCPU returns the CPU time a running process has used; a process that
// has exited (a zombie) is an error, so that a server that died during a
// measurement is not read as an idle one.
func procCPU(pid int) (time.Duration, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	if st.State == 'Z' || st.State == 'X' {
		return 0, fmt.Errorf("process %d has exited (state %c)", pid, st.State)
	}
	return st.CPU, nil
}

// procName returns a process's command name (/proc/PID/comm).
func procName(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b)), err
}

// clockTicks is the kernel's clock ticks per second (sysconf(_SC_CLK_TCK),
// `getconf CLK_TCK`), the unit of /proc/PID/stat's times.
var clockTicks = readClockTicks()

// readClockTicks reads AT_CLKTCK from the process's auxiliary vector;
// 100, Linux's USER_HZ on every architecture Go runs on, if it cannot.
func readClockTicks() int64 {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	for ; len(b) >= 16; b = b[16:] { // 64-bit (key, value) pairs
		if binary.NativeEndian.Uint64(b) == atClkTck {
			if v := int64(binary.NativeEndian.Uint64(b[8:])); v > 0 {
				return v
			}
		}
	}
	return 100
}
