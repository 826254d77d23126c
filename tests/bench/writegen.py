"""The HTTP write load: a separate process, loopback only, bounded in time.

python -m tests.bench.writegen PLAN.json  → JSON on stdout

PLAN: {"port", "path", "seconds", "keyed", "clients": [{"token", "skus": [...]}]}. Each client
posts orders of two lines (one unit each of two of its SKUs) on its own keep-alive connection,
one after the other, for `seconds`; with `keyed`, each order carries a fresh Idempotency-Key.
The output has the count, rate, latencies, statuses, and for each order the wall time of its
answer and its consistency token (for the lag).
"""

import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.bench.loadgen import summary


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    lock = threading.Lock()
    latencies, statuses, placed = [], {}, []
    deadline = time.perf_counter() + plan["seconds"]

    def client(index: int, spec: dict) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", plan["port"], timeout=30)
        skus, n = spec["skus"], 0
        while time.perf_counter() < deadline:
            body = json.dumps(
                {
                    "lines": [{"sku": skus[(n + k) % len(skus)], "quantity": 1} for k in (0, 1)],
                    "shipping_address": plan["shipping_address"],
                }
            )
            headers = {
                "Authorization": f"Token {spec['token']}",
                "Content-Type": "application/json",
            }
            if plan["keyed"]:
                headers["Idempotency-Key"] = uuid.uuid4().hex
            start = time.perf_counter()
            conn.request("POST", plan["path"], body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - start
            token = response.getheader("X-Consistency-Token")
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if token:
                    placed.append((time.time(), token))
            if response.status >= 500:
                sys.stderr.write(answer.decode(errors="replace")[:500] + "\n")
            n += 2
        conn.close()

    threads = [
        threading.Thread(target=client, args=(i, spec)) for i, spec in enumerate(plan["clients"])
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    json.dump({**summary(latencies, statuses, wall), "placed": placed}, sys.stdout)


if __name__ == "__main__":
    main()
