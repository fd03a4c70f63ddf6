"""Entrypoint: ``python -m campaigns`` serves, ``python -m campaigns migrate`` migrates."""

from crm_common.grpc_server import main

from campaigns.bootstrap import CampaignsSettings, build, migrate

if __name__ == "__main__":
    main(CampaignsSettings, build, migrate)
