"""wopt.engine: plans, analysis and the atomic transaction. Never imports Textual."""
