"""The shop's public edge: facts every layer that serves the shop to the internet reads."""
