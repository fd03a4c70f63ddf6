"""Which webhook targets scheduled reports may be posted to: public addresses only, unless allow-listed.

A report webhook is a URL a brand admin types in and the service then calls from inside the network, so
without a check it reaches loopback services, the cloud metadata endpoint (169.254.169.254) or private
hosts (server-side request forgery). The check runs on the resolved addresses, at creation and again at
each delivery, where the request then goes to the very address that was checked (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from crm_common.errors import InvalidArgument

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FIELD = "webhook_url"
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


@dataclass(frozen=True)
class AllowList:
    """Hosts (exact names, any address) and networks that webhooks may reach although they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From settings: each entry an address or network (``127.0.0.1``, ``10.0.0.0/8``) or a host name.

        Raises ValueError on an entry that is neither, so a typo stops the service at start-up.
        """
        hosts, networks = set(), []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not all(_LABEL.match(part) for part in entry.split(".")):
                raise ValueError(f"not an address, network or host name: {raw!r}")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        """Whether the host name, or the network of the address, is listed."""
        plain = _unmapped(address)
        return host in self.hosts or any(plain in n or address in n for n in self.networks)


def _unmapped(address: Address) -> Address:
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_kind(address: Address) -> str | None:
    """Why an address is not a public one (``loopback``, ``private``, ...), or None when it is."""
    plain = _unmapped(address)
    for kind, flag in (
        ("unspecified", plain.is_unspecified),
        ("loopback", plain.is_loopback),
        ("link-local", plain.is_link_local),
        ("multicast", plain.is_multicast),
        ("reserved", plain.is_reserved),
        ("private", plain.is_private),
    ):
        if flag:
            return kind
    # Shared (100.64/10), documentation, benchmarking, 6to4-style and other special ranges.
    return None if plain.is_global else "reserved"


@dataclass(frozen=True)
class WebhookUrl:
    """The parts of a webhook URL the checks and the request need."""

    scheme: str
    host: str
    port: int


def parse_url(url: str) -> WebhookUrl:
    """An http(s) URL with a host; InvalidArgument naming ``webhook_url`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidArgument("webhook_url is not a valid URL", field=FIELD) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("webhook_url must be an http(s) URL with a host", field=FIELD)
    return WebhookUrl(
        parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)
    )


def check_addresses(host: str, addresses: Iterable[Address], allow: AllowList) -> None:
    """Refuse when any address the host resolves to is not public and not allow-listed.

    Every address counts, not only the first: a client may connect to any of them. The message names the
    kind of address, never the address itself (it would tell a caller about internal names).
    """
    resolved = list(addresses)
    if not resolved:
        raise InvalidArgument(
            "webhook_url's host does not resolve to any address", field=FIELD, reason="WEBHOOK_URL_UNRESOLVABLE"
        )
    for address in resolved:
        kind = address_kind(address)
        if kind is not None and not allow.allows(host, address):
            raise InvalidArgument(
                f"webhook_url must reach a public address; its host resolves to a {kind} address",
                field=FIELD,
                reason="WEBHOOK_URL_FORBIDDEN",
            )
