package interop

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gitEnv runs git with no system or user configuration and a fixed author.
func gitEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=interop", "GIT_AUTHOR_EMAIL=interop@example.com",
		"GIT_COMMITTER_NAME=interop", "GIT_COMMITTER_EMAIL=interop@example.com")
}

// git runs a git command in dir and returns its output and stderr.
func git(t *testing.T, home, dir string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan struct{})
	timer := time.AfterFunc(time.Minute, func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
		}
		close(done)
	})
	out, err := cmd.Output()
	timer.Stop()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), stderr.String()
}

// commit writes files of random bytes (some large, so the pack spans many
// packets) and commits them.
func commit(t *testing.T, home, dir string, r *rand.Rand, n int) {
	t.Helper()
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("f%d-%d.bin", r.Intn(1000), i))
		if err := os.WriteFile(name, randomBytes(r, sizeOf(r, 256<<10)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, home, dir, "add", "-A")
	git(t, home, dir, "commit", "-q", "-m", fmt.Sprintf("commit %d", r.Int()))
}

var relayCounts = regexp.MustCompile(`GITRELAY (\S+) data=(\d+) flush=(\d+) delim=(\d+) response-end=(\d+) raw=(\d+)`)

// relayed sums what the relays of one git command framed, by direction.
func relayed(t *testing.T, stderr string) map[string][5]int {
	t.Helper()
	got := map[string][5]int{}
	for _, m := range relayCounts.FindAllStringSubmatch(stderr, -1) {
		c := got[m[1]]
		for i := range 5 {
			n, _ := strconv.Atoi(m[i+2])
			c[i] += n
		}
		got[m[1]] = c
	}
	if len(got) == 0 {
		t.Fatalf("no relay ran; git's stderr:\n%s", stderr)
	}
	return got
}

// TestGitPktLine: real git clone, fetch and push sessions, over a local
// pipe, through a relay (testdata/gitrelay) that re-cuts each direction
// and frames every pkt-line with textframe.PktLine before writing it again
// with the encoder: git itself checks the framing. Protocol v2 and v0
// (side-band-64k carries the pack in pkt-lines); for a push, the command
// list is framed and the pack after its flush taken with Detach.
func TestGitPktLine(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		missingPeer(t, "git", "apt-get install -y git")
	}
	seed := seedFor(t)
	tmp := t.TempDir()
	relay := filepath.Join(tmp, "gitrelay")
	out, err := exec.Command("go", "build", "-o", relay, "./testdata/gitrelay").CombinedOutput()
	if err != nil {
		t.Fatalf("building gitrelay: %v\n%s", err, out)
	}
	home := filepath.Join(tmp, "home")
	os.MkdirAll(home, 0o755)
	origin := filepath.Join(tmp, "origin.git")
	work := filepath.Join(tmp, "work")
	git(t, home, tmp, "init", "-q", "--bare", "-b", "main", origin)
	git(t, home, tmp, "init", "-q", "-b", "main", work)
	r := rand.New(rand.NewSource(seed))
	for range 3 {
		commit(t, home, work, r, 4)
	}
	git(t, home, work, "push", "-q", origin, "main")
	url := "file://" + origin
	upload := fmt.Sprintf("%s upload %d", relay, seed)
	receive := fmt.Sprintf("%s receive %d", relay, seed)
	for _, version := range []string{"2", "0"} {
		t.Run("v"+version, func(t *testing.T) {
			proto := "protocol.version=" + version
			clone := filepath.Join(tmp, "clone-v"+version)
			_, stderr := git(t, home, tmp, "-c", proto, "clone", "-q", "--upload-pack="+upload, url, clone)
			c := relayed(t, stderr)
			if head, want := mustRev(t, home, clone, "HEAD"), mustRev(t, home, origin, "main"); head != want {
				t.Fatalf("clone: HEAD %s, origin %s", head, want)
			}
			git(t, home, clone, "fsck", "--strict")
			t.Logf("clone: client to server %v, server to client %v (data, flush, delim, response-end, raw)", c["c>s"], c["s>c"])
			if c["s>c"][0] < 3 || c["s>c"][1] < 1 || c["c>s"][0] < 1 || c["c>s"][1] < 1 { // refs, acks, pack; wants, flush
				t.Errorf("clone framed too little: %v", c)
			}
			if version == "2" && c["c>s"][2] < 1 {
				t.Errorf("a v2 fetch sends a delim packet; none framed: %v", c)
			}
			// New commits in origin, then a fetch.
			git(t, home, work, "fetch", "-q", origin, "main")
			git(t, home, work, "reset", "-q", "--hard", "FETCH_HEAD")
			commit(t, home, work, r, 3)
			git(t, home, work, "push", "-q", origin, "main")
			_, stderr = git(t, home, clone, "-c", proto, "fetch", "-q", "--upload-pack="+upload, "origin")
			relayed(t, stderr)
			if got, want := mustRev(t, home, clone, "origin/main"), mustRev(t, home, origin, "main"); got != want {
				t.Fatalf("fetch: origin/main %s, origin %s", got, want)
			}
			// A push from the clone: commands framed, the pack detached.
			git(t, home, clone, "merge", "-q", "--ff-only", "origin/main")
			commit(t, home, clone, r, 3)
			_, stderr = git(t, home, clone, "-c", proto, "push", "-q", "--receive-pack="+receive, "origin", "main")
			p := relayed(t, stderr)
			if got, want := mustRev(t, home, origin, "main"), mustRev(t, home, clone, "HEAD"); got != want {
				t.Fatalf("push: origin main %s, pushed %s", got, want)
			}
			t.Logf("push: client to server %v, server to client %v", p["c>s"], p["s>c"])
			if p["c>s"][0] < 1 || p["c>s"][4] < 32 { // a pack: 12-byte header, objects, 20-byte checksum
				t.Errorf("push: no command framed, or no pack detached: %v", p)
			}
		})
	}
}

func mustRev(t *testing.T, home, dir, rev string) string {
	t.Helper()
	out, _ := git(t, home, dir, "rev-parse", rev)
	return out
}
