"""Swedish free text composed from varied sentences: slot titles and descriptions, profile
texts and the reasons people give. Profile texts name no gender, age, origin or health."""

from __future__ import annotations

import random

import numpy as np

TITLE_PATTERNS = ("Praktik som {t}", "{T} – praktikplats", "Praktikplats: {t} i {k}",
                  "{T} sökes till praktik", "Praktik inom {f}: {t}")
INTRO = (
    "Vi söker en praktikant som vill lära sig arbetet som {t}.",
    "Hos {e} får du prova på arbete som {t} i en trygg miljö.",
    "Är du intresserad av {f}? Nu har vi en praktikplats som {t}.",
    "Vill du komma in i arbetslivet inom {f}? Hos oss får du praktik som {t}.",
    "{e} tar emot en praktikant inom {f}.",
    "Vi har en praktikplats som {t} i {k}.",
)
TASKS = ("I arbetet ingår bland annat {s}.", "Arbetsuppgifterna är till exempel {s}.",
         "Du kommer att arbeta med {s}.", "Under praktiken lär du dig {s}.")
NO_TASKS = ("Arbetsuppgifterna anpassas efter dig och vad du vill lära dig.",
            "Du får prova på olika uppgifter i verksamheten.")
REQUIRED = ("Du behöver ha kunskaper inom {s}.", "Det är ett krav att du kan {s}.",
            "Vi förutsätter erfarenhet av {s}.")
NICE = ("Det är meriterande med {s}.", "Har du erfarenhet av {s} är det ett plus.",
        "Kunskaper inom {s} är bra men inget krav.")
HOURS = ("Praktiken omfattar {h} timmar i veckan.", "Arbetstiden är {h} timmar per vecka, "
         "dagtid.", "Du arbetar {h} timmar i veckan.")
NO_HOURS = ("Arbetstiden bestämmer vi tillsammans.", "Omfattningen anpassas efter dig.")
SUPERVISOR = ("Du får en egen handledare som stöttar dig.",
              "En erfaren handledare finns på plats hela tiden.",
              "Vi har gott om tid för introduktion och en handledare som är van vid praktikanter.")
NO_SUPERVISOR = ("Efter en kort introduktion arbetar du ganska självständigt.",
                 "Du behöver kunna arbeta på egen hand efter introduktionen.")
PHYSICAL = {
    "lätt": ("Arbetet är fysiskt lätt.", "Uppgifterna är inte fysiskt tunga."),
    "medel": ("Arbetet innebär en del rörelse och att stå upp.",
              "Du är i rörelse en stor del av dagen."),
    "tung": ("Arbetet är fysiskt krävande och innebär tunga lyft.",
             "Det blir tunga lyft och mycket gående."),
}
ACCESSIBLE = ("Arbetsplatsen är tillgänglighetsanpassad.",
              "Lokalerna är anpassade för rullstol.")
LICENCE = ("{c}-körkort krävs.", "Du behöver ha körkort med behörighet {c}.")
SWEDISH = {
    None: ("Du behöver inte kunna så mycket svenska – vi visar hur man gör.",
           "Inga särskilda krav på svenska."),
    "low": ("Grundläggande svenska räcker.", "Det räcker att du förstår enkla instruktioner "
            "på svenska."),
    "mid": ("Du behöver kunna göra dig förstådd på svenska.",
            "Du behöver förstå och tala vardaglig svenska."),
    "high": ("Goda kunskaper i svenska krävs eftersom du har mycket kontakt med människor.",
             "Du behöver tala och skriva svenska obehindrat."),
}
MAY_LEAD = ("Praktiken kan leda till anställning.", "Vi har behov av att anställa framöver.",
            "För rätt person finns möjlighet till jobb efteråt.")

WISH = ("Vill arbeta som {w}.", "Söker praktik inom {f}, gärna som {w}.",
        "Intresserad av arbete inom {f}.", "Vill helst arbeta som {w} eller inom {f2}.")
PAST = ("Har tidigare arbetat som {p} i {y} år.", "Erfarenhet från arbete som {p} ({y} år).",
        "Har {y} års erfarenhet som {p}.")
NO_PAST = ("Saknar tidigare arbetslivserfarenhet men är nyfiken och vill lära sig.",
           "Har inte haft något arbete ännu och vill pröva på olika saker.",
           "Har ingen längre arbetslivserfarenhet.")
SKILLS = ("Har kunskaper inom {s}.", "Kan {s}.", "Har erfarenhet av {s}.")
TRAITS = ("Trivs med praktiskt arbete.", "Vill gärna arbeta med människor.",
          "Är noggrann och ansvarsfull.", "Har lätt för att samarbeta.",
          "Vill komma ut i arbete så snart som möjligt.", "Är punktlig och pålitlig.",
          "Lär sig snabbt genom att göra.", "Föredrar lugna arbetsmiljöer.")
SUPPORT = ("Behöver en handledare som finns nära i början.",
           "Behöver tydliga instruktioner och stöd på arbetsplatsen.")
DECLINE_REASONS = (
    "Vi har tyvärr inte möjlighet att ta emot någon just nu.",
    "Profilen passar inte arbetsuppgifterna.",
    "Handledaren är inte på plats under perioden.",
    "Vi behöver någon som kan mer svenska.",
    "Platsen är redan tillsatt.",
    "Arbetstiderna passar inte.",
)
WITHDRAW_REASONS = ("Deltagaren valde en annan plats.", "Deltagaren blev sjuk.",
                    "Vi föreslår en annan plats i stället.")
NOTES = ("Uppföljning efter två veckor.", "Trepartssamtal bokat.",
         "Deltagaren vill börja med halvtid.", "Handledaren ringer konsulenten vid behov.")
FEEDBACK_REASONS = {
    "distance": ("För långt att resa.", "Resvägen blir för lång utan bil."),
    "heavy": ("För tungt arbete för deltagaren.",),
    "licence": ("Kräver körkort som deltagaren saknar.",),
    "language": ("Språkkravet är för högt just nu.",),
    "occupation": ("Deltagaren är inte intresserad av yrket.", "Fel yrkesområde."),
    "other": ("Passar inte just nu.", "Deltagaren vill något annat."),
}


def join_sv(items: list[str]) -> str:
    """"a", "a och b", "a, b och c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " och " + items[-1]


def lower_first(text: str) -> str:
    """Lower-case the first letter of a word, but not of an acronym ("ADR", "A-truckar")."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def text_random(rng: np.random.Generator) -> random.Random:
    """A fast Python RNG for phrase choices, seeded from the world's numpy generator."""
    return random.Random(int(rng.integers(0, 2**63)))
