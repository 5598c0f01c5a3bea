package lineparse

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/input"
	"github.com/trackless/trackless/internal/logformat"
)

// result is what a consumer saw of one input.
type result struct {
	format             string // what Auto chose, "" for none or another reader
	hits, bad, resumed int
	handed             int // lines handed on, of any kind
	firstHandedLine    int64
	last               int64
	unknown            *logformat.FormatError
	damage             error
	truncated          bool // stopped before the end
}

// consume runs Ahead over an input as the pipeline does and counts.
func consume(t *testing.T, in *input.Input, r logformat.Reader, skipThrough int64) result {
	return consumeN(t, in, r, skipThrough, -1)
}

// consumeN is consume that stops after maxBatches batches (-1: all).
func consumeN(t *testing.T, in *input.Input, r logformat.Reader, skipThrough int64, maxBatches int) result {
	t.Helper()
	lines := in.Lines()
	defer lines.Close()
	pa := Start(lines, r, skipThrough)
	var res result
	for b := range pa.Out {
		if maxBatches == 0 {
			res.truncated = true
			break
		}
		maxBatches--
		for _, l := range b.Lines {
			if res.handed == 0 {
				res.firstHandedLine = l.Line
			}
			res.handed++
			switch l.Kind {
			case Hit:
				res.hits++
			case Bad, TooLong:
				res.bad++
			case Resumed:
				res.resumed++
			}
		}
		if b.End {
			res.last, res.unknown, res.damage = b.Last, b.Unknown, b.Damage
			if b.Unknown != nil && len(b.Lines) > 0 {
				t.Errorf("a refusal batch holds %d lines", len(b.Lines))
			}
			break
		}
		pa.Recycle(b)
	}
	pa.Stop() // the goroutine is over: Auto may be looked at
	if a, ok := r.(*logformat.Auto); ok {
		res.format = a.Format()
	}
	return res
}

func run(t *testing.T, name string, content []byte, format string, skipThrough int64) result {
	t.Helper()
	in, err := input.FromReader(name, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := logformat.New(format, name)
	if err != nil {
		t.Fatal(err)
	}
	return consume(t, in, r, skipThrough)
}

func combinedLine(i int) string {
	return fmt.Sprintf(`192.0.2.%d - - [10/Nov/2026:16:42:%02d +0100] "GET /p%d HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"`, i%250+1, i%60, i)
}

func combinedLog(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(combinedLine(i) + "\n")
	}
	return b.String()
}

// randomBytes is a fixed pseudo-random content (a fixed seed: the same on
// every run).
func randomBytes(n int, noNUL bool) []byte {
	rng := rand.New(rand.NewPCG(12, 34))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
		if noNUL && b[i] == 0 {
			b[i] = 1
		}
	}
	b[0], b[1] = 'x', 'y' // no compression magic
	return b
}

type refusalCase struct {
	name, format string
	content      []byte
	binary       bool   // refused as binary data
	tried        string // refused: the first lines look like this format but do not parse
	unknown      bool   // refused: no format suggested
	hits, bad    int    // when read
	want         string // format chosen, for auto
}

