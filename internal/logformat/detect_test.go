package logformat

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trackless/trackless/internal/hit"
)

func TestAccept(t *testing.T) {
	tests := []struct {
		parsed, tested int
		want           bool
	}{
		{5, 5, true}, {4, 5, true}, {3, 5, false}, {0, 5, false},
		{3, 4, true}, {2, 4, false}, {2, 3, true}, {1, 3, false},
		{2, 2, true}, {1, 2, true}, {0, 2, false}, // two lines, the last truncated: read
		{1, 1, true}, {0, 1, false},
	}
	for _, tt := range tests {
		if got := Accept(tt.parsed, tt.tested); got != tt.want {
			t.Errorf("Accept(%d, %d) = %v", tt.parsed, tt.tested, got)
		}
	}
}

func sampleOfText(text string) []SampleLine {
	var s []SampleLine
	for i, l := range strings.Split(text, "\n") {
		s = append(s, SampleLine{Line: int64(i + 1), Text: []byte(l)})
	}
	return s
}

func clfLine(i int) string {
	return fmt.Sprintf(`192.0.2.1 - - [10/Nov/2026:16:42:%02d +0100] "GET /%d HTTP/1.1" 200 5 "-" "Firefox"`, i, i)
}

func clfLines(from, to int) string {
	var b []string
	for i := from; i < to; i++ {
		b = append(b, clfLine(i))
	}
	return strings.Join(b, "\n")
}

// TestDetect: the first data lines suggest formats, the one in which most
// parse is chosen if Accept says so, and nothing is decided without data.
func TestDetect(t *testing.T) {
	tests := []struct {
		name, text string
		format     string // chosen
		tried      string // refused after trying it
		unknown    bool   // refused: no format suggested
		line       int64  // of the refusal
	}{
		{name: "combined", text: clfLines(0, 8), format: "combined"},
		{name: "CloudFront with a header", text: header33 + line33(nil), format: "cloudfront"},
		{name: "an odd first line", text: "garbage\n" + clfLines(0, 8), format: "combined"},
		{name: "an odd line among the first five", text: clfLines(0, 2) + "\nodd\n" + clfLines(3, 8), format: "combined"},
		{name: "two odd lines among the first five", text: clfLines(0, 2) + "\nodd\nodd\n" + clfLines(4, 8), tried: "combined", line: 1},
		{name: "odd lines after the first five do not count", text: clfLines(0, 5) + "\nodd\nodd\nodd", format: "combined"},
		{name: "a TAB table", text: "a\tb\n1\t2\n3\t4", tried: "cloudfront", line: 1},
		{name: "prose", text: "hello\nworld", unknown: true, line: 1},
		{name: "prose after headers", text: "#Version: 1.0\n\nhello", tried: "cloudfront", line: 3},
		{name: "W3C", text: "#Fields: date time s-ip cs-uri-stem\n2012-04-01 00:00:13 1.2.3.4 /a", format: "w3c"},
		{name: "nginx JSON", text: `{"ip":"1.2.3.4","path":"/","date":"2013-10-10T16:52:00+02:00"}`, format: "nginx_json"},
		{name: "JSON of no known format", text: `{"a":1}`, unknown: true, line: 1},
		{name: "ELB with a TCP line", text: `2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -`, format: "elb"},
		{name: "the better of two suggestions", text: "a\tb\n" + clfLines(0, 4), format: "combined"},
		{name: "headers only: nothing decided", text: "#Version: 1.0\n#Fields: date time\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Auto{Source: "s"}
			fe := a.Detect(sampleOfText(tt.text))
			switch {
			case tt.tried != "" || tt.unknown:
				if fe == nil || fe.Tried != tt.tried || fe.Line != tt.line || fe.Source != "s" || a.Format() != "" {
					t.Fatalf("got %+v, format %q", fe, a.Format())
				}
				if tt.tried != "" && (Accept(fe.Parsed, fe.Tested) || fe.Err == nil) {
					t.Errorf("refused with %d of %d parsed, err %v", fe.Parsed, fe.Tested, fe.Err)
				}
				// The refusal stands: Parse gives it for data lines.
				if _, err := a.Parse([]byte(clfLine(1)), 99, new(hit.Hit)); err != fe {
					t.Errorf("Parse after the refusal: %v", err)
				}
			case fe != nil:
				t.Fatalf("refused: %v", fe)
			case a.Format() != tt.format:
				t.Fatalf("format %q, want %q", a.Format(), tt.format)
			}
		})
	}
}

// TestDetectThenParse: after Detect, Parse reads every line of the input,
// the sample's again, with a reader that has seen none of them.
func TestDetectThenParse(t *testing.T) {
	text := header33 + line33(nil) + "\n" + line33(map[string]string{"sc-status": "404"}) + "\nodd\n"
	a := &Auto{Source: "s"}
	if fe := a.Detect(sampleOfText(text)); fe != nil {
		t.Fatal(fe)
	}
	var statuses []int
	var errs int
	for i, l := range strings.Split(text, "\n") {
		var h hit.Hit
		ok, err := a.Parse([]byte(l), int64(i+1), &h)
		if ok {
			statuses = append(statuses, h.Status)
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			errs++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(statuses) != "[200 404]" || errs != 1 {
		t.Errorf("statuses %v, %d errors", statuses, errs)
	}
}

func TestSniffBinary(t *testing.T) {
	ctl := strings.Repeat("\x01", 6) + strings.Repeat("a", 94)  // 6 in 100: text
	ctl2 := strings.Repeat("\x01", 7) + strings.Repeat("a", 93) // 7 in 100, over 1 in 16: binary
	tests := []struct {
		name, start string
		binary      bool
	}{
		{"empty", "", false},
		{"a log", clfLines(0, 3) + "\n", false},
		{"TABs, CR, FF, VT, ESC colours", "a\tb\r\n\f\v\x1b[31mred\x1b[0m\n", false},
		{"latin-1 and GBK bytes", "caf\xe9 \xc4\xe3\xba\xc3\n", false},
		{"a NUL", "GET / HTTP/1.1\x00\n", true},
		{"UTF-16", "\xff\xfeG\x00E\x00T\x00", true},
		{"control bytes, few", ctl, false},
		{"control bytes, many", ctl2, true},
		{"DEL bytes", strings.Repeat("\x7f", 20), true},
		{"a NUL past SniffLen", strings.Repeat("a", SniffLen) + "\x00", false},
	}
	for _, tt := range tests {
		detail, binary := SniffBinary([]byte(tt.start))
		if binary != tt.binary || binary == (detail == "") {
			t.Errorf("%s: %v %q, want %v", tt.name, binary, detail, tt.binary)
		}
	}
	fe := CheckText(NewCombined("x.gz"), []byte("\x00"))
	if fe == nil || !fe.Binary || fe.Error() != "x.gz: not a text log: it holds binary data (a NUL byte at offset 0)" {
		t.Errorf("CheckText: %v", fe)
	}
	if fe := CheckText(&Auto{Source: "y"}, []byte(clfLine(1))); fe != nil {
		t.Errorf("CheckText of text: %v", fe)
	}
}
