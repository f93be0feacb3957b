"""Durable runs: alignment and evaluation runs as DBOS workflows, carried out by
`rubricate worker` processes that share the database, with heartbeats, recovery of a dead
worker's runs by a leader, cancel and retry."""
