package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
)

// nettyJars are the Debian libnetty-java jars the peer needs (netty-all.jar
// there is only a manifest).
var nettyJars = []string{"common", "buffer", "transport", "codec", "resolver"}

const nettyInstall = "apt-get install -y libnetty-java default-jdk-headless && " +
	"javac -cp $(echo /usr/share/java/netty-{common,buffer,transport,codec,resolver}.jar | tr ' ' :) " +
	"-d interop/testdata/netty/build interop/testdata/netty/NettyPeer.java (interop/ci.sh does both)"

// nettyPeer returns the java command line that runs the Netty peer,
// compiling it first if its classes are missing or older than its source.
func nettyPeer(t *testing.T) []string {
	t.Helper()
	var cp []string
	for _, j := range nettyJars {
		p := "/usr/share/java/netty-" + j + ".jar"
		if _, err := os.Stat(p); err != nil {
			missingPeer(t, "Netty 4.1 ("+p+")", nettyInstall)
		}
		cp = append(cp, p)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		missingPeer(t, "java", nettyInstall)
	}
	dir := testdata(t, "netty")
	src := filepath.Join(dir, "NettyPeer.java")
	build := filepath.Join(dir, "build")
	if stale(filepath.Join(build, "NettyPeer.class"), src) {
		javac, err := exec.LookPath("javac")
		if err != nil {
			missingPeer(t, "javac", nettyInstall)
		}
		run(t, dir, 2*time.Minute, javac, "-cp", strings.Join(cp, ":"), "-d", build, src)
	}
	return []string{java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
		"-cp", strings.Join(append([]string{build}, cp...), ":"), "NettyPeer"}
}

// stale reports whether out is missing or older than src.
func stale(out, src string) bool {
	o, err := os.Stat(out)
	if err != nil {
		return true
	}
	s, err := os.Stat(src)
	return err != nil || s.ModTime().After(o.ModTime())
}

// nettyLimit is the maxFrameLength of the Netty servers that show what
// happens at the limit.
const nettyLimit = 1024

