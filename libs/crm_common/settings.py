"""Per-service settings from the environment (prefix ``CRM_``), validated once at start-up."""

from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_MARKER = "dev-only"


class ServiceSettings(BaseSettings):
    """What every service reads from its environment; services subclass it to add their own fields."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", frozen=True)

    service_name: str = Field(description="Name used in logs, traces, metrics and as the event source")
    env: Literal["dev", "test", "production"] = "dev"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables the /metrics listener")
    nats_url: str = "nats://127.0.0.1:4222"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, description="How long in-flight calls may finish")
    drain_delay_seconds: float = Field(
        default=0.0, ge=0, description="NOT_SERVING this long before refusing new calls, so probes/balancers notice"
    )
    members_addr: str = "127.0.0.1:50051"
    loyalty_addr: str = "127.0.0.1:50052"
    campaigns_addr: str = "127.0.0.1:50053"
    leads_addr: str = "127.0.0.1:50054"
    reporting_addr: str = "127.0.0.1:50055"
    rpc_timeout_seconds: float = Field(default=5.0, gt=0, description="Default deadline of outgoing gRPC calls")


class PostgresSettings(ServiceSettings):
    """A service that owns a PostgreSQL database."""

    pg_dsn: str = Field(min_length=1, description="DSN of this service's own database")
    pg_pool_min: int = Field(default=2, ge=1)
    pg_pool_max: int = Field(default=20, ge=1)


class MongoSettings(ServiceSettings):
    """A service that owns a MongoDB database (the database name is the URI's path)."""

    mongo_uri: str = Field(min_length=1, description="MongoDB URI including the database name")

    @model_validator(mode="after")
    def _database_named(self) -> MongoSettings:
        from pymongo.uri_parser import parse_uri

        if not parse_uri(self.mongo_uri).get("database"):
            raise ValueError("CRM_MONGO_URI must name the database, e.g. mongodb://host:27017/crm_members")
        return self


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment or exit with one clear line per bad or missing variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        lines = []
        for err in exc.errors():
            name = (prefix + "_".join(str(p) for p in err["loc"])).upper() if err["loc"] else cls.__name__
            lines.append(f"  {name}: {err['msg']}")
        print(f"invalid configuration for {cls.__name__}:", *lines, sep="\n", file=sys.stderr)
        raise SystemExit(2) from None


def require_real_secret(name: str, value: str, env: str) -> None:
    """Refuse to run in production with a development default secret."""
    if env == "production" and (not value or DEV_SECRET_MARKER in value or value in {"admin", "secret"}):
        print(f"refusing to start: {name} has a development default in production", file=sys.stderr)
        raise SystemExit(2)
