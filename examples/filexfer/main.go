// Command filexfer sends a file over TCP and receives it, with framed
// messages: the sender announces the file (name, size, SHA-256), waits for
// the receiver's OK, streams the content, and waits for the receiver to
// confirm that it saved the file intact.
//
//	go run ./examples/filexfer receive -listen 127.0.0.1:9001 -dir ./inbox
//	go run ./examples/filexfer send -to 127.0.0.1:9001 FILE
//
// The receiver refuses names with a directory in them (../../etc/passwd),
// writes to a temporary file in the target directory, and renames it into
// place only once size and SHA-256 match: a failed or interrupted transfer
// leaves nothing behind. Memory use does not depend on the file's size.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "filexfer:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  filexfer receive -listen ADDR -dir DIR [-max-size BYTES]
  filexfer send -to ADDR FILE`

// run is the whole command. The receiver stops when ctx is done; a send is
// abandoned.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("filexfer "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "receive":
		listen := fs.String("listen", "127.0.0.1:9001", "listen on this `address`")
		dir := fs.String("dir", ".", "save files in this `directory`")
		maxSize := fs.Int64("max-size", 64<<30, "refuse files larger than this many `bytes`")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("-dir %s is not a directory", *dir)
		}
		l, err := framing.Listen("tcp", *listen, lengthprefix.U32BE, frameOptions)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "listening on %s, saving into %s\n", l.Addr(), *dir)
		logger := log.New(stderr, "filexfer: ", log.LstdFlags)
		return serve(ctx, l, receiver{dir: *dir, maxSize: *maxSize}, logger.Printf)
	case "send":
		to := fs.String("to", "127.0.0.1:9001", "send to this `address`")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New(usage)
		}
		return sendFile(ctx, *to, fs.Arg(0), terminalProgress(stderr))
	}
	return errors.New(usage)
}
