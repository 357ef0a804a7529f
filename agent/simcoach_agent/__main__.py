"""``python -m simcoach_agent``: the same command line as ``simcoach-agent``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
