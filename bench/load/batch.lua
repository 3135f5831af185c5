-- wrk script: POST a 32-token greedy generation for the model in $MODEL (/v1/generate).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt": "Where did the money go this month, and which model ate most of it?", "max_tokens": 32}'
