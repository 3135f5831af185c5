-- wrk script: POST a 32-token greedy generation (/v1/generate/MODEL). At the end prints one line:
-- "req/s=… tokens/s=… p50=… p95=… p99=… errors=…" (latencies in seconds; tokens/s counts 32 per answered request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt": "Where did the money go this month, and which model ate most of it?", "max_tokens": 32}'

dofile("bench/load/report.lua") -- done(): the one-line summary
