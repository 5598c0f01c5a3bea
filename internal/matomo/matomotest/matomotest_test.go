package matomotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	superTok = "0123456789abcdef0123456789abcdef"
	writeTok = "fedcba9876543210fedcba9876543210"
)

var testNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func newTest(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		Sites:           []int{1, 3},
		SuperUserTokens: []string{superTok},
		WriteTokens:     []string{writeTok},
		Now:             func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// js JSON-encodes a string item.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// bulk builds a body from raw JSON item fragments.
func bulk(token string, items ...string) string {
	b := `{"requests":[` + strings.Join(items, ",") + `]`
	if token != "" {
		b += `,"token_auth":` + js(token)
	}
	return b + "}"
}

// strs JSON-encodes string items.
func strs(items ...string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = js(it)
	}
	return out
}

type answer struct {
	status int
	body   string
	header http.Header
	err    error
}

func post(t testing.TB, s *Server, path, body string, hdr map[string]string) answer {
	t.Helper()
	return postCtx(context.Background(), t, s, path, body, hdr)
}

func postCtx(ctx context.Context, t testing.TB, s *Server, path, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trackless-test")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(data), header: resp.Header, err: err}
}

func get(t testing.TB, s *Server, pathAndQuery string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(data), header: resp.Header}
}

const (
	ff     = "Mozilla%2F5.0+%28X11%3B+Linux+x86_64%3B+rv%3A128.0%29+Gecko%2F20100101+Firefox%2F128.0"
	okItem = "?idsite=1&rec=1&url=https%3A%2F%2Fwww.example.com%2F&ua=" + ff
)

// TestBulkAnswers covers the shape of bulk answers: counts, indices, the
// silent outcomes of bad bodies, and send_image.
func TestBulkAnswers(t *testing.T) {
	old := strconv.FormatInt(testNow.Add(-48*time.Hour).Unix(), 10)
	mixed := strs(
		okItem,
		okItem+"&cdt="+old,         // old cdt: needs a token
		okItem,                     //
		"?idsite=99&rec=1",         // unknown site: always invalid
		okItem+"&cip=198.51.100.7", // cip: needs a token
		okItem,
		okItem+"&cid=abc",           // bad cid
		okItem+"&pf_srv=-5",         // negative pf_srv
		okItem+"&e_c=%20&e_a=click", // whitespace event category
		okItem+"&rec=0",             // tracked, not stored
	)
	cases := []struct {
		name     string
		body     string
		hdr      map[string]string
		status   int
		want     string // exact body; "" for none
		stored   int
		received int
	}{
		{"super token gets indices", bulk(superTok, mixed...), nil, 200,
			`{"status":"success","tracked":6,"invalid":4,"invalid_indices":[3,6,7,8]}`, 5, 10},
		{"write token gets counts only", bulk(writeTok, mixed...), nil, 200,
			`{"status":"success","tracked":6,"invalid":4}`, 5, 10},
		{"no token", bulk("", mixed...), nil, 200,
			`{"status":"success","tracked":4,"invalid":6}`, 3, 10},
		{"unknown token is no token", bulk("nope", mixed...), nil, 200,
			`{"status":"success","tracked":4,"invalid":6}`, 3, 10},
		{"item without ? is dropped before numbering", bulk(superTok, strs(okItem, "idsite=1&rec=1", "?0", okItem, "?idsite=2&rec=1")...), nil, 200,
			`{"status":"success","tracked":2,"invalid":1,"invalid_indices":[2]}`, 2, 3},
		{"malformed JSON is a silent success", `{"requests":["` + okItem + `",}`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"body that is not JSON", `requests=` + okItem + `&"requests"`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"invalid UTF-8 fails json_decode", bulk(superTok, `"`+okItem+"&action_name=\xff\xfe"+`"`), nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"unpaired surrogate fails json_decode", bulk(superTok, `"`+okItem+`&action_name=\ud800x"`), nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"paired surrogate is fine", bulk(superTok, `"`+okItem+`&action_name=\ud83d\ude00"`), nil, 200,
			`{"status":"success","tracked":1,"invalid":0,"invalid_indices":[]}`, 1, 1},
		{"empty requests: no indices even for super user", bulk(superTok), nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"requests not a list", `{"requests":"` + okItem + `","token_auth":"` + superTok + `"}`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"requests as an object iterates its values", `{"requests":{"a":"` + okItem + `","b":"?idsite=7&rec=1","a":"?idsite=8&rec=1"},"token_auth":"` + superTok + `"}`, nil, 200,
			`{"status":"success","tracked":0,"invalid":2,"invalid_indices":[0,1]}`, 0, 2},
		{"last requests key wins", `{"requests":["?idsite=5&rec=1"],"token_auth":"` + superTok + `","requests":["` + okItem + `"]}`, nil, 200,
			`{"status":"success","tracked":1,"invalid":0,"invalid_indices":[]}`, 1, 1},
		{"top-level array", `[{"requests":["` + okItem + `"]}]`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"line breaks are removed before decoding", "{\"requests\":[\"" + okItem + "\n&action_name=a\r\nb\"],\n\"token_auth\":\"" + superTok + "\"}\n", nil, 200,
			`{"status":"success","tracked":1,"invalid":0,"invalid_indices":[]}`, 1, 1},
		{"depth 513 fails json_decode", `{"requests":["` + okItem + `"],"x":` + strings.Repeat("[", 512) + strings.Repeat("]", 512) + `}`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"depth 512 is fine", `{"requests":["` + okItem + `"],"x":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}`, nil, 200,
			`{"status":"success","tracked":1,"invalid":0}`, 1, 1},
		{"object items, numbers allowed", bulk(superTok, `{"idsite":1,"rec":"1","url":"https://e.com/","ua":"Firefox/128.0","cdt":`+old+`}`, `{"idsite":"2","rec":1}`), nil, 200,
			`{"status":"success","tracked":1,"invalid":1,"invalid_indices":[1]}`, 1, 2},
		{"empty and scalar items are empty requests: tracked", bulk(superTok, `{}`, `[]`, `1`, `null`, `true`), nil, 200,
			`{"status":"success","tracked":5,"invalid":0,"invalid_indices":[]}`, 0, 5},
		{"a non-empty list item has no idsite", bulk(superTok, `["?idsite=1&rec=1"]`), nil, 200,
			`{"status":"success","tracked":0,"invalid":1,"invalid_indices":[0]}`, 0, 1},
		{"send_image 0 answers 204", `{"requests":["` + okItem + `"],"send_image":0}`, nil, 204, "", 1, 1},
		{"send_image \"0\" answers 204", `{"requests":["` + okItem + `"],"send_image":"0"}`, nil, 204, "", 1, 1},
		{"send_image false is ignored", `{"requests":["` + okItem + `"],"send_image":false}`, nil, 200,
			`{"status":"success","tracked":1,"invalid":0}`, 1, 1},
		{"send_image \"0.0\" is truthy", `{"requests":["` + okItem + `"],"send_image":"0.0"}`, nil, 200,
			`{"status":"success","tracked":1,"invalid":0}`, 1, 1},
		{"send_image in a malformed body is not seen", `{"requests":["` + okItem + `"],"send_image":0`, nil, 200,
			`{"status":"success","tracked":0,"invalid":0}`, 0, 0},
		{"content type with charset", bulk("", strs(okItem)...), map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200,
			`{"status":"success","tracked":1,"invalid":0}`, 1, 1},
		{"form content type refused", bulk("", strs(okItem)...), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400,
			"expected Content-Type application/json\n", 0, 0},
		{"no content type refused", bulk("", strs(okItem)...), map[string]string{"Content-Type": ""}, 400,
			"expected Content-Type application/json\n", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, nil)
			a := post(t, s, "/matomo.php", tc.body, tc.hdr)
			if a.err != nil {
				t.Fatal(a.err)
			}
			if a.status != tc.status || a.body != tc.want {
				t.Fatalf("got %d %q, want %d %q", a.status, a.body, tc.status, tc.want)
			}
			if ct := a.header.Get("Content-Type"); tc.status != 400 && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			st := s.Stats()
			if st.Stored != tc.stored || len(s.Stored()) != tc.stored || st.ItemsReceived != tc.received {
				t.Errorf("stored %d (%d records), received %d; want %d, %d", st.Stored, len(s.Stored()), st.ItemsReceived, tc.stored, tc.received)
			}
			if tc.status == 400 && st.BadContentType != 1 {
				t.Errorf("BadContentType = %d", st.BadContentType)
			}
		})
	}
}

func TestIsBulk(t *testing.T) {
	for body, want := range map[string]bool{
		`{"requests":[]}`:            true,
		`"requests":[]`:              false, // strpos() == 0 is falsy
		`"requests" "requests"`:      false, // only the first occurrence counts
		`{'requests':[]}`:            true,
		`{"request":["?idsite=1"]}`:  false,
		`xx "requests" in some text`: true,
	} {
		if got := isBulk(body); got != want {
			t.Errorf("isBulk(%q) = %v", body, got)
		}
	}
}

type itemWant struct {
	out  string // "invalid", "discarded", "visit", "bot"
	bot  string
	act  string
	time time.Time
}