// TestRefusals: binary content is refused whatever the format; auto
// detection accepts an input when its first data lines confirm a format
// (logformat.Accept), and a refused input hands on no line.
func TestRefusals(t *testing.T) {
	tsv := "name\tsize\tdate\n" + strings.Repeat("report.pdf\t1234\t2024-01-01\n", 20)
	utf16 := []byte{0xff, 0xfe}
	for _, c := range combinedLog(3) {
		utf16 = append(utf16, byte(c), 0)
	}
	tests := []refusalCase{
		{name: "random bytes, auto", format: "auto", content: randomBytes(64<<10, false), binary: true},
		{name: "random bytes, explicit cloudfront", format: "cloudfront", content: randomBytes(64<<10, false), binary: true},
		{name: "random bytes without NUL, auto", format: "auto", content: randomBytes(64<<10, true), binary: true},
		{name: "random bytes without NUL, explicit combined", format: "combined", content: randomBytes(64<<10, true), binary: true},
		{name: "UTF-16 text", format: "combined", content: utf16, binary: true},
		{name: "a combined log then NULs", format: "auto", content: []byte(combinedLog(50) + strings.Repeat("\x00", 100) + "\n"), hits: 50, bad: 1, want: "combined"},
		{name: "NULs past the sniffed start are lines like others", format: "combined", content: []byte(combinedLog(60) + "\x00\x00\n"), hits: 60, bad: 1},
		{name: "a table with TABs is no CloudFront", format: "auto", content: []byte(tsv), tried: "cloudfront"},
		{name: "a table with TABs, explicit format: malformed lines", format: "cloudfront", content: []byte(tsv), bad: 21},
		{name: "prose", format: "auto", content: []byte("hello world, this is no access log\nsecond line\n"), unknown: true},
		{name: "one odd line first", format: "auto", content: []byte("garbage at the top\n" + combinedLog(9)), hits: 9, bad: 1, want: "combined"},
		{name: "one odd line among the first five", format: "auto", content: []byte(combinedLog(2) + "truncated 192.0.2.1 - - [10/No\n" + combinedLog(7)), hits: 9, bad: 1, want: "combined"},
		{name: "two odd lines among the first five", format: "auto", content: []byte(combinedLog(2) + "odd\nodd\n" + combinedLog(7)), tried: "combined"},
		{name: "two lines, the last truncated", format: "auto", content: []byte(combinedLine(1) + "\n" + combinedLine(2)[:40] + "\n"), hits: 1, bad: 1, want: "combined"},
		{name: "one line that does not parse", format: "auto", content: []byte(combinedLine(1)[:60] + "\n"), unknown: true},
		{name: "one JSON line that does not parse", format: "auto", content: []byte(`{"ip": "1.2.3.4", "path": "/"}` + "\n"), tried: "nginx_json"},
		{name: "a log shorter than the sniffed start", format: "auto", content: []byte(combinedLine(1) + "\n"), hits: 1, want: "combined"},
		{name: "latin-1 bytes are text", format: "auto", content: []byte(strings.ReplaceAll(combinedLog(6), "Firefox", "F\xe9\xefrefox")), hits: 6, want: "combined"},
		{name: "empty", format: "auto", content: nil},
		{name: "headers only", format: "auto", content: []byte("#Version: 1.0\n#Fields: date time cs-uri-stem\n")},
		{name: "blank lines past the prelude, then a log", format: "auto", content: []byte(strings.Repeat("\n", 2000) + combinedLog(3)), hits: 3, want: "combined"},
		{name: "a first line over 1 MiB", format: "auto", content: []byte(strings.Repeat("a", input.MaxLineLen+10) + "\n" + combinedLog(3)), hits: 3, bad: 1, want: "combined"},
		{name: "two lines over 1 MiB", format: "auto", content: []byte(strings.Repeat(strings.Repeat("a", input.MaxLineLen+10)+"\n", 2) + combinedLog(3)), tried: "combined"},
		{name: "only lines over 1 MiB", format: "auto", content: []byte(strings.Repeat(strings.Repeat("a", input.MaxLineLen+10)+"\n", 3)), unknown: true},
	}
	if ls, err := os.ReadFile("/bin/ls"); err == nil {
		tests = append(tests,
			refusalCase{name: "/bin/ls, auto", format: "auto", content: ls, binary: true},
			refusalCase{name: "/bin/ls, explicit cloudfront", format: "cloudfront", content: ls, binary: true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, "in.log", tt.content, tt.format, 0)
			fe := res.unknown
			switch {
			case tt.binary || tt.tried != "" || tt.unknown:
				if fe == nil {
					t.Fatalf("read: %+v", res)
				}
				if res.handed != 0 {
					t.Errorf("%d lines handed on before the refusal (%d hits)", res.handed, res.hits)
				}
				if fe.Binary != tt.binary || fe.Tried != tt.tried || fe.Source != "in.log" {
					t.Errorf("refusal %+v: %v", fe, fe)
				}
				if msg := fe.Error(); tt.binary && msg != "in.log: not a text log: it holds binary data ("+fe.Detail+")" {
					t.Errorf("message %q", msg)
				} else if !tt.binary && (!strings.Contains(msg, "cannot tell the log format") || !strings.Contains(msg, "--log-format")) {
					t.Errorf("message %q", msg)
				}
			case fe != nil:
				t.Fatalf("refused: %v", fe)
			case res.hits != tt.hits || res.bad != tt.bad || tt.format == "auto" && res.format != tt.want:
				t.Errorf("%s with %d hits, %d malformed; want %s with %d, %d", res.format, res.hits, res.bad, tt.want, tt.hits, tt.bad)
			}
		})
	}
}

// TestResumeDetectsFromTheStart: lines at or before skipThrough come back
// as Resumed, and the format is still told from the first lines.
func TestResumeDetectsFromTheStart(t *testing.T) {
	res := run(t, "in.log", []byte("garbage\n"+combinedLog(8)), "auto", 4)
	if res.unknown != nil || res.format != "combined" || res.resumed != 4 || res.hits != 5 || res.bad != 0 || res.last != 9 {
		t.Errorf("%+v", res)
	}
	// Resumed past the first lines of a binary input: refused all the same.
	res = run(t, "in.log", randomBytes(8<<10, false), "auto", 100000)
	if res.unknown == nil || !res.unknown.Binary {
		t.Errorf("%+v", res)
	}
}

