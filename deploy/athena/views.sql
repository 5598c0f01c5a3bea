-- Views for the questions trackless's report answers, over trackless_hits
-- (hits.sql). Plain SQL that Athena (Trino) and DuckDB both run; the tests
-- run them with DuckDB on a lake they write (internal/e2e TestAthenaViews).
-- Filter on dt (a day, 'YYYY-MM-DD') to read only those partitions.

-- Page views and visitors (distinct client IPs, or their keyed hashes) per
-- day and page. A page view is the report's: a person's request of a page
-- (not an asset, not a download) answered 2xx or 304.
CREATE OR REPLACE VIEW trackless_pages AS
SELECT dt, host, path,
       count(*) AS views,
       count(DISTINCT client_ip) AS visitors
FROM trackless_hits
WHERE kind = 'page' AND agent = 'person' AND (status BETWEEN 200 AND 299 OR status = 304)
GROUP BY dt, host, path;

-- AI assistants (ChatGPT-User, Claude-User, Perplexity-User...: a fetch
-- because a person asked) by day, assistant and page.
CREATE OR REPLACE VIEW trackless_ai_assistants AS
SELECT dt, agent_name AS assistant, host, path,
       count(*) AS requests
FROM trackless_hits
WHERE agent = 'ai_assistant'
GROUP BY dt, agent_name, host, path;

-- Bots by day, category (ai_crawler, search_engine, seo, monitoring...)
-- and name: requests and bytes.
CREATE OR REPLACE VIEW trackless_bots AS
SELECT dt, agent AS category, agent_name AS bot,
       count(*) AS requests,
       sum(bytes) AS bytes
FROM trackless_hits
WHERE agent NOT IN ('person', 'ai_assistant')
GROUP BY dt, agent, agent_name;

-- Per day: people's requests, page views, visitors (distinct client
-- addresses; the report counts address and user agent), and bots'
-- requests (AI assistants' included): requests + bot_requests is the
-- report's requests.
CREATE OR REPLACE VIEW trackless_days AS
SELECT dt,
       sum(CASE WHEN agent = 'person' THEN 1 ELSE 0 END) AS requests,
       sum(CASE WHEN agent = 'person' AND kind = 'page' AND (status BETWEEN 200 AND 299 OR status = 304) THEN 1 ELSE 0 END) AS page_views,
       count(DISTINCT CASE WHEN agent = 'person' THEN client_ip END) AS visitors,
       sum(CASE WHEN agent <> 'person' THEN 1 ELSE 0 END) AS bot_requests
FROM trackless_hits
GROUP BY dt;
