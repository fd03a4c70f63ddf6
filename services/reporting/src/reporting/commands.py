"""``python -m reporting rebuild [--brand B]`` and ``python -m reporting reconcile [--brand B]``."""

from __future__ import annotations

import argparse
import asyncio

from crm.loyalty.v1.loyalty_pb2_grpc import LoyaltyServiceStub
from crm.members.v1.members_pb2_grpc import MembersServiceStub
from crm_common import pg
from crm_common.bus import EventBus
from crm_common.grpc_client import close_all, stub
from reporting.adapters.maintenance import Rebuild, known_brands, reconcile
from reporting.bootstrap import ReportingSettings

COMMANDS = ("rebuild", "reconcile")


async def rebuild(settings: ReportingSettings, brand_id: str | None) -> int:
    """Replay the streams into fresh facts and swap them in; 0 on success."""
    pool = await pg.create_pool(settings.pg_dsn, min_size=1, max_size=2)
    members, channel = stub(MembersServiceStub, settings.members_addr, service="members",
                            timeout=settings.rpc_timeout_seconds)
    bus = await EventBus.connect(settings.nats_url, name=f"{settings.service_name}-rebuild")
    try:
        result = await Rebuild(pool, settings.pg_dsn, bus, members, brand_id=brand_id).run()
        print(f"rebuild: {result.events} events applied, {result.orders} orders and {result.members} members"
              f" in the facts{f' of brand {brand_id}' if brand_id else ''}, {result.seconds:.1f} s")
        return 0
    finally:
        await bus.close()
        await close_all(channel)
        await pool.close()


async def reconcile_command(settings: ReportingSettings, brand_id: str | None) -> int:
    """Print each brand's comparison with loyalty; 1 when any brand differs."""
    pool = await pg.create_pool(settings.pg_dsn, min_size=1, max_size=2)
    loyalty, channel = stub(LoyaltyServiceStub, settings.loyalty_addr, service="loyalty",
                            timeout=settings.rpc_timeout_seconds)
    try:
        brands = [brand_id] if brand_id else await known_brands(pool)
        results = await reconcile(pool, loyalty, brands)
        for r in results:
            print(r.describe())
        return 0 if all(r.ok for r in results) else 1
    finally:
        await close_all(channel)
        await pool.close()


def main(argv: list[str]) -> int:
    """Parse ``argv`` (after ``python -m reporting``) and run the command."""
    from crm_common import telemetry
    from crm_common.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m reporting")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--brand", help="only this brand (default: every brand)")
    args = parser.parse_args(argv)
    settings = load_settings(ReportingSettings)
    telemetry.configure_logging(settings.service_name, settings.log_level)
    if args.command == "rebuild":
        return asyncio.run(rebuild(settings, args.brand))
    return asyncio.run(reconcile_command(settings, args.brand))
