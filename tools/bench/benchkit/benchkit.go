// Package benchkit holds what the bench commands (tools/bench/latency,
// tools/bench/kinesis) share: the receiver wrapper that notes when each
// item of a bulk request reached Matomo, starting and stopping trackless,
// nearest-rank percentiles, and reading CPU time from /proc.
//
// It is for benchmarks only: nothing here asserts a timing.
package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a started command (trackless) that Stop ends with SIGTERM.
type Process struct {
	Cmd *exec.Cmd
	// Exited receives cmd.Wait's result once, when the command exits. A
	// caller that takes it and still means to call Stop puts it back
	// (Arrivals.Wait does).
	Exited chan error
}

// Start starts cmd with its stdout and stderr going to out, and waits for
// it in the background.
func Start(cmd *exec.Cmd, out io.Writer) (*Process, error) {
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, Exited: make(chan error, 1)}
	go func() { p.Exited <- cmd.Wait() }()
	return p, nil
}

// Stop sends the process SIGTERM and returns how it exited; it kills it if
// it has not exited within 30 s and then returns an error saying so.
func (p *Process) Stop() error {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.Exited:
		return err
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.Exited
		return errors.New("trackless did not stop within 30 s of SIGTERM: killed")
	}
}

// PrintExit prints how trackless ended (err from Stop: nil is "exit 0"),
// with the last line of its stderr, kept in stderrFile.
func PrintExit(err error, stderrFile string) {
	data, _ := os.ReadFile(stderrFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	status := "exit 0"
	if err != nil {
		status = err.Error()
	}
	fmt.Printf("trackless: %s: %s\n", status, lines[len(lines)-1])
}

// Pct is the p-th percentile (nearest rank, p from 0 to 100) of d, rounded
// to the millisecond, "-" if d is empty. d is not changed.
func Pct(d []time.Duration, p float64) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := max(0, int(math.Ceil(p/100*float64(len(s))))-1)
	return s[i].Round(time.Millisecond).String()
}

// CPUTicks is a process's user + system CPU time in clock ticks
// (/proc/PID/stat fields 14 and 15; 100 a second on Linux). A pid of 0 or
// less is an error.
func CPUTicks(pid int) (int64, error) {
	if pid <= 0 {
		return 0, errors.New("no process")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(string(data[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	return u + s, nil
}

// CleanEnv is this process's environment without the settings trackless
// reads (MATOMO_*, TRACKLESS_*, CLOUDFRONT_*, BATCH_SIZE, LOG_LEVEL, the
// filter settings) nor any variable whose name starts with one of drop
// (such as "AWS_"), so that only the benchmark's apply.
func CleanEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MATOMO_") || strings.HasPrefix(name, "TRACKLESS_") ||
			strings.HasPrefix(name, "CLOUDFRONT_") || name == "BATCH_SIZE" || name == "LOG_LEVEL" ||
			name == "USER_AGENT_ALLOWLIST_REGEX" || name == "HTTP_METHOD_ALLOWLIST" ||
			name == "URL_EXCLUDE_REGEX" || name == "DOCUMENT_REGEX" ||
			slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		env = append(env, kv)
	}
	return env
}
