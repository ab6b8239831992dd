"""The sandbox side of the service: see __main__.py."""
