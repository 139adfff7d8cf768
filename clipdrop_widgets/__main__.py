"""``python -m clipdrop_widgets``: the command line of `clipdrop_widgets.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
