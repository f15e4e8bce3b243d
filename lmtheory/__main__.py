"""Command line: ``python -m lmtheory offline`` fetches the offline model and datasets once."""

import sys

from .offline import fetch_all

COMMANDS = {"offline": fetch_all}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m lmtheory {{{'|'.join(COMMANDS)}}}")
    COMMANDS[sys.argv[1]]()
