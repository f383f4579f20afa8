"""The core every domain package builds on: settings, database, errors, audit, paging."""
