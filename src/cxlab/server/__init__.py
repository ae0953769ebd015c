"""The running service: collector API, keys, read API and dashboard over one store (``cxlab serve``)."""
