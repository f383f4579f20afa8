"""People: users, roles and scopes, login tokens and third-party API keys."""
