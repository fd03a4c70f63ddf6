"""The services the suite runs, as data, and the environment each one is started with."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crm_devstack.infra import free_port

if TYPE_CHECKING:
    from crm_devstack.infra import Infra


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the suite: what to run and which infrastructure it needs."""

    name: str
    module: str
    grpc_port: int | None = None
    metrics_port: int | None = None
    http_port: int | None = None
    pg_db: str | None = None
    mongo_db: str | None = None
    uses_nats: bool = True
    migrates: bool = True
    """Supports ``python -m <module> migrate`` (apply its schema, then exit)."""

    @property
    def is_grpc(self) -> bool:
        return self.grpc_port is not None


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("members", "members", 50051, 9101, mongo_db="crm_members"),
    ServiceSpec("loyalty", "loyalty", 50052, 9102, pg_db="crm_loyalty"),
    ServiceSpec("campaigns", "campaigns", 50053, 9103, pg_db="crm_campaigns"),
    ServiceSpec("leads", "leads", 50054, 9104, pg_db="crm_leads"),
    ServiceSpec("reporting", "reporting", 50055, 9105, pg_db="crm_reporting"),
)
"""The gRPC services, in start order."""

GATEWAY = ServiceSpec("gateway", "gateway", http_port=8080, uses_nats=False, migrates=False)
"""The HTTP gateway: started last; serves its metrics on its own ``/metrics``."""

ALL: tuple[ServiceSpec, ...] = (*SERVICES, GATEWAY)
BY_NAME: Mapping[str, ServiceSpec] = {s.name: s for s in ALL}

# Dev ports of the embedded servers: away from the defaults (5432, 4222, 27017) so a locally
# installed server never collides with the dev stack.
DEV_PG_PORT = 55432
DEV_NATS_PORT = 54222
DEV_NATS_MONITOR_PORT = 58222
DEV_MONGO_PORT = 57017


@dataclass(frozen=True)
class StackPorts:
    """Every port of one stack. 0 for an infra port means "pick a free one" at start."""

    grpc: Mapping[str, int]
    metrics: Mapping[str, int]
    gateway: int
    pg: int = 0
    nats: int = 0
    nats_monitor: int | None = None
    mongo: int = 0

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> StackPorts:
        """The documented dev ports (`CRM_GATEWAY_PORT` moves the gateway)."""
        env = os.environ if environ is None else environ
        return cls(
            grpc={s.name: s.grpc_port for s in SERVICES if s.grpc_port is not None},
            metrics={s.name: s.metrics_port for s in SERVICES if s.metrics_port is not None},
            gateway=int(env.get("CRM_GATEWAY_PORT") or GATEWAY.http_port or 8080),
            pg=DEV_PG_PORT,
            nats=DEV_NATS_PORT,
            nats_monitor=DEV_NATS_MONITOR_PORT,
            mongo=DEV_MONGO_PORT,
        )

    @classmethod
    def from_base(cls, base: int) -> StackPorts:
        """A second stack beside the first: gateway ``base``, gRPC ``base+1..``, metrics ``base+11..``,
        PostgreSQL ``base+20``, NATS ``base+21`` (monitor ``+22``), MongoDB ``base+23``."""
        return cls(
            grpc={s.name: base + 1 + i for i, s in enumerate(SERVICES)},
            metrics={s.name: base + 11 + i for i, s in enumerate(SERVICES)},
            gateway=base,
            pg=base + 20,
            nats=base + 21,
            nats_monitor=base + 22,
            mongo=base + 23,
        )

    @classmethod
    def free(cls) -> StackPorts:
        """Free ports everywhere (tests): nothing collides with a running dev stack."""
        return cls(
            grpc={s.name: free_port() for s in SERVICES},
            metrics={s.name: free_port() for s in SERVICES},
            gateway=free_port(),
        )

    def grpc_addr(self, service: str) -> str:
        return f"127.0.0.1:{self.grpc[service]}"


