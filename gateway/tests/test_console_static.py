"""The console is served by the gateway, build-free, with a strict content security policy."""

from __future__ import annotations

import re

from gateway.routers.console import CONSOLE_DIR


async def test_console_index_is_served_in_chinese_with_a_csp(client):
    r = await client.get("/console/")

    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_bare_console_path_redirects_to_the_index(client):
    r = await client.get("/console")

    assert r.status_code == 307 and r.headers["location"] == "/console/"


async def test_echarts_ships_with_its_license_and_under_the_size_budget(client):
    r = await client.get("/console/vendor/echarts.min.js")

    assert r.status_code == 200
    assert len(r.content) < 1_500_000
    assert "Apache License" in (CONSOLE_DIR / "vendor" / "echarts.LICENSE").read_text()


def test_every_console_string_exists_in_both_languages():
    source = (CONSOLE_DIR / "app.js").read_text()
    key = re.compile(r'(?:"([\w.]+)"|\b(\w+)):\s*"')
    zh_block = source.split("zh: {")[1].split("en: {")[0]
    en_block = source.split("en: {")[1].split("};")[0]
    zh, en = set(key.findall(zh_block)), set(key.findall(en_block))
    assert len(zh) > 50
    assert zh == en


def test_the_console_never_builds_html_from_strings():
    # API data (member names, lead notes) must never become markup.
    assert "innerHTML" not in (CONSOLE_DIR / "app.js").read_text()


async def test_the_console_is_not_part_of_the_api_document(client):
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert not any(p.startswith("/console") for p in paths)
