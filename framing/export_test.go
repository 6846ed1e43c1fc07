package framing

// RaceEnabled tells the package's external tests whether the race
// detector is on (its goroutine limit bounds their load).
const RaceEnabled = raceEnabled
