package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/matomo/matomotest"
)

// TestDeployTemplate: each CloudFormation template in deploy/ passes
// cfn-lint (when this machine has it), and every variable it sets is one
// trackless reads; realtime.yaml's event source mapping also has what the
// ledger relies on to send a retried Kinesis batch once, and gives
// trackless the fields of the real-time log configuration.
func TestDeployTemplate(t *testing.T) {
	help := run(t, nil, "send", "-h").stdout
	lint, lintErr := exec.LookPath("cfn-lint")
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, text string)
	}{
		{file: "template.yaml"},
		{file: "realtime.yaml", check: checkRealtimeTemplate},
		{file: "report.yaml", check: checkReportTemplate},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "deploy", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkTemplateSettings(t, help, string(data))
			if tc.check != nil {
				tc.check(t, string(data))
			}
			if lintErr != nil {
				t.Skip("cfn-lint is not installed: the template was not linted")
			}
			if out, err := exec.Command(lint, path).CombinedOutput(); err != nil {
				t.Fatalf("cfn-lint: %v\n%s", err, out)
			}
		})
	}
}

// checkTemplateSettings fails for each TRACKLESS_* variable of a template
// that is no flag of send, and each other variable send does not read.
func checkTemplateSettings(t *testing.T, help, text string) {
	t.Helper()
	vars := regexp.MustCompile(`\n +(TRACKLESS_[A-Z_]+|MATOMO_[A-Z_]+|LOG_LEVEL):`).FindAllStringSubmatch(text, -1)
	if len(vars) == 0 {
		t.Fatal("the template sets no TRACKLESS_ or MATOMO_ variable: nothing was checked")
	}
	for _, m := range vars {
		name := m[1]
		if strings.HasPrefix(name, "TRACKLESS_") {
			flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "TRACKLESS_"), "_", "-"))
			if !strings.Contains(help, "-"+flagName+" ") && !strings.Contains(help, "-"+flagName+"\n") && !lambdaSetting(t, name) {
				t.Errorf("the template sets %s, but neither send nor the Lambda has --%s", name, flagName)
			}
		} else if !strings.Contains(help, name) {
			t.Errorf("the template sets %s, which send does not read", name)
		}
	}
}

