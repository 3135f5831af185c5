-- Shared by the wrk scripts that generate 32 tokens a request (dofile from the repository root): at the end prints one
-- line "req/s=… tokens/s=… p50=… p95=… p99=… errors=…" (latencies in seconds; tokens/s counts 32 per answered request).
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local ok = summary.requests - summary.errors.status
  io.write(string.format("req/s=%.2f tokens/s=%.1f p50=%.3f p95=%.3f p99=%.3f errors=%d\n",
    ok / seconds, ok * 32 / seconds, latency:percentile(50) / 1e6, latency:percentile(95) / 1e6,
    latency:percentile(99) / 1e6, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
