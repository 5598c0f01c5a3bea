package cli

import (
	"fmt"

	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/pipeline"
)

func runReplay(env Env, args []string) error {
	var c config
	positional, _, err := parseCommand(env, cmdReplay, &c, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("replay takes one dead-letter file")
	}
	if c.matomoURL == "" {
		return usagef("missing Matomo URL: set --matomo-url or MATOMO_URL")
	}
	if err := c.readTokenFile(); err != nil {
		return usageError(err)
	}
	log, err := newLogger(env.Stderr, c.logLevel)
	if err != nil {
		return usageError(err)
	}
	client, err := c.newClient(log)
	if err != nil {
		return usageError(err)
	}
	led, err := ledger.Open(c.stateDir)
	if err != nil {
		return fatalError(err)
	}
	defer led.Close()
	rec := c.recorders()
	defer rec.close()
	ctx, _, stop := signalContexts(log, false)
	defer stop()
	if _, err := client.Probe(ctx); err != nil {
		return matomoError(err)
	}
	st, err := pipeline.Replay(ctx, positional[0], client, led, rec.deadLetter, rec.inDoubt, rec.rejected, log)
	fmt.Fprintf(env.Stderr, "trackless replay: %s (%d replayed before), sent %d (tracked %d, invalid %d)\n",
		plural(st.Records, "record", "records"), st.RecordsSkipped, st.Sent, st.Tracked, st.Invalid)
	code := ExitOK
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
		code = exitFor(err)
	}
	if c.summaryJSON != "" {
		if err := writeSummaryJSON(env, c.summaryJSON, st, code); err != nil {
			fmt.Fprintln(env.Stderr, "trackless:", err)
		}
	}
	return said(code)
}
