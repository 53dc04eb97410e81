"""A ClickHouse HTTP interface served by the chDB engine, for local development.

The engine (ClickHouse compiled as a library) parses, executes, formats and
reports errors; this package is the HTTP glue around it: request parameters,
authentication, body framing and compression, and response headers shaped the
way ClickHouse's own HTTP handler shapes them.
"""
