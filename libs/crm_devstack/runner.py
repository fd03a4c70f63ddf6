"""Start the whole suite the way `make dev` does: infra, databases, migrations, services, gateway.

`start_stack` is the library form (the integration tests use it with free ports); `main` is the command
line behind ``python -m crm_devstack up | migrate | infra``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from crm_devstack.infra import (
    READY_TIMEOUT,
    STOP_TIMEOUT,
    Infra,
    InfraError,
    ManagedProcess,
    Progress,
    _die_with_parent,
    ensure_database,
    print_progress,
    stop_all,
)
from crm_devstack.registry import (
    ALL,
    BY_NAME,
    GATEWAY,
    SERVICES,
    ServiceSpec,
    StackPorts,
    child_environ,
    wants_sms_sandbox,
)

if TYPE_CHECKING:
    from crm_devstack.sandbox import SmsSandbox

DEFAULT_DATA_DIR = ".dev"


class StackError(RuntimeError):
    """A service failed to migrate or to become healthy."""


def _quiet(line: str) -> None:
    pass


@dataclass
class Stack:
    """A running suite: infra plus one child process per service (and the SMS sandbox, in this process)."""

    data_dir: Path
    infra: Infra
    ports: StackPorts
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    sms_sandbox: SmsSandbox | None = None
    """The local SendSms the campaigns service talks to when the environment gives no SMS provider."""
    _reported: set[str] = field(default_factory=set)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def sms_sandbox_url(self) -> str | None:
        """The SMS sandbox's base URL (its SendSms endpoint), or None when a real provider is configured."""
        return self.sms_sandbox.url if self.sms_sandbox else None

    @property
    def sms_messages_url(self) -> str | None:
        """``GET`` it for the messages the sandbox accepted (JSON: phone, template, params, out_id, at)."""
        return self.sms_sandbox.messages_url if self.sms_sandbox else None

    @property
    def service_addrs(self) -> dict[str, str]:
        """gRPC ``host:port`` per service."""
        return {s.name: self.ports.grpc_addr(s.name) for s in SERVICES}

    @property
    def metrics_urls(self) -> dict[str, str]:
        urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in self.ports.metrics.items()}
        urls[GATEWAY.name] = f"{self.gateway_url}/metrics"
        return urls

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def newly_exited(self) -> list[ManagedProcess]:
        """Children that died since the last call (each reported once)."""
        dead = [p for n, p in self.processes.items() if n not in self._reported and not p.running]
        self._reported.update(p.name for p in dead)
        return dead

    def stop_services(self, timeout: float = STOP_TIMEOUT) -> None:
        """Gateway first (stop taking requests), then every service together."""
        gateway = self.processes.get(GATEWAY.name)
        if gateway is not None:
            gateway.stop(timeout)
        stop_all([p for n, p in self.processes.items() if n != GATEWAY.name], timeout)

    def stop_sandbox(self) -> None:
        if self.sms_sandbox is not None:
            self.sms_sandbox.stop()

    async def stop(self) -> None:
        """Services first (SIGTERM, wait), then the SMS sandbox, then the infrastructure."""
        await asyncio.to_thread(self.stop_services)
        await asyncio.to_thread(self.stop_sandbox)
        await self.infra.astop()


# ------------------------------------------------------------------------------------------------------------
# Steps
# ------------------------------------------------------------------------------------------------------------


def _open_log(path: Path, header: str) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "ab")  # closed by the caller, after the child has it
    log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {header}\n".encode())
    log.flush()
    return log


async def _run_migration(spec: ServiceSpec, env: Mapping[str, str], log_dir: Path) -> None:
    log_path = log_dir / f"{spec.name}.log"
    with _open_log(log_path, "migrate") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", spec.module, "migrate",
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=dict(env),
            start_new_session=True, preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        try:
            code = await proc.wait()
        except asyncio.CancelledError:
            proc.kill()
            raise
    if code != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise StackError(f"`python -m {spec.module} migrate` failed (code {code}); {log_path}:\n{tail}")


async def migrate_all(
    infra: Infra,
    ports: StackPorts,
    log_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress = _quiet,
    services: Sequence[ServiceSpec] = SERVICES,
) -> None:
    """Create each service's database if missing, then run every ``migrate`` concurrently."""
    started = time.monotonic()
    for spec in services:
        if spec.pg_db:
            await ensure_database(infra.pg_admin_dsn, spec.pg_db)
    todo = [s for s in services if s.migrates]
    await asyncio.gather(
        *(_run_migration(s, child_environ(s, infra, ports, environ), log_dir) for s in todo)
    )
    progress(f"migrating {', '.join(s.name for s in todo)}… ok ({time.monotonic() - started:.1f}s)")


