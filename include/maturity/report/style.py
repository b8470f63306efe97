"""The report's inline stylesheet: A4 pages for print, cards on screen, no external resources."""

from __future__ import annotations

CSS = """
@page { size: A4 portrait; margin: 13mm 14mm 12mm 14mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e9e9e6; color: #1d1d1b;
  font-family: "Liberation Sans", Arial, Helvetica, "DejaVu Sans", sans-serif; font-size: 9.6pt; line-height: 1.38; }
.page { width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 13mm 14mm 12mm 14mm; background: #fff;
  box-shadow: 0 1px 6px rgba(0,0,0,.18); position: relative; break-after: page; page-break-after: always; }
.page:last-child { break-after: auto; page-break-after: auto; }
@media print {
  body { background: #fff; }
  .page { width: auto; min-height: 0; margin: 0; padding: 0; box-shadow: none; }
}
.running { display: flex; justify-content: space-between; font-size: 7.5pt; color: #5b5b57;
  border-bottom: 0.6pt solid #b9b9b3; padding-bottom: 1.5mm; margin-bottom: 5mm; }
h1 { font-size: 25pt; line-height: 1.1; margin: 0 0 2mm; color: #0b3a5b; letter-spacing: -0.2pt; }
h2 { font-size: 15pt; margin: 0 0 1.5mm; color: #0b3a5b; }
h3 { font-size: 10.5pt; margin: 5mm 0 1.5mm; color: #0b3a5b; }
p { margin: 0 0 2.2mm; }
.lead { font-size: 10pt; color: #3a3a37; margin-bottom: 4mm; }
.muted { color: #5b5b57; }
.small { font-size: 8pt; }
.cover-top { border-left: 3mm solid #0072B2; padding: 1mm 0 1mm 5mm; margin: 4mm 0 6mm; }
.cover-top .org { font-size: 11pt; font-weight: bold; color: #3a3a37; text-transform: uppercase;
  letter-spacing: 0.8pt; }
.cover-top .sub { font-size: 12pt; color: #3a3a37; }
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; margin-bottom: 5mm; }
.tile { border: 0.6pt solid #c9c9c3; border-top: 1.6mm solid #0072B2; border-radius: 1.2mm; padding: 2.6mm 3mm;
  min-height: 27mm; }
.tile .label { font-size: 8pt; text-transform: uppercase; letter-spacing: 0.4pt; color: #4b4b47; }
.tile .value { font-size: 21pt; font-weight: bold; color: #0b3a5b; line-height: 1.15; margin: 0.8mm 0; }
.tile .value .unit { font-size: 11pt; font-weight: normal; color: #3a3a37; }
.tile .sub { font-size: 8pt; color: #3a3a37; }
.tile.alert { border-top-color: #D55E00; }
.scale { position: relative; height: 3mm; margin: 1.4mm 0 0.6mm; border: 0.5pt solid #8d8d87; display: grid;
  grid-template-columns: repeat(4, 1fr); }
.scale i { border-right: 0.5pt solid #b9b9b3; }
.scale i:nth-child(odd) { background: #ececec; }
.scale .mark { position: absolute; top: -1.1mm; width: 1.2mm; height: 5mm; margin-left: -0.6mm; background: #0b3a5b; }
.scale-labels { display: grid; grid-template-columns: repeat(4, 1fr); text-align: center; font-size: 6.3pt;
  color: #5b5b57; line-height: 1.15; }
.summary { background: #f4f7fa; border: 0.6pt solid #c8d6e2; border-radius: 1.2mm; padding: 3mm 4mm 1mm;
  margin-bottom: 5mm; }
.summary h2 { font-size: 12pt; }
.summary ul { margin: 0; padding-left: 4.5mm; }
.summary li { margin-bottom: 1.6mm; }
table { border-collapse: collapse; width: 100%; font-size: 8.6pt; }
th, td { padding: 1.1mm 1.6mm; border-bottom: 0.5pt solid #d4d4ce; vertical-align: top; text-align: left; }
th { font-weight: bold; color: #2d2d2a; border-bottom: 1pt solid #6f6f69; vertical-align: bottom; }
th.wide { width: 44mm; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { border-top: 1pt solid #6f6f69; font-weight: bold; }
.facts th { width: 38%; font-weight: normal; color: #4b4b47; border-bottom: 0.5pt solid #d4d4ce; vertical-align: top; }
.facts td { word-break: break-all; }
.chart { width: 100%; height: auto; display: block; margin: 1mm 0 2mm; }
figure { margin: 0 0 2mm; }
figcaption { font-size: 8pt; color: #4b4b47; margin-top: -1mm; }
.badge { display: inline-block; padding: 0.2mm 1.6mm; border-radius: 0.8mm; font-size: 7.5pt; font-weight: bold;
  border: 0.6pt solid currentColor; white-space: nowrap; }
.badge.alert { color: #fff; background: #b34700; border-color: #b34700; }
.badge.ok { color: #0b3a5b; background: #fff; }
tr.uncovered td { background: #fbe9dd; }
tr.uncovered td:first-child { box-shadow: inset 1.2mm 0 0 #b34700; }
.withheld { color: #5b5b57; font-style: italic; }
.heat { table-layout: fixed; font-size: 8.3pt; }
.heat th { font-size: 7.6pt; line-height: 1.15; }
.heat th.dim { height: 31mm; vertical-align: bottom; text-align: left; padding: 0 0 1.5mm 0; }
.heat th .rot { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg); max-height: 30mm;
  white-space: normal; text-align: left; margin-left: 3mm; }
.heat th.unit, .heat td.unit { width: 31mm; }
.heat td.cell { text-align: center; font-weight: bold; border: 0.8pt solid #fff; padding: 2.2mm 0.5mm; }
.heat td.supp { background: #e4e4e1; color: #333; font-weight: normal; font-style: italic; }
.heat tr.root td { border-bottom: 1.2pt solid #6f6f69; }
.heat td.side { text-align: right; font-variant-numeric: tabular-nums; }
.legend { display: flex; align-items: center; gap: 3mm; font-size: 7.5pt; color: #3a3a37; margin: 2mm 0 3mm; }
.legend .ramp { width: 55mm; height: 3.2mm; border: 0.5pt solid #8d8d87; }
.legend .supp-key { display: inline-block; padding: 0 1.5mm; border: 0.5pt solid #8d8d87; background: #e4e4e1;
  font-style: italic; }
.bar { display: inline-block; height: 2.4mm; background: #0072B2; vertical-align: middle; margin-left: 1.5mm; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 5mm; }
.note { font-size: 8pt; color: #3a3a37; border-left: 1mm solid #c9c9c3; padding-left: 2.5mm; margin: 2mm 0 3mm; }
.empty { border: 0.6pt dashed #a7a7a1; padding: 4mm; color: #3a3a37; border-radius: 1.2mm; margin: 2mm 0 4mm; }
dl.defs { display: grid; grid-template-columns: 36mm 1fr; gap: 1.6mm 4mm; margin: 0; font-size: 8.8pt; }
dl.defs dt { font-weight: bold; color: #0b3a5b; }
dl.defs dd { margin: 0; }
"""
