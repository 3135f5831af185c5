"""Token gaps of streams while a long prompt joins (issue 21's check), against a running server.

Opens STREAMS streamed chat completions to MODEL (96 greedy tokens each), waits until each has its first tokens, then
sends one request whose prompt is about PROMPT tokens. Prints each stream's median and largest gap between chunks and
their ratio, and when the long request was answered. Usage: python3 stall.py URL [MODEL] [STREAMS] [PROMPT]
"""
import http.client, json, statistics, sys, threading, time, urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
model = sys.argv[2] if len(sys.argv) > 2 else "demo-large"
streams = int(sys.argv[3]) if len(sys.argv) > 3 else 6
prompt_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 900
arrivals = [[] for _ in range(streams)]
started = threading.Barrier(streams + 1)


def post(body, stream):
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    return connection.getresponse()


def run_stream(i):
    body = {"model": model, "stream": True, "max_tokens": 96, "temperature": 0,
            "messages": [{"role": "user", "content": f"Stream {i}: which model spent the money?"}]}
    response = post(body, True)
    told = False
    for line in response:
        if line.startswith(b"data: ") and b"[DONE]" not in line and b'"content"' in line:
            arrivals[i].append(time.monotonic())
            if len(arrivals[i]) == 3 and not told:
                told = True
                started.wait()
    if not told:
        started.wait()


threads = [threading.Thread(target=run_stream, args=(i,)) for i in range(streams)]
for thread in threads:
    thread.start()
started.wait()
# " the" is one GPT-2 token: about PROMPT_TOKENS tokens with the chat rendering's few.
long_body = {"model": model, "max_tokens": 8, "temperature": 0, "messages": [{"role": "user", "content": " the" * (prompt_tokens - 8)}]}
sent = time.monotonic()
answer = json.loads(post(long_body, False).read())
answered = time.monotonic() - sent
for thread in threads:
    thread.join()
ratios = []
for i, times in enumerate(arrivals):
    gaps = [b - a for a, b in zip(times, times[1:])]
    median, largest = statistics.median(gaps), max(gaps)
    ratios.append(largest / median)
    print(f"stream {i}: {len(times)} chunks, median gap {median * 1000:.1f} ms, largest {largest * 1000:.1f} ms, {largest / median:.1f}x")
    if "-v" in sys.argv:
        print("  gaps from the join (ms):", " ".join(f"{g * 1000:.0f}" for g in gaps if True)[:600])
usage = answer.get("usage", {})
print(f"long prompt: {usage.get('prompt_tokens')} tokens, answered in {answered:.2f} s; largest/median gap: worst {max(ratios):.1f}x, mean {statistics.mean(ratios):.1f}x")
