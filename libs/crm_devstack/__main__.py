"""``python -m crm_devstack up | migrate | infra``."""

import sys

from crm_devstack.runner import main

sys.exit(main())
