"""The model: what a plan, a step, a review and an event are, the errors every layer raises,
and pure operations on content (line endings, edits, sizes).

Owns: `plan` (plans and steps, their wire format), `review` (decisions, reasons, hunks,
edits, order), `errors`, `events` (what an apply reports), `editing`, `textops`, `sizes`,
`jsonl`.
May import: nothing of wopt outside `engine.model`. It does no I/O.
"""
