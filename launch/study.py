"""The human study (docs/human-study.md): build it, import its responses, analyse them.

    python -m launch.study build RUN_DIR... --out DIR [study.raters=24 ...]    # or: make study ARGS="build ..."
    python -m launch.study import ...
    python -m launch.study analyse RATINGS --spec SPEC.yaml --json OUT.json

Each subcommand is one entry of SUBCOMMANDS: name -> (add_arguments(parser), run(args) -> exit status).
Bad input stops a subcommand in one line on stderr naming the file, field or option (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from tide.core.runtime import resolve_path

PROG = "python -m launch.study"


# ---- build ------------------------------------------------------------------------------------------


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR_OR_OVERRIDE",
                        help="evaluated run directories (or folders holding them); KEY=VALUE items are config "
                             "overrides, e.g. study.raters=24 study.ratings_per_item=3")
    parser.add_argument("--out", type=Path, required=True, help="the study directory to write")
    parser.add_argument("--force", action="store_true", help="replace a study built there with other settings")


def run_build(args: argparse.Namespace) -> int:
    """Draw, blind and assign items from evaluated runs; write assignments, key, forms and a Label Studio project."""
    from tide.config import compose_config
    from tide.study.build import StudyBuild

    overrides = [item for item in args.runs if _is_override(item)]
    runs = [resolve_path(item) for item in args.runs if not _is_override(item)]
    if not runs:
        raise ValueError("build: name at least one evaluated run directory")
    config = compose_config(overrides)
    build = StudyBuild(config.study, tuple(runs), resolve_path(args.out), force=args.force)
    result = build.run()
    print(build.describe(result))
    return 0


def _is_override(item: str) -> bool:
    """`study.raters=24` is a config override, a path is a run directory (paths with '=' are rare enough)."""
    key = item.split("=", 1)[0]
    return "=" in item and "/" not in key and not Path(item).exists()


# ---- the subcommands: the import and analysis halves add their entries here --------------------------

SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "build": (add_build_arguments, run_build),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name, (add_arguments, run) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=(run.__doc__ or "").split("\n")[0], description=run.__doc__)
        add_arguments(sub)
        sub.set_defaults(run=run)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as error:  # bad input: ConfigError, StudyError, a missing file...
        print(f"{PROG} {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
