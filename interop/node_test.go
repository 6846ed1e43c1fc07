package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/framekit/framekit/framing"
	"github.com/framekit/framekit/lengthprefix"
)

const nodeInstall = "cd interop/testdata/node && npm ci (Node 18 or later; interop/ci.sh does it)"

// nodeLimit is the maxDataLength of the server that shows what
// it-length-prefixed does at its limit.
const nodeLimit = 1024

func nodePeer(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(t, "node", "apt-get install -y nodejs npm && "+nodeInstall)
	}
	if _, err := os.Stat(filepath.Join(testdata(t, "node"), "node_modules", "it-length-prefixed", "package.json")); err != nil {
		missingPeer(t, "it-length-prefixed", nodeInstall)
	}
	return []string{node, "peer.mjs"}
}

// TestNode exchanges 1,000 frames each way with it-length-prefixed (an
// unsigned varint before each message), through the re-cutting proxy.
func TestNode(t *testing.T) {
	node := nodePeer(t)
	dir := testdata(t, "node")
	specs := []spec{{name: "uvarint", codec: lengthprefix.Uvarint, gen: binaryUpTo(64 << 10)}}
	limitSpec := fmt.Sprintf("uvarint:%d", nodeLimit)
	server := startPeer(t, "node server", dir, append(append([]string(nil), node...), "server", "uvarint", limitSpec)...)
	addrs := server.listening(t)

	t.Run("framekit-node-framekit/uvarint", func(t *testing.T) {
		seed := seedFor(t)
		p := newProxy(t, addrs["uvarint"], seed)
		exchange(t, p.Addr(), lengthprefix.Uvarint, nil, frames(seed, frameCount, specs[0].gen), seed)
	})

	t.Run("node-framekit-node", func(t *testing.T) {
		runClient(t, seedFor(t), specs, append(node, "client"), dir, "node client")
	})

	// At maxDataLength: a frame of exactly the limit is echoed; one byte
	// more makes the decoding generator throw InvalidDataLengthError,
	// which ends the stream: the connection is closed.
	t.Run("limit-framekit-node/uvarint", func(t *testing.T) {
		c, err := framing.Dial("tcp", addrs[limitSpec], lengthprefix.Uvarint, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := newRand(seedFor(t))
		payloads := [][]byte{randomBytes(r, nodeLimit), randomBytes(r, nodeLimit+1), randomBytes(r, 10)}
		if err := c.WriteFrames(payloads); err != nil {
			t.Fatal(err)
		}
		readEcho(t, c, payloads[0])
		_, err = c.ReadFrame()
		if err == nil {
			t.Fatal("the connection went on after the oversized frame")
		}
		exc := server.waitFor("EXCEPTION "+limitSpec+" ", 5*time.Second)
		if len(exc) != 1 {
			t.Fatalf("node reported %q, want one exception", exc)
		}
		t.Logf("it-length-prefixed at maxDataLength %d: %s; framekit then read: %v", nodeLimit, exc[0], err)
	})
}