// checkRealtimeTemplate checks deploy/realtime.yaml's Kinesis event source
// mapping (partial batch responses, bisection, one batch of a shard at a
// time, a failure destination) and that the list of fields CloudFront is
// given is the one trackless is given, with a default trackless accepts.
func checkRealtimeTemplate(t *testing.T, text string) {
	t.Helper()
	// The event's Type comes first, then its Properties.
	mapping := yamlBlock(text, regexp.MustCompile(`(?m)^( +)Type: Kinesis *$`), 0)
	if mapping == "" {
		t.Fatal("no event of Type: Kinesis in the template")
	}
	for _, want := range []struct{ what, re string }{
		{"FunctionResponseTypes [ReportBatchItemFailures]", `(?m)^ +FunctionResponseTypes: *(\[ *ReportBatchItemFailures *\]|\n +- ReportBatchItemFailures) *$`},
		{"BisectBatchOnFunctionError true", `(?m)^ +BisectBatchOnFunctionError: *true *$`},
		{"ParallelizationFactor 1", `(?m)^ +ParallelizationFactor: *1 *$`},
		{"StartingPosition TRIM_HORIZON", `(?m)^ +StartingPosition: *TRIM_HORIZON *$`},
		{"DestinationConfig OnFailure Destination", `(?m)^ +DestinationConfig: *\n +OnFailure: *\n +Destination: `},
	} {
		if !regexp.MustCompile(want.re).MatchString(mapping) {
			t.Errorf("the Kinesis event source mapping has no %s:\n%s", want.what, mapping)
		}
	}
	m := regexp.MustCompile(`(?m)^ +Fields: !Ref (\w+) *$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("the real-time log configuration's Fields are not a parameter (Fields: !Ref PARAM)")
	}
	param := m[1]
	if !regexp.MustCompile(`(?m)^ +TRACKLESS_REALTIME_FIELDS: !Join \[ *"," *, *!Ref ` + param + ` *\] *$`).MatchString(text) {
		t.Errorf("TRACKLESS_REALTIME_FIELDS is not the configuration's fields (!Join [\",\", !Ref %s])", param)
	}
	p := yamlBlock(text, regexp.MustCompile(`(?m)^( +)`+param+`: *$`), 1)
	d := regexp.MustCompile(`(?m)^ +Default: *(\S+) *$`).FindStringSubmatch(p)
	if !regexp.MustCompile(`(?m)^ +Type: *CommaDelimitedList *$`).MatchString(p) || d == nil {
		t.Fatalf("no CommaDelimitedList parameter %s with a Default:\n%s", param, p)
	}
	// parse refuses an unknown field before reading anything.
	empty := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "parse", "--site-id", "1", "--format", "cloudfront-realtime", "--realtime-fields", d[1], empty); r.code != 0 {
		t.Errorf("trackless refuses the default fields %s: exit %d\n%s", d[1], r.code, r.stderr)
	}
}

// yamlBlock returns the first line re matches (its group 1 being the
// line's indentation) and the lines after it indented by at least deeper
// more than it: with deeper 0, the keys after it in the same YAML mapping
// and what they hold; with 1, what the key on the line holds.
func yamlBlock(text string, re *regexp.Regexp, deeper int) string {
	loc := re.FindStringSubmatchIndex(text)
	if loc == nil {
		return ""
	}
	indent := loc[3] - loc[2] + deeper
	lines := strings.SplitAfter(text[loc[0]:], "\n")
	n := 1
	for ; n < len(lines); n++ {
		l := strings.TrimRight(lines[n], "\n")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if len(l)-len(strings.TrimLeft(l, " ")) < indent {
			break
		}
	}
	return strings.Join(lines[:n], "")
}

// TestSystemdUnits: deploy/systemd's units pass systemd-analyze verify
// (when this machine has it), with ExecStart pointing at the binary under
// test, and the command they run is one trackless accepts: with the
// settings of its environment file, it sends a log and a rerun sends
// nothing.
func TestSystemdUnits(t *testing.T) {
	service, err := os.ReadFile("../../deploy/systemd/trackless-send@.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/trackless (.*) %I$`).FindSubmatch(service)
	if m == nil {
		t.Fatal("no ExecStart=/usr/local/bin/trackless ... %I in the service")
	}
	args := strings.Fields(string(m[1]))
	dir := t.TempDir()
	logf := genFormat(t, dir, "combined", 500, 45)
	srv := siteServer(t, matomotest.Config{})
	env := []string{"MATOMO_URL=" + srv.URL(), "MATOMO_SITE_ID=1", "MATOMO_TOKEN_AUTH=" + token, "TRACKLESS_MODE=visits", "TRACKLESS_STATE_DIR=" + filepath.Join(dir, "state")}
	for i := 0; i < 2; i++ {
		if r := run(t, env, append(args, logf)...); r.code != 0 {
			t.Fatalf("the service's command, run %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
	}
	want := parseItemsEnv(t, env, "--mode", "visits", logf)
	if missing, extra := compare(want, srv.StoredRaw()); len(missing) > 0 || extra > 0 {
		t.Errorf("the service's command twice: %d missing, %d twice", len(missing), extra)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the units were not verified")
	}
	units := t.TempDir()
	os.WriteFile(filepath.Join(units, "trackless-send@.service"), []byte(strings.ReplaceAll(string(service), "/usr/local/bin/trackless", binPath)), 0o644)
	timer, err := os.ReadFile("../../deploy/systemd/trackless-send@.timer")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(units, "trackless-send@.timer"), timer, 0o644)
	follow, err := os.ReadFile("../../deploy/systemd/trackless-follow@.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(follow), "ExecStart=/usr/local/bin/trackless send --follow ") {
		t.Error("the follower does not run send --follow")
	}
	os.WriteFile(filepath.Join(units, "trackless-follow@.service"), []byte(strings.ReplaceAll(string(follow), "/usr/local/bin/trackless", binPath)), 0o644)
	for _, u := range []string{"trackless-send@var-log-nginx-access.log.service", "trackless-send@var-log-nginx-access.log.timer", "trackless-follow@var-log-nginx-access.log.service"} {
		out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(units, u)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
		}
	}
}

// lambdaSetting reports whether docs/settings.md lists the variable as
// one the Lambda reads (a setting of the Lambda only, not of send).
func lambdaSetting(t *testing.T, name string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "settings.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "`"+name+"`") && strings.Contains(line, "lambda") {
			return true
		}
	}
	return false
}

// checkReportTemplate checks deploy/report.yaml: no Matomo (the function
// counts into its report state only), the state and the page in S3.
func checkReportTemplate(t *testing.T, text string) {
	t.Helper()
	if strings.Contains(text, "MATOMO_URL:") {
		t.Error("the serverless report sets MATOMO_URL")
	}
	for _, v := range []string{"TRACKLESS_REPORT_STATE: !Sub \"s3://", "TRACKLESS_REPORT_OUT: !Sub \"s3://"} {
		if !strings.Contains(text, v) {
			t.Errorf("the template lacks %s…", v)
		}
	}
}
