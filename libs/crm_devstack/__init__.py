"""Run the suite locally: embedded PostgreSQL, NATS and MongoDB-wire servers, then every service.

``python -m crm_devstack up`` is what `make dev` runs; tests use `Infra` and `start_stack` directly. Without an
SMS provider (``CRM_SMS_ACCESS_KEY_ID``) the campaigns service sends to an SMS sandbox in this process
(`crm_devstack.sandbox`): ``GET <Stack.sms_messages_url>`` lists what it "sent".
"""

from crm_devstack.infra import Infra, InfraError, ensure_database, free_port
from crm_devstack.registry import ALL, GATEWAY, SERVICES, ServiceSpec, StackPorts, service_env
from crm_devstack.runner import Stack, StackError, start_stack
from crm_devstack.sandbox import SmsSandbox

__all__ = [
    "ALL",
    "GATEWAY",
    "SERVICES",
    "Infra",
    "InfraError",
    "ServiceSpec",
    "SmsSandbox",
    "Stack",
    "StackError",
    "StackPorts",
    "ensure_database",
    "free_port",
    "service_env",
    "start_stack",
]
