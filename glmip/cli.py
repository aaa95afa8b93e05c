"""``glmip`` command line: one module per sub-command in ``glmip/commands``.

Each command module has ``add_parser(subparsers)`` and ``run(args) -> int``. Exit status:
0 success, 2 bad input or arguments (one line on stderr, no traceback), 1 internal failure.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .version import __version__
from .commands import convert, info, render, turntable, view
from .errors import BAD_INPUT

COMMANDS = (render, view, info, convert, turntable)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own status)
        self.exit(2, f"{self.prog}: error: {message}\n")


def get_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="glmip", description="Maximum-intensity projections of 3-D images.")
    parser.add_argument("-V", "--version", action="version", version=f"glmip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return int(exc.code or 0)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except BAD_INPUT as exc:
        print(f"glmip {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"glmip {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
