"""The app worker: the lean issue route in front of FastAPI, its use cases and wiring."""
