"""The platform's common library: event envelope and catalogue, the outbox,
idempotent consumers, HTTP error mapping, storage, logging and metrics.

Every service imports this package; no service imports another service.
"""
