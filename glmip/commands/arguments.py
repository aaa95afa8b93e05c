"""Command-line arguments derived from the vocabulary (``glmip/options.py``), and back.

Every option of the table becomes ``--name-with-dashes`` with the table's help and choices; its
argparse default is None, so what a user did not give is left out of the recipe and takes the
table's default there. :func:`recipe_from_args` turns parsed arguments into a
:class:`~glmip.recipe.Recipe`, the one thing the library's pipeline takes.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Iterable

from ..io import load
from ..options import OPTIONS, Option, parse_bytes
from ..recipe import Recipe
from ..volume import Volume

__all__ = ["add_options", "add_input_options", "recipe_from_args", "reader_options",
           "load_input", "word"]

GROUP_TITLES = {"input": "input", "camera": "view", "image": "view", "settings": "values",
                "movie": "movie"}


def word(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a converter that raises ValueError with a readable message."""
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _add(group: argparse._ArgumentGroup, opt: Option, help_text: str | None) -> None:
    kw: dict[str, Any] = {"help": help_text or opt.help, "default": None}
    if opt.switch:
        group.add_argument(opt.flag, action="store_true", **kw)
        return
    if opt.type not in (str, int, float):
        kw["type"] = word(opt.type)
    elif opt.type is not str:
        kw["type"] = opt.type
    if opt.nargs is not None:
        kw["nargs"] = opt.nargs
    if opt.repeat:  # given again: the values are appended
        kw["action"] = "extend"
    if opt.choices:
        kw["choices"] = opt.choices
    if opt.metavar is not None:
        kw["metavar"] = opt.metavar
    group.add_argument(opt.flag, **kw)


def add_options(parser: argparse.ArgumentParser, parts: Iterable[str], *,
                exclude: Iterable[str] = (), help: dict[str, str] | None = None) -> None:
    """Add the options of ``parts`` (``input``, ``camera``, ``image``, ``settings``,
    ``movie``) in argument groups; ``help`` overrides a help text by option name."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    skip = set(exclude)
    for part in parts:
        for opt in OPTIONS:
            if opt.part != part or opt.name in skip:
                continue
            title = GROUP_TITLES[part]
            if title not in groups:
                groups[title] = parser.add_argument_group(title)
            _add(groups[title], opt, (help or {}).get(opt.name))


def add_input_options(parser: argparse.ArgumentParser) -> None:
    add_options(parser, ["input"])


def add_render_options(parser: argparse.ArgumentParser, *, exclude: Iterable[str] = ()) -> None:
    """What a picture needs: input, camera, size and settings."""
    add_options(parser, ["input", "camera", "image", "settings"], exclude=exclude)


def add_memory_option(parser: argparse.ArgumentParser) -> None:
    """``--memory SIZE``: how much of a lazily read volume (OME-Zarr, Zarr) a render holds."""
    parser.add_argument("--memory", type=word(parse_bytes), default=None, metavar="SIZE",
                        help="memory a render may hold of a volume read lazily (OME-Zarr, "
                             "Zarr); a larger one is streamed brick by brick (default: half "
                             "of this machine's RAM), e.g. 512M, 2G")


def recipe_from_args(args: argparse.Namespace, input: str, kind: str = "render") -> Recipe:
    """The recipe of the options given on the command line (absent ones stay out)."""
    given = {o.name: getattr(args, o.name) for o in OPTIONS
             if getattr(args, o.name, None) is not None}
    return Recipe(str(input), given, kind)


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    return Recipe("", {o.name: getattr(args, o.name) for o in OPTIONS if o.part == "input"
                       and getattr(args, o.name, None) is not None}).reader_options()


def load_input(path: str, args: argparse.Namespace) -> Volume:
    return load(path, **reader_options(args))
