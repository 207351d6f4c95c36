"""The plan: frozen values both sides of the seam share (`model`, `project`, `derived`, `window`, `cursor`)
and the pure builders that make them (`build`, `build_derived`); `load.load_plan` runs the whole way from
YAML files to a `ProjectPlan`.

Nothing is imported here, so a module that needs a plan value (a home, a store) does not load the builder.
"""
