"""The staff workbench: screens for butlers, the service centre and engineers over the gateway's public API."""
