"""The model: what a plan, a step, a review and an event are, the errors every layer raises,
and pure operations on content (line endings, edits, sizes).

Owns: `plan` (plans and steps, their wire format), `review` (decisions, reasons, hunks,
edits, order, and the patches that change them), `lines` (hook sessions' plan names),
`errors`, `events` (what an apply reports), `linediff` (the line diff and applying chosen
hunks), `editing`, `textops`, `sizes`, `jsonl`.
May import: nothing of wopt outside `engine.model`. It does no I/O.
"""
