"""Entrypoint: ``python -m reporting`` serves, ``python -m reporting migrate`` migrates."""

from crm_common.grpc_server import main
from reporting.bootstrap import ReportingSettings, build, migrate

if __name__ == "__main__":
    main(ReportingSettings, build, migrate)
