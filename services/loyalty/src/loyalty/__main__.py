"""``python -m loyalty [serve|migrate|reconcile [brand_id]]``."""

import sys

from crm_common.grpc_server import main
from loyalty.bootstrap import Settings, build, migrate

if len(sys.argv) > 1 and sys.argv[1] == "reconcile":
    from loyalty.reconcile import main as reconcile

    sys.exit(reconcile(sys.argv[2:]))
main(Settings, build, migrate)
