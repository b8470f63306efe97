"""Word lists for the synthetic municipality.

Every name printed by the demo is a random combination of these common Danish first names, surnames
and Southern-Jutland place names; no real person or real SD record is behind any row. The lists carry
Danish letters on purpose (ø, æ, å, é) so that the Windows-1252 and UTF-16 encodings are exercised;
every string here must be encodable in Windows-1252.
"""

from __future__ import annotations

FIRST_NAMES_FEMALE: tuple[str, ...] = (
    "Anne", "Kirsten", "Mette", "Hanne", "Helle", "Susanne", "Lene", "Maria", "Marianne", "Inge",
    "Lone", "Camilla", "Pia", "Louise", "Charlotte", "Bente", "Tina", "Gitte", "Karen", "Heidi",
    "Julie", "Sofie", "Emma", "Ida", "Signe", "Line", "Birgitte", "Dorthe", "Trine", "Malene",
    "Rikke", "Søs", "Åse", "Bodil", "Grethe", "Jytte", "Kamilla", "Laura", "Mathilde", "Nanna",
    "Rie", "Sanne", "Stine", "Tove", "Vibeke", "Zenia", "Astrid", "Frida", "Agnethe", "Bjørg",
)

FIRST_NAMES_MALE: tuple[str, ...] = (
    "Peter", "Jens", "Lars", "Michael", "Henrik", "Thomas", "Søren", "Jan", "Niels", "Christian",
    "Martin", "Anders", "Morten", "Jesper", "Mads", "Rasmus", "Hans", "Per", "Ole", "Kim",
    "Jørgen", "Bjørn", "Erik", "Frederik", "Mikkel", "Jakob", "Kasper", "Brian", "Torben", "Poul",
    "Claus", "Bo", "Knud", "Kristian", "Steen", "Flemming", "Carsten", "Jørn", "Aksel", "René",
    "André", "Emil", "Oliver", "William", "Noah", "Magnus", "Tobias", "Villads", "Asger", "Svend",
)

LAST_NAMES: tuple[str, ...] = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen",
    "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen", "Jakobsen", "Jacobsen", "Mikkelsen",
    "Lauridsen", "Frederiksen", "Henriksen", "Laursen", "Schmidt", "Kjær", "Iversen", "Clausen",
    "Jepsen", "Lund", "Nissen", "Carstensen", "Schultz", "Damgaard", "Bech", "Østergaard",
    "Søndergaard", "Brodersen", "Hjort", "Lorenzen", "Thygesen", "Bonde", "Thorup", "Holm",
    "Friis", "Kragh", "Skov", "Dahl", "Juhl", "Ravn", "Bæk", "Asmussen", "Gram", "Høj",
    "Vestergaard", "Ebbesen",
)

PLACES: tuple[str, ...] = (
    "Vojens", "Gram", "Hammelev", "Sønder Otting", "Starup", "Vonsbæk", "Moltrup", "Hoptrup",
    "Marstrup", "Øsby", "Diernæs", "Fjelstrup", "Bevtoft", "Skrydstrup", "Jegerup", "Sommersted",
    "Over Jerstal", "Hjerndrup", "Åstrup", "Halk", "Årø", "Gabøl", "Gåskær", "Erlev", "Sillerup",
    "Vedsted", "Mølby", "Nustrup", "Fole", "Kastrup", "Sct. Severin", "Bøgeskov", "Hertugshaven",
    "Slotsvang", "Fællesgården", "Aabenraavej", "Favrdal", "Fredsted", "Oksenvad", "Stevning",
    "Tørning", "Maugstrup", "Simmersted", "Lintrup", "Rangstrup", "Arnum", "Toftlund Vej",
    "Kelstrup", "Sdr. Vilstrup", "Gravenshoved",
)

DISTRICTS: tuple[str, ...] = ("Nord", "Syd", "Øst", "Vest", "Midt", "By", "Land")

#: Team names by kind of afdeling (restarted per afdeling, so each afdeling reads naturally).
TEAM_TOPICS: dict[str, tuple[str, ...]] = {
    "adm": ("Drift", "Service", "Analyse", "Løn", "Regnskab", "Budget", "Jura", "Kommunikation",
            "Indkøb", "Sekretariat"),
    "it": ("Infrastruktur", "Support", "Arkitektur", "Udvikling", "Informationssikkerhed", "Systemer"),
    "social": ("Modtagelse", "Børn og Unge", "Handicap", "Familiebehandling", "Myndighed", "Udsatte"),
    "teknik": ("Byggesag", "Planlægning", "Miljø", "Natur", "Vand", "Landbrug", "Drift"),
    "kultur": ("Events", "Kulturarv", "Formidling", "Foreninger"),
    "besk": ("Virksomhedsservice", "Sygedagpenge", "Kontanthjælp", "Ledighed", "Afklaring", "Jobparat"),
    "sundhed": ("Forebyggelse", "Rehabilitering", "Sundhedsfremme"),
}

COMMENTS: tuple[str, ...] = (
    "Vi mangler tid til at arbejde med digitalisering i hverdagen.",
    'Det er svært at se, hvad "digital modenhed" betyder for os; men vi prøver.',
    "God undersøgelse.\nMen spørgsmålene om data var svære at svare på.",
    "Mere fokus på kompetenceudvikling, tak!",
    "Vores systemer taler ikke sammen – det koster mange timer hver uge.",
    "Ledelsen skal gå forrest; det gør den ikke altid.",
    "Ingen kommentarer.",
    "Vi har fået bedre it-udstyr, men mangler uddannelse i at bruge det.",
    "Spørgsmål 4 var uklart formuleret, synes jeg.",
    "Tak for at I spørger ude i enhederne.",
    "Der er for mange projekter på én gang; vi kan ikke nå at følge med.",
    "Borgerne forventer mere selvbetjening, end vi kan levere i dag.",
)
