"""``python -m simcoach_agent``: the same command line as ``simcoach-agent``."""

import sys

# absolute, not relative: PyInstaller runs this file as a plain script (docs/agent.md)
from simcoach_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
