// Package matomotest is an in-process stand-in for a Matomo 5.x tracking
// server, for tests and benchmarks of a Matomo client. It aims to be
// faithful rather than convenient: wherever Matomo is lenient, silent or
// surprising, so is this server, so that tests of a client catch the bugs a
// real Matomo would hide.
//
// # Contract
//
//	s := matomotest.NewServer(matomotest.Config{SuperUserTokens: []string{tok}})
//	defer s.Close()
//	// point the client at s.URL() (it posts to s.URL()+"/matomo.php")
//	s.Script(matomotest.Fault{Kind: matomotest.Fault500, ProcessBefore: 10})
//	...
//	recs := s.Stored() // committed records, in commit order
//	st := s.Stats()
//	split := s.SplitVisitors() // visitors Matomo fingerprinted twice
//	s.Stop(); ...; s.Start() // an outage on the same address
//
// Endpoints: POST/GET /matomo.php and /piwik.php (tracker), /index.php and
// / (API.getMatomoVersion only). Anything else is 404, including
// /matomo.php/matomo.php. Records become visible in Stored only when their
// request commits; Stored parses Params on each call (about 0.5 s for a
// million records); StoredRaw and StoredCount are cheap. Everything is safe
// for concurrent use. Faults (see FaultKind) are consumed one per bulk
// request, in arrival order, before anything else is looked at (a fault
// spent on a request that is then refused for its Content-Type is gone).
// Single requests and API calls never consume faults. Config.BeforeCommit
// lets a test hold a bulk request's transaction open, to make races
// deterministic. Stop closes the listener and every connection (clients
// get "connection refused") and kills the requests still running; Start
// listens again on the same address; stored records survive.
//
// # Modelled (from Matomo's PHP source: BulkTracking, core/Tracker*, the
// visit request processors, BotTracking; and from a real 5.0.2)
//
//   - Bulk detection: strpos() of "requests" (or 'requests') in the raw body,
//     a match at offset 0 not counting.
//   - Body decoding like PHP: trim(), all \n and \r removed (even inside
//     strings), then json_decode(): strict RFC 8259, invalid UTF-8, unpaired
//     \u surrogates and nesting deeper than 512 fail. A body that does not
//     decode is a silent 200 {"status":"success","tracked":0,"invalid":0}.
//   - Items: strings are parse_url()'d: the query is the text after the
//     first '?' up to a '#'; a string with no query, or a query that is ""
//     or "0", is dropped before counting and numbering. Objects are param
//     maps (strings, numbers, booleans, null); a scalar or empty array/object
//     is an "empty request" (tracked, not stored); a non-empty JSON list has
//     no idsite (invalid). "requests" may also be an object (its values in
//     order); if it is a scalar there are no requests; a repeated key takes
//     the last value.
//   - Parameters like parse_str(): the last value of a name wins; '+' is a
//     space; bad %-escapes stay literal; '.' and ' ' in names become '_';
//     "a[]=" makes an array (which typed reads ignore). Typed reads follow
//     Common::getRequestVar (an int must be a numeric string equal to its
//     integer value: "1.5" or "1abc" are not ints, "01" and "1e0" are),
//     (int) casts and empty() ("0" is empty).
//   - Tokens: the body's token_auth; if that is empty, the item's own
//     token_auth; if that is empty, an "Authorization: Bearer" header
//     (AcceptBearer, default true). A non-empty unknown body token is used
//     and fails: it does not fall back. A token only in the URL query of a
//     bulk request is ignored (5.0.2). Super-user and write tokens both
//     authorise cip, old cdt and location overrides. invalid_indices are
//     added only when the BODY's token is a super user's and the batch has
//     at least one request (a Bearer-only super user gets counts only;
//     "requests":[] never gets indices).
//   - Order of checks per item (it decides invalid versus merely not
//     stored): empty request -> tracked. Bot detection on ua, or the HTTP
//     User-Agent when ua is empty (a client that sends no ua is judged by
//     its own User-Agent). Before 5.7.0 the
//     AI assistants are not bots by name: only the generic patterns
//     decide, so ChatGPT-User ("+https://openai.com/bot") and DuckAssistBot
//     are dropped as bots while Claude-User, Perplexity-User,
//     Gemini-Deep-Research and Google-NotebookLM are ordinary visits (a
//     real 5.0.2 stored 56 of 123 AI-assistant hits as visits); from 5.7.0
//     they are all bots. HTTP libraries and headless browsers
//     (python-requests, Go-http-client, curl, Wget, HeadlessChrome) are
//     visits before 5.7.0, as a real 5.0.2 stored them, and bots from 5.7.0
//     (not measured). recMode (only if Version >= 5.7.0; (int) cast: 1
//     bot-only, 2 auto; empty -> visits; any other value, e.g. 3 or "abc",
//     discards the item).
//     Visit path: idsite (missing, <= 0, not an int, unknown -> invalid);
//     country/region/city/lat/long without token -> invalid; cdt (below);
//     cip without token -> invalid; then exclusion (tracked, not stored): a
//     bot or an address in Matomo's Google/Bing/Yahoo bot ranges without
//     bots=1, then rec missing/0/not an int; then the fingerprint (config
//     id, below), which needs the site's salt of the hit's day; then, for
//     kept hits only: cid non-empty and not 16 characters long when uid is
//     empty -> invalid; an event (e_c and e_a both non-empty) whose e_c or
//     e_a is only whitespace -> invalid; a pageview with pf_srv < -1 ->
//     invalid (-1 means unset; downloads, outlinks, events, searches and
//     content are not checked).
//     Bot path (recMode 1/2 and a bot): idsite, location overrides and cdt
//     as above; rec, cip, cid, pf_srv are not looked at; only the AI
//     assistants (ChatGPT-User, MistralAI-User, Gemini-Deep-Research,
//     Claude-User, Perplexity-User, DuckAssistBot, Google-GeminiNotebook
//     stored as Google-NotebookLM, Google-NotebookLM; first match in this
//     order, case-insensitive) are stored, as Kind "bot".
//   - cdt (and cdo): a Unix timestamp or a date; empty or "0" means none;
//     cdo subtracts |cdo| seconds (from now if cdt is empty). A time in the
//     future or 20*365 days old or older is silently replaced by now (no
//     token needed). Otherwise a time 86400 s old or older needs a token,
//     else the item is invalid. An unparseable date counts as 0 and so
//     becomes now. A cdt in milliseconds is "in the future": now.
//   - Answers: 200 {"status":"success","tracked":N,"invalid":M[,
//     "invalid_indices":[...]]} (application/json), 204 with an empty body
//     when the decoded body has "send_image" equal to 0 or "0". Every item
//     that is not invalid counts in tracked, stored or not.
//   - One transaction per bulk request: records are committed together at
//     the end, or not at all (Fault500: 500 {"status":"error","tracked":K,
//     "invalid":0[,"invalid_indices":[]]} - Matomo fills in the invalid list
//     only after the loop, so an aborted batch reports invalid 0). The
//     exception's message is not in the body (Matomo adds it in debug mode
//     only; it goes to PHP's error log).
//   - A client that gives up does not stop PHP: matomo.php calls
//     ignore_user_abort(true), so once a bulk request was received it is
//     processed and committed whether or not the client is still
//     connected (FaultSlow, Config.PerItemDelay, a wait for a worker):
//     a client with a timeout shorter than Matomo's answer resends a batch
//     that is stored anyway, and it is stored twice (a real 5.0.2 with a
//     5 s client timeout: 1,600 actions twice). Stats.CommittedClientGone
//     counts those commits. Only the server stopping (Stop, Close) kills a
//     request before its commit (Stats.Aborted).
//   - PHP's speed: Config.PerItemDelay per item of a batch (the real one:
//     2-3 ms of PHP per hit, up to 17 s for 200 hits with 4 in flight),
//     with the transaction open meanwhile; Config.Workers PHP workers
//     (the real one had 4), the other requests wait in line, so more
//     concurrency makes each answer slower, not the server faster.
//   - Visitors (Settings::getConfigId): a visit record gets a config id,
//     a hash of the user agent, the IP (Record.IP: cip with a token, else
//     the address of the connection that sent it - hits without cip are
//     all stored under the sender's IP), the language (lang, else
//     Accept-Language), the site, and the site's fingerprint salt of the
//     hit's day in the site's time zone (Config.SiteTimezones; IANA names
//     or Matomo's "UTC+5.5" forms; Record.SaltDay). Bot-tracking records
//     have none. Visitors groups records by site, day, IP, user agent and
//     language; more than one config id in a group is a split visitor.
//   - Fingerprint salts (Tracker\FingerprintSalt): the option
//     fingerprint_salt_<idsite>_<date> is created by the first request that
//     needs it, inside that request's transaction: it becomes visible to
//     others when that request commits, and is gone if it rolls back. A
//     request that needs it while another request's salt for the same site
//     and day is still uncommitted cannot see that one and creates its own
//     (Stats.SaltRaces): the two requests fingerprint the same visitor
//     differently, so concurrent first batches of a day split visitors (as
//     a real 5.0.2 did; sending one batch per site and day first, and
//     waiting for its answer, avoids it). Option::set updates the value
//     on a duplicate name, so the salt of the request that commits last is
//     the one later requests read. A request keeps using the salts it has
//     read or created (PHP's Option cache), even ones rolled back.
//   - The salt deadlock (Config.SaltDeadlock, off by default): once, a real
//     5.0.2 answered such a race with HTTP 500 "There is no active
//     transaction", and a resend of that batch stored 235 actions twice:
//     a 500 did not mean that nothing was stored. The model: InnoDB rolls
//     the racing request's whole transaction back (records and salts
//     written before the racing item are lost), Matomo skips the item as
//     it does a lock wait and goes on, and what follows is written in
//     autocommit mode, so the items after the race are stored; committing
//     then fails (PDO: no active transaction) and the answer is the
//     Fault500 one, 500 {"status":"error","tracked":K,"invalid":0[,
//     "invalid_indices":[]]}, K counting every tracked item but the
//     racing one (Stats.SaltDeadlocks). A client must treat a 500 as
//     "some of this batch may be stored": resending it can duplicate hits.
//   - No de-duplication: a batch posted twice is stored twice.
//   - Single requests (no "requests" in the body): $_GET + $_POST (form
//     bodies only; GET wins) is one request, not transactional. 200 + a
//     43-byte GIF, 204 with send_image=0, and for an invalid request 400 with
//     the GIF followed by Matomo's "This resource is part of Matomo" text
//     (that is what Tracker\Response does). No parameters at all: that text,
//     200 for GET, 400 otherwise. A token in the query authorises here.
//   - PHP's post_max_size (PostMaxSize, 8 MiB by default): a bigger body is
//     discarded before Matomo runs, so the request is an empty single
//     request: 400 with the text.
//   - API.getMatomoVersion (and getPiwikVersion) via GET or POST
//     (token_auth in the query or form body, or a Bearer header): {"value":
//     Version} with a super-user or write token. No token: HTTP 401
//     {"result":"error","message":"... requires view access ..."}. An
//     unknown token fails any API request with HTTP 401: JSON ("Unable to
//     authenticate with the provided token. It is either invalid or
//     expired.", "... or is required to be sent as a POST parameter." when
//     the token came in the URL) when format=json is in the URL, Matomo's
//     HTML error page (the message in an <h2>) otherwise: a real 5.0.2 reads
//     a format in the form body too late for that page. Other API errors
//     are HTTP 200. format defaults to xml.
//   - SitesManager.getSiteFromId (JSON): the site's record with its
//     main_url (the first of SiteURLs, or https://siteN.example) and its
//     timezone (SiteTimezones, as configured, else "UTC"), as Matomo's
//     importer asks for --idsite, with numbers where a real 5.0.2 has them
//     (idsite, ecommerce, sitesearch); "An unexpected website was found..."
//     for an unknown id. SitesManager.addSite takes a timezone parameter.
//   - FaultDBGone: what a real 5.0.2 answered for a batch in flight when its
//     database went away: HTTP 200, text/html, "Error:SQLSTATE[HY000]:
//     General error: 2006 MySQL server has gone away", nothing stored.
//
// # Approximations
//
//   - A bulk POST whose Content-Type is not application/json (parameters
//     allowed) is refused with 400 "expected Content-Type application/json"
//     and counted in Stats.BadContentType. Real PHP would also parse the
//     body as a form ("Input variables exceeded 1000" for big batches) and
//     might still track it; refusing is stricter on purpose.
//   - Bot detection is a substring list (bot, crawl, spider, slurp; from
//     5.7.0 also curl, wget, python-requests, http-client, go-http-client,
//     headless and the AI assistants), not DeviceDetector. The Chrome data-saver
//     exception to the bot address ranges is not modelled.
//   - The config id hashes the user agent string itself, not
//     DeviceDetector's OS, browser and version, and leaves out the plugin
//     flags, client hints, the instance salt and IP anonymisation (the full
//     IP is used); it is not Matomo's value, and two user agents Matomo
//     would reduce to the same browser and OS count as two here. Visits as
//     such (30-minute windows, a new visit at the
//     site's midnight) are not modelled; a new salt day gives a new
//     config id, as in Matomo.
//   - A request that needs a salt another request created and has not
//     committed does not wait for that request's row lock (real InnoDB
//     makes its INSERT wait, up to the 50 s lock-wait timeout); it goes on
//     with its own salt at once. So the order in which racing requests
//     commit, and thus which salt later requests read, may differ from a
//     real server's; the split visitor is the same. Which request the
//     deadlock picks (always the one that races, here) and the partial
//     storage after it are inferred from InnoDB and PDO behaviour, not
//     read in Matomo 5.0.2's code; the items after the race are committed
//     with the answer, not one by one.
//   - Salts created by single (non-bulk) requests are committed at once
//     (no transaction); they race but never deadlock. Salts are never
//     deleted (Matomo deletes them after 5 days).
//   - Dates in cdt: the usual forms ("2006-01-02 15:04:05", with 'T', with
//     or without seconds, a date alone, RFC 3339, "2006/01/02 ...") are
//     understood; PHP's strtotime() understands many more ("yesterday",
//     "+1 day", overflowing dates like 2025-02-30), which are "now" here.
//   - Site search is recognised by the search parameter only, not by the
//     site's search keyword parameters in url. ca=1 custom actions, goals,
//     ecommerce, the 10,000-actions-per-visit limit and visits as such
//     (visit length, midnight) are not modelled: a record is one action.
//   - A pageview rejected for its pf_srv would in real Matomo already have
//     created its visit row; here nothing is stored.
//   - Not modelled: excluded IPs/user agents/URLs, referrer spam,
//     bulk_requests_require_authentication, tracking_requests_require_
//     authentication=0, the raw-data deletion window for old cdt, queued
//     tracking, conflicting tokens (newer Matomo refuses differing header
//     and body tokens), htmlspecialchars sanitising of stored values, and
//     per-site write access (a write token may write every site).
//   - Errors inside a batch are only produced by faults and the salt
//     deadlock; a database error in a single request is not modelled.
//   - Stop kills every request still running, as if the machine went away;
//     a real web server restart might let PHP finish some of them.
package matomotest
