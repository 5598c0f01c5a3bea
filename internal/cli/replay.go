package cli

import (
	"fmt"

	"github.com/trackless/trackless/internal/ledger"
	"github.com/trackless/trackless/internal/pipeline"
)

func runReplay(env Env, args []string) int {
	var c config
	peers := map[string]string{
		"matomo-url": "MATOMO_URL", "token-auth": "MATOMO_TOKEN_AUTH",
		"timeout-ms": "MATOMO_TIMEOUT_MS", "log-level": "LOG_LEVEL",
	}
	fs := newFlagSet(env, "replay", "DEAD-LETTER-FILE")
	fs.StringVar(&c.matomoURL, "matomo-url", "", "Matomo base URL (MATOMO_URL)")
	fs.StringVar(&c.token, "token-auth", "", "Matomo token_auth (MATOMO_TOKEN_AUTH)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the Matomo token")
	fs.IntVar(&c.timeoutMS, "timeout-ms", 5000, "deadline of one HTTP attempt, in ms (MATOMO_TIMEOUT_MS)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "silent, error, warn, info or debug (LOG_LEVEL)")
	fs.StringVar(&c.summaryJSON, "summary-json", "", "write the summary as JSON to this file (- for stdout)")
	deliveryFlags(fs, &c)
	positional, code, ok := parseArgs(env, fs, peers, args)
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
	dl, rj := c.recorders()
	defer dl.Close()
	defer rj.Close()
	ctx, _, stop := signalContexts(log)
	defer stop()
	st, err := pipeline.Replay(ctx, positional[0], client, led, dl, rj, log)
	fmt.Fprintf(env.Stderr, "trackless replay: %d records (%d replayed before), sent %d (tracked %d, invalid %d)\n",
		st.Records, st.RecordsSkipped, st.Sent, st.Tracked, st.Invalid)
	code = ExitOK
	if st.DeadLettered > 0 || st.Invalid > 0 {
		code = ExitUndelivered
		if st.DeadLettered > 0 {
			fmt.Fprintf(env.Stderr, "  NOT DELIVERED: %d hits written to %s\n", st.DeadLettered, st.DeadLetterFile)
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "trackless:", err)
		code = ExitFatal
	}
	if c.summaryJSON != "" {
		if err := writeSummaryJSON(env, c.summaryJSON, st, code); err != nil {
			fmt.Fprintln(env.Stderr, "trackless:", err)
		}
	}
	return code
}
