package report

import "strings"

// Referrer kinds.
const (
	refNone   = iota // no referrer, or one of the site itself
	refSite          // another site
	refSearch        // a search engine
	refAI            // an AI assistant's site (or utm_source naming one)
)

// searchEngines maps a referrer host's registrable part to an engine name;
// a key ending in '.' matches every country domain (google.de, google.co.uk).
var searchEngines = []struct{ host, name string }{
	{"google.", "Google"}, {"bing.com", "Bing"}, {"duckduckgo.com", "DuckDuckGo"},
	{"search.yahoo.", "Yahoo"}, {"yahoo.co.jp", "Yahoo"}, {"yandex.", "Yandex"}, {"ya.ru", "Yandex"},
	{"baidu.com", "Baidu"}, {"ecosia.org", "Ecosia"}, {"qwant.com", "Qwant"},
	{"search.brave.com", "Brave Search"}, {"startpage.com", "Startpage"}, {"naver.com", "Naver"},
	{"seznam.cz", "Seznam"}, {"sogou.com", "Sogou"}, {"kagi.com", "Kagi"}, {"mojeek.com", "Mojeek"},
	{"search.aol.com", "AOL"}, {"so.com", "360 Search"}, {"daum.net", "Daum"},
}

// aiReferrers maps hosts of AI assistants to their names. Their links carry
// the host as a referrer or, for ChatGPT, often only utm_source=chatgpt.com.
var aiReferrers = []struct{ host, name string }{
	{"chatgpt.com", "ChatGPT"}, {"chat.openai.com", "ChatGPT"}, {"perplexity.ai", "Perplexity"},
	{"claude.ai", "Claude"}, {"gemini.google.com", "Gemini"}, {"bard.google.com", "Gemini"},
	{"notebooklm.google.com", "NotebookLM"}, {"aistudio.google.com", "Google AI Studio"},
	{"copilot.microsoft.com", "Copilot"}, {"m365.cloud.microsoft", "Copilot"},
	{"chat.mistral.ai", "Mistral Le Chat"}, {"chat.deepseek.com", "DeepSeek"},
	{"you.com", "You.com"}, {"phind.com", "Phind"}, {"poe.com", "Poe"}, {"meta.ai", "Meta AI"},
	{"grok.com", "Grok"}, {"x.ai", "Grok"}, {"chat.qwen.ai", "Qwen"}, {"kimi.com", "Kimi"},
	{"huggingface.co", "HuggingChat"},
}

// referrerHost returns the lower-case host of a referrer URL, without a
// "www." prefix or a port, or "" when it has none.
func referrerHost(ref string) string {
	i := strings.Index(ref, "://")
	if i < 0 {
		return ""
	}
	h := ref[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 && !strings.Contains(h[j:], "]") {
		h = h[:j]
	}
	h = strings.ToLower(h)
	return strings.TrimPrefix(h, "www.")
}

// hostIs reports whether host is domain or one of its subdomains; a domain
// ending in '.' matches a host that starts with it (google. matches
// google.co.uk, not mail.google.com).
func hostIs(host, domain string) bool {
	if strings.HasSuffix(domain, ".") {
		return strings.HasPrefix(host, domain)
	}
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// classifyReferrer tells what kind of referrer a page view has and its
// name (a host for refSite, an engine or assistant for the others). site is
// the host of the page: a referrer of the same site is none.
func classifyReferrer(ref, query, site string) (kind int, name string) {
	if q := utmSource(query); q != "" {
		for _, a := range aiReferrers {
			if hostIs(q, a.host) || strings.EqualFold(q, a.name) {
				return refAI, a.name
			}
		}
	}
	if ref == "" {
		return refNone, ""
	}
	host := referrerHost(ref)
	if host == "" || host == strings.TrimPrefix(strings.ToLower(site), "www.") {
		return refNone, ""
	}
	for _, a := range aiReferrers {
		if hostIs(host, a.host) {
			return refAI, a.name
		}
	}
	for _, s := range searchEngines {
		if hostIs(host, s.host) {
			return refSearch, s.name
		}
	}
	return refSite, host
}

// utmSource returns the lower-case value of utm_source in a query, or "".
func utmSource(query string) string {
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		if v, ok := strings.CutPrefix(kv, "utm_source="); ok {
			return strings.ToLower(v)
		}
	}
	return ""
}
