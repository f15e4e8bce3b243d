"""Command line.

``python -m lmtheory offline`` fetches the offline model and datasets once;
``python -m lmtheory gpt2-tokenizer FOLDER`` writes GPT-2's tokenizer files into FOLDER (no Hub needed).
"""

import sys

from .offline import fetch_all, gpt2_tokenizer_files

COMMANDS = {"offline": (fetch_all, 0), "gpt2-tokenizer": (lambda folder: print(gpt2_tokenizer_files(folder)), 1)}

if __name__ == "__main__":
    command, *arguments = sys.argv[1:] or [""]
    if command not in COMMANDS or len(arguments) != COMMANDS[command][1]:
        sys.exit("usage: python -m lmtheory offline | python -m lmtheory gpt2-tokenizer FOLDER")
    COMMANDS[command][0](*arguments)
