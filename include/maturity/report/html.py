"""The report as one self-contained HTML document: one <section class="page"> per printed A4 page."""

from __future__ import annotations

from html import escape
from typing import Any

from maturity.report import charts, narrative
from maturity.report.data import Row, WaveData
from maturity.report.fmt import (
    QUADRANTS,
    band,
    count_word,
    date_value,
    figure,
    is_missing,
    key,
    missing,
    text_value,
    timestamp,
)
from maturity.report.style import CSS

WITHHELD = "ikke vist (for få besvarelser)"
QUALITY_STATUS = {"ok": "godkendt", "passed": "godkendt", "success": "godkendt", "warning": "godkendt med advarsler",
                  "warn": "godkendt med advarsler", "failed": "ikke godkendt", "error": "fejl"}


class Page:
    """Collects one page's HTML."""

    def __init__(self, data: WaveData, title: str, page_id: str) -> None:
        self.parts: list[str] = [f'<section class="page" id="{page_id}">', _running(data)]
        if title:
            self.parts.append(f"<h2>{escape(title)}</h2>")

    def add(self, *html: str) -> Page:
        self.parts.extend(html)
        return self

    def html(self) -> str:
        return "\n".join([*self.parts, "</section>"])


def _running(data: WaveData) -> str:
    org = escape(data.root.name) if data.root else "Kommunen"
    wave = data.wave
    return (f'<div class="running"><span>Digital modenhed · {org} · Direktionsrapport</span>'
            f"<span>{_wave_name(wave.wave_id, wave.label)}</span></div>")


def _wave_name(wave_id: str, label: str | None) -> str:
    shown = text_value(label, "dim_waves.label", key(wave_id)) if label else ""
    return f"{shown} ({escape(wave_id)})" if label else escape(wave_id)


def _root_id(data: WaveData) -> str:
    return data.root.org_unit_id if data.root else ""


def _table(head: list[tuple[str, str]], rows: list[str], cls: str = "") -> str:
    ths = "".join(f'<th class="{c}">{h}</th>' if c else f"<th>{h}</th>" for h, c in head)
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _td(html: str, cls: str = "", extra: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f" {extra}" if extra else "")
    return f"<td{attrs}>{html}</td>"


# ---------------------------------------------------------------- page 1: front page


def _tile(label: str, value: str, note: str = "", alert: bool = False) -> str:
    return (f'<div class="tile{" alert" if alert else ""}"><div class="label">{label}</div>'
            f'<div class="value">{value}</div><div class="sub">{note}</div></div>')


