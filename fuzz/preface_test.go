package fuzz_test

import (
	"strings"
	"testing"

	"github.com/framekit/framekit/fuzz"
	"github.com/framekit/framekit/lengthprefix"
)

// TestPreface: with Options.Preface every check reads it first, with its
// kind; a staged codec run without it, or with the wrong kind, or a
// preface its encoder refuses, fails.
func TestPreface(t *testing.T) {
	hello := []byte("HELLO\n")
	staged := lengthprefix.NewPreamble(hello, lengthprefix.U32BE)
	// A plain codec: the preface is just its first frame, of kind 0.
	if fs := fuzz.Check(lengthprefix.U32BE, &fuzz.Options{Preface: []byte("hi")}); len(fs) != 0 {
		t.Errorf("U32BE with a preface: %v", fs)
	}
	if fs := fuzz.Check(staged, &fuzz.Options{Preface: hello, PrefaceKind: lengthprefix.KindPreamble}); len(fs) != 0 {
		t.Errorf("a preamble codec with its preamble: %v", fs)
	}
	for _, tc := range []struct {
		name string
		opts fuzz.Options
		want map[string]string // check: in its message
	}{
		{"no preface", fuzz.Options{}, map[string]string{
			"roundtrip": "not the preamble", "budget": "", "stats": ""}},
		{"wrong kind", fuzz.Options{Preface: hello, PrefaceKind: lengthprefix.KindProxy}, map[string]string{
			"roundtrip": "of kind 2; the first read gave the right bytes, of kind 1", "truncation": "of kind 1",
			"deadline": "of kind 1", "readpaths": "of kind 1", "budget": "", "stats": ""}},
	} {
		failed := map[string]string{}
		for _, f := range fuzz.Check(staged, &tc.opts) {
			failed[f.Check] = f.Error()
		}
		for check, want := range tc.want {
			if msg, ok := failed[check]; !ok || !strings.Contains(msg, want) {
				t.Errorf("%s: the %s check gave %q, want a failure saying %q", tc.name, check, msg, want)
			}
		}
	}
	// A preface the encoder refuses is reported once, as the preface check.
	fs := fuzz.Check(lengthprefix.U16BE, &fuzz.Options{Preface: make([]byte, 65)})
	if len(fs) != 1 || fs[0].Check != "preface" || !strings.Contains(fs[0].Msg, "more than 64") {
		t.Errorf("a 65-byte preface: %v", fs)
	}
}
