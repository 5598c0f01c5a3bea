package cli

import (
	"fmt"

	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/pipeline"
)

func runReplay(env Env, args []string) int {
	var c config
	positional, _, code, ok := parseArgs(env, cmdReplay, &c, args)
	if !ok {
		return code
	}
	if len(positional) != 1 {
		fmt.Fprintln(env.Stderr, "trackless: replay takes one dead-letter file")
		return ExitUsage
	}
	if c.matomoURL == "" {
		fmt.Fprintln(env.Stderr, "trackless: missing Matomo URL: set --matomo-url or MATOMO_URL")
		return ExitUsage
	}
	if err := c.readTokenFile(); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	client, err := c.newClient(log)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitUsage
	}
	led, err := ledger.Open(c.stateDir)
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitFatal
	}
	defer led.Close()
	rec := c.recorders()
	defer rec.close()
	ctx, _, stop := signalContexts(log)
	defer stop()
	if _, err := client.Probe(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		return ExitMatomo
	}
	st, err := pipeline.Replay(ctx, positional[0], client, led, rec.deadLetter, rec.inDoubt, rec.rejected, log)
	fmt.Fprintf(env.Stderr, "trackless replay: %s (%d replayed before), sent %d (tracked %d, invalid %d)\n",
		plural(st.Records, "record", "records"), st.RecordsSkipped, st.Sent, st.Tracked, st.Invalid)
	code = ExitOK
	if st.DeadLettered > 0 || st.Invalid > 0 || st.InDoubt > 0 || len(st.Damaged) > 0 {
		code = ExitUndelivered
		if st.DeadLettered > 0 {
			fmt.Fprintf(env.Stderr, "  NOT DELIVERED: %s refused again, written to %s\n", plural(st.DeadLettered, "hit", "hits"), st.DeadLetterFile)
		}
		if st.InDoubt > 0 {
			fmt.Fprintf(env.Stderr, "  IN DOUBT: %s Matomo may have stored, written to %s\n", plural(st.InDoubt, "hit", "hits"), st.InDoubtFile)
		}
		if len(st.Damaged) > 0 {
			fmt.Fprintf(env.Stderr, "  DAMAGED: lines %v of %s are not whole records (cut by a full disk?): skipped\n", st.Damaged, positional[0])
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		code = exitCode(nil, err)
	}
	if c.summaryJSON != "" {
		if err := writeSummaryJSON(env, c.summaryJSON, st, code); err != nil {
			fmt.Fprintln(env.Stderr, "trackless:", err)
		}
	}
	return code
}