def _front_tiles(data: WaveData) -> str:
    sc, w = data.scorecard, data.wave.wave_id
    tiles = []
    idx = sc.get("overall_index")
    marker = "" if is_missing(idx) else (
        f'<div class="scale" aria-hidden="true"><i></i><i></i><i></i><i></i>'
        f'<div class="mark" style="left:{idx:.2f}%"></div></div>'
        '<div class="scale-labels"><span>Basis</span><span>Gennem&shy;snitlig</span><span>Moderat avanceret</span>'
        "<span>Avanceret</span></div>")
    level = text_value(sc.get("overall_band"), "rpt_direktion_scorecard.overall_band", key(w),
                       band(sc.get("overall_band"))) if not is_missing(idx) else "ikke vist"
    tiles.append(_tile("Samlet modenhedsindeks",
                       figure(idx, "rpt_direktion_scorecard.overall_index", key(w), missing_text="ikke vist"),
                       f"Niveau: {level} (skala 0–100){marker}"))
    if data.previous is None:
        tiles.append(_tile("Udvikling", "Baseline", f"{escape(w)} er den første måling; udviklingen måles fra næste "
                           "måling."))
    else:
        prev = sc.get("previous_overall_index")
        known = not is_missing(idx) and not is_missing(prev)
        change = figure(idx - prev if known else None, "rpt_direktion_scorecard.overall_index", key(w), signed=True,
                        calc="diff:previous_overall_index", missing_text="ikke opgjort")
        was = figure(prev, "rpt_direktion_scorecard.previous_overall_index", key(w), missing_text="ikke vist")
        tiles.append(_tile(f"Udvikling siden {escape(data.previous.wave_id)}",
                           change + (' <span class="unit">point</span>' if known else ""),
                           f"Samlet indeks ved {escape(data.previous.wave_id)}: {was}"))
    resp = data.response
    root = _root_id(data)
    tiles.append(_tile("Svarprocent",
                       figure(sc.get("response_rate"), "rpt_direktion_scorecard.response_rate", key(w), pct=True),
                       f"{figure(resp.get('answered'), 'fct_response_rates.answered', key(w, root), 0)} af "
                       f"{figure(resp.get('distributed'), 'fct_response_rates.distributed', key(w, root), 0)} "
                       "har svaret helt eller delvist"))
    tiles.append(_tile("Enighed (rwg)",
                       figure(sc.get("mean_consensus_rwg"), "rpt_direktion_scorecard.mean_consensus_rwg", key(w), 2),
                       "Gennemsnit over dimensionerne; 1 = fuld enighed, 0 = tilfældig spredning"))
    unc = sc.get("uncovered_dimensions")
    if sc.get("projects_extract_date") is None:
        tiles.append(_tile("Udækkede gab", '<span class="unit">ikke opgjort</span>',
                           "Intet porteføljeudtræk er knyttet til målingen"))
    else:
        tiles.append(_tile("Udækkede gab", figure(unc, "rpt_direktion_scorecard.uncovered_dimensions", key(w), 0),
                           "Gab på mindst 25 point uden aktivt projekt", alert=bool(unc)))
    fte = figure(sc.get("transformation_fte"), "rpt_direktion_scorecard.transformation_fte", key(w))
    share = figure(sc.get("dedicated_share"), "rpt_direktion_scorecard.dedicated_share", key(w), pct=True)
    tiles.append(_tile("Transformationskapacitet", f'{fte} <span class="unit">årsværk</span>',
                       f"{share} af dem hos dedikerede medarbejdere"))
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _quality(quality: dict[str, Any] | None) -> str:
    if quality is None:
        return '<span class="muted">ikke oplyst</span>'
    status = str(quality.get("status", "")).strip()
    parts = [f"<strong>{escape(QUALITY_STATUS.get(status.lower(), status) or 'ikke oplyst')}</strong>"]
    for name, one, many in (("warnings", "advarsel", "advarsler"), ("errors", "fejl", "fejl"),
                            ("failures", "fejl", "fejl")):
        value = quality.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{figure(float(value), f'quality.{name}', name, 0)} {one if value == 1 else many}")
    if quality.get("run_id"):
        parts.append(f"kontrolkørsel {text_value(str(quality['run_id']), 'quality.run_id', 'run_id')}")
    if quality.get("message"):
        parts.append(text_value(str(quality["message"]), "quality.message", "message"))
    return " · ".join(parts)


def _version(data: WaveData) -> str:
    pub = data.publication
    if not pub.version:
        return '<span class="muted">ikke oplyst</span>'
    shown = text_value(pub.version, "publication.version", "version")
    if pub.published_at:
        when = timestamp(pub.published_at)
        shown += " · publiceret " + text_value(pub.published_at, "publication.published_at", "published_at", when)
    return shown


