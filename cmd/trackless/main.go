// Command trackless turns access logs into web analytics with no JavaScript
// tracker. See README.md.
package main

import (
	"os"
	"runtime/debug"

	"github.com/trackless/trackless/internal/cli"
)

// gcPercent is the garbage collector's target unless GOGC is set: a hit
// makes a few short-lived allocations, and collecting half as often saves
// about a fifth of the CPU time for a few MiB more (BENCHMARKS.md).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	fi, err := os.Stderr.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	os.Exit(cli.Main(cli.Env{
		Args:             os.Args[1:],
		Getenv:           os.Getenv,
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		StderrIsTerminal: tty,
	}))
}