async def wait_grpc_serving(addr: str, proc: ManagedProcess, limit: float = READY_TIMEOUT) -> None:
    """Poll ``grpc.health.v1.Health/Check`` until SERVING; fail fast if the process dies."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + limit
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if not proc.running:
                raise StackError(_died(proc))
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise StackError(f"{proc.name} not SERVING on {addr} after {limit:.0f}s; see {proc.log_path}")
            await asyncio.sleep(0.1)


async def wait_http_ok(url: str, proc: ManagedProcess, limit: float = READY_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; fail fast if the process dies."""
    import httpx

    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            if not proc.running:
                raise StackError(_died(proc))
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise StackError(f"{proc.name}: {url} not 200 after {limit:.0f}s; see {proc.log_path}")
            await asyncio.sleep(0.1)


def _died(proc: ManagedProcess) -> str:
    return f"{proc.name} exited (code {proc.returncode}); last lines of {proc.log_path}:\n{proc.tail()}"


def _spawn(spec: ServiceSpec, stack: Stack, environ: Mapping[str, str] | None) -> ManagedProcess:
    proc = ManagedProcess(
        spec.name, [sys.executable, "-m", spec.module],
        log_path=stack.log_dir / f"{spec.name}.log",
        env=child_environ(spec, stack.infra, stack.ports, environ,
                          sandbox=stack.sms_sandbox.env() if stack.sms_sandbox else None),
    )
    proc.start()
    stack.processes[spec.name] = proc
    return proc


async def start_stack(
    data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR,
    ports: StackPorts | None = None,
    fsync: bool = False,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    services: Sequence[ServiceSpec] = ALL,
) -> Stack:
    """Start infra, migrate, start every service and the gateway; return once all are healthy.

    ``ports=None`` picks free ports (tests); the CLI passes `StackPorts.default()`. When campaigns runs in dev
    without ``CRM_SMS_ACCESS_KEY_ID``, the SMS sandbox is started on a free port and campaigns sends to it.
    On any failure (or cancellation) everything started so far is stopped before the error propagates.
    """
    say = progress or _quiet
    ports = ports or StackPorts.free()
    infra = Infra(
        data_dir, pg_port=ports.pg, nats_port=ports.nats, nats_monitor_port=ports.nats_monitor,
        mongo_port=ports.mongo, fsync=fsync, environ=environ, progress=say,
    )
    stack = Stack(infra.data_dir, infra, ports)
    try:
        if BY_NAME["campaigns"] in services and wants_sms_sandbox(environ):
            from crm_devstack.sandbox import SmsSandbox

            began = time.monotonic()
            stack.sms_sandbox = SmsSandbox()
            await stack.sms_sandbox.astart()
            say(f"starting SMS sandbox… ok ({time.monotonic() - began:.1f}s) on {stack.sms_sandbox.url}")
        await infra.astart()
        backends = [s for s in services if s.is_grpc]
        await migrate_all(infra, ports, stack.log_dir, environ=environ, progress=say, services=backends)

        began = time.monotonic()
        # Spawn every backend at once (they start in parallel), then wait for each in turn.
        procs = {s.name: _spawn(s, stack, environ) for s in backends}
        for spec in backends:
            await wait_grpc_serving(ports.grpc_addr(spec.name), procs[spec.name])
            say(f"starting {spec.name}… ok ({time.monotonic() - began:.1f}s) on {ports.grpc_addr(spec.name)}")

        if GATEWAY in services:
            began = time.monotonic()
            gateway = _spawn(GATEWAY, stack, environ)
            await wait_http_ok(f"{stack.gateway_url}/healthz", gateway)
            say(f"starting gateway… ok ({time.monotonic() - began:.1f}s) on {stack.gateway_url}")
    except BaseException:
        # Shielded so a Ctrl-C during start-up still tears everything down in order.
        await asyncio.shield(stack.stop())
        raise
    return stack


