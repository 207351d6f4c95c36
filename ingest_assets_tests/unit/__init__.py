"""Unit tests: models, loader errors (exact texts), plan merging, window maths, error classes, the package's shape."""
