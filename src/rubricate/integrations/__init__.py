"""Connectors to the tools teams keep their traces and scores in (Langfuse, ...): each one
reads through the same all-or-nothing import as files do and writes back over the tool's
own API. They are loaded only when used: nothing here is imported by `rubricate --help`.

Only the command line and Python reach a host of the caller's choosing; the REST API and
the web never fetch a URL a caller gave.
"""
