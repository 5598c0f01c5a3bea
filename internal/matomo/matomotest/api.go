package matomotest

import (
	"encoding/json"
	"html"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// serveAPI is a sliver of the reporting API (index.php): API.getMatomoVersion,
// which a client uses to check the version and its token, and the
// SitesManager methods getSitesIdFromSiteUrl, getSiteFromId and addSite.
// Like a real 5.0.2, it answers a missing or unknown token with HTTP 401
// (an unknown one with an HTML page unless format=json is in the URL) and
// other errors with HTTP 200.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.update(func(st *Stats) { st.APIRequests++ })
	if !s.acquire(s.genOf(r)) {
		s.abandon()
	}
	defer s.release()
	params := map[string]string{}
	if r.Method == http.MethodPost && isMediaType(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if raw, ok := s.readBody(r); ok {
			forEachQueryVar(raw, func(name string, arr bool, _, v string) {
				if !arr {
					params[name] = phpURLDecode(v)
				}
			})
		}
	}
	inQuery := map[string]bool{}
	forEachQueryVar(r.URL.RawQuery, func(name string, arr bool, _, v string) { // $_GET wins
		if !arr {
			params[name] = phpURLDecode(v)
			inQuery[name] = true
		}
	})
	if params["module"] != "API" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		s.respond(w, http.StatusOK, "<!DOCTYPE html>\n<html><head><title>Matomo</title></head><body>Matomo (test stand-in)</body></html>\n")
		return
	}
	format := strings.ToLower(params["format"])
	if format == "" {
		format = "xml"
	}
	tok := params["token_auth"]
	if tok == "" && s.acceptBearer {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			tok = a[len("Bearer "):]
		}
	}
	// A token Matomo does not know fails the request before the method
	// runs (a real 5.0.2): HTTP 401, in JSON when format=json came in the
	// URL, else Matomo's HTML error page (format in the form body is read
	// too late for it).
	if tok != "" && tok != "anonymous" && !s.super[tok] && !s.write[tok] {
		msg := "Unable to authenticate with the provided token. It is either invalid or expired."
		if inQuery["token_auth"] {
			msg = "Unable to authenticate with the provided token. It is either invalid, expired or is required to be sent as a POST parameter."
		}
		if inQuery["format"] && format == "json" {
			s.apiErrorStatus(w, http.StatusUnauthorized, format, msg)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		s.respond(w, http.StatusUnauthorized, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Matomo &rsaquo; Error</title>\n</head>\n<body>\n<div id=\"contentsimple\"><h2>"+html.EscapeString(msg)+"</h2></div>\n</body>\n</html>\n")
		return
	}
	noAccess := func() {
		s.apiErrorStatus(w, http.StatusUnauthorized, format, "You can't access this resource as it requires view access for at least one website.")
	}
	method := params["method"]
	switch method {
	case "API.getMatomoVersion", "API.getPiwikVersion":
		switch {
		case tok == "" || tok == "anonymous":
			noAccess()
		default:
			s.apiValue(w, format, s.version)
		}
	case "SitesManager.getSitesIdFromSiteUrl":
		// Matomo matches the URL's host, with or without "www.", against
		// the main URL and the aliases of the sites the token may view, and
		// answers a list of {"idsite":"N"}.
		switch {
		case tok == "" || tok == "anonymous":
			noAccess()
			return
		case format != "json":
			s.apiError(w, format, "this stand-in answers SitesManager.getSitesIdFromSiteUrl in JSON only")
			return
		}
		want := siteHost(params["url"])
		ids := []map[string]string{}
		for id, urls := range s.sites.Load().urls {
			for _, u := range urls {
				if siteHost(u) == want && want != "" {
					ids = append(ids, map[string]string{"idsite": strconv.Itoa(id)})
					break
				}
			}
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i]["idsite"] < ids[j]["idsite"] })
		b, _ := json.Marshal(ids)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		s.respond(w, http.StatusOK, string(b))
	case "SitesManager.getSiteFromId":
		// The site's record; Matomo's importer asks it for the main URL of
		// --idsite. A site configured without URLs gets an invented one.
		id, err := strconv.Atoi(params["idSite"])
		switch {
		case tok == "" || tok == "anonymous":
			s.apiErrorStatus(w, http.StatusUnauthorized, format, "You can't access this resource as it requires view access for the website id = "+params["idSite"]+".")
			return
		case err != nil || !s.sites.Load().ids[id]:
			s.apiError(w, format, "An unexpected website was found in the request: website id was set to '"+params["idSite"]+"' .")
			return
		case format != "json":
			s.apiError(w, format, "this stand-in answers SitesManager.getSiteFromId in JSON only")
			return
		}
		sites := s.sites.Load()
		main := "https://site" + strconv.Itoa(id) + ".example"
		if urls := sites.urls[id]; len(urls) > 0 {
			main = urls[0]
		}
		tz := "UTC"
		if name, ok := sites.tzName[id]; ok {
			tz = name
		}
		// As a real 5.0.2 answers: ids and flags are numbers.
		b, _ := json.Marshal(map[string]any{"idsite": id, "name": "Site " + strconv.Itoa(id), "main_url": main, "ecommerce": 0, "sitesearch": 1, "timezone": tz, "timezone_name": tz, "currency": "USD", "type": "website"})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		s.respond(w, http.StatusOK, string(b))
	case "SitesManager.addSite":
		// Creating a site needs a super user's token.
		if tok == "" || !s.super[tok] {
			s.apiError(w, format, "You can't access this resource as it requires 'superuser' access.")
			return
		}
		var urls []string
		for k, v := range params {
			if strings.HasPrefix(k, "urls") || k == "url" {
				urls = append(urls, v)
			}
		}
		if params["siteName"] == "" || len(urls) == 0 {
			s.apiError(w, format, "siteName and urls are required")
			return
		}
		tzName := params["timezone"]
		if tzName == "" {
			tzName = "UTC"
		}
		loc, err := loadTimezone(tzName)
		if err != nil {
			s.apiError(w, format, "The timezone \""+tzName+"\" is not valid.")
			return
		}
		s.apiValue(w, format, strconv.Itoa(s.addSite(urls, tzName, loc)))
	default:
		s.apiError(w, format, "The method '"+method+"' does not exist or is not available in the module 'API'.")
	}
}

// siteHost is the host of a site URL as Matomo compares them: lower case,
// without the scheme, "www.", port or path.
func siteHost(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 && !strings.Contains(u, "]") {
		u = u[:i]
	}
	return strings.TrimPrefix(u, "www.")
}

func (s *Server) apiValue(w http.ResponseWriter, format, v string) {
	if format == "json" {
		b, _ := json.Marshal(map[string]string{"value": v})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		s.respond(w, http.StatusOK, string(b))
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	s.respond(w, http.StatusOK, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>"+html.EscapeString(v)+"</result>")
}

func (s *Server) apiError(w http.ResponseWriter, format, msg string) {
	s.apiErrorStatus(w, http.StatusOK, format, msg)
}

// apiErrorStatus answers an API error with status (a real 5.0.2 answers
// 401 when the token is missing or unknown, 200 for other errors).
func (s *Server) apiErrorStatus(w http.ResponseWriter, status int, format, msg string) {
	if format == "json" {
		b, _ := json.Marshal(struct {
			Result  string `json:"result"`
			Message string `json:"message"`
		}{"error", msg})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		s.respond(w, status, string(b))
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	s.respond(w, status, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<error message=\""+html.EscapeString(msg)+"\" />\n</result>")
}
