"""wopt.tui: the Textual review app."""
