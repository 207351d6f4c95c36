"""Derived assets: SQL over other assets of the project, written to a store like any entity.

YAML files under `flows/<flow>/derived/` (models.py), checked and planned against the project's
entities (plan.py), turned into Dagster assets whose deps are their inputs (asset.py), and run by a
home that queries the inputs where their stores keep them (query.py).
"""
