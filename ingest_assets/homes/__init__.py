"""Homes: where data is read from. Each yields Arrow record batches in bounded memory."""