// TestNetty exchanges 1,000 frames each way with Netty 4.1's codecs,
// through the re-cutting proxy, for every configuration of the issue.
func TestNetty(t *testing.T) {
	java := nettyPeer(t)
	specs := nettySpecs(t)
	args := append([]string(nil), java...)
	args = append(args, "server")
	for _, s := range specs {
		args = append(args, fmt.Sprintf("%s:%d", s.name, 1<<20))
	}
	limits := []string{fmt.Sprintf("u32be:%d", nettyLimit+4), fmt.Sprintf("lines:%d", nettyLimit), fmt.Sprintf("crlf2:%d", nettyLimit)}
	args = append(args, limits...)
	server := startPeer(t, "netty server", testdata(t, "netty"), args...)
	addrs := server.listening(t)

	for _, s := range specs {
		t.Run("framekit-netty-framekit/"+s.name, func(t *testing.T) {
			seed := seedFor(t)
			p := newProxy(t, addrs[fmt.Sprintf("%s:%d", s.name, 1<<20)], seed)
			exchange(t, p.Addr(), s.codec, nil, frames(seed, frameCount, s.gen), seed)
		})
	}

	t.Run("netty-framekit-netty", func(t *testing.T) {
		runClient(t, seedFor(t), specs, append(java, "client"), testdata(t, "netty"), "netty client")
	})

	// At the limit, framekit -> Netty: a frame of exactly maxFrameLength is
	// echoed, one byte more raises TooLongFrameException in the Netty
	// pipeline, and the connection goes on with the next frame.
	for _, s := range specs {
		var limitSpec string
		for _, l := range limits {
			if strings.HasPrefix(l, s.name+":") {
				limitSpec = l
			}
		}
		if limitSpec == "" {
			continue
		}
		t.Run("limit-framekit-netty/"+s.name, func(t *testing.T) {
			c, err := framing.Dial("tcp", addrs[limitSpec], s.codec, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			seed := seedFor(t)
			payloads := limitPayloads(s, seed)
			if err := c.WriteFrames(payloads); err != nil {
				t.Fatal(err)
			}
			readEcho(t, c, payloads[0])
			// Netty's decoders with failFast (the default of the length
			// and delimiter decoders) throw out of the decode loop, so the
			// frame behind the oversized one may stay undecoded in the
			// cumulation until more bytes arrive: send one more.
			c.SetReadDeadline(time.Now().Add(time.Second))
			got, err := c.ReadFrame()
			held := framing.Classify(err) == framing.Temporary && err != nil
			if held {
				t.Logf("Netty %s held the frame after the oversized one until more bytes arrived", s.name)
			} else if err != nil || string(got) != string(payloads[2]) {
				t.Fatalf("frame after the oversized one: %v, %s", err, difference(got, payloads[2]))
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if err := c.WriteFrame(payloads[2]); err != nil {
				t.Fatal(err)
			}
			if held {
				readEcho(t, c, payloads[2])
			}
			readEcho(t, c, payloads[2])
			exc := server.waitFor("EXCEPTION "+limitSpec+" ", 5*time.Second)
			if len(exc) != 1 || !strings.Contains(exc[0], "TooLongFrameException") {
				t.Fatalf("Netty reported %q, want one TooLongFrameException", exc)
			}
			t.Logf("Netty %s at maxFrameLength %s: %s; then it went on with the next frame", s.name, strings.TrimPrefix(limitSpec, s.name+":"), exc[0])
		})
	}

	// ProtobufVarint32FrameDecoder (4.1.48) has no maxFrameLength: its
	// limit is what a 32-bit signed varint holds. A header of 2^31 - one
	// more than that - is a CorruptedFrameException.
	t.Run("limit-framekit-netty/varint", func(t *testing.T) {
		c, err := net.Dial("tcp", addrs[fmt.Sprintf("varint:%d", 1<<20)])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(binary.AppendUvarint(nil, 1<<31)); err != nil {
			t.Fatal(err)
		}
		exc := server.waitFor(fmt.Sprintf("EXCEPTION varint:%d ", 1<<20), 5*time.Second)
		if len(exc) != 1 || !strings.Contains(exc[0], "CorruptedFrameException") {
			t.Fatalf("Netty reported %q, want one CorruptedFrameException", exc)
		}
		t.Logf("Netty varint given a length of 2^31: %s", exc[0])
	})

	// At the limit, Netty -> framekit: framekit with the same limit
	// (MaxFrameSize = maxFrameLength - strip) reads the frame at the
	// limit, rejects the one over it, and under the Skip policy reads the
	// next one.
	for _, name := range []string{"u32be", "lines", "crlf2"} {
		var s spec
		for _, x := range specs {
			if x.name == name {
				s = x
			}
		}
		t.Run("limit-netty-framekit/"+name, func(t *testing.T) {
			opts := &framing.Options{MaxFrameSize: nettyLimit, Oversize: framing.Skip}
			ln, err := framing.Listen("tcp", "127.0.0.1:0", s.codec, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			args := append(append([]string(nil), java...), "send", name, ln.Addr().String(),
				fmt.Sprint(nettyLimit), fmt.Sprint(nettyLimit+1), "10")
			sender := startPeer(t, "netty sender", testdata(t, "netty"), args...)
			c, err := ln.AcceptFramed()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if p, err := c.ReadFrame(); err != nil || len(p) != nettyLimit {
				t.Fatalf("frame at the limit: %d bytes, %v; want %d bytes", len(p), err, nettyLimit)
			}
			_, err = c.ReadFrame()
			var tl *framing.FrameTooLargeError
			if !errors.As(err, &tl) || !tl.Skipped {
				t.Fatalf("frame over the limit: %v, want a skipped *FrameTooLargeError", err)
			}
			if p, err := c.ReadFrame(); err != nil || len(p) != 10 {
				t.Fatalf("frame after the skipped one: %d bytes, %v; want 10 bytes", len(p), err)
			}
			sender.expect(t, "SENT", 20*time.Second)
			t.Logf("framekit (MaxFrameSize %d, Skip) reading Netty's %s: %v", nettyLimit, name, err)
		})
	}
}

func readEcho(t *testing.T, c *framing.Conn, want []byte) {
	t.Helper()
	got, err := c.ReadFrame()
	if err != nil {
		t.Fatalf("reading the echo of %d bytes: %v", len(want), err)
	}
	if string(got) != string(want) {
		t.Fatalf("echo: %s", difference(got, want))
	}
}

// limitPayloads returns a frame of exactly Netty's limit, one a byte over
// it, and a small one, in the spec's format.
func limitPayloads(s spec, seed int64) [][]byte {
	var out [][]byte
	for _, n := range []int{nettyLimit, nettyLimit + 1, 10} {
		r := newRand(seed + int64(n))
		switch s.name {
		case "lines":
			out = append(out, lineBytes(r, n))
		case "crlf2":
			out = append(out, delimitedBytes(r, n, crlf2))
		default:
			out = append(out, randomBytes(r, n))
		}
	}
	return out
}
