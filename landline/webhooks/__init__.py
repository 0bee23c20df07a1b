"""Webhook delivery: URL guard, signing, encoding and sending one attempt.

These parts know nothing of carriers or the store; the delivery engine builds on them.
"""
