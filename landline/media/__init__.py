"""Hosted content: the bytes of MMS attachments, kept on disk or in an S3 bucket."""
