"""wopt.engine: plans, analysis and the atomic transaction, in layers that import only
downward (each subpackage's docstring says what it owns and may import):

    model     plans, reviews, errors, events; pure operations on content
    store     the workspace and `.wopt/`: confined file I/O, lock, spool, history, config
    analysis  from a plan and the files to the review model (order, families, findings)
    sources   readers of agents' output, producing plans
    tx        the atomic, crash-safe, undoable apply; recovery
    agents    hooks and the MCP server in agents' write paths
    cli       the `wopt` command

Never imports Textual.
"""
