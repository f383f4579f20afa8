"""The web edge: error mapping, authentication, strict bodies, the app factory's parts and the page shell."""
