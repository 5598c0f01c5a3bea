// Command trackless turns access logs into web analytics with no JavaScript
// tracker. See README.md. Started by AWS Lambda without arguments (as the
// bootstrap of a provided.al2023 function), it serves Lambda invocations.
package main

import (
	"os"
	"runtime/debug"
	_ "time/tzdata" // Matomo sites' time zones, also where the system has no zoneinfo (AWS Lambda)

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
	if cli.IsLambda(os.Args[1:], os.Getenv) {
		// In AWS Lambda (as bootstrap): serve invocations.
		os.Exit(cli.Lambda(cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
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
