"""Entity transforms: SQL (DuckDB over a relation called `records`) or Python, between home and store.

`settings` is the YAML's shape, `spec` the frozen plan's steps, `validate` the load-time checks; these
import nothing heavy. `stream` (with `sql` and `python`) runs the steps on the Arrow stream at run time
and is imported only then.
"""
