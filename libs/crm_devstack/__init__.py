"""Run the suite locally: embedded PostgreSQL, NATS and MongoDB-wire servers, then every service.

``python -m crm_devstack up`` is what `make dev` runs; tests use `Infra` and `start_stack` directly.
"""

from crm_devstack.infra import Infra, InfraError, ensure_database, free_port
from crm_devstack.registry import ALL, GATEWAY, SERVICES, ServiceSpec, StackPorts, service_env
from crm_devstack.runner import Stack, StackError, start_stack

__all__ = [
    "ALL",
    "GATEWAY",
    "SERVICES",
    "Infra",
    "InfraError",
    "ServiceSpec",
    "Stack",
    "StackError",
    "StackPorts",
    "ensure_database",
    "free_port",
    "service_env",
    "start_stack",
]
