"""Discovery: what APIs are exposed, as templates, compared with the specs teams have.

- ``templating``: raw paths -> path templates (patterns, cardinality, context names).
- ``spec``: OpenAPI/Swagger documents loaded, validated and matched against requests.
- ``inventory``: per (host, method, template) facts, kept up to date across runs.
- ``export`` / ``drift``: the observed API as OpenAPI 3.1, and its differences from a spec.

Everything works on *distinct* raw paths, never per event.
"""
