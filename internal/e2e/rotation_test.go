package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

// This file checks, end to end, the rotations of issue 14's acceptance that
// live_test.go does not: cron runs given only the live path through
// delaycompress, dateext and copytruncate, and rotations whose new log
// takes the inode of a file just compressed; a log truncated, or deleted
// and recreated on the same inode, while trackless was not running; and
// send --follow killed with SIGKILL, or reading a half-written line and a
// file shorter than the fingerprint.

// saysLost reports whether a run's stderr says that it cannot find the
// rotated remainder (or copy) of the file a path was: its last lines may
// be lost.
func saysLost(stderr string) bool {
	return strings.Contains(stderr, "the file it was is not beside it") || strings.Contains(stderr, "no copy of what it held is beside it")
}

// cronLog is a live log in its own folder (nginx/access.log, nothing else
// beside it) whose lines are generated, a Matomo, and a state directory:
// the setting of a cron job given only the path.
type cronLog struct {
	t    *testing.T
	dir  string // the test's temporary directory (the log's folder is in it)
	live string // dir/nginx/access.log
	srv  *matomotest.Server
	env  []string
	part func(from, to int) string
	all  string // every line written to any file, in order
}

func newCronLog(t *testing.T, lines int, seed int64) *cronLog {
	t.Helper()
	dir := t.TempDir()
	_, part := logLines(t, dir, lines, seed)
	logs := filepath.Join(dir, "nginx")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := siteServer(t, matomotest.Config{})
	return &cronLog{t: t, dir: dir, live: filepath.Join(logs, "access.log"), srv: srv,
		env: sendEnv(srv, filepath.Join(dir, "state")), part: part}
}

// write appends lines [from, to) to the file p (created if need be), as
// nginx does.
func (c *cronLog) write(p string, from, to int) {
	c.t.Helper()
	appendLog(c.t, p, c.part(from, to))
	c.all += c.part(from, to)
}

// rename moves a file as logrotate does.
func (c *cronLog) rename(from, to string) {
	c.t.Helper()
	if err := os.Rename(from, to); err != nil {
		c.t.Fatal(err)
	}
}

