-- wrk script: POST 32-token greedy generations (/v1/generate/MODEL) whose prompts rotate through mixed lengths (about
-- 4, 16, 48 and 96 tokens; LENGTHS=4,10,16,... in the environment gives others). At the end prints one line:
-- "req/s=… tokens/s=… p50=… p95=… p99=… errors=…".
local lengths = {4, 16, 48, 96}
if os.getenv("LENGTHS") then
  lengths = {}
  for n in string.gmatch(os.getenv("LENGTHS"), "%d+") do
    lengths[#lengths + 1] = tonumber(n)
  end
end
local bodies = {}
for i, n in ipairs(lengths) do
  bodies[i] = string.format('{"prompt": "%s", "max_tokens": 32, "temperature": 0}', string.rep(" money", n))
end
local counter = 0

function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

local sent = 0
function request()
  sent = sent + 1
  local body = bodies[((sent + (offset or 0)) % #bodies) + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

dofile("bench/load/report.lua") -- done(): the one-line summary
