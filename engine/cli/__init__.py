"""`wopt`, the headless command line: one module per group of commands (`cmd_ingest`, `cmd_plans`,
`cmd_show`, `cmd_apply`, `cmd_hook`), the parser, and the caches that keep start-up light.

May import: every engine layer.
"""
