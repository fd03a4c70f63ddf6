"""``python -m loyalty [serve|migrate]``."""

from crm_common.grpc_server import main
from loyalty.bootstrap import Settings, build, migrate

main(Settings, build, migrate)
