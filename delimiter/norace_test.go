//go:build !race

package delimiter

const raceEnabled = false
