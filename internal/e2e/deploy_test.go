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

// TestDeployTemplate: deploy/template.yaml passes cfn-lint (when this
// machine has it), and every variable it sets is one trackless reads.
func TestDeployTemplate(t *testing.T) {
	const path = "../../deploy/template.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	help := run(t, nil, "send", "-h").stdout
	for _, m := range regexp.MustCompile(`\n +(TRACKLESS_[A-Z_]+|MATOMO_[A-Z_]+|LOG_LEVEL):`).FindAllStringSubmatch(string(data), -1) {
		name := m[1]
		if strings.HasPrefix(name, "TRACKLESS_") {
			flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "TRACKLESS_"), "_", "-"))
			if !strings.Contains(help, "-"+flagName+" ") && !strings.Contains(help, "-"+flagName+"\n") {
				t.Errorf("the template sets %s, but send has no --%s", name, flagName)
			}
		} else if !strings.Contains(help, name) {
			t.Errorf("the template sets %s, which send does not read", name)
		}
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed: the template was not linted")
	}
	if out, err := exec.Command(lint, path).CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
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