// copyTo copies a file as logrotate's copytruncate does (a new file: its
// own inode).
func (c *cronLog) copyTo(from, to string) {
	c.t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// send is the cron job: send given only the live path. It fails the test
// when the run exits non-zero or reads a malformed line (a line cut, or a
// file read from another file's offset), and returns what it said.
func (c *cronLog) send(step string) string {
	c.t.Helper()
	r := run(c.t, c.env, "send", "--mode", "visits", c.live)
	if r.code != 0 {
		c.t.Fatalf("%s: send exited %d:\n%s", step, r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "malformed") {
		c.t.Fatalf("%s: a malformed line was read:\n%s", step, r.stderr)
	}
	return r.stderr
}

// check fails when Matomo does not hold every page view written, once.
func (c *cronLog) check(step string) {
	c.t.Helper()
	checkStoredAs(c.t, step, c.srv, c.env, c.dir, c.all)
}

// pageViews is how many page views (items of parse --mode visits) the
// lines s hold: a test whose lines have none proves nothing.
func (c *cronLog) pageViews(s string) int {
	c.t.Helper()
	p := filepath.Join(c.dir, "count.log")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return len(parseItemsEnv(c.t, c.env, "--mode", "visits", p))
}

// TestDelaycompressGivenOnlyThePath: cron runs given only the live path
// through two rotations with logrotate's delaycompress. The first renames
// access.log to access.log.1, into which nginx goes on writing (late lines,
// also after the next run); the second compresses access.log.1 into
// access.log.2.gz and renames access.log to access.log.1. The late lines
// written after the run are then only in access.log.2.gz: the next run
// finds it by its content and reads them (without the feature they are
// lost), reads the rest of the new access.log.1, and sends nothing twice.
func TestDelaycompressGivenOnlyThePath(t *testing.T) {
	c := newCronLog(t, 1000, 61)
	live := c.live
	c.write(live, 0, 300)
	c.send("first run")
	// The first rotation: nginx writes into the renamed file until it
	// reopens its log, then into the new one.
	c.write(live, 300, 400)
	c.rename(live, live+".1")
	c.write(live+".1", 400, 450)
	c.write(live, 450, 600)
	if said := c.send("after the first rotation"); saysLost(said) {
		t.Errorf("after the first rotation, access.log.1 was not found:\n%s", said)
	}
	c.check("after the first rotation")
	// Late lines into access.log.1 after that run.
	c.write(live+".1", 600, 650)
	if n := c.pageViews(c.part(600, 650)); n == 0 {
		t.Fatal("the late lines hold no page view: the test would prove nothing")
	}
	// The second rotation: access.log.1 compressed as access.log.2.gz,
	// access.log renamed access.log.1 (late lines into it too), a new
	// access.log.
	gzipFile(t, live+".1", live+".2.gz")
	c.rename(live, live+".1")
	c.write(live+".1", 650, 700)
	c.write(live, 700, 850)
	if said := c.send("after the second rotation"); saysLost(said) {
		t.Errorf("after the second rotation, a rotated file was not found:\n%s", said)
	}
	c.check("after the second rotation (late lines only in access.log.2.gz)")
	// A later run sends the new lines only.
	c.write(live, 850, 900)
	c.send("a later run")
	c.check("a later run")
}

// TestDateext: logrotate's dateext (access.log becomes access.log-20261204)
// with cron runs given only the live path, with and without compress and
// delaycompress: the lines written to the old file after the last run
// (late lines into the renamed file, or the rest of a file compressed at
// once) are read from access.log-20261204 or access.log-20261204.gz,
// found by device and inode or by content; nothing twice.
func TestDateext(t *testing.T) {
	t.Run("rename", func(t *testing.T) {
		c := newCronLog(t, 800, 62)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		c.rename(live, live+"-20261204")
		c.write(live+"-20261204", 400, 450)
		c.write(live, 450, 550)
		if said := c.send("after the rotation"); saysLost(said) {
			t.Errorf("access.log-20261204 was not found:\n%s", said)
		}
		c.check("after the rotation")
		// Late lines after that run, then the next day's rotation.
		c.write(live+"-20261204", 550, 600)
		c.rename(live, live+"-20261205")
		c.write(live, 600, 700)
		if said := c.send("after the next rotation"); saysLost(said) {
			t.Errorf("after the next rotation, a rotated file was not found:\n%s", said)
		}
		c.check("after the next rotation")
	})
	t.Run("compress", func(t *testing.T) {
		// Without delaycompress the rest of the old file is only in
		// access.log-20261204.gz.
		c := newCronLog(t, 800, 63)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		if n := c.pageViews(c.part(300, 400)); n == 0 {
			t.Fatal("the lines only in the compressed file hold no page view")
		}
		gzipFile(t, live, live+"-20261204.gz")
		c.write(live, 400, 550)
		if said := c.send("after the rotation"); saysLost(said) {
			t.Errorf("access.log-20261204.gz was not found:\n%s", said)
		}
		c.check("after the rotation (the rest only in access.log-20261204.gz)")
		// (A second rotation compressing at once, the new log often on
		// the inode just freed: TestRotationOnTheFreedInode.)
		c.write(live, 550, 600)
		c.send("a later run")
		c.check("a later run")
	})
	t.Run("delaycompress", func(t *testing.T) {
		c := newCronLog(t, 900, 64)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		c.rename(live, live+"-20261204")
		c.write(live+"-20261204", 400, 450)
		c.write(live, 450, 550)
		c.send("after the rotation")
		c.check("after the rotation")
		// Late lines after that run; the next day, access.log-20261204 is
		// compressed and access.log renamed access.log-20261205.
		c.write(live+"-20261204", 550, 600)
		if n := c.pageViews(c.part(550, 600)); n == 0 {
			t.Fatal("the late lines hold no page view")
		}
		gzipFile(t, live+"-20261204", live+"-20261204.gz")
		c.rename(live, live+"-20261205")
		c.write(live+"-20261205", 600, 650)
		c.write(live, 650, 800)
		if said := c.send("after the next rotation"); saysLost(said) {
			t.Errorf("a rotated file was not found:\n%s", said)
		}
		c.check("after the next rotation (late lines only in access.log-20261204.gz)")
	})
}

// copytruncate copies the live log to to and truncates it to nothing, as
// logrotate's copytruncate does (the copy is a new file: its own inode;
// the log keeps its inode).
func (c *cronLog) copytruncate(to string) {
	c.t.Helper()
	c.copyTo(c.live, to)
	if err := os.Truncate(c.live, 0); err != nil {
		c.t.Fatal(err)
	}
}

// TestCopytruncateGivenOnlyThePath: logrotate's copytruncate, cron runs
// given only the live path: the log is copied to access.log.1 (compressed
// at once, or at the next rotation with delaycompress), truncated to
// nothing, and written on from its start. The lines written after the
// last run and before the copy are read from the copy (found beside the
// path by its content); the new lines from the start of the truncated
// file; nothing twice.
func TestCopytruncateGivenOnlyThePath(t *testing.T) {
	t.Run("writes between the last run and the copy", func(t *testing.T) {
		c := newCronLog(t, 600, 65)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400) // after the run, before the copy
		if n := c.pageViews(c.part(300, 400)); n == 0 {
			t.Fatal("the lines written before the copy hold no page view")
		}
		c.copytruncate(live + ".1")
		c.write(live, 400, 500)
		if said := c.send("after copytruncate"); saysLost(said) {
			t.Errorf("the copy was not found:\n%s", said)
		}
		c.check("after copytruncate (the lines before the copy only in access.log.1)")
		c.write(live, 500, 600)
		c.send("a later run")
		c.check("a later run")
	})
	t.Run("no writes between the last run and the copy", func(t *testing.T) {
		c := newCronLog(t, 600, 66)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.copytruncate(live + ".1")
		// Fewer new lines than the fingerprint holds: the truncated file
		// is short again.
		c.write(live, 300, 310)
		if n := c.pageViews(c.part(300, 310)); n == 0 {
			t.Fatal("the new lines hold no page view")
		}
		if said := c.send("after copytruncate"); saysLost(said) {
			t.Errorf("the run says something was lost (nothing was, and the copy is beside the path):\n%s", said)
		}
		c.check("after copytruncate")
		c.write(live, 310, 400)
		c.send("a later run")
		c.check("a later run")
	})
	t.Run("the copy compressed at once", func(t *testing.T) {
		c := newCronLog(t, 600, 71)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		c.copytruncate(live + ".1")
		gzipFile(t, live+".1", live+".1.gz")
		c.write(live, 400, 500)
		if said := c.send("after copytruncate"); saysLost(said) {
			t.Errorf("the compressed copy was not found:\n%s", said)
		}
		c.check("after copytruncate (the lines before the copy only in access.log.1.gz)")
		c.write(live, 500, 600)
		c.send("a later run")
		c.check("a later run")
	})
	t.Run("delaycompress: the copy compressed at the next rotation", func(t *testing.T) {
		c := newCronLog(t, 700, 72)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		c.copytruncate(live + ".1")
		c.write(live, 400, 500)
		c.send("after copytruncate")
		c.check("after copytruncate")
		// The next rotation: access.log.1 compressed as access.log.2.gz
		// (read once: not again), a new copy.
		c.write(live, 500, 550)
		gzipFile(t, live+".1", live+".2.gz")
		c.copytruncate(live + ".1")
		c.write(live, 550, 650)
		c.send("after the next rotation")
		c.check("after the next rotation")
	})
}

// TestTruncatedWhileStopped: a log read by a run, then truncated in place
// (no copy) and written anew while trackless was not running: the next
// run reads the new content from its start (the file has the same inode,
// but another start, so it is not the file read), sends nothing twice and
// reads nothing malformed, whether the new content is shorter or longer
// than the old one, and with files shorter than the fingerprint (whose
// ledger key is their device and inode alone).
func TestTruncatedWhileStopped(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new int // lines
		short    bool
	}{
		{"new content shorter", 300, 100, false},
		{"new content longer", 100, 300, false},
		{"short files, new content longer", 6, 12, true},
		{"short files, new content shorter", 12, 6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCronLog(t, 420, 67)
			live := c.live
			// The new content starts elsewhere in the generated log: other
			// first lines.
			from := 400 - tc.new
			c.write(live, 0, tc.old)
			c.send("first run")
			if err := os.Truncate(live, 0); err != nil {
				t.Fatal(err)
			}
			c.write(live, from, 400)
			if n := c.pageViews(c.part(from, 400)); n == 0 {
				t.Fatal("the new content holds no page view")
			}
			if st, _ := os.Stat(live); tc.short && st.Size() >= 4096 || !tc.short && st.Size() < 4096 {
				t.Fatalf("the new content is %d bytes: not what the case is about", st.Size())
			}
			if said := c.send("after the truncation"); saysLost(said) {
				t.Logf("the run says:\n%s", said)
			}
			c.check("after the truncation")
			c.write(live, 400, 420) // more lines: only these are sent
			c.send("a later run")
			c.check("a later run")
		})
	}
}

