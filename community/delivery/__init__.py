"""Delivery of community-service projects: delegation to committees, social workers' assignments, activity logs
counted against the project's indicators, and the residents served (with their consent)."""
