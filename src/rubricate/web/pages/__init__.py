"""The web UI's routes, one module per area; each renders templates/ through the use
cases."""
