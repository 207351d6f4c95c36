"""The fault-injection suite: runs killed at chosen points of every store's load, and what the next run finds."""
