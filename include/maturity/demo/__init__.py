"""The synthetic municipality: a complete landing area in the real export formats (SPEC §2, §5).

``maturity demo`` calls :func:`generate`; see :mod:`maturity.demo.core`. Modules:
``model`` (storyline and scales), ``org`` (SD tree and reorganisations), ``hr`` (SD Løn reports and
team lists), ``survey`` (questionnaire, mapping, answers), ``surveyxact`` (the four export variants),
``projects`` (portfolio workbooks), ``textio`` (byte-exact writers), ``names`` (word lists).
"""

from maturity.demo.core import DemoSummary, generate

__all__ = ["DemoSummary", "generate"]
