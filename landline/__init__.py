"""Landline: a self-hosted texting server speaking the AT&T Landline Texting API."""

__version__ = "0.1.0"
