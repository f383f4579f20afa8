"""The registry of who manages what: streets, communities, estates, companies, votes (居民选), contracts (社区签)."""
