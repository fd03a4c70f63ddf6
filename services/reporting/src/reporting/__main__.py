"""Entrypoint: ``python -m reporting`` serves, ``migrate`` migrates, ``rebuild`` / ``reconcile`` maintain."""

import sys

from crm_common.grpc_server import main
from reporting.bootstrap import ReportingSettings, build, migrate

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("rebuild", "reconcile"):
        from reporting.commands import main as command

        raise SystemExit(command(sys.argv[1:]))
    main(ReportingSettings, build, migrate)