// inodeOf returns the inode of the file p.
func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers on this system")
	}
	return uint64(sys.Ino)
}

// createOnInode creates the file p with content, with the inode ino (one
// freed just before: file systems reuse a freed inode; ext4 takes the
// first free one of the folder's group). A new file given another inode
// is kept aside (its inode taken) and another is tried. It returns how
// many files it took, 0 when none got the inode.
func createOnInode(t *testing.T, p, content string, ino uint64) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		appendLog(t, p, content)
		if inodeOf(t, p) == ino {
			return i + 1
		}
		if err := os.Rename(p, filepath.Join(filepath.Dir(p), fmt.Sprintf("other-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	return 0
}

// recreateOnSameInode deletes the file p and creates a new file there,
// with content, that has the inode p had (see createOnInode).
func recreateOnSameInode(t *testing.T, p, content string) int {
	t.Helper()
	was := inodeOf(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	return createOnInode(t, p, content, was)
}

// createLiveOn creates the live log anew after a rotation, with lines
// [from, to), on the inode ino the rotation freed (compressing a file
// deletes it): nginx reopening its log right after logrotate's compress
// often gets it. It skips the test when the file system gives another.
func (c *cronLog) createLiveOn(ino uint64, from, to int) {
	c.t.Helper()
	if _, err := os.Stat(c.live); err == nil {
		c.t.Fatal("the live log exists already")
	}
	if createOnInode(c.t, c.live, c.part(from, to), ino) == 0 {
		c.t.Skip("the file system did not give the new log the inode just freed in 50 attempts")
	}
	c.all += c.part(from, to)
}

// TestRotationOnTheFreedInode: cron runs given only the live path, through
// rotations that compress a file (deleting it, its inode freed) just
// before nginx creates the new log, which the file system gives that
// inode (ext4 does, most of the time). The file the path was is still
// told from the one before it on that inode (by its first bytes): the
// rest of each is read from where the rotations put it, nothing is lost,
// nothing sent twice.
func TestRotationOnTheFreedInode(t *testing.T) {
	t.Run("compress", func(t *testing.T) {
		c := newCronLog(t, 700, 73)
		live := c.live
		c.write(live, 0, 300)
		c.send("first run")
		c.write(live, 300, 400)
		ino := inodeOf(t, live)
		gzipFile(t, live, live+".1.gz")
		c.createLiveOn(ino, 400, 500)
		c.send("after the first rotation")
		c.check("after the first rotation")
		c.write(live, 500, 600)
		if n := c.pageViews(c.part(500, 600)); n == 0 {
			t.Fatal("the lines only in the second compressed file hold no page view")
		}
		ino = inodeOf(t, live)
		c.rename(live+".1.gz", live+".2.gz")
		gzipFile(t, live, live+".1.gz")
		c.createLiveOn(ino, 600, 700)
		if said := c.send("after the second rotation"); saysLost(said) {
			t.Errorf("after the second rotation, a rotated file was not found:\n%s", said)
		}
		c.check("after the second rotation (the rest of the second log only in access.log.1.gz)")
	})
	t.Run("delaycompress", func(t *testing.T) {
		c := newCronLog(t, 700, 74)
		live := c.live
		c.write(live, 0, 200)
		c.send("first run")
		// access.log (A) becomes access.log.1.
		c.write(live, 200, 250)
		c.rename(live, live+".1")
		c.write(live+".1", 250, 270)
		c.write(live, 270, 350) // B
		c.send("after the first rotation")
		c.check("after the first rotation")
		// A is compressed (its inode freed), B becomes access.log.1, the
		// new log C takes A's inode.
		c.write(live+".1", 350, 370)
		ino := inodeOf(t, live+".1")
		gzipFile(t, live+".1", live+".2.gz")
		c.rename(live, live+".1")
		c.write(live+".1", 370, 380)
		c.createLiveOn(ino, 380, 450)
		c.send("after the second rotation")
		c.check("after the second rotation")
		// B is compressed, C (on A's old inode) becomes access.log.1.
		c.write(live, 450, 500)
		if n := c.pageViews(c.part(450, 520)); n == 0 {
			t.Fatal("the lines of C after the last run hold no page view")
		}
		ino = inodeOf(t, live+".1")
		c.rename(live+".2.gz", live+".3.gz")
		gzipFile(t, live+".1", live+".2.gz")
		c.rename(live, live+".1")
		c.write(live+".1", 500, 520)
		c.createLiveOn(ino, 520, 600)
		if said := c.send("after the third rotation"); saysLost(said) {
			t.Errorf("after the third rotation, a rotated file was not found:\n%s", said)
		}
		c.check("after the third rotation (the rest of C in access.log.1)")
	})
}

// TestDeletedRecreatedSameInode: a log read by a run, then deleted, and a
// new log created at its path that the file system gives the same inode:
// the new file (other first lines) is not taken for the old one (the
// ledger's entry at that device and inode does not match its start): it
// is read whole, longer or shorter than the fingerprint.
func TestDeletedRecreatedSameInode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new int
	}{
		{"longer than the fingerprint", 300, 200},
		{"shorter than the fingerprint", 6, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCronLog(t, 400, 68)
			live := c.live
			c.write(live, 0, tc.old)
			c.send("first run")
			from := 400 - tc.new
			if n := c.pageViews(c.part(from, 400)); n == 0 {
				t.Fatal("the new file holds no page view")
			}
			n := recreateOnSameInode(t, live, c.part(from, 400))
			if n == 0 {
				t.Skip("the file system did not give the new file the inode of the deleted one in 50 attempts")
			}
			t.Logf("the new file has the old one's inode (%d files created)", n)
			c.all += c.part(from, 400)
			if said := c.send("after the new file"); saysLost(said) {
				t.Logf("the run says (the old file was deleted):\n%s", said)
			}
			c.check("the new file on the old inode")
		})
	}
}

