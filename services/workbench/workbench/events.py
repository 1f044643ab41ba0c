"""The events the workbench publishes: none (it changes nothing itself; the services it calls publish theirs)."""

PUBLISHED: dict = {}
