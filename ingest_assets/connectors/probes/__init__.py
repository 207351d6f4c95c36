"""`ingest check`'s probes: what each kind of connection can tell about itself, without changing a store.

A resource offers its probe as `check_connection(use)` (see `base.Checkable`); the code behind it lives
here and is imported only when a check runs, so loading definitions imports none of it.
"""
