package cli

import (
	"flag"
	"fmt"
	"strings"
)

// setting is one flag with the environment variables that can also set it.
// Precedence: the flag, then TRACKLESS_<FLAG>, then the peer's variable
// (Matomo's CloudFront Lambda), then the default.
type setting struct {
	name    string // flag name, e.g. "site-id"
	peerEnv string // e.g. "MATOMO_SITE_ID"; "" when none
}

// envName is TRACKLESS_ + the flag name in upper case with '_' for '-'.
func envName(flagName string) string {
	return "TRACKLESS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag that was not given on the command line from the
// environment, and reports which variable set what, for error messages.
func applyEnv(fs *flag.FlagSet, peers map[string]string, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		for _, v := range []string{envName(f.Name), peers[f.Name]} {
			if v == "" {
				continue
			}
			val := getenv(v)
			if val == "" {
				continue
			}
			if e := fs.Set(f.Name, val); e != nil {
				err = fmt.Errorf("%s: invalid value %q: %v", v, redact(f.Name, val), e)
			}
			return
		}
	})
	return err
}

func redact(name, val string) string {
	if strings.Contains(name, "token") {
		return "***"
	}
	return val
}

// parseInterspersed parses flags that may come after positional arguments
// ("trackless send logs/ --site-id 1"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
