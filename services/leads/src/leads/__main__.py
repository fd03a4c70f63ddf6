"""``python -m leads`` serves; ``python -m leads migrate`` applies the schema and exits."""

from crm_common.grpc_server import main
from leads.bootstrap import LeadsSettings, build, migrate

if __name__ == "__main__":
    main(LeadsSettings, build, migrate)
