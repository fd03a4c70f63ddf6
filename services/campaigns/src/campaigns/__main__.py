"""Entrypoint: ``python -m campaigns`` serves, ``python -m campaigns migrate`` migrates."""

from campaigns.bootstrap import CampaignsSettings, build, migrate
from crm_common.grpc_server import main

if __name__ == "__main__":
    main(CampaignsSettings, build, migrate)
