"""Dialect sniffing (encoding, delimiter, header row, header names) and the SQL macros of maturity.duck."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from maturity import duck
from maturity.errors import LandingError
from maturity.ingest.dialect import LandedFile, locate_columns, norm_header, sniff
from maturity.ingest.reader import record_lines

SD_HEADER = ("CPR-nummer;Navn (for-/efternavn);Tjenestenummer;Startdato;Slutdato;Stamafdeling;Stillingskode;Stilling;"
             "Beskæftigelsesgrad;Ansættelsesstatus;Ansættelsesstatus")


def landed(data: bytes, rel: str = "hr/2024-01-31/employees.csv") -> LandedFile:
    return LandedFile(Path("/landing") / rel, rel, data)


# --- sniffing ---------------------------------------------------------------------------------------------


def test_utf8_with_bom():
    d = sniff(landed("\ufeffAfdelingskode;Afdelingsnavn\r\n0HAD;Haderslev\r\n".encode()))
    assert (d.encoding, d.delimiter, d.header_line, d.columns) == ("utf-8", ";", 1, ("Afdelingskode", "Afdelingsnavn"))


def test_utf16_le_with_bom():
    d = sniff(landed(b"\xff\xfe" + "resp\tafd\trolle\r\n1001\tØST\t2\r\n".encode("utf-16-le")))
    assert (d.encoding, d.delimiter, d.columns, d.duckdb_encoding) == ("utf-16", "\t", ("resp", "afd", "rolle"),
                                                                        "utf-16")


def test_undeclared_windows_1252():
    d = sniff(landed("Stilling;Beskæftigelsesgrad\r\nPædagog;0,5\r\n".encode("cp1252")))
    assert (d.encoding, d.duckdb_encoding, d.columns) == ("cp1252", "CP1252", ("Stilling", "Beskæftigelsesgrad"))


def test_plain_utf8_without_bom():
    assert sniff(landed("Afdelingsnavn,Børn\n".encode())).encoding == "utf-8"


@pytest.mark.parametrize(("delimiter", "danish"), [(",", False), (";", True), ("\t", True)])
def test_delimiter_detection_and_number_format(delimiter, danish):
    d = sniff(landed(delimiter.join(["Projekt-ID", "Projektnavn", "Budget (kr.)"]).encode() + b"\n"))
    assert (d.delimiter, d.danish_numbers, len(d.columns)) == (delimiter, danish, 3)


def test_delimiters_inside_quoted_cells_do_not_vote():
    """A header-less labels file whose first label holds commas is still `;`-separated."""
    d = sniff(landed(b'rolle;5;"Anden rolle, fx konsulent, projektleder, tovholder"\r\n', "surveys/T0/labels.csv"),
              has_header=False)
    assert (d.delimiter, d.header_line, d.columns) == (";", 0, ("column1", "column2", "column3"))


def test_header_row_below_the_sd_report_lines():
    text = f"Personaleoversigt\r\nKørt 31.01.2024 06:12 af SD Løn\r\nInstitution: XX\r\n\r\n{SD_HEADER}\r\n1;2\r\n"
    d = sniff(landed(text.encode("cp1252")), header_contains="Tjenestenummer")
    assert (d.encoding, d.delimiter, d.header_line) == ("cp1252", ";", 5)
    assert d.columns[2] == "Tjenestenummer" and d.columns[-2:] == ("Ansættelsesstatus", "Ansættelsesstatus")


def test_no_header_row_found():
    with pytest.raises(LandingError) as err:
        sniff(landed(b"Personaleoversigt\r\nCPR;Navn\r\n"), header_contains="Tjenestenummer")
    assert str(err.value) == "hr/2024-01-31/employees.csv: no header row containing 'Tjenestenummer' was found."


def test_excel_quoted_header_cells():
    d = sniff(landed(b'="Tjenestenummer";="Andel (%)"; Rolle i teamet \r\n="00017";80;x\r\n'))
    assert d.columns == ("Tjenestenummer", "Andel (%)", "Rolle i teamet")


def test_labels_without_header_skip_leading_blank_lines():
    d = sniff(landed(b"\r\nrolle;1;Direktion\r\n", "surveys/T0/labels.csv"), has_header=False)
    assert (d.header_line, d.columns) == (1, ("column1", "column2", "column3"))


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"  \t\n"])
def test_empty_file(data):
    with pytest.raises(LandingError) as err:
        sniff(landed(data, "projects/2024-02-29/portfolio.csv"))
    assert str(err.value) == "projects/2024-02-29/portfolio.csv: the file is empty."


def test_undeterminable_delimiter():
    with pytest.raises(LandingError) as err:
        sniff(landed(b"just one column\n1\n", "reference/dimensions.csv"))
    assert str(err.value) == ("reference/dimensions.csv: the delimiter cannot be determined "
                              "(expected ',', ';' or TAB in the first row).")


@pytest.mark.parametrize(("text", "encoding", "lines"), [
    ("a;b\n1;2\n3;4\n", "utf-8", [2, 3]),
    ('a;b\r\n1;"x\r\ny"\r\n3;4\r\n', "utf-8", [2, 4]),  # a text with a line break spans lines 2-3
    ('a;b\n1;2\n\n\n3;"4\n\n5"\n6;7', "cp1252", [2, 5, 8]),  # blank lines are no records
    ('a\tb\r\n1\t"æ\r\nø"\r\n\r\n3\t4\r\n', "utf-16", [2, 5]),
])
def test_record_lines_are_physical_lines(text, encoding, lines):
    data = b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    f = landed(data)
    found, _reported = record_lines(f, sniff(f))
    assert found.tolist() == lines


# --- header names -----------------------------------------------------------------------------------------


def test_header_names_match_case_and_whitespace_insensitively():
    f = landed(b"")
    columns = (" BUDGET  (kr.) ", "projekt-id", "Status\u00a0", "ekstra")
    found = locate_columns(f, columns, {"budget": "Budget (kr.)", "id": "Projekt-ID"}, {"status": "Status"})
    assert found == {"budget": [0], "id": [1], "status": [2]}
    assert norm_header("  Ejer \u00a0(afdelingskode) ") == "ejer (afdelingskode)"


def test_repeated_status_columns_are_allowed():
    f = landed(b"")
    found = locate_columns(f, tuple(SD_HEADER.split(";")), {"tjn": "Tjenestenummer", "status": "Ansættelsesstatus"},
                           repeated=frozenset({"ansættelsesstatus"}))
    assert found == {"tjn": [2], "status": [9, 10]}


def test_duplicate_contract_column_is_an_error():
    with pytest.raises(LandingError) as err:
        locate_columns(landed(b"", "projects/2024-02-29/portfolio.csv"), ("Status", "Projekt-ID", "status "),
                       {"id": "Projekt-ID", "status": "Status"})
    assert str(err.value) == "projects/2024-02-29/portfolio.csv: the header has the column 'Status' 2 times."


def test_duplicate_column_outside_the_contract_is_dropped_silently():
    found = locate_columns(landed(b""), ("Projekt-ID", "Bemærkning", "Bemærkning"), {"id": "Projekt-ID"})
    assert found == {"id": [0]}


@pytest.mark.parametrize(("columns", "message"), [
    (("Projekt-ID", "Projektnavn"), "the header lacks the column 'Status'"),
    (("Projektnavn",), "the header lacks the columns 'Projekt-ID', 'Status'"),
])
def test_missing_header_columns(columns, message):
    with pytest.raises(LandingError) as err:
        locate_columns(landed(b"", "p.csv"), columns, {"id": "Projekt-ID", "status": "Status"}, {"name": "Projektnavn"})
    assert str(err.value) == f"p.csv: {message}."


# --- SQL macros -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sql():
    con = duck.connect()

    def run(expr: str, *params):
        return con.execute(f"SELECT {expr}", list(params)).fetchone()[0]

    yield run
    con.close()


@pytest.mark.parametrize(("value", "expected"), [
    ('="00017"', "00017"), ('  ="264-43"  ', "264-43"), ("  1ITD ", "1ITD"), ("", None), ('=""', None),
    ("   ", None), (None, None), ('="a\nb"', "a\nb"), ('="x"y', '="x"y'),
])
def test_unquote(sql, value, expected):
    assert sql("unquote(?)", value) == expected


@pytest.mark.parametrize(("value", "danish", "expected"), [
    ("1.250.000,50", True, 1250000.5), ("1250000,50", True, 1250000.5), ("0,8108", True, 0.8108),
    ("1,0000", True, 1.0), ('="1.250,5"', True, 1250.5), ("1 250 000,50", True, 1250000.5),
    ("-310.500,75", True, -310500.75), ("1250000.50", False, 1250000.5), ("0.25", False, 0.25),
    ("1E-07", False, 1e-7), ("abc", True, None), ("", True, None), ("1,5", False, None),
    ("nan", False, None), ("inf", True, None), ("-Infinity", False, None), ("1e400", False, None),
])
def test_parse_num(sql, value, danish, expected):
    assert sql("parse_num(?, ?)", value, danish) == expected


@pytest.mark.parametrize(("value", "excel", "expected"), [
    ("2024-01-31", False, dt.date(2024, 1, 31)), ("31-01-2024", False, dt.date(2024, 1, 31)),
    ("31.01.2024", False, dt.date(2024, 1, 31)), ('="01.08.2015"', False, dt.date(2015, 8, 1)),
    ("1.8.2015", False, dt.date(2015, 8, 1)), ("2023-03-01 00:00:00", False, dt.date(2023, 3, 1)),
    ("31.02.2024", False, None), ("2024-13-01", False, None), ("45000", False, None), ("", False, None),
    ("45000", True, dt.date(2023, 3, 15)), ("44986.5", True, dt.date(2023, 3, 1)),
    ("31.12.9999", False, dt.date(9999, 12, 31)), ("01.03.2023", True, dt.date(2023, 3, 1)),
    ("2958465", True, dt.date(9999, 12, 31)), ("2958466", True, None), ("3000000000", True, None),
])
def test_parse_date(sql, value, excel, expected):
    assert sql("parse_date(?, ?)", value, excel) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Ved ikke", "ved ikke"), ("  VED\u00a0IKKE  ", "ved ikke"), ("Ved \u202fikke", "ved ikke"),
    ("Ved\tikke\n", "ved ikke"), ("Don\u2019t know", "don't know"), ("\u2018Don\u2019t  Know\u2019", "'don't know'"),
    ("Ved ikke/Ikke relevant", "ved ikke/ikke relevant"), ("", None), ("  ", None), (None, None),
])
def test_fold_label(sql, value, expected):
    assert sql("fold_label(?)", value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("010180-1234", "[CPR]"), ("0101801234", "[CPR]"),
    ("Vikar for 010180-1234 og 0202901234.", "Vikar for [CPR] og [CPR]."),
    ("290200-1234", "[CPR]"),  # 29 February 2000 exists
    ("Sag 010180-1234-7", "Sag 010180-1234-7"),  # a longer hyphenated run is not CPR-shaped
    ("320199-1234", "320199-1234"), ("011380-1234", "011380-1234"), ("290201-1234", "290201-1234"),
    ("000180-1234", "000180-1234"), ("01018012345", "01018012345"), ("12010180123456", "12010180123456"),
    ("a 0101801234 b 9010180123456", "a [CPR] b 9010180123456"),  # the long run stays whole
    ("010180 1234", "010180 1234"), ("2024-01-31", "2024-01-31"), ("tlf. 74 34 34 34", "tlf. 74 34 34 34"),
    ("Børn ØST 010180-1234", "Børn ØST [CPR]"), ("", ""), (None, None),
])
def test_redact_cpr(sql, value, expected):
    assert sql("redact_cpr(?)", value) == expected
    assert sql("has_cpr(?)", value) is ((expected or "") != (value or ""))
