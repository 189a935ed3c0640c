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


# ---- import and analyse -------------------------------------------------------------------------------


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("responses", nargs="+", type=Path, help="responses files (CSV): long or a wide export")
    parser.add_argument("--spec", type=Path, required=True, help="the import spec (YAML, tide/study/spec.py)")
    parser.add_argument("--out", type=Path, help="write the checked long table, key joined, here (CSV)")
    parser.add_argument("--json", type=Path, help="write who is excluded or flagged, and why, here")


def run_import(args: argparse.Namespace) -> int:
    """Read responses with a spec, join the key, check every cell and list who the quality rules exclude."""
    from tide.core.files import write_atomic, write_json_atomic
    from tide.study.quality import apply_quality
    from tide.study.responses import read_responses
    from tide.study.spec import load_spec
    from tide.study.summary import plain_json, quality_lines

    spec = load_spec(resolve_path(args.spec))
    responses = read_responses([resolve_path(p) for p in args.responses], spec)
    quality = apply_quality(responses.table, spec.quality, spec.outcomes)
    found = {"excluded": quality.excluded, "flagged": quality.flagged,
             "participants_before_exclusions": quality.participants}
    print(f"{len(responses.table)} rows from {len(responses.files)} file(s); {quality.describe()}")
    print("\n".join(quality_lines(found)))
    if args.out:
        table = responses.table.assign(excluded=responses.table["participant"].isin(
            [e["participant"] for e in quality.excluded]))
        write_atomic(resolve_path(args.out), lambda temp: table.to_csv(temp, index=False))
        print(f"-> {args.out}")
    if args.json:
        write_json_atomic(resolve_path(args.json), plain_json(found))
    return 0


def add_analyse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ratings", nargs="+", type=Path, help="responses files (CSV), read with --spec")
    parser.add_argument("--spec", type=Path, required=True, help="the import spec (YAML, tide/study/spec.py)")
    parser.add_argument("--json", type=Path, help="write the whole analysis here")
    parser.add_argument("--runs", nargs="+", type=Path, default=None,
                        help="evaluated run directories whose scored replies were rated: metric-human agreement")


def run_analyse(args: argparse.Namespace) -> int:
    """Import, exclude, then fit what the design supports: effects, moderation, scenarios, agreement."""
    from tide.core.files import write_json_atomic
    from tide.study.agreement import load_metrics
    from tide.study.analysis import analyse
    from tide.study.responses import read_responses
    from tide.study.spec import load_spec
    from tide.study.summary import analysis_lines, plain_json

    spec = load_spec(resolve_path(args.spec))
    responses = read_responses([resolve_path(p) for p in args.ratings], spec)
    metrics = load_metrics([resolve_path(r) for r in args.runs]) if args.runs else None
    result = plain_json(analyse(responses, metrics))
    print("\n".join(analysis_lines(result)))
    if args.json:
        write_json_atomic(resolve_path(args.json), result)
        print(f"-> {args.json}")
    return 0


# ---- the subcommands: the import and analysis halves add their entries here --------------------------

SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "build": (add_build_arguments, run_build),
    "import": (add_import_arguments, run_import),
    "analyse": (add_analyse_arguments, run_analyse),
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
    from launch.errors import run_command

    sys.exit(run_command("launch.study", main))
