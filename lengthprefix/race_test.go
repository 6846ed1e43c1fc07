//go:build race

package lengthprefix

// raceEnabled: the race detector's instrumentation allocates, so
// allocation bounds allow for it.
const raceEnabled = true
