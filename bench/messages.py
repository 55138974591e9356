"""Message flow side by side: registering, creating rooms, sending messages, durability.

    python bench/messages.py [--runs 3] [--messages 500] [--threads 8] [--no-synapse]

``bcrypt_rounds`` is 4 for every backend (set BENCH_BCRYPT_ROUNDS to change it): at
Synapse's default of 12, hashing the password (the same bcrypt on both) is most of a
registration.

For each backend (synapse-modhost, and real Synapse 1.163.2 when a Python with
matrix-synapse is found: $SYNAPSE_PYTHON or ../synapse-venv), on the same Synapse-format
config with ListSpamChecker loaded: register users through the shared-secret admin API
and create rooms (median ms each), then in one room send 20 warm-up messages, MESSAGES
messages sequentially on one keep-alive connection, and MESSAGES more from THREADS
threads (each with its own connection). Every acknowledged event id is recorded; the
backend is stopped (SIGTERM) and started again, and every acknowledged event must be
readable (`GET /rooms/{id}/event/{eventId}`). The backends take turns for RUNS rounds
(a fresh data directory each time); the table shows each figure's median over the
rounds, the ratios are between those medians, and "missing after restart" is the total.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import backends, default_synapse_python, free_port, remove, temp_run_dir

SECRET = "benchsecret"


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None, token: Optional[str] = None) -> Tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def register(client: Client, localpart: str) -> str:
    _, nonce = client.call("GET", "/_synapse/admin/v1/register")
    mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
    for part in (nonce["nonce"], localpart, "password"):
        mac.update(part.encode() + b"\x00")
    mac.update(b"notadmin")
    code, body = client.call("POST", "/_synapse/admin/v1/register", {
        "nonce": nonce["nonce"], "username": localpart, "password": "password", "admin": False,
        "mac": mac.hexdigest()})
    if code != 200:
        raise RuntimeError("register %s: %s %s" % (localpart, code, body))
    return str(body["access_token"])


def send(client: Client, room: str, token: str, n: int) -> str:
    code, body = client.call("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (room, uuid.uuid4().hex),
                             {"msgtype": "m.text", "body": "message %d" % n}, token)
    if code != 200:
        raise RuntimeError("send: %s %s" % (code, body))
    return str(body["event_id"])


def measure(name: str, make: Any, a: argparse.Namespace) -> Dict[str, Any]:
    run_dir = temp_run_dir(name)
    port = free_port()
    server = make(run_dir, port)
    try:
        server.wait_ready("/health")
        client = Client(port)
        reg_times, room_times = [], []
        token = ""
        for i in range(a.users):
            t0 = time.perf_counter()
            token = register(client, "user%d" % i)
            reg_times.append((time.perf_counter() - t0) * 1000)
        room = ""
        for _ in range(a.rooms):
            t0 = time.perf_counter()
            code, body = client.call("POST", "/_matrix/client/v3/createRoom", {"preset": "private_chat"}, token)
            room_times.append((time.perf_counter() - t0) * 1000)
            if code != 200:
                raise RuntimeError("createRoom: %s %s" % (code, body))
            room = body["room_id"]
        acked: List[str] = []
        for i in range(20):
            acked.append(send(client, room, token, i))
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        for i in range(a.messages):
            acked.append(send(client, room, token, i))
        seq_secs = time.perf_counter() - t0
        cpu_seq = server.cpu_seconds() - cpu0
        per_thread = a.messages // a.threads
        errors: List[BaseException] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            c = Client(port)
            try:
                mine = [send(c, room, token, 10_000 * (k + 1) + j) for j in range(per_thread)]
                with lock:
                    acked.extend(mine)
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.threads)]
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        conc_secs = time.perf_counter() - t0
        cpu_conc = server.cpu_seconds() - cpu0
        if errors:
            raise RuntimeError("concurrent senders failed: %r" % errors[0])
        server.stop()
        server = make(run_dir, port)
        server.wait_ready("/health")
        client = Client(port)
        missing = 0
        for event_id in acked:
            code, _ = client.call("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (room, event_id), None, token)
            missing += code != 200
        return {
            "register_ms": statistics.median(reg_times),
            "create_room_ms": statistics.median(room_times),
            "seq_per_s": a.messages / seq_secs,
            "seq_cpu_ms": cpu_seq / a.messages * 1000,
            "conc_per_s": per_thread * a.threads / conc_secs,
            "conc_cpu_ms": cpu_conc / (per_thread * a.threads) * 1000,
            "acked": len(acked),
            "missing_after_restart": missing,
        }
    finally:
        server.stop()
        remove(run_dir)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--rooms", type=int, default=10)
    ap.add_argument("--synapse-python", default=None)
    ap.add_argument("--no-synapse", action="store_true")
    a = ap.parse_args()
    syn = None if a.no_synapse else (a.synapse_python or default_synapse_python())
    which = {k: v for k, v in backends(syn).items() if k != "bare twisted.web"}
    rounds: Dict[str, List[Dict[str, Any]]] = {name: [] for name in which}
    for i in range(a.runs):
        for name, make in which.items():
            rounds[name].append(measure(name, make, a))
        print("round %d/%d done" % (i + 1, a.runs), file=sys.stderr)
    results = {name: _medians(runs) for name, runs in rounds.items()}
    print("| backend | register (ms) | createRoom (ms) | sequential msg/s | CPU/msg seq (ms) "
          "| %d clients msg/s | CPU/msg conc (ms) | acked | missing after restart |" % a.threads)
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print("| %s | %.1f | %.1f | %.0f | %.2f | %.0f | %.2f | %d | %d |" % (
            name, r["register_ms"], r["create_room_ms"], r["seq_per_s"], r["seq_cpu_ms"],
            r["conc_per_s"], r["conc_cpu_ms"], r["acked"], r["missing_after_restart"]))
    if "Synapse" in results:
        m, s = results["synapse-modhost"], results["Synapse"]
        print("\n- synapse-modhost / Synapse: sequential %.1f×, concurrent %.1f×, register %.2f×, createRoom %.2f×"
              % (m["seq_per_s"] / s["seq_per_s"], m["conc_per_s"] / s["conc_per_s"],
                 m["register_ms"] / s["register_ms"], m["create_room_ms"] / s["create_room_ms"]))
    for name, runs in rounds.items():
        print("- %s, %d clients per round: %s msg/s" % (
            name, a.threads, ", ".join("%.0f" % r["conc_per_s"] for r in runs)))
    print("- rounds: %d, backends interleaved; medians per figure; acked and missing are totals" % a.runs)
    return 0


def _medians(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Each figure's median over the rounds; acknowledged and missing events summed."""
    out: Dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["acked"] = sum(r["acked"] for r in runs)
    out["missing_after_restart"] = sum(r["missing_after_restart"] for r in runs)
    return out


if __name__ == "__main__":
    sys.exit(main())
