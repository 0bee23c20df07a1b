"""Carrier connectors: the one interface every way of reaching a phone network implements."""
