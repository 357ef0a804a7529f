#!/usr/bin/env python
import os
import sys


def main() -> None:
    # The agent (simcoach_agent, whose channel model the server uses) is an installed
    # package of this environment: `pip install -e ./agent` (Makefile, Dockerfile).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
