// Package reporoot finds the repository's root from a test: the helpers
// that run the tools of tools/ (Chromium's check, the Kinesis emulator,
// DuckDB) find them there.
package reporoot

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir walks up from the working directory (a test's is its package
// directory) to the directory that holds go.mod.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in %s or any parent", wd)
		}
		dir = parent
	}
}
