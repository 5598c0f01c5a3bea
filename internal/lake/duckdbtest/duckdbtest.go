// Package duckdbtest runs SQL with DuckDB (npm @duckdb/node-api, in
// tools/duckdb) for the tests of the lake: a reader of Parquet files that
// is not trackless's own.
package duckdbtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/reporoot"
)

// Row is a row of a query's result, as DuckDB converts values to JSON:
// integers that fit in 32 bits and doubles as numbers, BIGINT and
// timestamps as strings, maps as lists of {"key", "value"}, NULL as nil.
type Row map[string]any

// Query runs statements with DuckDB (in one in-memory database) and
// returns the rows of the last one. It skips the test when DuckDB is not
// installed (or fails it under CI=true), and fails it when a statement
// fails.
func Query(t testing.TB, statements ...string) []Row {
	t.Helper()
	rows, err := Run(t, statements...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Run is Query, returning a statement's failure as an error.
func Run(t testing.TB, statements ...string) ([]Row, error) {
	t.Helper()
	script := script(t)
	cmd := exec.Command("node", append([]string{script}, statements...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb: %v: %s\n(SQL: %s)", err, strings.TrimSpace(errb.String()), strings.Join(statements, "; "))
	}
	var rows []Row
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("duckdb: %v in %q", err, sc.Text())
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// script is tools/duckdb/query.mjs, once DuckDB is installed there.
func script(t testing.TB) string {
	t.Helper()
	root, err := reporoot.Dir()
	if err == nil {
		dir := filepath.Join(root, "tools", "duckdb")
		if _, err = os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err == nil {
			if _, err = exec.LookPath("node"); err == nil {
				return filepath.Join(dir, "query.mjs")
			}
		}
	}
	install := "install with: (cd tools/duckdb && npm ci), node >= 20"
	if os.Getenv("CI") == "true" {
		t.Fatalf("duckdbtest: %v; %s", err, install)
	}
	t.Skipf("duckdbtest: %v (%s)", err, install)
	return ""
}

// Glob is the read_parquet call of every data file of a lake in dir, with
// its partitions typed (dt DATE, hour INTEGER).
func Glob(dir string) string {
	return fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning=true, hive_types={'dt': DATE, 'hour': INTEGER})", filepath.ToSlash(dir))
}
