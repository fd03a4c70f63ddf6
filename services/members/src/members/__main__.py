"""``python -m members [serve|migrate]``."""

from crm_common.grpc_server import main
from members.bootstrap import Settings, build, migrate

if __name__ == "__main__":
    main(Settings, build, migrate)
