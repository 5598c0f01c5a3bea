package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// flags is the flag set of one command, built from the settings table.
type flags struct {
	cmd    command
	fs     *flag.FlagSet
	list   []*setting            // the command's settings, in table order
	byName map[string]*setting   // by flag name and alias
	values map[string]flag.Value // by setting name
}

// newFlags builds the flag set of cmd over c: every setting of cmd under
// its name and its aliases, each name bound to the same config field, which
// is set to the setting's default. A malformed table panics (a test builds
// every command's flags).
func newFlags(cmd command, c *config) *flags {
	f := &flags{
		cmd:    cmd,
		fs:     flag.NewFlagSet(cmdName(cmd), flag.ContinueOnError),
		byName: map[string]*setting{},
		values: map[string]flag.Value{},
	}
	// Messages and help are written by parseArgs, in one line or as
	// writeHelp lays them out.
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = func() {}
	for i := range settings {
		s := &settings[i]
		if s.cmds&cmd == 0 {
			continue
		}
		v := value(s.target(c))
		if s.def != "" {
			if err := v.Set(s.def); err != nil {
				panic(fmt.Sprintf("settings: default of --%s: %v", s.name, err))
			}
		}
		f.list = append(f.list, s)
		f.values[s.name] = v
		for _, n := range s.names() {
			if f.byName[n] != nil {
				panic("settings: --" + n + " twice in " + cmdName(cmd))
			}
			f.byName[n] = s
			f.fs.Var(v, n, s.help)
		}
	}
	return f
}

// cmdName is the name of a single command.
func cmdName(cmd command) string {
	for _, n := range commandNames {
		if n.cmd == cmd {
			return n.name
		}
	}
	return cmd.String()
}

// parseArgs parses the command line args of cmd into c, then sets every
// setting the command line did not set from the environment (see setting
// for the precedence). It returns the positional arguments and, by setting
// name, what set each setting that is not at its default ("--flag" or the
// variable). ok is false when the command must stop with code: --help was
// asked for (the help is on stdout, code 0) or a flag or variable is wrong
// (one line on stderr, code ExitUsage).
func parseArgs(env Env, cmd command, c *config, args []string) (positional []string, set map[string]string, code int, ok bool) {
	positional, set, err := parseCommand(env, cmd, c, args)
	if err != nil {
		return nil, nil, exitFor(err), false
	}
	return positional, set, ExitOK, true
}

// parseCommand is parseArgs for a command: it returns said(code) when the
// command ends here (--help, or a bad flag, whose message it wrote).
func parseCommand(env Env, cmd command, c *config, args []string) (positional []string, set map[string]string, err error) {
	f := newFlags(cmd, c)
	name := cmdName(cmd)
	positional, err = parseInterspersed(f.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(env.Stdout, cmd)
		return nil, nil, said(ExitOK)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "trackless %s: %s; see 'trackless %s --help'\n", name, f.flagError(err), name)
		return nil, nil, said(ExitUsage)
	}
	set = map[string]string{}
	f.fs.Visit(func(fl *flag.Flag) {
		if s := f.byName[fl.Name]; s != nil && set[s.name] == "" {
			set[s.name] = "--" + fl.Name
		}
	})
	getenv := env.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, s := range f.list {
		if set[s.name] != "" {
			continue
		}
		for _, v := range s.allEnvVars() {
			val := getenv(v)
			if val == "" {
				continue
			}
			if err := f.values[s.name].Set(val); err != nil {
				fmt.Fprintf(env.Stderr, "trackless %s: %s=%s: %v (the variable sets --%s)\n", name, v, redact(s.name, val), err, s.name)
				return nil, nil, said(ExitUsage)
			}
			set[s.name] = v
			break
		}
	}
	if f.byName["state-dir"] != nil && c.stateDir == "" {
		c.stateDir = defaultStateDir(getenv)
	}
	return positional, set, nil
}

// redact hides the value of a secret setting.
func redact(name, val string) string {
	if strings.Contains(name, "token") || strings.HasSuffix(name, "-key") {
		return "***"
	}
	return val
}

// flagError turns an error of the flag package into a message that names
// flags with "--" and suggests the flag meant by an unknown one.
func (f *flags) flagError(err error) string {
	msg := err.Error()
	if n, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		n = strings.TrimPrefix(n, "-")
		out := "unknown flag " + dashed(n)
		if near := f.suggest(n); near != "" {
			return out + " (did you mean " + dashed(near) + "?)"
		}
		if others := otherCommands(n, f.cmd); others != "" {
			return out + " (it is a flag of " + others + ")"
		}
		return out
	}
	if n, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return dashed(strings.TrimPrefix(n, "-")) + " needs a value"
	}
	// invalid value "x" for flag -site-id: not an integer
	// invalid boolean value "x" for -force: parse error
	msg = strings.Replace(msg, "invalid boolean value", "invalid value", 1)
	for _, f := range []string{" for flag -", " for -"} {
		if i := strings.Index(msg, f); i >= 0 {
			name, rest, _ := strings.Cut(msg[i+len(f):], ":")
			return msg[:i] + " for " + dashed(name) + ":" + rest
		}
	}
	return msg
}

// dashed is a flag name as typed: "--site-id", and "-o" for a one-letter
// name.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// suggest returns the flag name of the command nearest to an unknown one,
// or "" when none is near: a name at an edit distance of at most 2 (1 for
// names shorter than 5), else the one name it is a prefix of. Names shorter
// than 3 get no suggestion.
func (f *flags) suggest(unknown string) string {
	if len(unknown) < 3 {
		return ""
	}
	best, bestD := "", 3
	if len(unknown) < 5 {
		bestD = 2
	}
	var prefixed []string
	for n := range f.byName {
		if strings.HasPrefix(n, unknown) {
			prefixed = append(prefixed, n)
		}
		if d := editDistance(unknown, n); d < bestD || (d == bestD && best != "" && n < best) {
			best, bestD = n, d
		}
	}
	if best != "" {
		return best
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// otherCommands lists the commands (but cmd and the Lambda) that have a
// flag named n.
func otherCommands(n string, cmd command) string {
	var in command
	for i := range settings {
		s := &settings[i]
		for _, name := range s.names() {
			if name == n {
				in |= s.cmds
			}
		}
	}
	return (in &^ cmd &^ cmdLambda).String()
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// defaultStateDir is $XDG_STATE_HOME/trackless, else
// ~/.local/state/trackless.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "trackless")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "trackless")
	}
	return ".trackless-state"
}

// value returns the flag.Value that sets the config field p points to.
// It panics on a type no setting may have (a test covers every setting).
func value(p any) flag.Value {
	switch p := p.(type) {
	case *string:
		return (*stringValue)(p)
	case *int:
		return (*intValue)(p)
	case *bool:
		return (*boolValue)(p)
	case *float64:
		return (*floatValue)(p)
	case *time.Duration:
		return (*durationValue)(p)
	case *listFlag:
		return p
	}
	panic(fmt.Sprintf("settings: no flag type for %T", p))
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a boolean (true, false, 1 or 0)")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return errors.New("not a number")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a duration (90s, 10m, 1h30m)")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
