"""Supervision of quasi-property management of old estates: the core package."""
