//go:build race

package framing

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only checked without it (CI runs both).
const raceEnabled = true
