"""What `launch.study import` and `launch.study analyse` print, and the JSON they write (NaN as null)."""

from __future__ import annotations

import math

from tide.core.intervals import format_interval


def plain_json(value):
    """JSON-safe values: NaN and infinities as null, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def term_line(term: dict) -> str:
    """`label[human label]  +0.760 [+0.367, +1.153]  p=0.00015 (Holm 0.00045)`."""
    interval = format_interval(term["estimate"], term["ci_low"], term["ci_high"], signed=True)
    return f"{term['term']:<48} {interval}  p={term['p']:.2g} (Holm {term['p_holm']:.2g})"


def quality_lines(result: dict) -> list[str]:
    lines = [f"participants: {result['participants_before_exclusions']}, excluded {len(result['excluded'])}, "
             f"flagged (kept) {len(result['flagged'])}"]
    lines += [f"  excluded {e['participant']}: {'; '.join(e['reasons'])}" for e in result["excluded"]]
    lines += [f"  flagged {e['participant']}: {'; '.join(e['reasons'])}" for e in result["flagged"][:10]]
    if len(result["flagged"]) > 10:
        lines.append(f"  ... and {len(result['flagged']) - 10} more flagged (all in the JSON)")
    return lines


def _alpha_line(alpha: dict) -> str | None:
    if not alpha or alpha.get("alpha") is None:
        return f"  alpha: {alpha.get('why')}" if alpha else None
    return (f"  Krippendorff's alpha ({alpha['level']}): {format_interval(alpha['alpha'], *alpha['ci'])} "
            f"({alpha['units']} items, {alpha['raters']} raters)")


def outcome_lines(name: str, found: dict) -> list[str]:
    lines = [f"{name}: n={found['n']} ratings from {found['participants']} participants"
             + (f"; {found['model']}" if "model" in found else "")]
    for family in ("effects", "simple_effects", "moderation", "scenarios"):
        if found.get(family):
            lines.append(f"  {family.replace('_', ' ')}:")
            lines += [f"    {term_line(t)}" for t in found[family]]
    for demographic, note in (found.get("moderation_fits") or {}).items():
        left = ", ".join(f"{level} ({n})" for level, n in note.get("left_out", {}).items())
        if note.get("error") or left:
            lines.append(f"  moderation by {demographic}: " + "; ".join(
                filter(None, [note.get("error"), left and f"left out, too few participants: {left}"])))
    ordinal = found.get("ordinal") or {}
    if ordinal.get("effects"):
        lines.append(f"  robustness: {ordinal['model']} (outcome {ordinal['outcome']}):")
        lines += [f"    {term_line(t)}" for t in ordinal["effects"]]
    lines += [line for line in [_alpha_line(found.get("alpha"))] if line]
    judged = found.get("judges") or {}
    for person, agreement in judged.get("humans", {}).items():
        lines.append(f"  human {person} vs the other humans' mean: Spearman "
                     f"{format_interval(agreement['rho'], *agreement['ci'])}")
    for judge, agreement in judged.get("judges", {}).items():
        alpha = agreement["alpha_with_humans"]
        lines.append(f"  {judge} vs the humans' mean: Spearman {format_interval(agreement['rho'], *agreement['ci'])}; "
                     f"alpha with the humans {format_interval(alpha['alpha'], *alpha['ci'])}")
    for metric, agreement in (found.get("metrics") or {}).items():
        lines.append(f"  {agreement['kind']} {metric} vs human mean: Spearman "
                     f"{format_interval(agreement['rho'], *agreement['ci'])} ({agreement['n']} replies)")
    return lines


def analysis_lines(result: dict) -> list[str]:
    """The analysis as text: design and model, exclusions, then each outcome's families."""
    lines = [f"design: {result['design']} ({result['n_ratings']} ratings, {result['n_participants']} participants); "
             f"{result['model']}; effects: {result['effects_formula'] or 'none (agreement only)'}"]
    lines += quality_lines(result)
    for name, found in result["outcomes"].items():
        lines += outcome_lines(name, found)
    return lines
