package logformat

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestFlatJSON(t *testing.T) {
	got := map[string]string{}
	err := flatJSON(` { "a" : "x\"y\u00e9\ud83d\ude00" , "n": -1.5e3, "t":true, "z":null, "o":{"k":[1,{"x":"}"}]}, "e":"" } `, func(k, v string, _ bool) { got[k] = v })
	if err != nil || got["a"] != "x\"yé😀" || got["n"] != "-1.5e3" || got["t"] != "true" || got["z"] != "" || got["e"] != "" || len(got) != 5 {
		t.Fatalf("%v %q", err, got)
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":01}`, `{"a":"\x"}`, `{"a":tru}`, `{} x`, `[1]`, `{"a":"b"`, "{\"a\":\"\x01\"}"} {
		if err := flatJSON(bad, func(k, v string, _ bool) {}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzFlatJSON compares the scanner with encoding/json on flat objects.
func FuzzFlatJSON(f *testing.F) {
	f.Add(`{"ip": "1.2.3.4","path": "/a?b","status": "200","length": 192,"x":{"y":[1,2]},"u":"\u00e9\n"}`)
	f.Add(`{"a":-0.5e-3,"b":null,"c":false}`)
	f.Fuzz(func(t *testing.T, s string) {
		got := map[string]string{}
		err := flatJSON(s, func(k, v string, isString bool) {
			if isString {
				got[k] = v
			}
		})
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal([]byte(s), &ref)
		if refErr == nil && ref == nil {
			refErr = errors.New("null is not an object") // encoding/json takes null for a nil map
		}
		if !utf8.ValidString(s) {
			return // encoding/json replaces such bytes, we keep them
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("flatJSON error %v, encoding/json error %v, on %q", err, refErr, s)
		}
		if err != nil {
			return
		}
		for k, raw := range ref {
			var v string
			if json.Unmarshal(raw, &v) != nil {
				continue // not a string
			}
			if gv, ok := got[k]; ok && gv != v {
				t.Fatalf("key %q: %q, encoding/json %q", k, gv, v)
			}
		}
	})
}