// TestManyBatches: a long input comes whole, in order, in batches.
func TestManyBatches(t *testing.T) {
	const n = 3*BatchLines + 17
	res := run(t, "in.log", []byte(combinedLog(n)), "auto", 0)
	if res.unknown != nil || res.hits != n || res.handed != n || res.firstHandedLine != 1 || res.last != n {
		t.Errorf("%+v", res)
	}
}

// TestSamples runs every real sample of ../../../shared/samples through
// auto detection as the pipeline does: every sample read before this
// detection (with hits) is read the same, in the same format, with the
// same hits; the changes are listed. Large inputs are read for their
// first batches only.
func TestSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "samples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skip("shared samples not present")
	}
	const firstBatches = 4
	type sample struct {
		file      string
		format    string // "" for none: refused, empty, or damaged before any line
		hits, bad int    // of the first firstBatches batches
		refused   string // "unknown" (no format suggested), or the format tried
	}
	samples := []sample{
		{"Ironholds__webreadr__combined_log.clf", "combined", 12, 0, ""},
		{"Ironholds__webreadr__iis.log", "w3c", 1, 0, ""},
		{"Ironholds__webreadr__log.aws", "cloudfront", 2, 0, ""},
		{"Ironholds__webreadr__log.aws@5c2f846_19fields_2014", "cloudfront", 2, 0, ""},
		{"Ironholds__webreadr__log.clf", "combined", 2, 0, ""},
		{"Ironholds__webreadr__s3.log", "s3", 6, 0, ""},
		{"asaaki__cloudfront-logs__src_tests.rs_AWS_DOCS_EXAMPLE_xff.log", "cloudfront", 6, 0, ""},
		{"awsdocs__amazon-cloudfront-developer-guide__AccessLogs.md_example_24fields_2014-05.log", "cloudfront", 2, 0, ""},
		{"awsdocs__amazon-cloudfront-developer-guide__AccessLogs.md_example_33fields_2019-12.log", "cloudfront", 6, 0, ""},
		{"awsdocs__amazon-cloudfront-developer-guide__AccessLogs.md_example_33fields_doubleencoded_2019-12-12.log", "cloudfront", 3, 0, ""},
		// RTMP streaming log with a mangled header: was cloudfront, 0 hits and
		// 6 malformed lines; now refused.
		{"awsdocs__amazon-cloudfront-developer-guide__AccessLogs.md_example_rtmp_2010-03.log", "", 0, 0, "cloudfront"},
		{"claygregory__node-cloudfront-log-parser__kinesis-1-0.txt", "cloudfront-realtime", 1, 0, ""}, // a real-time #Fields line
		{"claygregory__node-cloudfront-log-parser__rtmp-1-0.txt", "cloudfront", 6, 0, ""},
		{"claygregory__node-cloudfront-log-parser__web-1-0-2019-12.txt", "cloudfront", 3, 0, ""},
		{"claygregory__node-cloudfront-log-parser__web-1-0.txt", "cloudfront", 2, 0, ""},
		{"cn-notes__cloudwatch-v2__v2_cwlogs_json_subset.json", "", 0, 0, "unknown"}, // pretty-printed JSON
		{"constructed__edgecases__concatenated_header_midfile.log", "cloudfront", 2, 0, ""},
		{"constructed__edgecases__crlf.log", "cloudfront", 2, 0, ""},
		{"constructed__edgecases__empty.gz", "", 0, 0, ""},
		{"constructed__edgecases__empty.log", "", 0, 0, ""},
		{"constructed__edgecases__header_only.gz", "", 0, 0, ""},
		{"constructed__edgecases__multimember.gz", "cloudfront", 2, 0, ""},
		{"constructed__edgecases__odd_fields.log", "cloudfront", 7, 1, ""},
		{"constructed__edgecases__truncated.gz", "", 0, 0, ""}, // damaged before its first line
		{"elastic__integrations__test-cloudfront.log", "cloudfront", 11, 1, ""},
		{"jSherz__cloudfront-logs-to-elasticsearch__file.gz", "cloudfront", 2, 0, ""},
		{"java-test__CloudFrontLogParserTest__v2_json_lines.ndjson", "cloudfront", 2, 0, ""},
		{"logstash-plugins__logstash-input-s3__cloudfront.log", "cloudfront", 2, 0, ""},
		{"logstash-plugins__logstash-input-s3__invalid_utf8.gbk.log", "", 0, 0, "unknown"},
		{"logstash-plugins__logstash-input-s3__multiple_compressed_streams.gz", "", 0, 0, "unknown"}, // "hello 1"...
		{"logstash-plugins__logstash-patterns-core__aws_spec.rb_cloudfront_lines.log", "cloudfront", 2, 0, ""},
		{"matomo-org__matomo-log-analytics__alb.log", "elb", 1, 0, ""},
		{"matomo-org__matomo-log-analytics__amazon_cloudfront_rtmp.log", "cloudfront", 2, 0, ""},
		{"matomo-org__matomo-log-analytics__amazon_cloudfront_web.log", "cloudfront", 1, 0, ""},
		{"matomo-org__matomo-log-analytics__elb.log", "elb", 1, 1, ""}, // the second line is a TCP connection (not_http)
		{"matomo-org__matomo-log-analytics__iis.log", "w3c", 1, 0, ""},
		{"matomo-org__matomo-log-analytics__ncsa_extended.log", "combined", 1, 0, ""},
		{"matomo-org__matomo-log-analytics__netscaler.log", "w3c", 1, 0, ""},
		{"matomo-org__matomo-log-analytics__nginx_json.log", "nginx_json", 2, 0, ""},
		{"matomo-org__matomo-log-analytics__s3.log", "s3", 1, 0, ""},
		{"rkalla__cloudfront-log-parser__example-100.gz", "cloudfront", 100, 0, ""},
		{"rkalla__cloudfront-log-parser__example-174k.gz", "cloudfront", firstBatches*BatchLines - 2, 0, ""}, // 2 header lines
		// Real-time records (40 TAB-separated fields, epoch seconds first):
		// recognised by their shape and field count (were cloudfront with
		// 0 hits and 1 malformed line, then refused).
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-13_allfields_b.log", "cloudfront-realtime", 1, 0, ""},
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_realtime_2020-09-16_allfields_a.log", "cloudfront-realtime", 1, 0, ""},
		// An RTMP line of 17 fields: was cloudfront, 0 hits, 1 malformed; now refused.
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_rtmp_doc_example.log", "", 0, 0, "cloudfront"},
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_web_2019-12-17_netsuite_double_encoded.log", "cloudfront", 1, 0, ""},
		{"shashoul__Getting-Started-Terraform__pipeline3.tf_web_doc_example_spaces_mangled.log", "cloudfront", 1, 0, ""},
		// Its first line has no TAB: was refused (first line alone); now
		// its third line suggests CloudFront, in which all five parse.
		{"snowplow__enrich__CloudfrontLoaderSpec.scala_lines.log", "cloudfront", 5, 0, ""},
		{"zenn-article__cloudfront-v2-athena__v2_json_allfields_2024-12-18.json", "", 0, 0, "unknown"}, // pretty-printed JSON
	}
	want := map[string]sample{}
	for _, s := range samples {
		want[s.file] = s
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			w, ok := want[e.Name()]
			if !ok {
				t.Fatalf("a sample not in the table: add what it must give")
			}
			in, err := input.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			res := consumeN(t, in, &logformat.Auto{Source: e.Name()}, 0, firstBatches)
			refused := ""
			if fe := res.unknown; fe != nil {
				refused = "unknown"
				if fe.Tried != "" {
					refused = fe.Tried
				}
				if fe.Binary {
					refused = "binary"
				}
			}
			if res.format != w.format || res.hits != w.hits || res.bad != w.bad || refused != w.refused {
				t.Errorf("%q with %d hits, %d malformed, refused %q; want %q, %d, %d, %q (%v)",
					res.format, res.hits, res.bad, refused, w.format, w.hits, w.bad, w.refused, res.unknown)
			}
		})
	}
}

// FuzzAhead: whatever the bytes, an input is read to its end or refused
// with no hit handed on, and never panics; with an explicit format, only
// binary content is refused. (Lines without hits may come before a
// refusal only past a prelude of blank or header lines that reached its
// bounds; TestRefusals checks that no line comes before otherwise.)
func FuzzAhead(f *testing.F) {
	f.Add([]byte(combinedLog(3)), false)
	f.Add([]byte("garbage\n"+combinedLog(6)), false)
	f.Add([]byte("a\tb\n1\t2\n"), true)
	f.Add([]byte("\x00\x01\x02\n\x7f"), true)
	f.Add([]byte("#Fields: date time cs-uri-stem\n2026-11-01 10:00:00 /x\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, explicit bool) {
		format := "auto"
		if explicit {
			format = "combined"
		}
		res := run(t, "f", data, format, 0)
		if fe := res.unknown; fe != nil {
			if fe.Source != "f" || explicit && !fe.Binary || res.hits != 0 {
				t.Fatalf("refusal %+v after %d lines", fe, res.handed)
			}
			return
		}
		if res.last < int64(res.handed) {
			t.Fatalf("%d lines handed on, last %d", res.handed, res.last)
		}
	})
}
