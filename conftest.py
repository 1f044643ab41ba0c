"""Root pytest configuration: the guanjia plugin provides real PostgreSQL/RabbitMQ fixtures (DESIGN.md §7)."""

pytest_plugins = ["guanjia.testing"]
