"""Clients that begin apart, against a running server: do they fall into step? (issue 21)

CLIENTS clients each send 32-token greedy generations to MODEL one after another, their prompts rotating through about
4, 16, 48 and 96 tokens (as bench/load/mixed.lua); the second half begin DELAY seconds after the first, so the batch
starts in two groups a few tokens apart. Counts the requests answered from 5 s after the last client began until
SECONDS later and prints one line: "tokens/s=… p50=… p95=…" (latencies in seconds).
Usage: python3 stagger.py URL [MODEL] [CLIENTS] [DELAY] [SECONDS]
"""
import http.client, json, sys, threading, time, urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
model = sys.argv[2] if len(sys.argv) > 2 else "demo-large"
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 16
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 1.2
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 40
lengths = [4, 16, 48, 96]
began = time.monotonic()
counted_from, counted_to = began + delay + 5, began + delay + 5 + seconds
latencies, lock = [], threading.Lock()


def client(i):
    time.sleep(0 if i < clients // 2 else delay)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    sent = i
    while time.monotonic() < counted_to:
        body = json.dumps({"prompt": " money" * lengths[sent % len(lengths)], "max_tokens": 32, "temperature": 0})
        sent += 1
        start = time.monotonic()
        connection.request("POST", f"/v1/generate/{model}", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"HTTP {response.status}")
        end = time.monotonic()
        if counted_from <= end <= counted_to:
            with lock:
                latencies.append(end - start)


threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
latencies.sort()
print(f"tokens/s={len(latencies) * 32 / seconds:.1f} p50={latencies[len(latencies) // 2]:.3f} "
      f"p95={latencies[int(len(latencies) * 0.95)]:.3f}")
