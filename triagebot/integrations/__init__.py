"""Adapters to the outside world, behind the small Protocols of ports.py."""
