"""The API layer: the HTTP client, its inputs and results, the cache, pacing and notices.

It imports `clipdrop_widgets.contract` (and the local engine lazily, only for the
``local://`` address), never a widget.
"""

# The public names are re-exported, lazily, by the top-level package; importing this
# package alone stays cheap.