// startFollow starts send --follow --poll 100ms --mode visits args, its
// stderr kept; it is killed at the end of the test if still running.
func startFollow(t *testing.T, env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"send", "--follow", "--poll", "100ms", "--mode", "visits"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	errb := &syncBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, errb
}

// syncBuffer is a command's stderr that a test may print while the
// command still writes to it.
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

// waitUntil polls cond until it holds or 30 s have passed (a bound against
// a hang, not a measure of speed); it returns cond's last answer.
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestFollowKill9: send --follow over a live log written in chunks is
// killed with SIGKILL while batches of a large chunk are in flight (the
// receiver holds them open until the client is gone, then commits them,
// as PHP with ignore_user_abort does), then started again with more lines
// written meanwhile (and, in the second case, a rotation compressing the
// log at once: the rest of it only in access.log.1.gz): every page view
// reaches Matomo, and what is stored twice is at most the batches in
// flight when it was killed: at most --concurrency × --batch-size hits
// (4 × 20 = 80; the test kills it when all four request slots hold a
// batch, so 80 is what it expects), as for a plain send killed
// (TestKillAndResume): what was confirmed was checkpointed as it was
// confirmed, what was not (the batches in flight) is sent again.
func TestFollowKill9(t *testing.T) {
	t.Run("restarted", func(t *testing.T) { followKill9(t, false, false) })
	t.Run("compressed by a rotation before the restart", func(t *testing.T) {
		followKill9(t, true, false)
	})
	// Killed in its first round: no round ended, so what was read of the
	// file is under its content's key only by the first ledger write.
	t.Run("killed in its first round, compressed before the restart", func(t *testing.T) {
		followKill9(t, true, true)
	})
}

