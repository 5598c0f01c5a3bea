#!/usr/bin/env python3
# sites.py writes sites.log: a small CloudFront log (24 fields) of two sites
# (a.example, b.example) for the report's tests: hits around the end of summer
# time in Europe/Paris (2026-10-25 01:00 UTC) and around UTC midnight, over two
# weeks and two months, a pixel with query parameters, a 404 with a referrer.
# Run it here: python3 sites.py
import datetime
fields="date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version"
UA={"ff":"Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:133.0)%20Gecko/20100101%20Firefox/133.0",
    "ch":"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.0.0%20Safari/537.36",
    "gpt":"Mozilla/5.0%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko);%20compatible;%20ChatGPT-User/1.0;%20+https://openai.com/bot",
    "bot":"Mozilla/5.0%20(compatible;%20GPTBot/1.2;%20+https://openai.com/gptbot)"}
rows=[]
n=0
def hit(ts, host, path, status=200, ip="198.51.100.7", ua="ff", ref="-", query="-", size=5120, method="GET", proto="HTTP/2.0"):
    global n
    n+=1
    t=datetime.datetime.fromisoformat(ts)
    rows.append("\t".join([t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"), "CDG50-C1", str(size), ip, method, "d111111abcdef8.cloudfront.net", path, str(status), ref, UA[ua], query, "-", "Hit" if status<400 else "Error", "req%06d"%n, host, "https", "300", "0.010", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256", "Hit", proto]))
# the week before (for --from 2026-10-26 --to 2026-11-01: previous period 10-19..10-25)
for d in range(19,25):
    hit("2026-10-%02dT09:00:00"%d, "a.example", "/", ip="198.51.100.%d"%d)
    hit("2026-10-%02dT09:00:05"%d, "a.example", "/style.css", ip="198.51.100.%d"%d, size=2048)
# around the end of summer time in Paris: 22:30 UTC on the 24th is 00:30 on the 25th in Paris
hit("2026-10-24T22:30:00", "a.example", "/late", ip="203.0.113.1")
hit("2026-10-25T00:30:00", "a.example", "/dst", ip="203.0.113.2")   # 02:30 CEST
hit("2026-10-25T01:30:00", "a.example", "/dst", ip="203.0.113.3")   # 02:30 CET
hit("2026-10-25T23:30:00", "b.example", "/", ip="203.0.113.4")      # 00:30 on the 26th in Paris
# the week of 10-26 to 11-01, two hosts
for d in range(26,32):
    hit("2026-10-%02dT12:00:00"%d, "a.example", "/", ip="192.0.2.%d"%d, ua="ch")
    hit("2026-10-%02dT12:00:10"%d, "a.example", "/docs/guide.pdf", ip="192.0.2.%d"%d, ua="ch", size=204800)
    hit("2026-10-%02dT12:01:00"%d, "b.example", "/pixel.gif", ip="192.0.2.%d"%d, ua="ch", query="e=view&p=%%2Fhome&u=%d"%(d%3), size=43)
hit("2026-10-30T15:00:00", "a.example", "/old-page", status=404, ip="192.0.2.50", ref="https://news.example.org/article")
hit("2026-10-30T15:00:01", "a.example", "/old-page", status=404, ip="192.0.2.51", ref="https://news.example.org/article")
hit("2026-10-31T08:00:00", "a.example", "/wiki/C%2B%2B", ip="192.0.2.60", ua="gpt")
hit("2026-10-31T08:10:00", "a.example", "/", ip="192.0.2.61", ua="bot")
hit("2026-10-31T08:20:00", "b.example", "/pixel.gif", ip="192.0.2.62", ua="ch", query="e=click&p=%2Fpricing", method="GET", proto="HTTP/1.1", size=43)
hit("2026-10-31T08:20:01", "b.example", "/pixel.gif", ip="192.0.2.62", ua="ch", method="HEAD", proto="HTTP/1.1", size=0)
hit("2026-11-01T23:59:59", "a.example", "/", ip="192.0.2.70")       # 2026-11-02 00:59:59 in Paris
hit("2026-11-02T00:00:00", "b.example", "/", ip="192.0.2.71")
with open("sites.log","w") as f:
    f.write("#Version: 1.0\n#Fields: "+fields+"\n")
    f.write("\n".join(rows)+"\n")
