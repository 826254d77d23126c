"""The HTTP load generator: a separate process, loopback only, a bounded number of requests.

python -m tests.bench.loadgen PORT REQUESTS CONCURRENCY PATH [PATH ...]  → JSON on stdout
"""

import http.client
import json
import statistics
import sys
import threading
import time


def main() -> None:
    port, total, concurrency = (int(x) for x in sys.argv[1:4])
    paths = sys.argv[4:]
    lock = threading.Lock()
    counter = iter(range(total))
    latencies, statuses = [], {}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            start = time.perf_counter()
            conn.request("GET", paths[i % len(paths)])
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    json.dump(summary(latencies, statuses, wall), sys.stdout)


def summary(latencies: list[float], statuses: dict, wall: float) -> dict:
    """Count, rate, p50 and p99 (ms) and the statuses of a load run."""
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else None,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        if latencies
        else None,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


if __name__ == "__main__":
    main()
