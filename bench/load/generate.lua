-- wrk script: POST a one-token generation request. wrk reports "Non-2xx or 3xx responses" if any.
-- Usage: wrk -t2 -c16 -d15s -s bench/load/generate.lua http://127.0.0.1:8000/v1/generate/demo-small
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt": "Where did the money go?", "max_tokens": 1}'
