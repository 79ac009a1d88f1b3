"""The store: the workspace on disk and everything wopt keeps under `.wopt/`.

Owns: `fsio` (confined file I/O: every write goes through a directory handle checked at each
call), `lock`, `workspace` (finding the root, paths, what a path may be), `spool` (plans and
reviews), `decide` (locked decisions, waiting markers), `history`, `config`, `ingest`
(putting a new plan in the queue), `effects` (what a step does to the files as they are now),
`bases` (copies of the files agents saw, for rebasing stale steps), `templates_store` (saved
template families), `demo`.
May import: `engine.model`. Never the analysis, the transaction or the agents above it.
"""