def _facts(data: WaveData, quality: dict[str, Any] | None) -> str:
    w, sc, pub = data.wave, data.scorecard, data.publication
    rows = [
        ("Målingen lukkede", date_value(w.closes_on, "dim_waves.closes_on", key(w.wave_id))),
        ("Organisation (HR-udtræk)",
         date_value(w.hr_extract_date, "dim_waves.hr_extract_date", key(w.wave_id))),
        ("Porteføljeudtræk",
         date_value(sc["projects_extract_date"], "rpt_direktion_scorecard.projects_extract_date", key(w.wave_id))
         if sc.get("projects_extract_date") else "intet for denne måling"),
        ("Publiceret kørsel (run_id)", text_value(pub.run_id, "publication.run_id", "run_id")),
        ("Publiceret version", _version(data)),
        ("Datakvalitet", _quality(quality)),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<h3>Datagrundlag</h3><table class="facts">{body}</table>'


def front_page(data: WaveData, quality: dict[str, Any] | None) -> str:
    org = escape(data.root.name) if data.root else "Kommunen"
    paragraphs = "".join(f"<li>{p}</li>" for p in narrative.build(data))
    page = Page(data, "", "forside")
    return page.add(
        f'<div class="cover-top"><div class="org">{org}</div><h1>Digital modenhed</h1>'
        f'<div class="sub">Direktionsrapport · {_wave_name(data.wave.wave_id, data.wave.label)}</div></div>',
        _front_tiles(data),
        f'<div class="summary"><h2>Sammenfatning</h2><ul>{paragraphs}</ul></div>',
        _facts(data, quality),
    ).html()


# ---------------------------------------------------------------- page 2: current vs target


def _score_cell(row: Row | None, column: str, k: str, decimals: int = 1, **kw: Any) -> str:
    metric = f"fct_maturity_scores.{column}"
    if row is None:
        return _td(missing(metric, k), "num")
    if row.get("is_suppressed"):
        return _td(missing(metric, k, "<5"), "num")
    return _td(figure(row.get(column), metric, k, decimals, **kw), "num")


def maturity_page(data: WaveData) -> str:
    root = _root_id(data)
    rows = []
    for dim in data.dimensions:
        row = data.root_scores.get(dim.dimension_id)
        k = key(data.wave.wave_id, root, dim.dimension_id)
        bnd = (text_value(row.get("maturity_band"), "fct_maturity_scores.maturity_band", k, band(row["maturity_band"]))
               if row and not row.get("is_suppressed") and row.get("maturity_band") else
               missing("fct_maturity_scores.maturity_band", k))
        rows.append("<tr>" + _td(escape(dim.name))
                    + _score_cell(row, "maturity_index", k) + _score_cell(row, "target_index", k)
                    + _score_cell(row, "gap_index", k) + _score_cell(row, "consensus_rwg", k, 2)
                    + _score_cell(row, "n_respondents", k, 0) + _td(bnd) + "</tr>")
    table = _table([("Dimension", ""), ("Nu", "num"), ("Ønsket", "num"), ("Gab", "num"), ("Enighed (rwg)", "num"),
                    ("Svar (n)", "num"), ("Niveau", "")], rows)
    return Page(data, "Modenhed nu og ønsket – hele kommunen", "modenhed").add(
        '<p class="lead">Hvor moden er kommunen i dag, og hvor vil lederne hen? Indeks 0–100 for hver dimension: '
        "0 betyder, at alle har svaret laveste værdi, 100 at alle har svaret højeste. Gabet er afstanden mellem "
        "ønsket og nuværende modenhed i indekspoint.</p>",
        f"<figure>{charts.current_vs_target(data)}</figure>",
        table,
        '<p class="note">Enighed (rwg) går fra 0 til 1: 1 = alle vurderer ens; lave værdier betyder, at indekset '
        'dækker over meget forskellige oplevelser. "Svar (n)" er antal respondenter med både en nu- og en '
        "ønsket-vurdering.</p>",
    ).html()


# ---------------------------------------------------------------- page 3: priorities and IPA


def priorities_page(data: WaveData) -> str:
    w = data.wave.wave_id
    ordered = sorted(data.dimensions, key=lambda d: (
        data.priorities.get(d.dimension_id, {}).get("priority_rank") or 10**6, d.sort_order))
    rows = []
    for dim in ordered:
        row = data.priorities.get(dim.dimension_id, {})
        k = key(w, dim.dimension_id)
        quad = row.get("ipa_quadrant")
        quad_html = (text_value(quad, "fct_gap_priorities.ipa_quadrant", k, QUADRANTS.get(quad, quad))
                     if quad else '<span class="muted">–</span>')
        top = row.get("priority_rank") is not None and row["priority_rank"] <= 3
        rows.append("<tr>" + _td(figure(row.get("priority_rank"), "fct_gap_priorities.priority_rank", k, 0), "num")
                    + _td(f"<strong>{escape(dim.name)}</strong>" if top else escape(dim.name))
                    + _td(figure(row.get("gap_index"), "fct_gap_priorities.gap_index", k), "num")
                    + _td(figure(row.get("weight"), "fct_gap_priorities.weight", k, 0), "num")
                    + _td(figure(row.get("priority_score"), "fct_gap_priorities.priority_score", k), "num")
                    + _td(figure(row.get("importance_index"), "fct_gap_priorities.importance_index", k), "num")
                    + _td(quad_html) + "</tr>")
    table = _table([("Rang", "num"), ("Dimension", ""), ("Gab", "num"), ("Vægt", "num"), ("Prioritet", "num"),
                    ("Vigtighed", "num"), ("Kvadrant", "")], rows)
    ipa = charts.importance_performance(data)
    no_imp = [d.name for d in data.dimensions
              if is_missing(data.priorities.get(d.dimension_id, {}).get("importance_index"))]
    if ipa:
        ipa_html = f"<figure>{ipa}</figure>"
        if no_imp:
            ipa_html += (f'<p class="note">Ikke med i figuren (ingen vigtighedsspørgsmål eller for få svar): '
                         f"{escape(', '.join(no_imp))}.</p>")
    else:
        ipa_html = ('<div class="empty">Målingen har ingen vigtighedsspørgsmål med nok svar, så vigtighed–modenhed-'
                    "analysen kan ikke laves.</div>")
    return Page(data, "Hvor skal indsatsen ligge?", "prioritering").add(
        '<p class="lead">Prioriteten er gabet for hele kommunen ganget med dimensionens vægt i det samlede indeks; '
        "rang 1 bør prioriteres først. Vigtighed–modenhed-analysen (IPA) viser, hvilke dimensioner lederne finder "
        "vigtige, men hvor modenheden er under gennemsnittet.</p>",
        table,
        "<h3>Vigtighed og modenhed</h3>",
        ipa_html,
        '<p class="note">Kvadranterne deles ved gennemsnittet af målingens dimensioner. »Sæt ind her«: vigtig, men '
        "umoden. »Hold niveauet«: vigtig og moden. »Lav prioritet«: mindre vigtig og umoden. "
        "»Mulig overinvestering«: mindre vigtig, men moden.</p>",
    ).html()


# ---------------------------------------------------------------- page 4: trend


def trend_page(data: WaveData) -> str:
    waves = data.waves_to_date
    head = [("Dimension", "")] + [(escape(w.wave_id), "num") for w in waves]
    prev = data.previous
    if prev:
        head.append((f"Ændring siden {escape(prev.wave_id)}", "num"))
    rows = []
    for dim in data.dimensions:
        cells = []
        for w in waves:
            row = data.trend.get((w.wave_id, dim.dimension_id))
            k = key(w.wave_id, data.wave_roots.get(w.wave_id, ""), dim.dimension_id)
            cells.append(_td(figure(row.get("maturity_index") if row else None, "fct_maturity_trend.maturity_index",
                                    k), "num"))
        if prev:
            row = data.trend.get((data.wave.wave_id, dim.dimension_id))
            k = key(data.wave.wave_id, _root_id(data), dim.dimension_id)
            cells.append(_td(figure(row.get("delta_index") if row else None, "fct_maturity_trend.delta_index", k,
                                    signed=True), "num"))
        rows.append("<tr>" + _td(escape(dim.name)) + "".join(cells) + "</tr>")
    total = [_td(figure(data.overall_by_wave.get(w.wave_id, {}).get("overall_index"),
                        "rpt_direktion_scorecard.overall_index", key(w.wave_id)), "num") for w in waves]
    if prev:
        sc = data.scorecard
        idx, before = sc.get("overall_index"), sc.get("previous_overall_index")
        total.append(_td(figure(None if is_missing(idx) or is_missing(before) else idx - before,
                                "rpt_direktion_scorecard.overall_index", key(data.wave.wave_id), signed=True,
                                calc="diff:previous_overall_index"), "num"))
    rows.append('<tr class="total">' + _td("Samlet modenhedsindeks (vægtet)") + "".join(total) + "</tr>")
    if prev is None:
        lead = (f"{escape(data.wave.wave_id)} er den første måling og danner baseline. Figurerne viser niveauet nu; "
                "udviklingen kan følges fra næste måling.")
    else:
        lead = (f"Modenhedsindekset for hele kommunen i alle målinger til og med {escape(data.wave.wave_id)}. "
                "Ændringen er i indekspoint siden forrige måling og regnes kun, når begge tal er offentliggjort.")
    return Page(data, "Udvikling over tid", "udvikling").add(
        f'<p class="lead">{lead}</p>',
        f"<figure>{charts.trend_panels(data)}</figure>",
        _table(head, rows),
    ).html()


# ---------------------------------------------------------------- page 5: heatmap


def heatmap_page(data: WaveData) -> str:
    w, root = data.wave.wave_id, _root_id(data)
    if not data.units:
        return Page(data, "Forvaltningerne", "forvaltninger").add(
            '<div class="empty">Målingens organisationstræ har ingen enheder under kommunen.</div>').html()
    head = [("Forvaltning", "unit")] + [(f'<span class="rot">{escape(d.name)}</span>', "dim")
                                        for d in data.dimensions]
    head += [('<span class="rot">Samlet indeks</span>', "dim"), ('<span class="rot">Svarprocent</span>', "dim")]

    def cell(unit_id: str, dim_id: str) -> str:
        row = data.heat.get((unit_id, dim_id)) if unit_id != root else data.root_scores.get(dim_id)
        k = key(w, unit_id, dim_id)
        if row is None:
            return _td(missing("fct_maturity_scores.maturity_index", k, cls="heatcell"), "cell supp")
        if row.get("is_suppressed") or is_missing(row.get("maturity_index")):
            return _td(missing("fct_maturity_scores.maturity_index", k, "<5", cls="heatcell"), "cell supp",
                       'title="Ikke vist: for få besvarelser"')
        bg, fg = charts.heat_colour(row["maturity_index"])
        return _td(figure(row["maturity_index"], "fct_maturity_scores.maturity_index", k, cls="heatcell"), "cell",
                   f'style="background:{bg};color:{fg}"')

    def side(unit_id: str) -> str:
        overall = data.unit_overall.get(unit_id, {})
        resp = data.unit_response.get(unit_id) if unit_id != root else data.response
        return (_td(figure(overall.get("overall_index"), "fct_maturity_overall.overall_index", key(w, unit_id),
                           missing_text="–"), "side")
                + _td(figure((resp or {}).get("response_rate"), "fct_response_rates.response_rate", key(w, unit_id),
                             pct=True), "side"))

    rows = []
    if data.root:
        rows.append('<tr class="root">' + _td(f"<strong>{escape(data.root.name)}</strong>", "unit")
                    + "".join(cell(root, d.dimension_id) for d in data.dimensions) + side(root) + "</tr>")
    for unit in data.units:
        rows.append("<tr>" + _td(escape(unit.name), "unit")
                    + "".join(cell(unit.org_unit_id, d.dimension_id) for d in data.dimensions)
                    + side(unit.org_unit_id) + "</tr>")
    legend = (f'<div class="legend"><span>Modenhedsindeks</span><span>0</span>'
              f'<span class="ramp" style="background:{charts.heat_ramp()}"></span><span>100</span>'
              '<span class="supp-key">&lt;5</span><span>= ikke vist (for få besvarelser)</span></div>')
    n_hidden = sum(1 for u in data.units for d in data.dimensions
                   if (r := data.heat.get((u.org_unit_id, d.dimension_id))) is None or r.get("is_suppressed"))
    hidden_note = ("Alle felter kan vises." if n_hidden == 0 else
                   f"{count_word(n_hidden).capitalize()} felt{'er' if n_hidden != 1 else ''} er skjult.")
    return Page(data, "Forvaltningerne", "forvaltninger").add(
        '<p class="lead">Modenhedsindeks pr. forvaltning og dimension. Hver forvaltnings tal dækker alle dens '
        "afdelinger. Farven følger indekset (mørk = lav, lys = høj); tallet står i feltet.</p>",
        legend,
        _table(head, rows, "heat"),
        f'<p class="note">{hidden_note} Et felt med »&lt;5« er ikke offentliggjort for at beskytte de enkelte '
        "besvarelser: enten har for få svaret, eller tallet ville sammen med andre viste tal afsløre en lille "
        "gruppe. »&lt;5« betyder derfor »ikke vist«, ikke nødvendigvis færre end fem svar. Det samlede indeks "
        "vises kun, når alle enhedens dimensioner kan vises. Svarprocenten afslører ingen svar og vises altid.</p>",
        _method() if method_on_heatmap(data) else "",
    ).html()


# ---------------------------------------------------------------- page 6: alignment


def alignment_page(data: WaveData) -> str:
    w, root = data.wave.wave_id, _root_id(data)
    rows = []
    for dim in data.dimensions:
        row = data.alignment.get(dim.dimension_id)
        k = key(w, dim.dimension_id)
        score = data.root_scores.get(dim.dimension_id)
        sk = key(w, root, dim.dimension_id)
        rwg = score.get("consensus_rwg") if score and not score.get("is_suppressed") else None
        bar = "" if is_missing(rwg) else f'<span class="bar" style="width:{12 * rwg:.1f}mm"></span>'
        rwg_cell = _td((figure(rwg, "fct_maturity_scores.consensus_rwg", sk, 2) if score and not
                        score.get("is_suppressed") else missing("fct_maturity_scores.consensus_rwg", sk, "<5")) + bar,
                       "num")
        if row is None or row.get("is_suppressed") or is_missing(row.get("alignment_gap")):
            cells = _td(f'<span class="withheld" data-withheld="fct_leadership_alignment" data-key="{escape(k)}">'
                        f"{WITHHELD}</span>", "", 'colspan="5"')
        else:
            cells = (_td(figure(row["n_top"], "fct_leadership_alignment.n_top", k, 0), "num")
                     + _td(figure(row["top_mean"], "fct_leadership_alignment.top_mean", k, 2), "num")
                     + _td(figure(row["n_leader"], "fct_leadership_alignment.n_leader", k, 0), "num")
                     + _td(figure(row["leader_mean"], "fct_leadership_alignment.leader_mean", k, 2), "num")
                     + _td(figure(row["alignment_gap"], "fct_leadership_alignment.alignment_gap", k, 2, signed=True),
                           "num"))
        rows.append("<tr>" + _td(escape(dim.name)) + cells + rwg_cell + "</tr>")
    table = _table([("Dimension", ""), ("Topledelse (n)", "num"), ("Topledelse gns.", "num"), ("Ledere (n)", "num"),
                    ("Ledere gns.", "num"), ("Forskel", "num"), ("Enighed alle (rwg)", "num")], rows)
    chart = charts.alignment(data)
    scale = _scale_text(data)
    return Page(data, "Fælles afsæt", "faelles-afsaet").add(
        '<p class="lead">Ser topledelsen (direktion og chefer) modenheden på samme måde som lederne? Gennemsnittene er '
        f"på svarskalaen{scale}. En positiv forskel betyder, at topledelsen vurderer modenheden højere end "
        "lederne. Enighed (rwg) viser, hvor ens alle respondenter vurderer dimensionen (0–1).</p>",
        table,
        f"<figure>{chart}</figure>" if chart else
        '<div class="empty">Sammenligningen kan ikke vises for nogen dimension i denne måling.</div>',
        '<p class="note">Sammenligningen vises kun, når begge grupper har mindst fem besvarelser, og en eksakt kontrol '
        "viser, at gruppetallene sammen med de øvrige offentliggjorte tal ikke kan afsløre en lille gruppe (fx én "
        "enkelt chef i en afdeling).</p>",
        "" if method_on_heatmap(data) else _method(),
    ).html()


def _scale_text(data: WaveData) -> str:
    scales = {(r.get("scale_min"), r.get("scale_max")) for r in data.root_scores.values()
              if not is_missing(r.get("scale_min")) and not is_missing(r.get("scale_max"))}
    if len(scales) != 1:
        return ""
    did = next(d for d, r in data.root_scores.items() if not is_missing(r.get("scale_min")))
    k = key(data.wave.wave_id, _root_id(data), did)
    lo, hi = next(iter(scales))
    return (f" ({figure(lo, 'fct_maturity_scores.scale_min', k, 0)}–"
            f"{figure(hi, 'fct_maturity_scores.scale_max', k, 0)})")


# ---------------------------------------------------------------- page 7: portfolio and capacity


def _portfolio(data: WaveData) -> list[str]:
    extract = data.scorecard.get("projects_extract_date")
    if extract is None or not data.coverage:
        return ['<div class="empty">Der er intet porteføljeudtræk knyttet til denne måling (intet udtræk dateret '
                "på eller efter målingens lukning og før næste måling), så det kan ikke vurderes, om projekterne "
                "dækker gabene.</div>"]
    rows = []
    for row in data.coverage:
        k = key(extract, row["dimension_id"])
        unc = row.get("is_uncovered")
        status = ('<span class="badge alert">Udækket gab</span>' if unc else
                  '<span class="badge ok">Dækket</span>' if unc is False else '<span class="muted">–</span>')
        rows.append(f'<tr class="{"uncovered" if unc else ""}">' + _td(escape(data.name(row["dimension_id"])))
                    + _td(figure(row.get("gap_index"), "fct_portfolio_coverage.gap_index", k), "num")
                    + _td(figure(row.get("n_active_projects"), "fct_portfolio_coverage.n_active_projects", k, 0), "num")
                    + _td(figure(row.get("active_budget_dkk"), "fct_portfolio_coverage.active_budget_dkk", k,
                                 scale=1e-6), "num")
                    + _td(figure(row.get("active_spent_dkk"), "fct_portfolio_coverage.active_spent_dkk", k,
                                 scale=1e-6), "num")
                    + _td(figure(row.get("masterplan_budget_share"), "fct_portfolio_coverage.masterplan_budget_share",
                                 k, pct=True), "num")
                    + _td(figure(row.get("budget_process_share"), "fct_portfolio_coverage.budget_process_share", k,
                                 pct=True), "num")
                    + _td(status) + "</tr>")
    kall = key(extract, "*")
    budget = sum(r.get("active_budget_dkk") or 0.0 for r in data.coverage)
    spent = sum(r.get("active_spent_dkk") or 0.0 for r in data.coverage)

    def share(column: str) -> float | None:
        if budget <= 0:
            return None
        return sum((r.get(column) or 0.0) * (r.get("active_budget_dkk") or 0.0) for r in data.coverage) / budget

    rows.append('<tr class="total">' + _td("I alt") + _td("") + _td("")
                + _td(figure(budget, "fct_portfolio_coverage.active_budget_dkk", kall, scale=1e-6, calc="sum"), "num")
                + _td(figure(spent, "fct_portfolio_coverage.active_spent_dkk", kall, scale=1e-6, calc="sum"), "num")
                + _td(figure(share("masterplan_budget_share"), "fct_portfolio_coverage.masterplan_budget_share", kall,
                             pct=True, calc="wavg:active_budget_dkk"), "num")
                + _td(figure(share("budget_process_share"), "fct_portfolio_coverage.budget_process_share", kall,
                             pct=True, calc="wavg:active_budget_dkk"), "num")
                + _td("") + "</tr>")
    table = _table([("Dimension", "wide"), ("Gab", "num"), ("Aktive projekter", "num"),
                    ("Budget, mio.&nbsp;kr.", "num"), ("Forbrugt, mio.&nbsp;kr.", "num"), ("Masterplan", "num"),
                    ("Budgetproces", "num"), ("", "")], rows)
    chart = charts.portfolio(data)
    when = date_value(extract, "rpt_direktion_scorecard.projects_extract_date", key(data.wave.wave_id), long=False)
    return [f'<p class="lead">Dækker transformationsporteføljen de gab, målingen viser? Porteføljeudtræk {when}; '
            "aktive projekter er Planlagt eller I gang. Et projekts budget fordeles ligeligt på de dimensioner, det "
            "angiver. Masterplan og budgetproces er andelen af det aktive budget, der er forankret der.</p>",
            f"<figure>{chart}</figure>" if chart else "", table]


def _capacity(data: WaveData) -> list[str]:
    cap, ext = data.capacity_root, data.wave.hr_extract_date
    if cap is None or ext is None:
        return ['<div class="empty">Der er ingen kapacitetstal for målingens HR-udtræk.</div>']
    k = key(ext, cap["org_unit_id"])
    if cap.get("is_suppressed"):
        return ['<div class="empty">Kapacitetstallene for kommunen er ikke vist (for få personer).</div>']
    m = "fct_transformation_capacity."
    total, ded = cap.get("transformation_fte"), cap.get("dedicated_fte")
    part = None if is_missing(total) or is_missing(ded) else total - ded
    tiles = "".join([
        _tile("Transformationsårsværk", f'{figure(total, m + "transformation_fte", k)}',
              f'af {figure(cap.get("fte"), m + "fte", k, 0)} årsværk i alt '
              f'({figure(cap.get("headcount"), m + "headcount", k, 0)} medarbejdere)'),
        _tile("Heraf dedikeret", figure(ded, m + "dedicated_fte", k),
              f'{figure(cap.get("dedicated_share"), m + "dedicated_share", k, pct=True)} af transformationsårsværkene'),
        _tile("Heraf deltid", figure(part, m + "transformation_fte", k, calc="diff:dedicated_fte"),
              "Medarbejdere med under 80 % af tiden i teamet"),
    ])
    units = [u.org_unit_id for u in data.units]
    chart = charts.capacity(data, units)
    when = date_value(ext, "dim_waves.hr_extract_date", key(data.wave.wave_id), long=False)
    rows = []
    for unit in data.units:
        row = data.capacity_units.get(unit.org_unit_id)
        uk = key(ext, unit.org_unit_id)
        if row is None or row.get("is_suppressed"):
            cells = _td(f'<span class="withheld" data-withheld="fct_transformation_capacity" data-key="{escape(uk)}">'
                        "ikke vist (for få personer)</span>", "", 'colspan="5"')
        else:
            cells = "".join(_td(figure(row.get(c), m + c, uk, d, pct=c == "dedicated_share"), "num") for c, d in (
                ("headcount", 0), ("fte", 0), ("transformation_fte", 1), ("dedicated_fte", 1), ("dedicated_share", 0)))
        rows.append("<tr>" + _td(escape(unit.name)) + cells + "</tr>")
    table = _table([("Forvaltning", ""), ("Medarbejdere", "num"), ("Årsværk", "num"),
                    ("Transformation, årsværk", "num"), ("Heraf dedikeret", "num"), ("Andel dedikeret", "num")], rows)
    return [f'<p class="lead">Årsværk i transformationsteamet ifølge HR-udtrækket {when} (hele kommunen). '
            "Dedikeret = mindst 80 % af arbejdstiden i teamet.</p>",
            f'<div class="tiles">{tiles}</div>', f"<figure>{chart}</figure>" if chart else "", table]


def has_portfolio(data: WaveData) -> bool:
    return data.scorecard.get("projects_extract_date") is not None and bool(data.coverage)


def portfolio_page(data: WaveData) -> str:
    return Page(data, "Portefølje: dækker projekterne gabene?", "portefoelje").add(*_portfolio(data)).html()


def capacity_page(data: WaveData) -> str:
    if has_portfolio(data):
        return Page(data, "Transformationskapacitet", "kapacitet").add(*_capacity(data)).html()
    # Without a projects extract the portfolio is one sentence: it shares the page with the capacity.
    return Page(data, "Portefølje og transformationskapacitet", "kapacitet").add(
        "<h3>Portefølje: dækker projekterne gabene?</h3>", *_portfolio(data),
        "<h3>Transformationskapacitet</h3>", *_capacity(data)).html()


def method_on_heatmap(data: WaveData) -> bool:
    """"Sådan læses rapporten" fits under a heatmap of up to nine forvaltninger, else under Fælles afsæt."""
    return len(data.units) <= 9


def _method() -> str:
    items = [
        ("Modenhedsindeks", "Gennemsnittet af respondenternes nu-vurdering omregnet til 0–100. Samlet indeks er det "
         "vægtede gennemsnit af dimensionerne."),
        ("Ønsket og gab", "Ønsket modenhed på samme skala; gabet er ønsket minus nu i indekspoint, regnet pr. person."),
        ("Niveauer", "Basis (til og med 25), gennemsnitlig (til og med 50), moderat avanceret (til og med 75), "
         "avanceret (over 75)."),
        ("Diskretionering", "Ingen tal bygger på færre end fem personer, heller ikke ved at trække to viste tal fra "
         "hinanden. Skjulte felter vises som »&lt;5« eller »ikke vist«."),
        ("Kilder", "Spørgeskemaet (SurveyXact), HR-udtrækket (SD Løn) og transformationskontorets portefølje. Alle tal "
         "er hentet fra det publicerede, kvalitetskontrollerede datavarehus; definitionerne står i docs/metrics.md."),
    ]
    body = "".join(f"<dt>{escape(t)}</dt><dd>{d}</dd>" for t, d in items)
    return f'<h3>Sådan læses rapporten</h3><dl class="defs">{body}</dl>'


def document(data: WaveData, quality: dict[str, Any] | None) -> str:
    org = escape(data.root.name) if data.root else "Kommunen"
    pages = [front_page(data, quality), maturity_page(data), priorities_page(data), trend_page(data),
             heatmap_page(data), alignment_page(data)]
    if has_portfolio(data):
        pages.append(portfolio_page(data))
    pages.append(capacity_page(data))
    title = f"Digital modenhed – direktionsrapport {data.wave.wave_id} – {org}"
    return ("<!DOCTYPE html>\n"
            '<html lang="da">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src 'none'; font-src 'none'; script-src 'none'; connect-src 'none'\">\n"
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(pages) + "\n</body>\n</html>\n")
