package lake

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trackless/trackless/internal/hit"
	"github.com/trackless/trackless/internal/lake/duckdbtest"
	"github.com/trackless/trackless/internal/sink"
)

// TestDuckDBReadsEveryColumn: DuckDB, a reader that is not parquet-go,
// reads each column with the type docs/lake.md gives, the values written,
// nulls where a log has nothing, and the partitions.
func TestDuckDBReadsEveryColumn(t *testing.T) {
	dir := t.TempDir()
	sk := newTestSink(t, openDir(t, dir), Options{Rows: RowOptions{
		Country: func(string) string { return "FR" },
		Site:    func(host string) int { return map[string]int{"example.com": 3}[host] },
	}})
	full := &hit.Hit{
		Time: time.Date(2025, 3, 14, 8, 30, 15, 123e6, time.UTC), Method: "GET", Scheme: "https", Host: "example.com",
		Path: "/caf%25C3%25A9", Query: "page=blog&ref=google.com&q=a+b%252Bc&bad=%25FF", LogEscaped: true,
		Status: 0, Bytes: 0, Duration: 1500 * time.Microsecond, TTFB: 2 * time.Millisecond,
		UserAgent: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)",
		Referrer:  "https://google.com/", ClientIP: "192.0.2.7", EdgeLocation: "CDG50-C1", ResultType: "Hit",
		RequestID: "abc==", TLSProtocol: "TLSv1.3", HTTPVersion: "HTTP/2.0", ContentType: "text/html",
	}
	bare := &hit.Hit{Time: time.Date(2025, 3, 14, 23, 59, 59, 0, time.UTC), Path: "/", Status: -1, Bytes: -1, Duration: -1, TTFB: -1, UserAgent: "Googlebot/2.1"}
	in, _, _ := sk.Begin(sink.Info{Name: "in.log", Key: "k"})
	in.Hit(1, full)
	in.Hit(2, bare)
	if err := in.End(sink.End{Lines: 2}); err != nil {
		t.Fatal(err)
	}

	types := map[string]string{}
	for _, r := range duckdbtest.Query(t, "DESCRIBE SELECT * FROM "+duckdbtest.Glob(dir)) {
		types[r["column_name"].(string)] = r["column_type"].(string)
	}
	want := map[string]string{
		"ts": "TIMESTAMP WITH TIME ZONE", "host": "VARCHAR", "scheme": "VARCHAR", "method": "VARCHAR", "path": "VARCHAR",
		"query": "VARCHAR", "params": "MAP(VARCHAR, VARCHAR)", "status": "INTEGER", "bytes": "BIGINT",
		"time_taken_ms": "DOUBLE", "ttfb_ms": "DOUBLE", "client_ip": "VARCHAR", "user_agent": "VARCHAR",
		"referrer": "VARCHAR", "kind": "VARCHAR", "agent": "VARCHAR", "agent_name": "VARCHAR",
		"edge_location": "VARCHAR", "edge_result_type": "VARCHAR", "request_id": "VARCHAR", "protocol": "VARCHAR",
		"tls": "VARCHAR", "content_type": "VARCHAR", "country": "VARCHAR", "site": "INTEGER", "source": "VARCHAR",
		"line": "BIGINT", "dt": "DATE", "hour": "INTEGER",
	}
	for c, ty := range want {
		if types[c] != ty {
			t.Errorf("column %s: %q, want %q", c, types[c], ty)
		}
	}
	if len(types) != len(want) {
		t.Errorf("columns %v, want %d", types, len(want))
	}

	rows := duckdbtest.Query(t, "SET TimeZone='UTC'", `SELECT strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS ts, host, scheme, method, path, query,
		params['page'] AS page, params['ref'] AS ref, params['q'] AS q, params['bad'] AS bad, cardinality(params) AS nparams,
		status, bytes, time_taken_ms, ttfb_ms, client_ip, user_agent, referrer, kind, agent, agent_name,
		edge_location, edge_result_type, request_id, protocol, tls, content_type, country, site, source, line,
		strftime(dt, '%Y-%m-%d') AS dt, hour FROM `+duckdbtest.Glob(dir)+` ORDER BY line`)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	got := fmt.Sprint(rows[0])
	wantFull := fmt.Sprint(duckdbtest.Row{
		"ts": "2025-03-14 08:30:15.123", "host": "example.com", "scheme": "https", "method": "GET",
		"path": "/caf%C3%A9", "query": "page=blog&ref=google.com&q=a+b%2Bc&bad=%FF",
		"page": "blog", "ref": "google.com", "q": "a b+c", "bad": "\uFFFD", "nparams": 4.0,
		"status": 0.0, "bytes": "0", "time_taken_ms": 1.5, "ttfb_ms": 2.0, "client_ip": "192.0.2.7",
		"user_agent": full.UserAgent, "referrer": "https://google.com/", "kind": "page", "agent": "ai_assistant",
		"agent_name": "ChatGPT-User", "edge_location": "CDG50-C1", "edge_result_type": "Hit", "request_id": "abc==",
		"protocol": "HTTP/2.0", "tls": "TLSv1.3", "content_type": "text/html", "country": "FR", "site": 3.0,
		"source": "in.log", "line": "1", "dt": "2025-03-14", "hour": 8.0,
	})
	if got != wantFull {
		t.Errorf("row 1:\n got %s\nwant %s", got, wantFull)
	}
	// The bare hit: what its log lacks is null (not "", not 0).
	for _, c := range []string{"host", "scheme", "method", "query", "page", "nparams", "status", "bytes", "time_taken_ms", "ttfb_ms",
		"client_ip", "referrer", "edge_location", "edge_result_type", "request_id", "protocol", "tls", "content_type", "country", "site"} {
		if v, ok := rows[1][c]; !ok || v != nil {
			t.Errorf("row 2: %s = %v, want null", c, v)
		}
	}
	if rows[1]["agent"] != "search_engine" || rows[1]["agent_name"] != "Googlebot" || rows[1]["hour"] != 23.0 || rows[1]["kind"] != "page" {
		t.Errorf("row 2: %v", rows[1])
	}
	// The file's own metadata: zstd, v1-compatible encodings, bloom filters.
	meta := duckdbtest.Query(t, `SELECT DISTINCT path_in_schema, compression, encodings, bloom_filter_offset IS NOT NULL AS bloom
		FROM parquet_metadata('`+dir+`/**/*.parquet')`)
	var blooms []string
	for _, m := range meta {
		if m["compression"] != "ZSTD" {
			t.Errorf("%v: not zstd", m)
		}
		if enc := m["encodings"].(string); enc != "PLAIN" && !slices.Contains([]string{"PLAIN, RLE", "PLAIN, RLE_DICTIONARY", "PLAIN, RLE, RLE_DICTIONARY"}, enc) {
			t.Errorf("%v: encodings %q (DELTA encodings are what older readers fail on)", m["path_in_schema"], enc)
		}
		if m["bloom"] == true {
			blooms = append(blooms, m["path_in_schema"].(string))
		}
	}
	slices.Sort(blooms)
	blooms = slices.Compact(blooms)
	if !slices.Equal(blooms, []string{"client_ip", "path", "request_id"}) {
		t.Errorf("bloom filters on %v", blooms)
	}
	probe := duckdbtest.Query(t, `SELECT count(*) FILTER (WHERE bloom_filter_excludes) AS excluded, count(*) AS groups
		FROM parquet_bloom_probe('`+dir+`/**/*.parquet', 'client_ip', '198.51.100.1')`)
	if fmt.Sprint(probe[0]["excluded"]) != fmt.Sprint(probe[0]["groups"]) {
		t.Errorf("bloom probe of an absent IP: %v", probe)
	}
}
