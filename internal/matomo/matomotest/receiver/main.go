// Command receiver runs the matomotest stand-in Matomo as a process, for
// benchmarks and end-to-end tests of a client running in another process.
//
// It prints the base URL on the first line of stdout, serves until SIGTERM
// or SIGINT, then prints the server's Stats as one line of JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	sites := flag.String("sites", "1", "comma-separated existing site ids")
	super := flag.String("super-token", "", "super-user token_auth (comma-separated for several)")
	write := flag.String("write-token", "", "token_auth with write access (comma-separated for several)")
	version := flag.String("version", "5.8.0", "Matomo version to simulate")
	addrFile := flag.String("print-addr-file", "", "also write the base URL to this file (atomically)")
	perItem := flag.Duration("per-item-delay", 0, "PHP time per item of a bulk request, e.g. 2ms (a real Matomo on 2 cores: about 2-3 ms)")
	workers := flag.Int("workers", 0, "PHP requests processed at once, the others wait (0: no limit)")
	deadlock := flag.Bool("salt-deadlock", false, "a fingerprint salt race fails the racing bulk request with a 500 (partly stored)")
	flag.Parse()

	cfg := matomotest.Config{
		SuperUserTokens: list(*super),
		WriteTokens:     list(*write),
		Version:         *version,
		PerItemDelay:    *perItem,
		Workers:         *workers,
		SaltDeadlock:    *deadlock,
	}
	for _, s := range list(*sites) {
		id, err := strconv.Atoi(s)
		if err != nil {
			fatal(fmt.Errorf("-sites: %q is not a site id", s))
		}
		cfg.Sites = append(cfg.Sites, id)
	}
	srv := matomotest.New(cfg)
	if err := srv.Listen(*addr); err != nil {
		fatal(err)
	}
	fmt.Println(srv.URL())
	if *addrFile != "" {
		tmp := filepath.Join(filepath.Dir(*addrFile), "."+filepath.Base(*addrFile)+".tmp")
		if err := os.WriteFile(tmp, []byte(srv.URL()+"\n"), 0o644); err != nil {
			fatal(err)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			fatal(err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	b, err := json.Marshal(srv.Stats())
	if err != nil {
		fatal(err)
	}
	fmt.Println(string(b))
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "receiver:", err)
	os.Exit(1)
}
