#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    # The agent package lives beside the site; the server imports its channel model.
    sys.path.insert(1, str(Path(__file__).resolve().parent / "agent"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
