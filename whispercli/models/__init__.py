"""Model files: the per-user cache, the registry of names, downloads and PyPI sources."""
