#!/usr/bin/env python3
"""Print the tracking requests Matomo's import_logs.py would send for a log file, one JSON
object per line, without a Matomo server.

Usage: import_logs_requests.py MATOMO_LOG_ANALYTICS_DIR [import_logs.py options...] LOGFILE

It loads import_logs.py as a module, answers its one API call (SitesManager.getSiteFromId,
main_url http://example.com), and replaces the bulk POST by a print of what would have been
posted: {"line": N, "args": {...}} per hit, the arguments being exactly those of
Recorder._get_hit_args. Used by tools/parity/update.sh to write the expectations of
internal/e2e's parity test; import_logs.py itself is never copied into this repository.
"""
import json
import os
import sys


def main():
    mla = sys.argv[1]
    sys.path.insert(0, mla)
    sys.argv = ["import_logs.py", "--url=http://matomo.invalid", "--token-auth=parity", "--recorders=1"] + sys.argv[2:]
    import import_logs as il

    il.config = il.Configuration()
    il.matomo = il.MatomoHttpUrllib()

    def call_api(method, **kwargs):
        if method == "SitesManager.getSiteFromId":
            return {"main_url": "http://example.com"}
        raise SystemExit("unexpected API call %s" % method)

    il.matomo.call_api = call_api
    il.config.init_token_auth()
    il.stats = il.Statistics()
    il.resolver = il.config.get_resolver()
    il.parser = il.Parser()

    out = []

    def record(self, hits):
        for h in hits:
            args = self._get_hit_args(h)
            if args is not None:
                out.append({"line": h.lineno, "args": {k: str(v) for k, v in args.items()}})
        il.stats.count_lines_recorded.advance(len(hits))

    il.Recorder._record_hits = record
    devnull = open(os.devnull, "w")
    real_stdout, sys.stdout = sys.stdout, devnull  # the importer's summary
    try:
        il.main()
    finally:
        sys.stdout = real_stdout
    out.sort(key=lambda r: r["line"])
    for r in out:
        print(json.dumps(r, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
