-- wrk script: POST a small non-streamed OpenAI completion (one token) for the model in $MODEL.
-- Usage: MODEL=demo-small wrk -t1 -c1 -d10s --latency -s bench/load/completion.lua http://127.0.0.1:8000/v1/completions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "' .. (os.getenv("MODEL") or "demo-small") .. '", "prompt": "Where did the money go?", "max_tokens": 1, "temperature": 0}'
