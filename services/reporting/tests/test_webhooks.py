"""Unit tests of the webhook target rules (no I/O): which resolved addresses a report may be posted to."""

from __future__ import annotations

import ipaddress

import pytest

from crm_common.errors import InvalidArgument
from reporting.domain.webhooks import AllowList, address_kind, check_addresses, parse_url


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata endpoint
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "reserved"),  # shared address space (carrier-grade NAT)
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_one_internal_address_among_public_ones_refuses_the_url() -> None:
    public, internal = ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.5")
    check_addresses("hooks.example.com", [public], AllowList())
    with pytest.raises(InvalidArgument) as err:
        check_addresses("hooks.example.com", [public, internal], AllowList())
    assert (err.value.field, err.value.reason) == ("webhook_url", "WEBHOOK_URL_FORBIDDEN")
    assert "private" in err.value.message and "10.0.0.5" not in err.value.message


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        check_addresses("nowhere.invalid", [], AllowList())
    assert (err.value.field, err.value.reason) == ("webhook_url", "WEBHOOK_URL_UNRESOLVABLE")


def test_allow_list_admits_listed_networks_and_hosts_only() -> None:
    allow = AllowList.parse(["127.0.0.1", " 10.20.0.0/16", "Hooks.Corp.Example.", ""])
    check_addresses("anything", [ipaddress.ip_address("127.0.0.1")], allow)
    check_addresses("anything", [ipaddress.ip_address("::ffff:127.0.0.1")], allow)
    check_addresses("anything", [ipaddress.ip_address("10.20.3.4")], allow)
    check_addresses("hooks.corp.example", [ipaddress.ip_address("192.168.1.1")], allow)
    with pytest.raises(InvalidArgument):
        check_addresses("anything", [ipaddress.ip_address("10.21.0.1")], allow)
    with pytest.raises(InvalidArgument):
        check_addresses("other.corp.example", [ipaddress.ip_address("192.168.1.1")], allow)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "a..b", "http://x/"])
def test_bad_allow_list_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        AllowList.parse([entry])


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///nohost", "example.com/hook", "http://h:99999/x"])
def test_url_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_url(url)
    assert err.value.field == "webhook_url"


def test_url_parts() -> None:
    assert (parse_url("https://Hooks.Example.com./r").host, parse_url("https://h/r").port) == ("hooks.example.com", 443)
    assert (parse_url("http://[::1]:8080/r").host, parse_url("http://[::1]:8080/r").port) == ("::1", 8080)
