"""The web inbox and the simulated network's phone page, served beside the API."""
