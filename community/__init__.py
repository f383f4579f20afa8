"""The community-service pipeline (lands with its issue)."""
