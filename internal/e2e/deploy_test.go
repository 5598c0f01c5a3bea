package e2e_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
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
