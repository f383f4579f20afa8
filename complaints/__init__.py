"""Residents' complaints (居民投诉): reported without an account through a QR page or an Open311 client, routed by the
community's social worker to a rectification order, a mediation case or a closure, counted per estate and month."""
