"""Open Contracting Data Standard 1.1.5 releases of the community-service pipeline's calls, and the public project
pages built from them (no login)."""