// TestItemRules covers the per-item rules, one item per bulk.
func TestItemRules(t *testing.T) {
	unix := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	const (
		chatgpt = "Mozilla%2F5.0+AppleWebKit%2F537.36+%28KHTML%2C+like+Gecko%3B+compatible%3B+ChatGPT-User%2F1.0%3B+%2Bhttps%3A%2F%2Fopenai.com%2Fbot%29"
		gbot    = "Mozilla%2F5.0+%28compatible%3B+Googlebot%2F2.1%3B+%2Bhttp%3A%2F%2Fwww.google.com%2Fbot.html%29"
		gptbot  = "Mozilla%2F5.0+%28compatible%3B+GPTBot%2F1.1%29"
		// The AI assistants' user agents as a real 5.0.2 saw them.
		claude     = "Mozilla%2F5.0+AppleWebKit%2F537.36+%28KHTML%2C+like+Gecko%3B+compatible%3B+Claude-User%2F1.0%3B+%2BClaude-User%40anthropic.com%29"
		perplexity = "Mozilla%2F5.0+AppleWebKit%2F537.36+%28KHTML%2C+like+Gecko%3B+compatible%3B+Perplexity-User%2F1.0%3B+%2Bhttps%3A%2F%2Fperplexity.ai%2Fperplexity-user%29"
		base       = "?idsite=1&rec=1&url=https%3A%2F%2Fex.com%2Fa"
	)
	visit := itemWant{out: "visit", act: ActionPageview, time: testNow}
	inv := itemWant{out: "invalid"}
	disc := itemWant{out: "discarded"}
	at := func(w itemWant, tm time.Time) itemWant { w.time = tm; return w }
	act := func(w itemWant, a string) itemWant { w.act = a; return w }
	bot := func(name string) itemWant { return itemWant{out: "bot", bot: name, act: ActionPageview, time: testNow} }
	cases := []struct {
		name    string
		item    string // string item; a leading '{' means an object item
		token   string
		version string
		hdr     map[string]string
		want    itemWant
	}{
		// idsite
		{"ok", base + "&ua=" + ff, "", "", nil, visit},
		{"missing idsite", "?rec=1&ua=" + ff, "", "", nil, inv},
		{"unknown idsite", "?idsite=2&rec=1&ua=" + ff, "", "", nil, inv},
		{"second configured site", "?idsite=3&rec=1&ua=" + ff, "", "", nil, visit},
		{"idsite not an integer", "?idsite=1.5&rec=1&ua=" + ff, "", "", nil, inv},
		{"idsite text", "?idsite=one&rec=1&ua=" + ff, "", "", nil, inv},
		{"idsite 01 is 1", "?idsite=01&rec=1&ua=" + ff, "", "", nil, visit},
		{"idsite array", "?idsite[]=1&rec=1&ua=" + ff, "", "", nil, inv},
		{"last idsite wins", "?idsite=9&idsite=1&rec=1&ua=" + ff, "", "", nil, visit},
		{"# ends the query", "?idsite=1&rec=1&ua=" + ff + "#&cip=1.2.3.4", "", "", nil, visit},
		// rec
		{"rec missing", "?idsite=1&ua=" + ff, "", "", nil, disc},
		{"rec=0", base + "&rec=0&ua=" + ff, "", "", nil, disc},
		{"rec=abc", "?idsite=1&rec=abc&ua=" + ff, "", "", nil, disc},
		{"rec=0 still checks idsite", "?idsite=2&rec=0&ua=" + ff, "", "", nil, inv},
		{"rec=0 still checks cip", base + "&rec=0&cip=1.2.3.4&ua=" + ff, "", "", nil, inv},
		// cid, uid
		{"cid 16 hex", base + "&cid=0123456789abcdef&ua=" + ff, "", "", nil, visit},
		{"cid 15 chars", base + "&cid=0123456789abcde&ua=" + ff, "", "", nil, inv},
		{"cid 17 chars", base + "&cid=0123456789abcdef0&ua=" + ff, "", "", nil, inv},
		{"cid 16 non-hex: Matomo checks only the length", base + "&cid=zzzzzzzzzzzzzzzz&ua=" + ff, "", "", nil, visit},
		{"cid empty is no cid", base + "&cid=&ua=" + ff, "", "", nil, visit},
		{"uid wins over a bad cid", base + "&uid=alice&cid=abc&ua=" + ff, "", "", nil, visit},
		{"bad cid on a bot is not checked", base + "&cid=abc&ua=" + gbot, "", "", nil, disc},
		// cip
		{"cip without token", base + "&cip=198.51.100.7&ua=" + ff, "", "", nil, inv},
		{"cip with write token", base + "&cip=198.51.100.7&ua=" + ff, writeTok, "", nil, visit},
		{"cip with super token", base + "&cip=198.51.100.7&ua=" + ff, superTok, "", nil, visit},
		{"cip=0 is no cip", base + "&cip=0&ua=" + ff, "", "", nil, visit},
		{"cip with bearer only", base + "&cip=198.51.100.7&ua=" + ff, "", "", map[string]string{"Authorization": "Bearer " + writeTok}, visit},
		{"cip with a lower-case bearer", base + "&cip=198.51.100.7&ua=" + ff, "", "", map[string]string{"Authorization": "bearer " + writeTok}, inv},
		{"an unknown body token hides a good bearer", base + "&cip=198.51.100.7&ua=" + ff, "nope", "", map[string]string{"Authorization": "Bearer " + writeTok}, inv},
		{"cip with the item's own token_auth", base + "&cip=198.51.100.7&token_auth=" + writeTok + "&ua=" + ff, "", "", nil, visit},
		{"Googlebot address is a bot", base + "&cip=66.249.80.5&ua=" + ff, writeTok, "", nil, disc},
		{"Googlebot address with bots=1", base + "&cip=66.249.80.5&bots=1&ua=" + ff, writeTok, "", nil, visit},
		// cdt
		{"cdt 1h old, no token", base + "&cdt=" + unix(-time.Hour) + "&ua=" + ff, "", "", nil, at(visit, testNow.Add(-time.Hour))},
		{"cdt 48h old, no token", base + "&cdt=" + unix(-48*time.Hour) + "&ua=" + ff, "", "", nil, inv},
		{"cdt 24h old exactly, no token", base + "&cdt=" + unix(-24*time.Hour) + "&ua=" + ff, "", "", nil, inv},
		{"cdt 48h old, write token", base + "&cdt=" + unix(-48*time.Hour) + "&ua=" + ff, writeTok, "", nil, at(visit, testNow.Add(-48*time.Hour))},
		{"cdt datetime", base + "&cdt=2025-03-10+08%3A15%3A02&ua=" + ff, superTok, "", nil, at(visit, time.Date(2025, 3, 10, 8, 15, 2, 0, time.UTC))},
		{"cdt datetime %20", base + "&cdt=2025-03-14%2011%3A15%3A02&ua=" + ff, "", "", nil, at(visit, time.Date(2025, 3, 14, 11, 15, 2, 0, time.UTC))},
		{"cdt in the future is now", base + "&cdt=" + unix(time.Hour) + "&ua=" + ff, "", "", nil, visit},
		{"cdt in milliseconds is in the future", base + "&cdt=" + strconv.FormatInt(testNow.Add(-time.Hour).UnixMilli(), 10) + "&ua=" + ff, "", "", nil, visit},
		{"cdt 21 years old is now, no token needed", base + "&cdt=" + unix(-21*365*24*time.Hour) + "&ua=" + ff, "", "", nil, visit},
		{"cdt garbage is now", base + "&cdt=yesterday-ish&ua=" + ff, "", "", nil, visit},
		{"cdt empty is now", base + "&cdt=&ua=" + ff, "", "", nil, visit},
		{"cdo shifts cdt", base + "&cdt=" + unix(-time.Hour) + "&cdo=60&ua=" + ff, "", "", nil, at(visit, testNow.Add(-time.Hour-time.Minute))},
		{"cdo alone shifts now", base + "&cdo=-120&ua=" + ff, "", "", nil, at(visit, testNow.Add(-2*time.Minute))},
		{"old cdt checked on rec=0", base + "&rec=0&cdt=" + unix(-48*time.Hour) + "&ua=" + ff, "", "", nil, inv},
		{"old cdt checked on bots", base + "&cdt=" + unix(-48*time.Hour) + "&ua=" + gbot, "", "", nil, inv},
		{"last cdt wins", base + "&cdt=" + unix(-48*time.Hour) + "&cdt=" + unix(-time.Hour) + "&ua=" + ff, "", "", nil, at(visit, testNow.Add(-time.Hour))},
		// pf_srv
		{"pf_srv negative", base + "&pf_srv=-5&ua=" + ff, superTok, "", nil, inv},
		{"pf_srv -1 means unset", base + "&pf_srv=-1&ua=" + ff, "", "", nil, visit},
		{"pf_srv positive", base + "&pf_srv=25&ua=" + ff, "", "", nil, visit},
		{"pf_srv negative on a download is not checked", base + "&download=https%3A%2F%2Fex.com%2Fa.pdf&pf_srv=-5&ua=" + ff, "", "", nil, act(visit, ActionDownload)},
		{"pf_srv garbage is unset", base + "&pf_srv=abc&ua=" + ff, "", "", nil, visit},
		// events
		{"event", base + "&e_c=video&e_a=play&ua=" + ff, "", "", nil, act(visit, ActionEvent)},
		{"event category blank", base + "&e_c=+&e_a=play&ua=" + ff, "", "", nil, inv},
		{"event action blank", base + "&e_c=video&e_a=%09&ua=" + ff, "", "", nil, inv},
		{"event category empty: a pageview", base + "&e_c=&e_a=play&ua=" + ff, "", "", nil, visit},
		{"e.c is e_c (PHP key rules)", base + "&e.c=+&e_a=play&ua=" + ff, "", "", nil, inv},
		{"outlink", base + "&link=https%3A%2F%2Fother.org%2F&ua=" + ff, "", "", nil, act(visit, ActionOutlink)},
		{"site search", base + "&search=shoes&ua=" + ff, "", "", nil, act(visit, ActionSearch)},
		{"content", base + "&c_n=banner&ua=" + ff, "", "", nil, act(visit, ActionContent)},
		// geo overrides
		{"country without token", base + "&country=de&ua=" + ff, "", "", nil, inv},
		{"country with token", base + "&country=de&ua=" + ff, writeTok, "", nil, visit},
		{"lat=0 is empty()", base + "&lat=0&ua=" + ff, "", "", nil, visit},
		// bots in the visit path
		{"bot without bots=1", base + "&ua=" + gbot, "", "", nil, disc},
		{"bot with bots=1", base + "&bots=1&ua=" + gbot, "", "", nil, visit},
		{"no ua: the HTTP User-Agent counts", base, "", "", map[string]string{"User-Agent": "Go-http-client/1.1"}, disc},
		{"no ua, browser HTTP User-Agent", base, "", "", map[string]string{"User-Agent": "Mozilla/5.0 Firefox/128.0"}, visit},
		{"empty ua: the HTTP User-Agent counts", base + "&ua=", "", "", map[string]string{"User-Agent": "curl/8.5.0"}, disc},
		{"curl ua", base + "&ua=curl%2F8.5.0", "", "", nil, disc},
		{"AI assistant without recMode is a bot", base + "&ua=" + chatgpt, "", "", nil, disc},
		{"AI assistant with bots=1 is a visit", base + "&bots=1&ua=" + chatgpt, "", "", nil, visit},
		// recMode (5.7+)
		{"recMode=1 AI assistant", base + "&recMode=1&ua=" + chatgpt, "", "", nil, bot("ChatGPT-User")},
		{"recMode=1 AI download", base + "&recMode=1&download=https%3A%2F%2Fex.com%2Fa.pdf&ua=" + chatgpt, "", "", nil, itemWant{out: "bot", bot: "ChatGPT-User", act: ActionDownload, time: testNow}},
		{"recMode=1 other bot", base + "&recMode=1&ua=" + gbot, "", "", nil, disc},
		{"recMode=1 other bot with bots=1", base + "&recMode=1&bots=1&ua=" + gptbot, "", "", nil, disc},
		{"recMode=1 human", base + "&recMode=1&ua=" + ff, "", "", nil, disc},
		{"recMode=2 human", base + "&recMode=2&ua=" + ff, "", "", nil, visit},
		{"recMode=2 AI assistant", base + "&recMode=2&ua=" + chatgpt, "", "", nil, bot("ChatGPT-User")},
		{"recMode=2 other bot", base + "&recMode=2&ua=" + gptbot, "", "", nil, disc},
		{"recMode=0 is the visit path", base + "&recMode=0&ua=" + ff, "", "", nil, visit},
		{"recMode=3 is discarded", base + "&recMode=3&ua=" + ff, "", "", nil, disc},
		{"recMode=abc is discarded", base + "&recMode=abc&ua=" + ff, "", "", nil, disc},
		{"recMode=2x is 2 for (int)", base + "&recMode=2x&ua=" + ff, "", "", nil, visit},
		{"recMode Google-GeminiNotebook", base + "&recMode=1&ua=Google-GeminiNotebook%2F1.0", "", "", nil, bot("Google-NotebookLM")},
		{"recMode Google-NotebookLM", base + "&recMode=1&ua=google-notebooklm", "", "", nil, bot("Google-NotebookLM")},
		{"recMode Perplexity-User", base + "&recMode=1&ua=Perplexity-User%2F1.0", "", "", nil, bot("Perplexity-User")},
		{"recMode Claude-User", base + "&recMode=1&ua=Claude-User", "", "", nil, bot("Claude-User")},
		{"recMode MistralAI-User", base + "&recMode=1&ua=MistralAI-User%2F1.0", "", "", nil, bot("MistralAI-User")},
		{"recMode Gemini-Deep-Research", base + "&recMode=1&ua=Gemini-Deep-Research", "", "", nil, bot("Gemini-Deep-Research")},
		{"recMode DuckAssistBot", base + "&recMode=1&ua=DuckAssistBot%2F1.2", "", "", nil, bot("DuckAssistBot")},
		{"bot path ignores rec", "?idsite=1&recMode=1&ua=" + chatgpt, "", "", nil, bot("ChatGPT-User")},
		{"bot path checks idsite", "?idsite=2&rec=1&recMode=1&ua=" + chatgpt, "", "", nil, inv},
		{"bot path checks old cdt", base + "&recMode=1&cdt=" + unix(-48*time.Hour) + "&ua=" + chatgpt, "", "", nil, inv},
		{"bot path keeps old cdt with token", base + "&recMode=1&cdt=" + unix(-48*time.Hour) + "&ua=" + chatgpt, writeTok, "", nil, at(bot("ChatGPT-User"), testNow.Add(-48*time.Hour))},
		{"bot path does not read cip", base + "&recMode=1&cip=1.2.3.4&ua=" + chatgpt, "", "", nil, bot("ChatGPT-User")},
		{"bot path does not check pf_srv", base + "&recMode=1&pf_srv=-7&ua=" + chatgpt, "", "", nil, bot("ChatGPT-User")},
		// recMode before 5.7
		{"5.0.2 ignores recMode: AI is a bot", base + "&recMode=1&ua=" + chatgpt, "", "5.0.2", nil, disc},
		{"5.0.2 ignores recMode: human is a visit", base + "&recMode=1&ua=" + ff, "", "5.0.2", nil, visit},
		{"5.7.0-b1 is before 5.7.0", base + "&recMode=1&ua=" + ff, "", "5.7.0-b1", nil, visit},
		{"5.7.0 has recMode", base + "&recMode=1&ua=" + ff, "", "5.7.0", nil, disc},
		// Bot detection before 5.7 knows no AI assistant by name: only the
		// generic patterns decide (what a real 5.0.2 did with these UAs).
		{"5.0.2: ChatGPT-User is a bot (+https://openai.com/bot)", base + "&ua=" + chatgpt, "", "5.0.2", nil, disc},
		{"5.0.2: Claude-User is a visit", base + "&ua=" + claude, "", "5.0.2", nil, visit},
		// HTTP libraries: a real 5.0.2 stored them as visits.
		{"5.0.2: python-requests is a visit", base + "&ua=python-requests%2F2.32.3", "", "5.0.2", nil, visit},
		{"5.0.2: Go-http-client is a visit", base + "&ua=Go-http-client%2F2.0", "", "5.0.2", nil, visit},
		{"5.0.2: curl is a visit", base + "&ua=curl%2F8.5.0", "", "5.0.2", nil, visit},
		{"5.0.2: HeadlessChrome is a visit", base + "&ua=Mozilla%2F5.0+HeadlessChrome%2F120.0", "", "5.0.2", nil, visit},
		{"5.8: curl is a bot", base + "&ua=curl%2F8.5.0", "", "", nil, disc},
		{"5.0.2: Perplexity-User is a visit", base + "&ua=" + perplexity, "", "5.0.2", nil, visit},
		{"5.0.2: Claude-User with recMode=1 is a visit", base + "&recMode=1&ua=" + claude, "", "5.0.2", nil, visit},
		{"5.0.2: DuckAssistBot is a bot (bot)", base + "&ua=DuckAssistBot%2F1.2", "", "5.0.2", nil, disc},
		{"5.6.9: Perplexity-User is a visit", base + "&ua=" + perplexity, "", "5.6.9", nil, visit},
		{"5.7.0: Claude-User is a bot", base + "&ua=" + claude, "", "5.7.0", nil, disc},
		{"5.8: Perplexity-User is a bot", base + "&ua=" + perplexity, "", "", nil, disc},
		{"5.8: Claude-User recMode=2 goes to bot tracking", base + "&recMode=2&ua=" + claude, "", "", nil, bot("Claude-User")},
		// object items
		{"object item", `{"idsite":"1","rec":"1","url":"https://ex.com/","ua":"Firefox/128.0"}`, "", "", nil, visit},
		{"object item numbers", `{"idsite":1,"rec":1,"ua":"Firefox/128.0","cdt":` + unix(-time.Hour) + `}`, "", "", nil, at(visit, testNow.Add(-time.Hour))},
		{"object item float idsite", `{"idsite":1.0,"rec":1,"ua":"Firefox/128.0"}`, "", "", nil, visit},
		{"object item null idsite", `{"idsite":null,"rec":1,"ua":"Firefox/128.0"}`, "", "", nil, inv},
		{"object item rec true", `{"idsite":1,"rec":true,"ua":"Firefox/128.0"}`, "", "", nil, visit},
		{"object item rec false", `{"idsite":1,"rec":false,"ua":"Firefox/128.0"}`, "", "", nil, disc},
		{"object item recMode true is 1", `{"idsite":1,"rec":1,"recMode":true,"ua":"Firefox/128.0"}`, "", "", nil, disc},
		{"object item cip needs token", `{"idsite":1,"rec":1,"cip":"1.2.3.4","ua":"Firefox/128.0"}`, "", "", nil, inv},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, func(c *Config) { c.Version = tc.version })
			it := js(tc.item)
			if strings.HasPrefix(tc.item, "{") {
				it = tc.item
			}
			a := post(t, s, "/matomo.php", bulk(tc.token, it), tc.hdr)
			if a.err != nil || a.status != 200 {
				t.Fatalf("%d %q %v", a.status, a.body, a.err)
			}
			var res struct{ Tracked, Invalid int }
			if err := json.Unmarshal([]byte(a.body), &res); err != nil {
				t.Fatal(err)
			}
			recs := s.Stored()
			got := "discarded"
			switch {
			case res.Invalid == 1 && res.Tracked == 0:
				got = "invalid"
			case res.Tracked != 1 || res.Invalid != 0:
				t.Fatalf("answer %s", a.body)
			case len(recs) == 1:
				got = recs[0].Kind
			}
			if got != tc.want.out {
				t.Fatalf("got %s (%s), want %s", got, a.body, tc.want.out)
			}
			if len(recs) == 1 {
				r := recs[0]
				if r.BotName != tc.want.bot || r.Action != tc.want.act || !r.Time.Equal(tc.want.time) {
					t.Errorf("record %+v, want bot %q action %q time %v", r, tc.want.bot, tc.want.act, tc.want.time)
				}
				if r.Raw != tc.item || r.Batch != 0 || r.SiteID < 1 {
					t.Errorf("raw %q batch %d site %d", r.Raw, r.Batch, r.SiteID)
				}
			}
			st := s.Stats()
			if st.Tracked+st.Invalid != 1 || st.Stored != len(recs) || st.Discarded != st.Tracked-st.Stored {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestAcceptBearerFalse(t *testing.T) {
	s := newTest(t, func(c *Config) { c.AcceptBearer = Bool(false) })
	a := post(t, s, "/matomo.php", bulk("", js(okItem+"&cip=1.2.3.4")), map[string]string{"Authorization": "Bearer " + superTok})
	if a.body != `{"status":"success","tracked":0,"invalid":1}` {
		t.Fatal(a.body)
	}
}

func TestTokenPlacement(t *testing.T) {
	s := newTest(t, nil)
	item := js(okItem + "&cip=1.2.3.4&url=x")
	// A super-user token only in the Bearer header authorises the item
	// but does not make the answer list indices (only the body's token does).
	a := post(t, s, "/matomo.php", bulk("", item, js("?idsite=5&rec=1")), map[string]string{"Authorization": "Bearer " + superTok})
	if a.body != `{"status":"success","tracked":1,"invalid":1}` {
		t.Errorf("bearer: %s", a.body)
	}
	// A token only in the URL query string does not authorise (5.0.2).
	a = post(t, s, "/matomo.php?token_auth="+superTok, bulk("", item), nil)
	if a.body != `{"status":"success","tracked":0,"invalid":1}` {
		t.Errorf("URL token: %s", a.body)
	}
	// A numeric JSON token_auth is read as a string.
	s2 := newTest(t, func(c *Config) { c.WriteTokens = []string{"12345"} })
	a = post(t, s2, "/matomo.php", `{"requests":[`+item+`],"token_auth":12345}`, nil)
	if a.body != `{"status":"success","tracked":1,"invalid":0}` {
		t.Errorf("numeric token: %s", a.body)
	}
}

func TestRecordsAndParams(t *testing.T) {
	s := newTest(t, nil)
	items := []string{
		js("?idsite=1&rec=1&url=https%3A%2F%2Fex.com%2F%3Fa%3D1&ua=" + ff + "&url=https%3A%2F%2Fex.com%2Flast&dimension1=a+b&x[]=1&x[]=2&e.f=1&bad=%zz"),
		`{"idsite":1,"rec":"1","url":"https://ex.com/obj","ua":"Firefox","n":1.5,"t":true,"f":false,"z":null,"arr":[1,2]}`,
	}
	a := post(t, s, "/matomo.php", bulk(superTok, items...), nil)
	if a.status != 200 {
		t.Fatal(a.body)
	}
	recs := s.Stored()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	p := recs[0].Params
	for k, want := range map[string]string{
		"url": "https://ex.com/last", "dimension1": "a b", "e_f": "1", "bad": "%zz", "idsite": "1",
		"ua": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	} {
		if got := p[k]; len(got) != 1 || got[0] != want {
			t.Errorf("Params[%q] = %q, want %q", k, got, want)
		}
	}
	if got := p["x[]"]; len(got) != 2 || got[1] != "2" {
		t.Errorf("x[] = %q", got)
	}
	p = recs[1].Params
	for k, want := range map[string]string{"idsite": "1", "url": "https://ex.com/obj", "n": "1.5", "t": "1", "f": "", "arr": "[1,2]"} {
		if got := p.Get(k); got != want {
			t.Errorf("object Params[%q] = %q, want %q", k, got, want)
		}
	}
	if _, ok := p["z"]; ok {
		t.Error("null member kept")
	}
	raws := s.StoredRaw()
	var wantRaw0 string
	_ = json.Unmarshal([]byte(items[0]), &wantRaw0)
	if len(raws) != 2 || raws[0] != wantRaw0 || raws[1] != items[1] {
		t.Errorf("StoredRaw = %q", raws)
	}
	if s.StoredCount() != 2 {
		t.Error("StoredCount")
	}
	s.Reset()
	if len(s.Stored()) != 0 || s.Stats().Requests != 0 {
		t.Error("Reset kept data")
	}
}

func TestNoDeduplication(t *testing.T) {
	s := newTest(t, nil)
	body := bulk(writeTok, strs(okItem+"&action_name=a", okItem+"&action_name=b")...)
	for range 2 {
		if a := post(t, s, "/matomo.php", body, nil); a.status != 200 {
			t.Fatal(a.body)
		}
	}
	recs := s.Stored()
	if len(recs) != 4 || recs[0].Raw != recs[2].Raw || recs[0].Batch != 0 || recs[2].Batch != 1 {
		t.Fatalf("%+v", recs)
	}
}

// TestFaults covers each scripted fault.
func TestFaults(t *testing.T) {
	five := bulk(superTok, strs(okItem, okItem, "?idsite=9&rec=1", okItem, okItem)...)
	cases := []struct {
		name      string
		fault     Fault
		body      string
		timeout   time.Duration
		status    int    // 0: transport error expected
		want      string // exact body, unless "*"
		stored    int
		hdr       string // expected Retry-After
		rolled    int
		checkBody func(string) bool
	}{
		{"none", Fault{}, five, 0, 200, `{"status":"success","tracked":4,"invalid":1,"invalid_indices":[2]}`, 4, "", 0, nil},
		{"500 after 2", Fault{Kind: Fault500, ProcessBefore: 2}, five, 0, 500, `{"status":"error","tracked":2,"invalid":0,"invalid_indices":[]}`, 0, "", 1, nil},
		{"500 after 4 counts only tracked items", Fault{Kind: Fault500, ProcessBefore: 4}, five, 0, 500, `{"status":"error","tracked":3,"invalid":0,"invalid_indices":[]}`, 0, "", 1, nil},
		{"500 at commit", Fault{Kind: Fault500, ProcessBefore: 99}, five, 0, 500, `{"status":"error","tracked":4,"invalid":0,"invalid_indices":[]}`, 0, "", 1, nil},
		{"500 write token: no indices", Fault{Kind: Fault500}, bulk(writeTok, strs(okItem)...), 0, 500, `{"status":"error","tracked":0,"invalid":0}`, 0, "", 1, nil},
		{"429", Fault{Kind: Fault429, RetryAfter: 1500 * time.Millisecond}, five, 0, 429, "*", 0, "2", 0, nil},
		{"429 no Retry-After", Fault{Kind: Fault429}, five, 0, 429, "*", 0, "", 0, nil},
		{"503", Fault{Kind: Fault503}, five, 0, 503, "*", 0, "", 0, nil},
		{"drop", Fault{Kind: FaultDrop}, five, 0, 0, "", 0, "", 0, nil},
		{"drop after commit", Fault{Kind: FaultDropAfterCommit}, five, 0, 0, "", 4, "", 0, nil},
		{"bad JSON answer", Fault{Kind: FaultBadJSONAnswer}, five, 0, 200, "*", 4, "", 0, func(b string) bool {
			return !json.Valid([]byte(b)) && strings.Contains(b, `"tracked":4`)
		}},
		{"mismatch", Fault{Kind: FaultMismatch}, five, 0, 200, `{"status":"success","tracked":3,"invalid":1,"invalid_indices":[2]}`, 4, "", 0, nil},
		{"mismatch on nothing", Fault{Kind: FaultMismatch}, bulk(superTok), 0, 200, `{"status":"success","tracked":1,"invalid":0}`, 0, "", 0, nil},
		{"slow, client waits", Fault{Kind: FaultSlow, Delay: 50 * time.Millisecond}, five, 5 * time.Second, 200, `{"status":"success","tracked":4,"invalid":1,"invalid_indices":[2]}`, 4, "", 0, nil},
		// ignore_user_abort: PHP finishes and commits the batch the client gave up on.
		{"slow, client gives up: stored anyway", Fault{Kind: FaultSlow, Delay: 300 * time.Millisecond}, five, 50 * time.Millisecond, 0, "", 4, "", 0, nil},
		{"hang, client gives up: nothing stored", Fault{Kind: FaultHang, Delay: 5 * time.Second}, five, 50 * time.Millisecond, 0, "", 0, "", 0, nil},
		{"hang with a delay", Fault{Kind: FaultHang, Delay: 20 * time.Millisecond}, five, 5 * time.Second, 0, "", 0, "", 0, nil},
		{"slow after commit, client gives up", Fault{Kind: FaultSlowAfterCommit, Delay: 5 * time.Second}, five, 100 * time.Millisecond, 0, "", 4, "", 0, nil},
		{"lock wait skips items", Fault{Kind: FaultLockWait, Indices: []int{0, 2}}, five, 0, 200, `{"status":"success","tracked":3,"invalid":0,"invalid_indices":[]}`, 3, "", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, nil)
			s.Script(tc.fault)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			a := postCtx(ctx, t, s, "/matomo.php", tc.body, nil)
			if tc.status == 0 {
				if a.err == nil {
					t.Fatalf("want a transport error, got %d %q", a.status, a.body)
				}
			} else {
				if a.err != nil {
					t.Fatal(a.err)
				}
				if a.status != tc.status || (tc.want != "*" && a.body != tc.want) {
					t.Fatalf("got %d %q, want %d %q", a.status, a.body, tc.status, tc.want)
				}
				if got := a.header.Get("Retry-After"); got != tc.hdr {
					t.Errorf("Retry-After %q, want %q", got, tc.hdr)
				}
				if tc.checkBody != nil && !tc.checkBody(a.body) {
					t.Errorf("body %q", a.body)
				}
			}
			// The handler may still be running after a transport error.
			deadline := time.Now().Add(5 * time.Second)
			var st Stats
			for {
				st = s.Stats()
				if st.Stored == tc.stored || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if st.Stored != tc.stored || len(s.Stored()) != tc.stored || st.RolledBack != tc.rolled || st.Aborted != 0 {
				t.Errorf("stats %+v; want stored %d rolled back %d", st, tc.stored, tc.rolled)
			}
			if tc.fault.Kind != FaultNone && (st.Faults != 1 || st.FaultKinds[tc.fault.Kind.String()] != 1) {
				t.Errorf("faults %d %v", st.Faults, st.FaultKinds)
			}
			// The next POST is normal again and stores the batch.
			if a := post(t, s, "/matomo.php", five, nil); a.status != 200 {
				t.Fatalf("after the fault: %d %s", a.status, a.body)
			}
			if got := s.StoredCount(); got != tc.stored+4 {
				t.Errorf("after the fault stored %d", got)
			}
		})
	}
}

func TestFaultOrderAndFunc(t *testing.T) {
	var seen []int
	var mu sync.Mutex
	s := newTest(t, func(c *Config) {
		c.FaultFunc = func(n int) Fault {
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			if n%2 == 1 {
				return Fault{Kind: Fault503}
			}
			return Fault{}
		}
	})
	s.Script(Fault{Kind: Fault429}, Fault{Kind: Fault500})
	if s.PendingFaults() != 2 {
		t.Fatal("PendingFaults")
	}
	body := bulk("", js(okItem))
	var got []int
	for range 6 {
		got = append(got, post(t, s, "/matomo.php", body, nil).status)
	}
	// Single requests and API calls neither consume faults nor count.
	get(t, s, "/matomo.php?idsite=1&rec=1", nil)
	get(t, s, "/index.php?module=API&method=API.getMatomoVersion&format=json", nil)
	got = append(got, post(t, s, "/matomo.php", body, nil).status)
	want := []int{429, 500, 200, 503, 200, 503, 200}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if fmt.Sprint(seen) != "[2 3 4 5 6]" {
		t.Errorf("FaultFunc saw %v", seen)
	}
	if st := s.Stats(); st.BulkRequests != 7 || st.Status[503] != 2 || st.SingleRequests != 1 || st.APIRequests != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSingleRequests(t *testing.T) {
	old := strconv.FormatInt(testNow.Add(-48*time.Hour).Unix(), 10)
	cases := []struct {
		name    string
		method  string
		path    string
		body    string
		status  int
		gif     bool
		text    bool
		stored  int
		ctype   string
		hdrAuth string
	}{
		{"valid", "GET", "/matomo.php?" + okItem[1:], "", 200, true, false, 1, "", ""},
		{"piwik.php", "GET", "/piwik.php?" + okItem[1:], "", 200, true, false, 1, "", ""},
		{"send_image=0", "GET", "/matomo.php?" + okItem[1:] + "&send_image=0", "", 204, false, false, 1, "", ""},
		{"not recorded", "GET", "/matomo.php?idsite=1", "", 200, true, false, 0, "", ""},
		{"invalid", "GET", "/matomo.php?idsite=7&rec=1", "", 400, true, true, 0, "", ""},
		{"invalid send_image=0", "GET", "/matomo.php?idsite=7&rec=1&send_image=0", "", 400, false, true, 0, "", ""},
		{"old cdt, token in the query", "GET", "/matomo.php?" + okItem[1:] + "&cdt=" + old + "&token_auth=" + writeTok, "", 200, true, false, 1, "", ""},
		{"old cdt, no token", "GET", "/matomo.php?" + okItem[1:] + "&cdt=" + old, "", 400, true, true, 0, "", ""},
		{"old cdt, bearer", "GET", "/matomo.php?" + okItem[1:] + "&cdt=" + old, "", 200, true, false, 1, "", writeTok},
		{"empty GET", "GET", "/matomo.php", "", 200, false, true, 0, "", ""},
		{"empty POST", "POST", "/matomo.php", "", 400, false, true, 0, "", ""},
		{"POST form", "POST", "/matomo.php", okItem[1:], 200, true, false, 1, "application/x-www-form-urlencoded", ""},
		{"POST form, GET wins", "POST", "/matomo.php?idsite=1", "idsite=5&rec=1&ua=" + ff, 200, true, false, 1, "application/x-www-form-urlencoded", ""},
		{"POST JSON without requests is empty", "POST", "/matomo.php", `{"idsite":1,"rec":1}`, 400, false, true, 0, "application/json", ""},
		{"too large body is discarded by PHP", "POST", "/matomo.php", bulk("", js(okItem)) + strings.Repeat(" ", 1<<20), 400, false, true, 0, "application/json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, func(c *Config) { c.PostMaxSize = 1 << 20 })
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
			req.Header.Set("User-Agent", "Mozilla/5.0 Firefox/128.0")
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.hdrAuth != "" {
				req.Header.Set("Authorization", "Bearer "+tc.hdrAuth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q", resp.StatusCode, data)
			}
			if hasGIF := bytes.HasPrefix(data, transparentGIF); hasGIF != tc.gif {
				t.Errorf("GIF %v: %q", hasGIF, data)
			}
			if hasText := bytes.Contains(data, []byte("This resource is part of Matomo")); hasText != tc.text {
				t.Errorf("text %v: %q", hasText, data)
			}
			if tc.gif && !tc.text && (len(data) != 43 || resp.Header.Get("Content-Type") != "image/gif") {
				t.Errorf("GIF of %d bytes, %s", len(data), resp.Header.Get("Content-Type"))
			}
			recs := s.Stored()
			if len(recs) != tc.stored {
				t.Fatalf("stored %d", len(recs))
			}
			if tc.stored == 1 && (recs[0].Batch != -1 || recs[0].Params.Get("idsite") != "1") {
				t.Errorf("record %+v", recs[0])
			}
		})
	}
}

func TestVersionAPI(t *testing.T) {
	// The answers of a real 5.0.2 (checked by hand): a missing or unknown
	// token is HTTP 401; an unknown one is Matomo's HTML error page unless
	// format=json is in the URL.
	cases := []struct {
		name, method, query, form, bearer, want string
		version                                 string
		status                                  int
	}{
		{"POST form token", "POST", "", "module=API&method=API.getMatomoVersion&format=json&token_auth=" + writeTok, "", `{"value":"5.8.0"}`, "", 200},
		{"GET query token", "GET", "module=API&method=API.getMatomoVersion&format=json&token_auth=" + superTok, "", "", `{"value":"5.1.2"}`, "5.1.2", 200},
		{"bearer", "GET", "module=API&method=API.getMatomoVersion&format=JSON", "", writeTok, `{"value":"5.8.0"}`, "", 200},
		{"no token", "POST", "", "module=API&method=API.getMatomoVersion&format=json", "", `{"result":"error","message":"You can't access this resource as it requires view access for at least one website."}`, "", 401},
		{"bad token, format in the body: HTML", "POST", "", "module=API&method=API.getMatomoVersion&format=json&token_auth=nope", "", `<h2>Unable to authenticate with the provided token. It is either invalid or expired.</h2>`, "", 401},
		{"bad token, format in the URL", "POST", "module=API&method=API.getMatomoVersion&format=json", "token_auth=nope", "", `{"result":"error","message":"Unable to authenticate with the provided token. It is either invalid or expired."}`, "", 401},
		{"bad token in the URL", "GET", "module=API&method=API.getMatomoVersion&format=json&token_auth=nope", "", "", `{"result":"error","message":"Unable to authenticate with the provided token. It is either invalid, expired or is required to be sent as a POST parameter."}`, "", 401},
		{"unknown method", "GET", "module=API&method=API.nope&format=json&token_auth=" + writeTok, "", "", `{"result":"error","message":"The method 'API.nope' does not exist or is not available in the module 'API'."}`, "", 200},
		{"xml by default", "GET", "module=API&method=API.getMatomoVersion&token_auth=" + writeTok, "", "", "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>5.8.0</result>", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, func(c *Config) { c.Version = tc.version })
			req, _ := http.NewRequest(tc.method, s.URL()+"/index.php?"+tc.query, strings.NewReader(tc.form))
			if tc.form != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || (string(data) != tc.want && !(strings.HasPrefix(tc.want, "<h2>") && strings.Contains(string(data), tc.want))) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, data, tc.status, tc.want)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	s := newTest(t, nil)
	if a := post(t, s, "/matomo.php/matomo.php", bulk("", js(okItem)), nil); a.status != 404 {
		t.Fatal(a.status)
	}
}

// TestConcurrentPosts checks commits under concurrency (run with -race).
func TestConcurrentPosts(t *testing.T) {
	s := newTest(t, func(c *Config) {
		c.FaultFunc = func(n int) Fault {
			if n%5 == 4 {
				return Fault{Kind: Fault500, ProcessBefore: 3}
			}
			return Fault{}
		}
	})
	items := make([]string, 50)
	for i := range items {
		items[i] = js(okItem + "&action_name=" + strconv.Itoa(i))
	}
	body := bulk(writeTok, items...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				a := post(t, s, "/matomo.php", body, nil)
				if a.status == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
				}
				_ = s.Stats()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if ok != 64 || st.Stored != ok*50 || len(s.Stored()) != ok*50 || st.RolledBack != 16 || st.Committed != 64 {
		t.Fatalf("ok %d stats %+v", ok, st)
	}
	// Each batch's records are contiguous (commit order).
	recs := s.Stored()
	for i := 0; i < len(recs); i += 50 {
		for j := 1; j < 50; j++ {
			if recs[i+j].Batch != recs[i].Batch {
				t.Fatal("interleaved batches")
			}
		}
	}
}

func TestStatsJSON(t *testing.T) {
	s := newTest(t, nil)
	post(t, s, "/matomo.php", bulk("", js(okItem), js("nope")), nil)
	b, err := json.Marshal(s.Stats())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, want := range map[string]float64{"bulk_requests": 1, "items_received": 1, "items_dropped": 1, "tracked": 1, "stored": 1, "committed": 1,
		"committed_client_gone": 0, "aborted": 0, "salt_races": 0, "salt_deadlocks": 0} {
		if v, ok := m[k]; !ok || v != want {
			t.Errorf("%s = %v, want %v (%s)", k, m[k], want, b)
		}
	}
}

func TestJSONValidMatchesEncodingJSON(t *testing.T) {
	corpus := []string{
		`{}`, `[]`, `{"a":1}`, `{"a":[1,2,{"b":null}],"c":"d\"e\\f\/g\u00e9"}`, `-0`, `0.5e+10`, `1E5`, `true`,
		`01`, `.5`, `1.`, `+1`, `NaN`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `"\x"`, `"\u12"`, `"a` + "\t" + `b"`,
		`{"requests":["?idsite=1&rec=1"],"token_auth":"x"}`, `  {"a":[]}  `, `nul`, `[1 2]`, `{"a":1}{}`, `"\ud83d\ude00"`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,0123456789.-+eEtrufalsn \\/u"abc`)
	for range 20000 {
		base := []byte(corpus[rng.IntN(len(corpus))])
		for range rng.IntN(4) {
			if len(base) == 0 {
				break
			}
			i := rng.IntN(len(base))
			switch rng.IntN(3) {
			case 0:
				base[i] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				base = append(base[:i], base[i+1:]...)
			case 2:
				base = append(base[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, base[i:]...)...)
			}
		}
		corpus = append(corpus, string(base))
	}
	for _, c := range corpus {
		if strings.Contains(c, `\u`) {
			continue // surrogate rules differ on purpose
		}
		if got, want := jsonValid(c), json.Valid([]byte(c)); got != want {
			t.Errorf("jsonValid(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
	for c, want := range map[string]bool{`"\ud800"`: false, `"\udc00"`: false, `"\ud800\u0041"`: false, `"\ud800\udc00"`: true, `"\u0000"`: true} {
		if got := jsonValid(c); got != want {
			t.Errorf("jsonValid(%q) = %v", c, got)
		}
	}
	if got := jsonUnquote(`a\"b\\c\/d\n\u00e9\ud83d\ude00`); got != "a\"b\\c/d\né😀" {
		t.Errorf("jsonUnquote = %q", got)
	}
}

func TestPHPSemantics(t *testing.T) {
	str := func(s string) *pval { return &pval{s: s, kind: vStr, enc: true} }
	num := func(s string) *pval { return &pval{s: s, kind: vNum} }
	for _, c := range []struct {
		v    *pval
		want int64
	}{
		{str("1"), 1}, {str("01"), 1}, {str("+1"), 1}, {str("1.0"), 1}, {str("1.5"), -9}, {str("1e3"), 1000},
		{str("%201"), 1}, {str("1+"), 1}, {str("abc"), -9}, {str(""), -9}, {str("1abc"), -9}, {num("2"), 2},
		{num("2.0"), 2}, {&pval{kind: vTrue}, 1}, {&pval{kind: vFalse}, -9}, {&pval{kind: vArr}, -9}, {&pval{}, -9},
	} {
		if got := getInt(c.v, -9); got != c.want {
			t.Errorf("getInt(%+v) = %d, want %d", *c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v     *pval
		cast  int64
		empty bool
	}{
		{str("1"), 1, false}, {str("2x"), 2, false}, {str(" 2"), 2, false}, {str("abc"), 0, false}, {str("0"), 0, true},
		{str(""), 0, true}, {str("00"), 0, false}, {str("1.9"), 1, false}, {str("1e1"), 10, false}, {num("0.0"), 0, true},
		{&pval{kind: vTrue}, 1, false}, {&pval{kind: vArr}, 1, false}, {&pval{kind: vArrEmpty}, 0, true}, {&pval{}, 0, true},
	} {
		if got, e := phpIntCast(c.v), phpEmpty(c.v); got != c.cast || e != c.empty {
			t.Errorf("(int)%+v = %d empty %v, want %d %v", *c.v, got, e, c.cast, c.empty)
		}
	}
	for in, want := range map[string]string{"a+b%20c": "a b c", "%zz%4": "%zz%4", "%41%42": "AB", "100%": "100%"} {
		if got := phpURLDecode(in); got != want {
			t.Errorf("urldecode(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]string{"a.b": "a_b", " a": "a", "a b": "a_b", "a[b": "a_b", "a[x]": "a[]", "[x]": "", "a%5B%5D": "a[]", "%20": ""} {
		name, arr, ok := phpVarName(in)
		got := name
		if arr {
			got += "[]"
		}
		if !ok {
			got = ""
		}
		if got != want {
			t.Errorf("phpVarName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"?a=1": true, "?": false, "?0": false, "a=1": false, "#?a=1": false, "/x?a=1#f": true, "?#a": false} {
		if _, ok := queryOf(in); ok != want {
			t.Errorf("queryOf(%q) ok = %v", in, ok)
		}
	}
	if !versionAtLeast("5.10.1", "5.7.0") || versionAtLeast("5.6.9", "5.7.0") || versionAtLeast("5.7.0-rc1", "5.7.0") || !versionAtLeast("5.7", "5.7.0") {
		t.Error("versionAtLeast")
	}
}

func TestDropWithoutHijacker(t *testing.T) {
	s := New(Config{})
	s.Script(Fault{Kind: FaultDrop})
	defer func() {
		if r := recover(); !errors.Is(r.(error), http.ErrAbortHandler) {
			t.Fatalf("recovered %v", r)
		}
	}()
	req, _ := http.NewRequest("POST", "/matomo.php", strings.NewReader(bulk("", js(okItem))))
	req.Header.Set("Content-Type", "application/json")
	s.Handler().ServeHTTP(nopWriter{}, req)
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// BenchmarkBulk posts 500-item batches over HTTP from 2 senders and reports
// items/s; the receiver runs in the same process.
func BenchmarkBulk(b *testing.B) {
	s := newTest(b, nil)
	items := make([]string, 500)
	for i := range items {
		items[i] = js("?idsite=1&rec=1&apiv=1&url=https%3A%2F%2Fwww.example.org%2Fdocs%2Fpage-" + strconv.Itoa(i) +
			"&urlref=https%3A%2F%2Fwww.google.com%2F&cip=198.51.100." + strconv.Itoa(i%250) + "&cdt=" +
			strconv.FormatInt(testNow.Add(-time.Duration(i)*time.Minute).Unix(), 10) + "&ua=" + ff + "&bw_bytes=9120&pf_srv=21")
	}
	body := []byte(bulk(writeTok, items...))
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	hc := &http.Client{Transport: tr}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	var wg sync.WaitGroup
	var n sync.Mutex
	next := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n.Lock()
				if next >= b.N {
					n.Unlock()
					return
				}
				next++
				n.Unlock()
				req, _ := http.NewRequest("POST", s.URL()+"/matomo.php", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "items/s")
	if s.StoredCount() != b.N*len(items) {
		b.Fatalf("stored %d", s.StoredCount())
	}
}

// BenchmarkStored measures Stored() on 1M records.
func BenchmarkStored(b *testing.B) {
	s := New(Config{Now: func() time.Time { return testNow }})
	item := "?idsite=1&rec=1&url=https%3A%2F%2Fwww.example.org%2Fdocs&cdt=" + strconv.FormatInt(testNow.Unix()-60, 10) + "&ua=" + ff
	chunk := make([]rec, 1000)
	for i := range chunk {
		chunk[i] = rec{raw: item, unix: testNow.Unix()}
	}
	for range 1000 {
		s.commit(s.never, nil, chunk, len(chunk), 0, 0, 0, true)
	}
	b.ResetTimer()
	for range b.N {
		if len(s.Stored()) != 1_000_000 {
			b.Fatal("count")
		}
	}
}

// onlyReader hides the length of a body so that it is sent chunked.
type onlyReader struct{ io.Reader }

func TestChunkedBodiesAndPreflight(t *testing.T) {
	s := newTest(t, func(c *Config) { c.PostMaxSize = 4096 })
	send := func(body string) answer {
		req, _ := http.NewRequest("POST", s.URL()+"/matomo.php", onlyReader{strings.NewReader(body)})
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://example.com")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, body: string(data), header: resp.Header}
	}
	a := send(bulk("", js(okItem)))
	if a.status != 200 || a.body != `{"status":"success","tracked":1,"invalid":0}` {
		t.Fatalf("chunked: %d %s", a.status, a.body)
	}
	if a.header.Get("Access-Control-Allow-Origin") != "https://example.com" || a.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("CORS headers %v", a.header)
	}
	a = send(bulk("", js(okItem)) + strings.Repeat(" ", 5000))
	if a.status != 400 || !strings.Contains(a.body, "part of Matomo") || s.Stats().TooLarge != 1 {
		t.Fatalf("chunked too large: %d %s %+v", a.status, a.body, s.Stats())
	}
	req, _ := http.NewRequest("OPTIONS", s.URL()+"/matomo.php", nil)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Methods") != "GET, POST" {
		t.Errorf("preflight %d %v", resp.StatusCode, resp.Header)
	}
}

func TestListenShutdown(t *testing.T) {
	s := New(Config{})
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), "/") {
		t.Fatal(s.URL())
	}
	if a := get(t, s, "/matomo.php?idsite=1&rec=1", nil); a.status != 200 {
		t.Fatal(a.status)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := get(t, s, "/matomo.php?idsite=1&rec=1", nil); a.err == nil {
		t.Fatal("still serving")
	}
}

func TestNumberStrings(t *testing.T) {
	for in, want := range map[string]string{"2": "2", "-0": "0", "1.0": "1", "1.5": "1.5", "1e3": "1000", "0.0": "0", "-0.0": "-0", "1.5e-7": "1.5E-7", "1e20": "1.0E+20"} {
		if got := phpNumberString(in); got != want {
			t.Errorf("phpNumberString(%s) = %s, want %s", in, got, want)
		}
	}
	if FaultKind(99).String() != "unknown" || Fault500.String() != "500" {
		t.Error("FaultKind.String")
	}
}

func TestGetSiteFromID(t *testing.T) {
	s := newTest(t, func(c *Config) {
		c.Sites = []int{1, 2, 3}
		c.SiteURLs = map[int][]string{2: {"http://www.example.com", "https://example.com"}}
		c.SiteTimezones = map[int]string{2: "Europe/Paris", 3: "UTC+5.5"}
	})
	for _, tc := range []struct{ name, query, want string }{
		{"configured URLs: the first is the main URL", "idSite=2&token_auth=" + writeTok, `"main_url":"http://www.example.com"`},
		{"no URLs: an invented one", "idSite=1&token_auth=" + superTok, `"main_url":"https://site1.example"`},
		{"configured time zone", "idSite=2&token_auth=" + superTok, `"timezone":"Europe/Paris"`},
		{"Matomo's UTC offset form", "idSite=3&token_auth=" + superTok, `"timezone":"UTC+5.5"`},
		{"default time zone", "idSite=1&token_auth=" + superTok, `"timezone":"UTC"`},
		{"unknown site", "idSite=7&token_auth=" + superTok, `{"result":"error","message":"An unexpected website was found in the request: website id was set to '7' ."}`},
		{"no token", "idSite=1", `requires view access for the website id = 1.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, s, "/index.php?module=API&method=SitesManager.getSiteFromId&format=json&"+tc.query, nil)
			wantStatus := 200
			if tc.name == "no token" {
				wantStatus = 401
			}
			if a.err != nil || a.status != wantStatus || !strings.Contains(a.body, tc.want) {
				t.Fatalf("%d %q %v, want %s", a.status, a.body, a.err, tc.want)
			}
		})
	}
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCommitAfterClientGone: PHP runs with ignore_user_abort(true), so a
// batch whose client gave up is committed anyway, and a resend stores it a
// second time. The hook makes it deterministic: it lets the request commit
// only once the server has seen the client go.
func TestCommitAfterClientGone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault Fault
		cfg   func(*Config)
	}{
		{"no fault", Fault{}, nil},
		{"FaultSlow", Fault{Kind: FaultSlow, Delay: 30 * time.Millisecond}, nil},
		{"PerItemDelay", Fault{}, func(c *Config) { c.PerItemDelay = 5 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered := make(chan struct{})
			s := newTest(t, func(c *Config) {
				c.BeforeCommit = func(client context.Context, n int) {
					if n == 0 {
						close(entered)
						<-client.Done()
					}
				}
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			s.Script(tc.fault)
			body := bulk(writeTok, strs(okItem, okItem, okItem)...)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan answer)
			go func() { done <- postCtx(ctx, t, s, "/matomo.php", body, nil) }()
			<-entered
			if s.StoredCount() != 0 {
				t.Fatal("stored before the commit")
			}
			cancel()
			if a := <-done; a.err == nil {
				t.Fatalf("want a transport error, got %d %s", a.status, a.body)
			}
			waitFor(t, "the commit", func() bool { return s.StoredCount() == 3 })
			st := s.Stats()
			if st.CommittedClientGone != 1 || st.Committed != 1 || st.Tracked != 3 || st.Status[0] != 1 || st.Aborted != 0 {
				t.Errorf("stats %+v", st)
			}
			// The client resends what it could not confirm: stored twice.
			if a := post(t, s, "/matomo.php", body, nil); a.status != 200 {
				t.Fatal(a.status, a.body)
			}
			if s.StoredCount() != 6 || s.Stats().CommittedClientGone != 1 {
				t.Errorf("stored %d, stats %+v", s.StoredCount(), s.Stats())
			}
		})
	}
}

// TestPerItemDelay: a bulk request of n items takes at least n*PerItemDelay
// (a lower bound only: timers never fire early).
func TestPerItemDelay(t *testing.T) {
	s := newTest(t, func(c *Config) { c.PerItemDelay = 10 * time.Millisecond })
	items := make([]string, 8)
	for i := range items {
		items[i] = js(okItem)
	}
	start := time.Now()
	a := post(t, s, "/matomo.php", bulk("", items...), nil)
	if took := time.Since(start); a.status != 200 || took < 80*time.Millisecond {
		t.Fatalf("%d %s after %v", a.status, a.body, took)
	}
	if s.StoredCount() != 8 {
		t.Fatal(s.StoredCount())
	}
}

// TestWorkers: with one PHP worker a second batch waits until the first is
// done, and runs even if its client gave up while it waited.
func TestWorkers(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := newTest(t, func(c *Config) {
		c.Workers = 1
		c.BeforeCommit = func(client context.Context, n int) {
			switch n {
			case 0:
				close(entered)
				<-release
			case 1:
				<-client.Done() // deterministic: the server has seen it go
			}
		}
	})
	first := bulk("", strs(okItem, okItem)...)
	second := bulk("", strs(okItem, okItem, okItem)...)
	done := make(chan answer, 1)
	go func() { done <- post(t, s, "/matomo.php", first, nil) }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan answer, 1)
	go func() { gone <- postCtx(ctx, t, s, "/matomo.php", second, nil) }()
	waitFor(t, "the second batch to arrive", func() bool { return s.Stats().BulkRequests == 2 })
	// It waits for the worker: PHP has not even parsed it.
	if st := s.Stats(); st.ItemsReceived != 2 || st.Stored != 0 {
		t.Fatalf("stats while queued %+v", st)
	}
	cancel()
	if a := <-gone; a.err == nil {
		t.Fatalf("want a transport error, got %d", a.status)
	}
	close(release)
	if a := <-done; a.status != 200 {
		t.Fatal(a.status, a.body)
	}
	waitFor(t, "the queued batch", func() bool { return s.StoredCount() == 5 })
	if st := s.Stats(); st.CommittedClientGone != 1 || st.Committed != 2 || st.ItemsReceived != 5 {
		t.Errorf("stats %+v", st)
	}
}

// visitorItem is a pageview of one visitor (same IP, same ua) at cdt.
func visitorItem(site int, cdt time.Time, page string) string {
	return js("?idsite=" + strconv.Itoa(site) + "&rec=1&cip=198.51.100.7&ua=" + ff + "&url=https%3A%2F%2Fex.com%2F" + page +
		"&cdt=" + strconv.FormatInt(cdt.Unix(), 10))
}

// TestSaltRaceSplitsVisitor: the first requests of a site and day each
// create a fingerprint salt; two of them in flight at once give one
// visitor two config ids. The same batches one after the other do not.
func TestSaltRaceSplitsVisitor(t *testing.T) {
	at := testNow.Add(-time.Hour)
	a := bulk(writeTok, visitorItem(1, at, "a"), visitorItem(1, at.Add(time.Minute), "b"))
	b := bulk(writeTok, visitorItem(1, at.Add(2*time.Minute), "c"), visitorItem(1, at.Add(3*time.Minute), "d"))

	t.Run("one after the other", func(t *testing.T) {
		s := newTest(t, nil)
		for _, body := range []string{a, b} {
			if r := post(t, s, "/matomo.php", body, nil); r.status != 200 {
				t.Fatal(r.status, r.body)
			}
		}
		v := s.Visitors()
		if len(v) != 1 || len(v[0].ConfigIDs) != 1 || v[0].Hits != 4 || len(s.SplitVisitors()) != 0 || s.Stats().SaltRaces != 0 {
			t.Fatalf("visitors %+v stats %+v", v, s.Stats())
		}
		if v[0].SiteID != 1 || v[0].Day != "2025-03-14" || v[0].IP != "198.51.100.7" || !strings.Contains(v[0].UA, "Firefox/128.0") || v[0].Lang != "" {
			t.Errorf("visitor %+v", v[0])
		}
	})

	t.Run("concurrently", func(t *testing.T) {
		// Batch 0 holds its transaction (and its uncommitted salt) open
		// until batch 1 has been processed.
		entered, release := make(chan struct{}), make(chan struct{})
		s := newTest(t, func(c *Config) {
			c.BeforeCommit = func(_ context.Context, n int) {
				switch n {
				case 0:
					close(entered)
					<-release
				case 1:
					close(release)
				}
			}
		})
		done := make(chan answer, 1)
		go func() { done <- post(t, s, "/matomo.php", a, nil) }()
		<-entered
		if r := post(t, s, "/matomo.php", b, nil); r.status != 200 {
			t.Fatal(r.status, r.body)
		}
		if r := <-done; r.status != 200 {
			t.Fatal(r.status, r.body)
		}
		split := s.SplitVisitors()
		if len(split) != 1 || len(split[0].ConfigIDs) != 2 || split[0].Hits != 4 || s.Stats().SaltRaces != 1 {
			t.Fatalf("split %+v stats %+v", split, s.Stats())
		}
		// Each batch's hits share a config id; the batches differ.
		recs := s.Stored()
		byBatch := map[int]map[string]bool{}
		for _, r := range recs {
			if byBatch[r.Batch] == nil {
				byBatch[r.Batch] = map[string]bool{}
			}
			byBatch[r.Batch][r.ConfigID] = true
		}
		if len(byBatch[0]) != 1 || len(byBatch[1]) != 1 || recs[0].ConfigID == recs[3].ConfigID {
			t.Errorf("config ids by batch %v", byBatch)
		}
		// The salt of the batch that committed last (the option is updated
		// on a duplicate) is the one later requests get.
		lastBatch := recs[len(recs)-1].Batch
		if r := post(t, s, "/matomo.php", bulk(writeTok, visitorItem(1, at.Add(4*time.Minute), "e")), nil); r.status != 200 {
			t.Fatal(r.body)
		}
		recs = s.Stored()
		if last := recs[len(recs)-1]; last.ConfigID != byBatchID(recs, lastBatch) || len(s.SplitVisitors()[0].ConfigIDs) != 2 {
			t.Errorf("later hit %s, batch %d (committed last) %s", last.ConfigID, lastBatch, byBatchID(recs, lastBatch))
		}
	})
}

func byBatchID(recs []Record, batch int) string {
	for _, r := range recs {
		if r.Batch == batch {
			return r.ConfigID
		}
	}
	return ""
}

// TestSaltDeadlock: with Config.SaltDeadlock the racing request fails with
// a 500 and yet stores the items after the race: a 500 does not mean
// nothing was stored, and resending the batch stores those items twice.
func TestSaltDeadlock(t *testing.T) {
	at := testNow.Add(-time.Hour)
	entered, release := make(chan struct{}), make(chan struct{})
	s := newTest(t, func(c *Config) {
		c.SaltDeadlock = true
		c.BeforeCommit = func(_ context.Context, n int) {
			switch n {
			case 0:
				close(entered)
				<-release
			case 1:
				close(release)
			}
		}
	})
	a := bulk(writeTok, visitorItem(1, at, "a"))
	// Site 3 first (its own salt, rolled back by the deadlock), then the
	// item that races batch 0 for site 1's salt, then two more.
	b := bulk(writeTok, visitorItem(3, at, "x"), visitorItem(1, at, "race"), visitorItem(1, at, "after1"), visitorItem(1, at, "after2"))
	done := make(chan answer, 1)
	go func() { done <- post(t, s, "/matomo.php", a, nil) }()
	<-entered
	r := post(t, s, "/matomo.php", b, nil)
	if r.status != 500 || r.body != `{"status":"error","tracked":3,"invalid":0}` {
		t.Fatalf("racing batch: %d %s", r.status, r.body)
	}
	if ra := <-done; ra.status != 200 {
		t.Fatal(ra.status, ra.body)
	}
	var pages []string
	for _, rec := range s.Stored() {
		pages = append(pages, rec.Params.Get("url"))
	}
	sort.Strings(pages) // the two batches commit in either order
	want := "[https://ex.com/a https://ex.com/after1 https://ex.com/after2]"
	if fmt.Sprint(pages) != want {
		t.Errorf("stored %v, want %s", pages, want)
	}
	st := s.Stats()
	if st.SaltDeadlocks != 1 || st.RolledBack != 1 || st.RolledBackRecords != 1 || st.Stored != 3 || st.Committed != 1 || st.Status[500] != 1 {
		t.Errorf("stats %+v", st)
	}
	// The site-3 salt died with the transaction: the next site-3 hit
	// creates one without a race.
	races := st.SaltRaces
	if r := post(t, s, "/matomo.php", bulk(writeTok, visitorItem(3, at, "y")), nil); r.status != 200 || s.Stats().SaltRaces != races {
		t.Fatalf("%d %s %+v", r.status, r.body, s.Stats())
	}
	// A super user's token adds the empty list, as for Fault500.
	s2 := newTest(t, func(c *Config) { c.SaltDeadlock = true })
	if r := post(t, s2, "/matomo.php", bulk(superTok, visitorItem(1, at, "a")), nil); r.status != 200 {
		t.Fatal("no race, no deadlock:", r.status, r.body)
	}
}

// TestSaltDayTimezones: the salt day is the hit's day in the site's time
// zone; a visitor's hits either side of the site's midnight get two salts.
func TestSaltDayTimezones(t *testing.T) {
	s := newTest(t, func(c *Config) {
		c.Sites = []int{1, 2, 3, 4}
		c.SiteTimezones = map[int]string{2: "Europe/Paris", 3: "UTC+5.5", 4: "UTC-3"}
	})
	before := time.Date(2025, 3, 13, 23, 30, 0, 0, time.UTC) // Paris 00:30 on the 14th (UTC+1)
	after := before.Add(40 * time.Minute)                    // 00:10 UTC on the 14th
	var items []string
	for site := 1; site <= 4; site++ {
		items = append(items, visitorItem(site, before, "a"), visitorItem(site, after, "b"))
	}
	if r := post(t, s, "/matomo.php", bulk(writeTok, items...), nil); r.status != 200 {
		t.Fatal(r.status, r.body)
	}
	got := map[int][]string{}
	for _, r := range s.Stored() {
		got[r.SiteID] = append(got[r.SiteID], r.SaltDay)
	}
	want := map[int][]string{
		1: {"2025-03-13", "2025-03-14"}, // UTC: midnight in between
		2: {"2025-03-14", "2025-03-14"}, // Paris: 00:30 and 01:10
		3: {"2025-03-14", "2025-03-14"}, // UTC+5.5: 05:00 and 05:40
		4: {"2025-03-13", "2025-03-13"}, // UTC-3: 20:30 and 21:10
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("salt days %v, want %v", got, want)
	}
	perSite := map[int]int{}
	for _, v := range s.Visitors() {
		perSite[v.SiteID]++
		if len(v.ConfigIDs) != 1 {
			t.Errorf("visitor split %+v", v)
		}
	}
	if fmt.Sprint(perSite) != "map[1:2 2:1 3:1 4:1]" {
		t.Errorf("visitors per site %v", perSite)
	}
	if s.Stats().SaltRaces != 0 {
		t.Error("races within one request")
	}
}

func TestBadTimezonePanics(t *testing.T) {
	for _, tz := range []string{"Mars/Olympus", "UTC+15", "UTC+x", "Local"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tz)
				}
			}()
			New(Config{SiteTimezones: map[int]string{1: tz}})
		}()
	}
}

// TestVisitIdentity: a visit is stored under cip when given, else under
// the sender's address; bots have no identity; lang and Accept-Language
// are part of the fingerprint.
func TestVisitIdentity(t *testing.T) {
	s := newTest(t, nil)
	const chatgpt = "Mozilla%2F5.0+AppleWebKit%2F537.36+%28KHTML%2C+like+Gecko%3B+compatible%3B+ChatGPT-User%2F1.0%3B+%2Bhttps%3A%2F%2Fopenai.com%2Fbot%29"
	items := strs(
		okItem,                            // sender's address
		okItem+"&cip=2001:db8::1",         // cip
		okItem+"&cip=not-an-ip",           // stored as 0.0.0.0
		okItem+"&lang=de-de",              // another language: another visitor
		"?idsite=1&rec=1&url=x",           // no ua: the HTTP User-Agent
		"?idsite=1&recMode=1&ua="+chatgpt, // bot tracking: no visit
	)
	if r := post(t, s, "/matomo.php", bulk(writeTok, items...), map[string]string{"Accept-Language": "fr-FR, en", "User-Agent": "Mozilla/5.0 Test/1.0"}); r.status != 200 {
		t.Fatal(r.status, r.body)
	}
	recs := s.Stored()
	if len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
	for i, want := range []string{"127.0.0.1", "2001:db8::1", "0.0.0.0", "127.0.0.1", "127.0.0.1", ""} {
		if recs[i].IP != want {
			t.Errorf("record %d IP %q, want %q", i, recs[i].IP, want)
		}
		if bot := recs[i].Kind == KindBot; bot != (recs[i].ConfigID == "") || bot != (recs[i].SaltDay == "") {
			t.Errorf("record %d %+v", i, recs[i])
		}
	}
	if recs[0].ConfigID == recs[3].ConfigID || recs[0].ConfigID == recs[1].ConfigID || len(recs[0].ConfigID) != 16 {
		t.Errorf("config ids %s %s %s", recs[0].ConfigID, recs[1].ConfigID, recs[3].ConfigID)
	}
	v := s.Visitors()
	if len(v) != 5 || len(s.SplitVisitors()) != 0 {
		t.Fatalf("visitors %+v", v)
	}
	var langs, uas []string
	for _, x := range v {
		langs = append(langs, x.Lang)
		uas = append(uas, x.UA)
	}
	if !strings.Contains(fmt.Sprint(langs), "de-de") || !strings.Contains(fmt.Sprint(langs), "fr-fr,en") || !strings.Contains(fmt.Sprint(uas), "Mozilla/5.0 Test/1.0") {
		t.Errorf("langs %q uas %q", langs, uas)
	}
	// A single request is fingerprinted the same way, with the committed salt.
	if r := get(t, s, "/matomo.php?"+okItem[1:], nil); r.status != 200 {
		t.Fatal(r.status)
	}
	recs = s.Stored()
	last := recs[len(recs)-1]
	if last.IP != "127.0.0.1" || last.SaltDay != "2025-03-14" || last.ConfigID == "" {
		t.Errorf("single %+v", last)
	}
}

// TestStopStart: while stopped the address refuses connections; after
// Start the same URL works and the records stored before are still there.
func TestStopStart(t *testing.T) {
	s := newTest(t, nil)
	url := s.URL()
	// A client without pooled connections, so each request dials.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func() (int, error) {
		req, _ := http.NewRequest("POST", url+"/matomo.php", strings.NewReader(bulk("", js(okItem))))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := send(); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	s.Stop()
	s.Stop() // twice is fine
	if _, err := send(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while stopped: %v, want connection refused", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start while serving")
	}
	if s.URL() != url {
		t.Errorf("URL %s, was %s", s.URL(), url)
	}
	if code, err := send(); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	if s.StoredCount() != 2 || s.Stats().Committed != 2 {
		t.Errorf("stored %d %+v", s.StoredCount(), s.Stats())
	}
	if err := New(Config{}).Start(); err == nil {
		t.Error("Start before Listen")
	}
}

// TestStopKillsInflight: a request still in PHP when the server stops dies
// with its transaction: nothing of it is stored, its salt is gone.
func TestStopKillsInflight(t *testing.T) {
	s := newTest(t, func(c *Config) { c.PerItemDelay = time.Hour })
	done := make(chan answer, 1)
	go func() { done <- post(t, s, "/matomo.php", bulk("", js(okItem)), nil) }()
	waitFor(t, "the request", func() bool { return s.Stats().ItemsReceived == 1 })
	s.Stop()
	if a := <-done; a.err == nil {
		t.Fatalf("want a transport error, got %d %s %+v", a.status, a.body, s.Stats())
	}
	waitFor(t, "the abort", func() bool { return s.Stats().Aborted == 1 })
	if s.StoredCount() != 0 || s.Stats().Committed != 0 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestAddSiteTimezone(t *testing.T) {
	s := newTest(t, nil)
	api := "/index.php?module=API&format=json&token_auth=" + superTok + "&method="
	a := get(t, s, api+"SitesManager.addSite&siteName=x&urls=https%3A%2F%2Fa.example&timezone=Asia%2FTokyo", nil)
	if a.body != `{"value":"4"}` {
		t.Fatalf("addSite: %s", a.body)
	}
	if a = get(t, s, api+"SitesManager.getSiteFromId&idSite=4", nil); !strings.Contains(a.body, `"timezone":"Asia/Tokyo"`) {
		t.Errorf("getSiteFromId: %s", a.body)
	}
	if a = get(t, s, api+"SitesManager.addSite&siteName=y&urls=https%3A%2F%2Fb.example&timezone=Nowhere%2FNever", nil); !strings.Contains(a.body, `is not valid`) {
		t.Errorf("bad time zone: %s", a.body)
	}
	// The new site's salt day is in Tokyo: 20:00 UTC on the 13th is the 14th there.
	if r := post(t, s, "/matomo.php", bulk(writeTok, visitorItem(4, time.Date(2025, 3, 13, 20, 0, 0, 0, time.UTC), "a")), nil); r.status != 200 {
		t.Fatal(r.body)
	}
	if recs := s.Stored(); len(recs) != 1 || recs[0].SaltDay != "2025-03-14" {
		t.Errorf("%+v", recs)
	}
}

// FuzzLoadTimezone: any name either fails or gives a zone; Matomo's
// "UTC±h" forms are whole or fractional hours within 14 hours.
func FuzzLoadTimezone(f *testing.F) {
	for _, s := range []string{"UTC", "", "UTC+5.5", "UTC-3", "UTC+12.75", "Europe/Paris", "UTC+", "UTC+-1", "UTC+1e1", "UTC+NaN", "Local"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := loadTimezone(name)
		if err != nil {
			return
		}
		if loc == nil {
			t.Fatal("nil location without an error")
		}
		if strings.HasPrefix(name, "UTC+") || strings.HasPrefix(name, "UTC-") {
			if _, off := time.Date(2025, 3, 14, 0, 0, 0, 0, loc).Zone(); off > 14*3600 || off < -14*3600 {
				t.Fatalf("%q: offset %d", name, off)
			}
		}
		_ = saltDay(testNow.Unix(), loc)
	})
}
