package goframedropin

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"testing"
)

// TestMain checks what goframe's TestFrameConn cannot: its server side
// prints the frames it reads and the test passes whatever they are, so the
// output is captured and must hold the two frames the client sent.
func TestMain(m *testing.M) {
	stdout := os.Stdout
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var printed bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(io.MultiWriter(stdout, &printed), r)
		close(copied)
	}()
	os.Stdout = w

	code := m.Run()

	os.Stdout = stdout
	w.Close()
	<-copied
	if code == 0 && ran("TestFrameConn") && !regexp.MustCompile(`(?m)^hello\nworld$`).Match(printed.Bytes()) {
		fmt.Fprintf(os.Stderr, "TestFrameConn (goframe's frame_test.go): the server side printed %q; want the lines hello and world\n", printed.Bytes())
		code = 1
	}
	os.Exit(code)
}

// ran says whether the test flags let the test named name run.
func ran(name string) bool {
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return false
	}
	for _, fl := range []struct {
		flag string
		want bool
	}{{"test.run", true}, {"test.skip", false}} {
		f := flag.Lookup(fl.flag)
		if f == nil || f.Value.String() == "" {
			continue
		}
		re, err := regexp.Compile(f.Value.String())
		if err != nil || re.MatchString(name) != fl.want {
			return false
		}
	}
	return true
}
