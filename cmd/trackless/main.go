// Command trackless turns access logs into web analytics with no JavaScript
// tracker. See README.md.
package main

import (
	"os"

	"github.com/trackless/trackless/internal/cli"
)

func main() {
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