func followKill9(t *testing.T, compress, firstRound bool) {
	const batch, conc = 20, 4
	dir := t.TempDir()
	_, part := logLines(t, dir, 2400, 69)
	logs := filepath.Join(dir, "nginx")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(logs, "access.log")
	var gate atomic.Bool
	var passed, held atomic.Int32
	srv := siteServer(t, matomotest.Config{BeforeCommit: func(client context.Context, n int) {
		if !gate.Load() || passed.Add(1) <= 5 {
			return // the batches before the large chunk, and its first five
		}
		held.Add(1)
		<-client.Done()
	}})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	args := []string{"--batch-size", fmt.Sprint(batch), "--concurrency", fmt.Sprint(conc), live}
	all := ""
	write := func(from, to int) { appendLog(t, live, part(from, to)); all += part(from, to) }
	want := func() []string {
		whole := filepath.Join(dir, "all.log")
		os.WriteFile(whole, []byte(all), 0o644)
		return parseItemsEnv(t, env, "--mode", "visits", whole)
	}
	var cmd *exec.Cmd
	var errb *syncBuffer
	if firstRound {
		// The whole chunk there at the start; the sixth batch on is held.
		gate.Store(true)
		write(0, 2000)
		cmd, errb = startFollow(t, env, args...)
	} else {
		write(0, 200)
		cmd, errb = startFollow(t, env, args...)
		w := want()
		if !waitUntil(func() bool { return len(srv.StoredRaw()) >= len(w) }) {
			t.Fatalf("the first chunk: Matomo has %d of %d page views\n%s", len(srv.StoredRaw()), len(w), errb)
		}
		// A large chunk, written in three writes; the sixth batch on is held.
		gate.Store(true)
		write(200, 900)
		write(900, 1500)
		write(1500, 2000)
	}
	// Killed once batches of the chunk are held and no more come: every
	// request slot holds one, or the round that read part of the chunk
	// (the writes may come between two rounds) has no more to send. The
	// batches before were answered.
	var last int32
	settled := func() bool {
		n := held.Load()
		if n == 0 || n != last {
			last = n
			return false
		}
		return true
	}
	if !waitUntil(func() bool { time.Sleep(200 * time.Millisecond); return settled() }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no batch of the large chunk held at Matomo\n%s", errb)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The batches held are committed once the client is gone.
	if !waitUntil(func() bool { return int32(srv.Stats().CommittedClientGone) >= held.Load() }) {
		t.Fatalf("the batches in flight were not committed: %+v", srv.Stats())
	}
	gate.Store(false)
	inFlight := held.Load()
	killedAt := len(srv.StoredRaw())
	if w := want(); killedAt <= 0 || killedAt >= len(w) {
		t.Fatalf("the kill came too early or too late: %d of %d stored", killedAt, len(w))
	}
	// More lines while it is not running (a rotation between them), then
	// again.
	if compress {
		write(2000, 2200)
		gzipFile(t, live, live+".1.gz")
		write(2200, 2400)
	} else {
		write(2000, 2400)
	}
	w := want()
	cmd, errb = startFollow(t, env, args...)
	if !waitUntil(func() bool { missing, _ := compare(w, srv.StoredRaw()); return len(missing) == 0 }) {
		missing, _ := compare(w, srv.StoredRaw())
		t.Fatalf("after the restart, %d page views of %d still missing\n%s", len(missing), len(w), errb)
	}
	exitIn(t, cmd, &errb.b, 0) // read once the command is done
	missing, extra := compare(w, srv.StoredRaw())
	t.Logf("killed with %d batches held in flight (%d committed after it), %d of %d page views stored; in the end %d missing, %d twice (bound %d)", inFlight, srv.Stats().CommittedClientGone, killedAt, len(w), len(missing), extra, conc*batch)
	if len(missing) > 0 {
		t.Fatalf("%d page views lost", len(missing))
	}
	if extra > conc*batch {
		t.Fatalf("%d page views stored twice, more than the %d of the batches in flight", extra, conc*batch)
	}
	if strings.Contains(errb.String(), "malformed") {
		t.Errorf("a malformed line was read after the restart:\n%s", errb)
	}
}

// TestFollowPartialLineAndShortFile: send --follow over a log that starts
// shorter than the fingerprint (4 KiB) and grows past it while followed,
// with a page view's line written in two halves a few polls apart: the
// half line waits for its newline (it is neither sent cut nor counted
// malformed), the file keeps its progress as its fingerprint grows, and
// every page view is sent once; a run afterwards sends nothing again.
func TestFollowPartialLineAndShortFile(t *testing.T) {
	dir := t.TempDir()
	lines, part := logLines(t, dir, 200, 70)
	live := filepath.Join(dir, "access.log")
	srv := siteServer(t, matomotest.Config{})
	env := sendEnv(srv, filepath.Join(dir, "state"))
	c := &cronLog{t: t, dir: dir, env: env}
	// The line cut in two: a page view after the first lines.
	cut := -1
	for i := 6; i < 40; i++ {
		if c.pageViews(lines[i]) == 1 {
			cut = i
			break
		}
	}
	if cut < 0 {
		t.Fatal("no page view among the generated lines")
	}
	all := part(0, cut)
	appendLog(t, live, all)
	if st, _ := os.Stat(live); st.Size() >= 4096 {
		t.Fatalf("the log starts %d bytes long, not shorter than the fingerprint", st.Size())
	}
	want := func() []string {
		whole := filepath.Join(dir, "all.log")
		os.WriteFile(whole, []byte(all), 0o644)
		return parseItemsEnv(t, env, "--mode", "visits", whole)
	}
	cmd, errb := startFollow(t, env, live)
	w := want()
	if !waitUntil(func() bool { return len(srv.StoredRaw()) >= len(w) }) {
		t.Fatalf("the first lines: Matomo has %d of %d page views\n%s", len(srv.StoredRaw()), len(w), errb)
	}
	half := lines[cut]
	appendLog(t, live, half[:len(half)/2])
	// Its writer is at work: modified "now" whatever the clock says.
	future := time.Now().Add(30 * time.Second)
	os.Chtimes(live, future, future)
	time.Sleep(500 * time.Millisecond) // a few polls see the half line
	appendLog(t, live, half[len(half)/2:]+part(cut+1, 60))
	all += part(cut, 60)
	if st, _ := os.Stat(live); st.Size() < 4096 {
		t.Fatalf("the log is %d bytes: it should have grown past the fingerprint", st.Size())
	}
	w = want()
	if !waitUntil(func() bool { missing, _ := compare(w, srv.StoredRaw()); return len(missing) == 0 }) {
		missing, _ := compare(w, srv.StoredRaw())
		t.Fatalf("%d of %d page views missing (the cut line is one)\n%s", len(missing), len(w), errb)
	}
	exitIn(t, cmd, &errb.b, 0) // read once the command is done
	if missing, extra := compare(w, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Fatalf("while following: %d missing, %d twice", len(missing), extra)
	}
	if strings.Contains(errb.String(), "malformed") {
		t.Errorf("the half line was read as a line:\n%s", errb)
	}
	stored := len(srv.StoredRaw())
	if r := run(t, env, "send", "--mode", "visits", live); r.code != 0 || len(srv.StoredRaw()) != stored {
		t.Errorf("a run after the stop: exit %d, %d sent again\n%s", r.code, len(srv.StoredRaw())-stored, r.stderr)
	}
}

// TestQuietLogTwoRotations: a quiet log (nothing written in the 10
// minutes before a cron run) through two rotations: the file at the path
// between them (access.log.1 at the second) is read too. (A path used to
// be recorded only when its file was written lately: the file in between
// was looked for by nobody, its lines lost without a word.)
func TestQuietLogTwoRotations(t *testing.T) {
	c := newCronLog(t, 1000, 63)
	live := c.live
	c.write(live, 0, 300)
	c.send("first run") // live is recent: recorded as A

	// Rotation 1 (delaycompress): A -> access.log.1, late lines into it,
	// a new access.log (B) with a few lines, then a quiet quarter hour.
	c.write(live, 300, 400)
	c.rename(live, live+".1")
	c.write(live+".1", 400, 450)
	c.write(live, 450, 470)
	old := time.Now().Add(-20 * time.Minute)
	for _, p := range []string{live, live + ".1"} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	c.send("after the first rotation, the log quiet for 20 min")
	c.check("after the first rotation")

	// More lines into B, then rotation 2: access.log.1 (A) compressed to
	// .2.gz, B renamed access.log.1, a new access.log (C).
	c.write(live, 470, 600)
	gzipFile(t, live+".1", live+".2.gz")
	c.rename(live, live+".1")
	c.write(live, 600, 650)
	ageBeside(t, live)
	if n := c.pageViews(c.part(470, 600)); n == 0 {
		t.Fatal("lines 470-600 hold no page view: the test would prove nothing")
	}
	said := c.send("after the second rotation")
	if saysLost(said) {
		t.Logf("the run says something was lost:\n%s", said)
	}
	c.check("after the second rotation (B's lines 470-600 only in access.log.1)")
}
