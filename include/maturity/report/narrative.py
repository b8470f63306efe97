"""The front page's short analysis in plain Danish, generated from the marts' numbers.

Each function returns one paragraph (HTML with tagged figures) or None when there is nothing to say;
every branch is chosen by the data (baseline, nothing uncovered, all alignment withheld, …).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from maturity.report.data import WaveData
from maturity.report.fmt import QUADRANTS, band, count_word, figure, is_missing, key, text_value


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " og " + items[-1]


def _dim(data: WaveData, dimension_id: str) -> str:
    return f"<strong>{escape(data.name(dimension_id))}</strong>"


def overall(data: WaveData) -> str | None:
    sc, w = data.scorecard, data.wave.wave_id
    idx = sc.get("overall_index")
    if is_missing(idx):
        return ("Det samlede modenhedsindeks kan ikke vises for denne måling, fordi mindst én dimension har for "
                "få besvarelser til at blive offentliggjort for hele kommunen.")
    level = text_value(sc.get("overall_band"), "rpt_direktion_scorecard.overall_band", key(w),
                       band(sc.get("overall_band")))
    shown = figure(idx, "rpt_direktion_scorecard.overall_index", key(w))
    text = f"Kommunens samlede digitale modenhed er {shown} på en skala fra 0 til 100 – niveauet »{level}«."
    if data.previous is None:
        return text + (f" {escape(data.wave.wave_id)} er den første måling og er derfor baseline: der er endnu "
                       "ingen udvikling at sammenligne med.")
    prev = sc.get("previous_overall_index")
    if is_missing(prev):
        return text + (f" Udviklingen siden {escape(data.previous.wave_id)} kan ikke opgøres, fordi det samlede "
                       "indeks ikke blev offentliggjort ved den måling.")
    delta = idx - prev
    change = figure(abs(delta), "rpt_direktion_scorecard.overall_index", key(w),
                    calc="absdiff:previous_overall_index")
    since = escape(data.previous.wave_id)
    if round(delta, 1) == 0:
        return text + f" Det er praktisk talt uændret siden {since} ({change} point)."
    return text + f" Det er {'steget' if delta > 0 else 'faldet'} med {change} point siden {since}."


def top_gaps(data: WaveData) -> str | None:
    w = data.wave.wave_id
    ranked = sorted((r for r in data.priorities.values() if r.get("priority_rank") is not None),
                    key=lambda r: r["priority_rank"])
    if not ranked:
        return ("Der kan ikke opgøres gab mellem nuværende og ønsket modenhed for denne måling (ingen "
                "ønsket-spørgsmål, eller for få besvarelser).")
    top = ranked[:3]
    parts = [f"{_dim(data, r['dimension_id'])} "
             f"({figure(r['gap_index'], 'fct_gap_priorities.gap_index', key(w, r['dimension_id']))} point)"
             for r in top]
    noun = "Det største gab" if len(top) == 1 else f"De {count_word(len(top))} største gab"
    text = (f"{noun} mellem nuværende og ønsket modenhed – vægtet efter dimensionernes betydning – "
            f"{'er' if len(top) == 1 else 'er i'} {_join(parts)}.")
    unweighted = max((r for r in ranked if not is_missing(r.get("gap_index"))), key=lambda r: r["gap_index"])
    if unweighted["dimension_id"] not in {r["dimension_id"] for r in top}:
        did = unweighted["dimension_id"]
        text += (f" Målt uden vægte er gabet størst i {_dim(data, did)} "
                 f"({figure(unweighted['gap_index'], 'fct_gap_priorities.gap_index', key(w, did))} point), "
                 "som vægter mindre i det samlede indeks.")
    focus = [r["dimension_id"] for r in ranked if r.get("ipa_quadrant") == "concentrate_here"]
    if focus:
        text += (f" Vigtighed–modenhed-analysen placerer {_join([_dim(data, d) for d in focus])} i feltet "
                 f"»{QUADRANTS['concentrate_here']}«: {'vigtig' if len(focus) == 1 else 'vigtige'}, men under "
                 "gennemsnittet i modenhed.")
    return text


def improvement(data: WaveData) -> str | None:
    if data.previous is None:
        return None
    w, root = data.wave.wave_id, data.root.org_unit_id if data.root else ""
    deltas = [(d.dimension_id, r["delta_index"]) for d in data.dimensions
              if (r := data.trend.get((w, d.dimension_id))) and not is_missing(r.get("delta_index"))]
    prev = escape(data.previous.wave_id)
    if not deltas:
        return (f"Udviklingen pr. dimension siden {prev} kan ikke opgøres, fordi tallene ikke er offentliggjort "
                "for begge målinger.")

    def tagged(did: str, value: float) -> str:
        return figure(value, "fct_maturity_trend.delta_index", key(w, root, did), signed=True)

    best = max(deltas, key=lambda t: t[1])
    worst = min(deltas, key=lambda t: t[1])
    if best[1] > 0:
        text = (f"Den største fremgang siden {prev} er i {_dim(data, best[0])} "
                f"({tagged(*best)} point).")
    else:
        text = f"Ingen dimension er gået frem siden {prev}."
    declines = [t for t in deltas if t[1] < 0]
    if len(declines) == 1 and worst[0] != best[0]:
        text += f" Én dimension er gået tilbage: {_dim(data, worst[0])} ({tagged(*worst)} point)."
    elif declines and worst[0] != best[0]:
        text += (f" {count_word(len(declines)).capitalize()} dimensioner er gået tilbage, mest "
                 f"{_dim(data, worst[0])} ({tagged(*worst)} point).")
    elif declines:  # a single dimension, and it declined
        text += f" {_dim(data, worst[0])} er gået tilbage ({tagged(*worst)} point)."
    else:
        text += " Ingen dimension er gået tilbage."
    return text


def coverage(data: WaveData) -> str | None:
    sc = data.scorecard
    extract = sc.get("projects_extract_date")
    if extract is None or not data.coverage:
        return ("Der er intet porteføljeudtræk knyttet til denne måling, så det kan ikke vurderes, om "
                "projekterne dækker gabene.")
    uncovered = [r for r in data.coverage if r.get("is_uncovered")]
    if not uncovered:
        return ("Alle gab på mindst 25 indekspoint er dækket af mindst ét aktivt projekt (Planlagt eller I gang) "
                "i porteføljen.")
    parts = [f"{_dim(data, r['dimension_id'])} "
             f"({figure(r['gap_index'], 'fct_portfolio_coverage.gap_index', key(extract, r['dimension_id']))} "
             "point)" for r in uncovered]
    if len(uncovered) == 1:
        row = uncovered[0]
        gap = figure(row["gap_index"], "fct_portfolio_coverage.gap_index", key(extract, row["dimension_id"]))
        return (f"Ét gab er udækket: {_dim(data, row['dimension_id'])} har et gab på {gap} indekspoint, men intet "
                "aktivt projekt (Planlagt eller I gang) i porteføljen.")
    return (f"{count_word(len(uncovered)).capitalize()} gab er udækkede – mindst 25 indekspoint og intet aktivt "
            f"projekt: {_join(parts)}.")


def alignment(data: WaveData) -> str | None:
    w = data.wave.wave_id
    rows = [data.alignment.get(d.dimension_id) for d in data.dimensions]
    shown = [r for r in rows if r and not r.get("is_suppressed") and not is_missing(r.get("alignment_gap"))]
    hidden = len(data.dimensions) - len(shown)
    if not shown:
        return ("Topledelsens og ledernes vurderinger kan ikke sammenlignes for nogen dimension i denne måling "
                "(for få besvarelser i en af grupperne).")
    far = max(shown, key=lambda r: abs(r["alignment_gap"]))
    gap = far["alignment_gap"]
    did = far["dimension_id"]
    who = "højere" if gap > 0 else "lavere"
    size = figure(abs(gap), "fct_leadership_alignment.alignment_gap", key(w, did), 2, calc="abs")
    text = (f"Topledelse og ledere er mest uenige om {_dim(data, did)}: topledelsen vurderer modenheden "
            f"{size} skalapoint {who} end lederne.")
    if round(abs(gap), 2) == 0:
        text = f"Topledelse og ledere vurderer modenheden ens i alle viste dimensioner ({_dim(data, did)} m.fl.)."
    if hidden:
        text += (f" For {count_word(hidden)} af {count_word(len(data.dimensions))} dimensioner vises "
                 "sammenligningen ikke (for få besvarelser).")
    return text


def consensus(data: WaveData) -> str | None:
    w, root = data.wave.wave_id, data.root.org_unit_id if data.root else ""
    rows = [(d.dimension_id, r["consensus_rwg"]) for d in data.dimensions
            if (r := data.root_scores.get(d.dimension_id)) and not is_missing(r.get("consensus_rwg"))]
    if len(rows) < 2:
        return None
    low = min(rows, key=lambda t: t[1])
    return (f"Enigheden blandt respondenterne er lavest om {_dim(data, low[0])} "
            f"(rwg {figure(low[1], 'fct_maturity_scores.consensus_rwg', key(w, root, low[0]), 2)}): her dækker "
            "indekset over mest forskellige oplevelser.")


def response(data: WaveData) -> str | None:
    rate = data.scorecard.get("response_rate")
    if is_missing(rate):
        return None
    if rate < 0.5:
        return (f"Svarprocenten er lav "
                f"({figure(rate, 'rpt_direktion_scorecard.response_rate', key(data.wave.wave_id), pct=True)}), "
                "så tallene skal læses med forsigtighed.")
    return None


PARAGRAPHS: tuple[Callable[[WaveData], str | None], ...] = (
    overall, top_gaps, improvement, coverage, alignment, consensus, response)


def build(data: WaveData) -> list[str]:
    return [p for f in PARAGRAPHS if (p := f(data))]
