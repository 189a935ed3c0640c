"""The data stage: TIDE files -> validated, split Parquet artifact (through the stage runner, tide/stages).

    python -m launch.data                                   # synthetic TIDE + tiny model, offline
    python -m launch.data data=tide data.dir=/data/TIDE     # real TIDE from a local copy
    python -m launch.data data=tide data.lenient=true       # skip bad records, report them

Prints a summary (what the reader found: seen = kept + skipped, the shape of each kind of file, the
dialogues per persona; then dialogues per split, scenario mix, token lengths) and writes it next to the
artifact as summary.json; the stage's record goes to run.dir/stages/data.json, as in the pipeline.
"""

from __future__ import annotations

from launch.common import stage_main, stage_summary


def run(config) -> dict:
    """The data stage of a TideConfig through the runner; returns the summary it prints."""
    from tide.stages import run_pipeline

    result = run_pipeline(config, target="data")
    return stage_summary(result, "data")


def format_summary(summary: dict) -> str:
    manifest = summary["manifest"]
    reader, corpus = manifest["reader"], manifest["corpus"]
    lines = [
        f"TIDE data ({manifest['source']}): {reader['dialogues']} dialogues, {reader['personas']} personas, "
        f"fingerprint {manifest['fingerprint'][:16]}{' (reused)' if manifest.get('reused') else ''}",
        *_reader_lines(reader),
        "",
        f"  {'split':<8}{'personas':>10}{'dialogues':>11}",
    ]
    for name, split in manifest["splits"].items():
        lines.append(f"  {name:<8}{split['personas']:>10}{split['dialogues']:>11}")
    names = list(manifest["splits"])
    scenarios = sorted({s for counts in summary["scenarios"].values() for s in counts}, key=str)
    width = max([len(str(s)) for s in scenarios] + [8])
    lines += ["", "  " + f"{'scenario':<{width}}" + "".join(f"{n:>8}" for n in names)]
    for scenario in scenarios:
        lines.append("  " + f"{str(scenario):<{width}}" + "".join(
            f"{summary['scenarios'][n].get(scenario, 0):>8}" for n in names))
    if "tokens" in summary:
        tokens, columns = summary["tokens"], ("p50", "p90", "p99", "max")
        lines += ["", f"  tokens, {summary['model']['name']} tokenizer, train split",
                  f"  {'':<8}" + "".join(f"{c:>7}" for c in columns)]
        for part in ("prompt", "reply", "total"):
            lines.append(f"  {part:<8}" + "".join(f"{tokens[part][c]:>7}" for c in columns))
        lines.append(f"  longer than prompt.max_length={tokens['max_length']}: {tokens['over_max_length']}")
    lines += [
        "",
        f"  corpus: distinct-1 {corpus['distinct_1']:.3f}, distinct-2 {corpus['distinct_2']:.3f}, "
        f"unique replies {corpus['unique_texts']}/{corpus['texts']}, self-harm clients {corpus['self_harm_clients']}",
        f"  artifact: {summary['artifact_dir']}",
    ]
    if "model" in summary:
        lines.append(f"  model: {summary['model']['source']}")
    return "\n".join(lines)


def _reader_lines(reader: dict) -> list[str]:
    """What the reader found: the accounting, each file shape, the keys, the dialogues per persona."""
    from tide.data.reader import file_shapes

    lines = [f"  read {reader['root']} ({reader['layout']} layout): seen {reader['seen']} dialogues = "
             f"{reader['kept']} kept + {reader['skipped']} skipped; {reader['problems']} problem(s)"]
    for count, kind, shape, example in file_shapes(reader):
        lines.append(f"    {count} {kind} file{'s' if count > 1 else ''}: {shape}  (e.g. {example})")
    lines.append(f"  client key {reader['client_key']}, reply key {reader['reply_key']}")
    if reader["ignored"]:
        lines.append(f"  ignored (not TIDE files): {', '.join(reader['ignored'][:5])}"
                     f"{' ...' if len(reader['ignored']) > 5 else ''}")
    counts = reader["dialogues_per_persona"]
    if counts["majority"] is not None:
        differing = counts["differing"]
        line = f"  dialogues per persona: {counts['majority']} for {counts['personas_at_majority']} personas"
        if differing:
            shown = ", ".join(f"{p} ({n})" for p, n in list(differing.items())[:10])
            line += f"; {len(differing)} other(s): {shown}{' ...' if len(differing) > 10 else ''}"
        lines.append(line)
    return lines


main = stage_main("launch.data", "data", lambda result: format_summary(stage_summary(result, "data")))


if __name__ == "__main__":
    main()