def summary(stack: Stack, admin_password: str | None = None) -> str:
    """The human-readable "it's up" message."""
    url = stack.gateway_url
    lines = [
        "",
        "Retail CRM is running.",
        f"  gateway   {url}",
        f"  API docs  {url}/docs",
        f"  ready     {url}/readyz",
        f"  metrics   {url}/metrics",
        "",
        "  service    gRPC               metrics",
    ]
    for spec in SERVICES:
        if spec.name in stack.processes:
            lines.append(f"  {spec.name:<10} {stack.ports.grpc_addr(spec.name):<18} "
                         f"{stack.metrics_urls[spec.name]}")
    infra = stack.infra
    lines += [
        "",
        f"  PostgreSQL {infra.pg_admin_dsn}",
        f"  NATS       {infra.nats_url}"
        + (f"  (monitor {infra.nats_monitor_url})" if infra.nats_monitor_url else ""),
        f"  MongoDB    {infra.mongo_uri}",
    ]
    if stack.sms_messages_url:
        from crm_devstack.sandbox import SMS_SANDBOX_REJECTED_TEMPLATE

        lines.append(f"  SMS sandbox: {stack.sms_messages_url}  (what campaigns sent; "
                     f"template {SMS_SANDBOX_REJECTED_TEMPLATE} is refused)")
    lines += [
        "",
        f"  data dir   {stack.data_dir}  (kept between runs; delete it for a clean slate)",
        f"  logs       {stack.log_dir}/<name>.log",
        f"  admin login: username admin, password {admin_password or '$CRM_ADMIN_PASSWORD'}",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------------------------


def _install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _until_stopped_or(stop: asyncio.Event, work: asyncio.Task[Stack]) -> Stack | None:
    """Run ``work`` unless a stop signal arrives first (then cancel it and return None)."""
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if work in done:
        waiter.cancel()
        return work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await work
    return None


async def cmd_up(data_dir: Path, ports: StackPorts) -> int:
    """``up``: the whole suite until Ctrl-C / SIGTERM."""
    stop = asyncio.Event()
    _install_stop_signals(stop)
    print(f"data dir {data_dir}; logs in {data_dir / 'logs'}/<name>.log", flush=True)
    stack = await _until_stopped_or(
        stop, asyncio.create_task(start_stack(data_dir, ports, fsync=True, progress=print_progress))
    )
    if stack is None:
        print("stopped.", flush=True)
        return 130
    env = os.environ
    admin = env.get("CRM_ADMIN_PASSWORD") or ("admin" if (env.get("CRM_ENV") or "dev") == "dev" else None)
    print(summary(stack, admin), flush=True)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        for proc in stack.newly_exited():
            print(f"\n!! {proc.name} exited unexpectedly (code {proc.returncode}); "
                  f"last lines of {proc.log_path}:\n{proc.tail()}\n", file=sys.stderr, flush=True)
    print("\nstopping services…", flush=True)
    await asyncio.to_thread(stack.stop_services)
    await asyncio.to_thread(stack.stop_sandbox)
    print("stopping infrastructure…", flush=True)
    await stack.infra.astop()
    print("stopped.", flush=True)
    return 0


async def cmd_migrate(data_dir: Path, ports: StackPorts) -> int:
    """``migrate``: infra, databases and migrations, then stop."""
    infra = Infra(data_dir, pg_port=ports.pg, nats_port=ports.nats, mongo_port=ports.mongo,
                  progress=print_progress)
    async with infra:
        await migrate_all(infra, ports, data_dir / "logs", progress=print_progress)
    return 0


async def cmd_infra(data_dir: Path, ports: StackPorts) -> int:
    """``infra``: only the servers, until Ctrl-C."""
    stop = asyncio.Event()
    _install_stop_signals(stop)
    infra = Infra(data_dir, pg_port=ports.pg, nats_port=ports.nats, nats_monitor_port=ports.nats_monitor,
                  mongo_port=ports.mongo, progress=print_progress)
    async with infra:
        print(f"\nCRM_PG_DSN={infra.pg_admin_dsn}\nCRM_NATS_URL={infra.nats_url}\n"
              f"CRM_MONGO_URI={infra.mongo_uri}\n\ndata dir {data_dir}; logs in {data_dir / 'logs'}\n"
              "Press Ctrl-C to stop.", flush=True)
        await stop.wait()
        print("\nstopping infrastructure…", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m crm_devstack``."""
    parser = argparse.ArgumentParser(prog="python -m crm_devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "migrate", "infra"], nargs="?", default="up")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="where server data and logs live (default: %(default)s, reused between runs)")
    parser.add_argument("--base-port", type=int, default=None,
                        help="run beside another stack: gateway N, gRPC N+1.., metrics N+11.., infra N+20..")
    args = parser.parse_args(argv)
    ports = StackPorts.from_base(args.base_port) if args.base_port else StackPorts.default()
    data_dir = Path(args.data_dir).resolve()
    command = {"up": cmd_up, "migrate": cmd_migrate, "infra": cmd_infra}[args.command]
    try:
        return asyncio.run(command(data_dir, ports))
    except (InfraError, StackError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr, flush=True)
        return 1
