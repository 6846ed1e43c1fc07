package goframedropin

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	upstreamPath = "github.com/smallnest/goframe"
	dropinPath   = "github.com/framekit/framekit/compat/goframe"
)

// goTool returns the go command.
func goTool(t *testing.T) string {
	t.Helper()
	g, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build goframe's examples: %v", err)
	}
	return g
}

// dir returns the directory of a package (or, with -m, a module).
func dir(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(goTool(t), append([]string{"list", "-f", "{{.Dir}}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// exported returns the exported top-level names declared by the non-test
// files of the package in d.
func exported(t *testing.T, d string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(d, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil && decl.Name.IsExported() {
					names = append(names, decl.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						if spec.Name.IsExported() {
							names = append(names, spec.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

// TestSurface: compat/goframe declares exactly goframe's exported names
// (surface.go checks their types).
func TestSurface(t *testing.T) {
	want := exported(t, dir(t, "-m", upstreamPath))
	got := exported(t, dir(t, dropinPath))
	if len(want) == 0 {
		t.Fatal("no exported names found in goframe")
	}
	if !slices.Equal(want, got) {
		t.Fatalf("exported names:\ngoframe:        %v\ncompat/goframe: %v", want, got)
	}
}

// TestCopies: the copied files are goframe's, changed only as their
// headers say: the package clause, or the import path.
func TestCopies(t *testing.T) {
	up := dir(t, "-m", upstreamPath)
	for _, c := range []struct {
		copy, original string
		from, to       string
	}{
		{"frame_test.go", "frame_test.go", "\npackage goframe\n", "\npackage goframedropin\n"},
		{"testdata/goclient/client.go", "_examples/goclient/client.go", `"` + upstreamPath + `"`, `"` + dropinPath + `"`},
		{"testdata/goserver/server.go", "_examples/goserver/server.go", `"` + upstreamPath + `"`, `"` + dropinPath + `"`},
	} {
		copied, err := os.ReadFile(c.copy)
		if err != nil {
			t.Fatal(err)
		}
		original, err := os.ReadFile(filepath.Join(up, c.original))
		if err != nil {
			t.Fatal(err)
		}
		// The header: comment lines and the blank line after them.
		header := regexp.MustCompile(`^(//[^\n]*\n)+\n`).Find(copied)
		if !bytes.Contains(header, []byte("github.com/smallnest/goframe v1.0.0")) {
			t.Errorf("%s: no header naming where it comes from", c.copy)
		}
		want := strings.Replace("\n"+string(original), c.from, c.to, 1)[1:]
		if want == string(original) {
			t.Fatalf("%s: %q not found in goframe's %s", c.copy, c.from, c.original)
		}
		if got := string(copied[len(header):]); got != want {
			t.Errorf("%s differs from goframe's %s beyond %q; want, after its header:\n%s", c.copy, c.original, c.to, want)
		}
	}
}

// syncBuffer is a bytes.Buffer for a child process's output, read while
// the process runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExamples builds goframe's example server and client against
// compat/goframe and runs them: the client sends "hello" and "world" and
// must get both back, stamped by the server, which must print them and
// keep running (it panics on any read error but io.EOF, as goframe's
// example is written). Both use goframe's fixed port, 9981.
func TestExamples(t *testing.T) {
	bin := t.TempDir()
	for _, p := range []string{"goserver", "goclient"} {
		cmd := exec.Command(goTool(t), "build", "-o", filepath.Join(bin, p), "./testdata/"+p)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./testdata/%s: %v\n%s", p, err, out)
		}
	}

	var sout, serr syncBuffer
	server := exec.Command(filepath.Join(bin, "goserver"))
	server.Stdout, server.Stderr = &sout, &serr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	defer func() {
		server.Process.Kill()
		<-exited
	}()
	alive := func(when string) {
		t.Helper()
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the example server exited %s: %v\nstdout:\n%s\nstderr:\n%s", when, err, sout.String(), serr.String())
		default:
		}
	}

	// Wait until it listens. The probe connects and closes without a
	// byte: the server's ReadFrame must give io.EOF, or it panics.
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		alive("while starting")
		c, err := net.Dial("tcp", "127.0.0.1:9981")
		if err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the example server does not listen on 9981: %v", err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "goclient")).CombinedOutput()
	if err != nil {
		t.Fatalf("the example client: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^received:  \d+: hello\nreceived:  \d+: world\n$`).Match(out) {
		t.Fatalf("the example client printed %q; want the two replies", out)
	}

	// The server printed each frame before replying; its output may still
	// be on its way through the pipe.
	for deadline := time.Now().Add(5 * time.Second); sout.String() != "hello\nworld\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the example server printed %q; want \"hello\\nworld\\n\"", sout.String())
		}
	}
	time.Sleep(50 * time.Millisecond) // the client's close reaches the server
	alive("after the client closed")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the example client timed out")
	}
}