def load_dev_secrets(data_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Dev-only JWT secret and PII key, generated once into ``<data_dir>/secrets.json`` and reused after.

    Reuse matters: a new PII key would make yesterday's encrypted phone numbers unreadable, and a new JWT
    secret would log everybody out on every restart.
    """
    path = Path(data_dir) / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    wanted = {"CRM_JWT_SECRET": 48, "CRM_PII_KEY": 32}
    missing = {k: n for k, n in wanted.items() if not stored.get(k)}
    if missing:
        stored.update({k: secrets.token_urlsafe(n) for k, n in missing.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(path)
    return stored


def wants_sms_sandbox(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the stack runs the SMS sandbox: in ``CRM_ENV=dev`` (the default) when no
    ``CRM_SMS_ACCESS_KEY_ID`` is given (with one, the campaigns service talks to that provider)."""
    env = os.environ if environ is None else environ
    return (env.get("CRM_ENV") or "dev") == "dev" and not env.get("CRM_SMS_ACCESS_KEY_ID")


def service_env(
    service: ServiceSpec | str,
    infra: Infra,
    ports: StackPorts,
    environ: Mapping[str, str] | None = None,
    *,
    sandbox: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``CRM_*`` (and ``OTEL_*``) variables a child is started with; layer them over ``os.environ``.

    Secrets are passed through from ``environ`` when set; in ``CRM_ENV=dev`` (the default) missing ones get
    stable dev values. Outside dev nothing is invented, so a service refuses to start without real secrets.
    ``sandbox`` is the SMS sandbox's settings (`crm_devstack.sandbox.SmsSandbox.env`), given to the campaigns
    service only.
    """
    spec = BY_NAME[service] if isinstance(service, str) else service
    env_in = os.environ if environ is None else environ
    crm_env = env_in.get("CRM_ENV") or "dev"
    env: dict[str, str] = {
        "CRM_ENV": crm_env,
        "CRM_SERVICE_NAME": spec.name,
        "CRM_GATEWAY_PORT": str(ports.gateway),
        "CRM_NATS_URL": infra.nats_url,
    }
    if spec.pg_db:
        env["CRM_PG_DSN"] = infra.pg_dsn_for(spec.pg_db)
    if spec.mongo_db:
        env["CRM_MONGO_URI"] = infra.mongo_uri_for(spec.mongo_db)
    if spec.name in ports.grpc:
        env["CRM_GRPC_PORT"] = str(ports.grpc[spec.name])
    if spec.name in ports.metrics:
        env["CRM_METRICS_PORT"] = str(ports.metrics[spec.name])
    for other in SERVICES:
        env[f"CRM_{other.name.upper()}_ADDR"] = ports.grpc_addr(other.name)

    dev_defaults: dict[str, str] = {}
    if crm_env == "dev":
        dev_defaults = {"CRM_ADMIN_PASSWORD": "admin", **load_dev_secrets(infra.data_dir)}
    for key in ("CRM_ADMIN_PASSWORD", "CRM_JWT_SECRET", "CRM_PII_KEY"):
        value = env_in.get(key) or dev_defaults.get(key)
        if value:
            env[key] = value
    env.update({k: v for k, v in env_in.items() if k.startswith("OTEL_")})
    if sandbox and spec.name == "campaigns":
        env.update(sandbox)
    return env


_SERVER_URLS = frozenset({"CRM_PG_DSN", "CRM_MONGO_URI", "CRM_NATS_URL"})


def child_environ(
    service: ServiceSpec | str,
    infra: Infra,
    ports: StackPorts,
    environ: Mapping[str, str] | None = None,
    *,
    sandbox: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Full environment for a child: ``environ`` minus server-level URLs, plus `service_env`."""
    base = dict(os.environ if environ is None else environ)
    # A server-level CRM_PG_DSN from the shell must not leak into a service that has no database.
    inherited = {k: v for k, v in base.items() if k not in _SERVER_URLS}
    inherited["PYTHONUNBUFFERED"] = "1"  # log lines reach .dev/logs as they happen
    return {**inherited, **service_env(service, infra, ports, base, sandbox=sandbox)}
