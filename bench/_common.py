"""Shared pieces of the benchmarks: free ports, configs, process start and readiness."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
EVIL_PATH = "/_synapse/client/list_spam_checker/is_evil?user=@mallory:bench.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


#: the password-hashing cost the benchmarks configure for every backend (Synapse's default
#: is 12: about 0.2 s of bcrypt per registration or login, on both backends alike)
BCRYPT_ROUNDS = int(os.environ.get("BENCH_BCRYPT_ROUNDS", "4"))


def host_config(run_dir: Path, port: int, server_name: str = "bench.local") -> Path:
    """A homeserver.yaml both synapse-modhost and Synapse accept, loading ListSpamChecker."""
    (run_dir / "media").mkdir(parents=True, exist_ok=True)
    seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    (run_dir / "signing.key").write_text("ed25519 a_bench %s\n" % seed)
    (run_dir / "log.yaml").write_text(
        "version: 1\n"
        "formatters: {p: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\n"
        "handlers: {f: {class: logging.FileHandler, formatter: p, filename: '"
        + str(run_dir / "homeserver.log")
        + "'}}\n"
        "root: {level: WARNING, handlers: [f]}\n"
        "disable_existing_loggers: false\n"
    )
    cfg = run_dir / "homeserver.yaml"
    cfg.write_text(
        f"""server_name: {server_name}
public_baseurl: http://127.0.0.1:{port}/
pid_file: {run_dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {run_dir}/homeserver.db
log_config: {run_dir}/log.yaml
media_store_path: {run_dir}/media
signing_key_path: {run_dir}/signing.key
registration_shared_secret: benchsecret
report_stats: false
bcrypt_rounds: {BCRYPT_ROUNDS}
rc_message: {{per_second: 100000, burst_count: 100000}}
rc_registration: {{per_second: 100000, burst_count: 100000}}
rc_room_creation: {{per_second: 100000, burst_count: 100000}}
rc_login:
  address: {{per_second: 100000, burst_count: 100000}}
  account: {{per_second: 100000, burst_count: 100000}}
  failed_attempts: {{per_second: 100000, burst_count: 100000}}
macaroon_secret_key: bench_macaroon
form_secret: bench_form
trusted_key_servers: []
suppress_key_server_warning: true
modules:
  - module: sample_modules.list_spam_checker.ListSpamChecker
    config:
      evil_users: ["@mallory:bench.local"]
"""
    )
    return cfg


class Server:
    """A server process started for one measurement."""

    def __init__(self, name: str, argv: List[str], port: int, env: Optional[Dict[str, str]] = None,
                 cwd: Optional[Path] = None) -> None:
        self.name = name
        self.port = port
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )

    def wait_ready(self, path: str = EVIL_PATH, interval: float = 0.001, timeout: float = 60) -> float:
        """Seconds from launch until ``GET path`` answers 200.

        Tries to connect every ``interval`` (a refused loopback connect costs microseconds),
        and sends the request on the first connection the listener accepts: the answer
        then comes as soon as the server serves it, so the time is not rounded up to a
        polling step. A non-200 answer (a server still starting) is retried.
        """
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                   % (path, self.port)).encode()
        while time.monotonic() - self.t0 < timeout:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError("%s exited with %s: %s" % (self.name, self.proc.returncode, err[-2000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                    sock.sendall(request)
                    status_line = sock.makefile("rb").readline()
                if status_line.split(b" ", 2)[1:2] == [b"200"]:
                    return time.monotonic() - self.t0
            except OSError:
                pass
            time.sleep(interval)
        raise RuntimeError("%s: no 200 from %s within %ss" % (self.name, path, timeout))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def checkout_env(*extra_paths: Path) -> Dict[str, str]:
    """The environment that runs this checkout (``extra_paths`` first on ``PYTHONPATH``),
    after compiling its bytecode and that of ``extra_paths``, as an installed package has."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_paths), str(REPO)])
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "synapse_modhost"),
                    str(REPO / "sample_modules"), str(REPO / "bench"), *map(str, extra_paths)],
                   check=True, env=env)
    return env


def backends(synapse_python: Optional[str]) -> Dict[str, object]:
    """name -> function(run_dir, port) -> Server, for every backend available here."""
    env = checkout_env()

    def modhost(run_dir: Path, port: int) -> Server:
        cfg = host_config(run_dir, port)
        return Server("synapse-modhost", [sys.executable, "-m", "synapse_modhost", "-c", str(cfg)],
                      port, env, cwd=run_dir)

    def bare(run_dir: Path, port: int) -> Server:
        return Server("bare twisted.web", [sys.executable, str(REPO / "bench" / "bare_twisted_web.py"),
                                           str(port)], port, env, cwd=run_dir)

    found: Dict[str, object] = {"synapse-modhost": modhost, "bare twisted.web": bare}
    if synapse_python:
        def synapse(run_dir: Path, port: int) -> Server:
            cfg = host_config(run_dir, port)
            return Server("Synapse", [synapse_python, "-m", "synapse.app.homeserver", "-c", str(cfg)],
                          port, env, cwd=run_dir)
        found["Synapse"] = synapse
    return found


def default_synapse_python() -> Optional[str]:
    """$SYNAPSE_PYTHON, else a venv at ../synapse-venv beside the checkout, if it has Synapse."""
    candidates = [os.environ.get("SYNAPSE_PYTHON"), str(REPO.parent / "synapse-venv" / "bin" / "python")]
    for c in candidates:
        if c and Path(c).exists():
            r = subprocess.run([c, "-c", "import synapse"], capture_output=True)
            if r.returncode == 0:
                return c
    return None


def temp_run_dir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-%s-" % name.replace(" ", "_").replace(".", "_")))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
