// Package loggen generates realistic, deterministic Amazon CloudFront
// standard (legacy) access logs for tests and benchmarks.
//
// Write produces the two header lines (#Version, #Fields with the 33
// documented fields) and then Config.Lines TAB-separated data lines. The same
// Config always gives the same bytes: randomness comes from one PCG generator
// seeded from Config.Seed, no map is iterated, and the clock is never read.
//
// # The traffic
//
// Requests come from visitors (an IP address, a user agent, an edge location,
// a TLS and HTTP version, sometimes an X-Forwarded-For chain and logged
// cookies) making visits that overlap in time:
//
//   - browsers (desktop and mobile Chrome, Safari, Firefox, Edge, Samsung
//     Internet, in-app browsers) load a landing page from a search engine,
//     a social network, an AI chat, another site or nothing, then its CSS,
//     JS, fonts, images and icons, then more pages with think times between
//     them; some download files (PDF, ZIP, EXE, DMG, CSV, DOCX...), play
//     media with Range requests (206), search, call the site's JSON API
//     (OPTIONS preflights, POST, PUT, DELETE), follow broken links (404) or
//     arrive over plain HTTP (CloudFront's 301 Redirect to HTTPS);
//   - AI assistants fetching pages because a person asked them to
//     (ChatGPT-User, Claude-User, Perplexity-User, MistralAI-User,
//     Gemini-Deep-Research, Google-NotebookLM, Google-GeminiNotebook,
//     DuckAssistBot), about 3 % of the lines;
//   - crawlers (Googlebot, bingbot, GPTBot, OAI-SearchBot, ClaudeBot,
//     PerplexityBot, AhrefsBot, YandexBot, Applebot, link previewers),
//     tools (curl, python-requests, Go-http-client, Wget, UptimeRobot) and
//     vulnerability scanners (empty user agent "-", 403/404 galore).
//
// Times have one-second resolution, are the end of each request (start plus
// time-taken) and get a few seconds of jitter, so the file is mostly but not
// strictly chronological, like the files CloudFront delivers. By default the
// lines span about one day from Config.Start, whatever their number.
//
// # Encoding
//
// Every field is written as CloudFront writes it: bytes 0x00-0x20 and
// >= 0x7F and the characters < > " # % { } | \ ^ ~ [ ] ` ' are
// percent-encoded (Escape). Paths, queries and referrers are generated as the
// client sent them (already percent-encoded by the browser where browsers do
// so), so "q=caf%C3%A9" is logged "q=caf%25C3%25A9" and a space in a user
// agent is logged "%20". A '+' is kept.
//
// # Truth
//
// Write returns a Truth: the counts of what it wrote, by method, status,
// category (page, asset, download, decided by the default URL-exclusion and
// download patterns of Matomo's CloudFront importer, see Category), AI
// assistant, result type, client class and host, and AIGetTracked: the number
// of lines an importer in "AI assistants only" mode with default settings
// should send (method GET, a user agent of the default allowlist, which does
// not include DuckAssistBot, and a URL that is not excluded).
package loggen
