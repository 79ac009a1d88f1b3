"""The transaction: applying approved steps as one atomic, crash-safe, undoable commit.

Owns: `apply` (from a plan and a review to changes, preview, apply, undo), `transaction`
(the journal and rename commit protocols of DESIGN.md), `recovery` (finishing or rolling
back what a crash left, proving before acting).
May import: `engine.model`, `engine.store`, `engine.analysis`. Never the agents or the CLI.
"""
