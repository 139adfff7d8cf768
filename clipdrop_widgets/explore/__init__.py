"""Exploring prompts: sweeps over prompt templates, their crash-safe run logs, progress, contact
sheets and the interactive explorer.

It imports the API layer and the widgets, never the apps.
"""

# The public names are re-exported, lazily, by the top-level package; importing this
# package alone stays cheap.
