"""Root pytest configuration: the embedded-server fixtures live in one plugin shared by every test layer."""

pytest_plugins = ["crm_common.testing"]
