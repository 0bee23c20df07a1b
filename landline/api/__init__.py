"""The HTTP API: the AT&T Landline Texting (Zipwhip) web API, leniently parsed."""
