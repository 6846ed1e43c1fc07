//go:build race

package main

// The race detector makes sync.Pool drop items at random, so allocation
// totals are only checked without it (CI runs both).
const raceEnabled = true
