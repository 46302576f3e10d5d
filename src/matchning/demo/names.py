"""Small lists of plausible names of varied origin (no real persons are meant)."""

from __future__ import annotations

import unicodedata

import numpy as np

# origin key -> (women's first names, men's first names, surnames, languages (ISO 639-1))
ORIGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "se": (
        ("Anna", "Maria", "Elin", "Sara", "Emma", "Johanna", "Linnea", "Karin", "Frida",
         "Ida", "Maja", "Ebba", "Wilma", "Lena", "Susanne", "Malin", "Camilla", "Jenny"),
        ("Erik", "Lars", "Johan", "Anders", "Karl", "Oskar", "Viktor", "Emil", "Filip",
         "Jonas", "Mattias", "Niklas", "Daniel", "Peter", "Gustav", "Axel", "Hugo", "Linus"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
         "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg",
         "Lindqvist", "Berg", "Holm", "Sandberg", "Forsberg", "Lund", "Ek", "Wallin",
         "Björk", "Sjöberg", "Engström", "Hedlund"),
        (),
    ),
    "fi": (
        ("Aino", "Helena", "Kaisa", "Sanna", "Tiina", "Riikka", "Päivi"),
        ("Mikko", "Juha", "Antti", "Timo", "Jari", "Pekka", "Heikki"),
        ("Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Heikkinen", "Laine", "Koskinen"),
        ("fi",),
    ),
    "ar": (
        ("Fatima", "Amira", "Layla", "Noor", "Rasha", "Huda", "Yasmin", "Rania", "Dina"),
        ("Ahmad", "Mohammed", "Omar", "Khaled", "Yousef", "Ali", "Hassan", "Mustafa",
         "Ibrahim", "Samir"),
        ("Al-Hassan", "Haddad", "Khalil", "Mansour", "Saleh", "Nasser", "Abboud", "Darwish",
         "Hamdan", "Jaber"),
        ("ar",),
    ),
    "so": (
        ("Hodan", "Ayaan", "Fadumo", "Hibaaq", "Sahra", "Ifrah", "Nasra"),
        ("Abdi", "Mahad", "Farah", "Guled", "Liban", "Abdirahman", "Said"),
        ("Mohamed", "Hassan", "Warsame", "Abdullahi", "Jama", "Ahmed", "Osman", "Farah"),
        ("so",),
    ),
    "fa": (
        ("Maryam", "Zahra", "Shirin", "Parisa", "Nasrin", "Fereshteh", "Roya"),
        ("Reza", "Ali", "Hamid", "Mehdi", "Arash", "Javad", "Farid", "Ahmad"),
        ("Ahmadi", "Hosseini", "Rezaei", "Karimi", "Mohammadi", "Sadeghi", "Rahimi",
         "Azizi"),
        ("fa",),
    ),
    "ti": (
        ("Selam", "Helen", "Senait", "Mebrat", "Rahel", "Tsega"),
        ("Yonas", "Dawit", "Tesfay", "Samuel", "Filmon", "Kidane"),
        ("Tesfamariam", "Gebremedhin", "Haile", "Berhane", "Woldu", "Kidane"),
        ("ti",),
    ),
    "pl": (
        ("Agnieszka", "Katarzyna", "Magdalena", "Joanna", "Ewa", "Monika"),
        ("Piotr", "Tomasz", "Marek", "Krzysztof", "Pawel", "Jakub"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski"),
        ("pl",),
    ),
    "bs": (
        ("Amra", "Lejla", "Selma", "Emina", "Jasmina", "Azra"),
        ("Emir", "Adnan", "Haris", "Edin", "Mirza", "Senad"),
        ("Hodžić", "Begić", "Delić", "Mehmedović", "Hadžić", "Kovačević"),
        ("bs",),
    ),
    "tr": (
        ("Ayşe", "Elif", "Zeynep", "Hatice", "Rojda", "Berivan"),
        ("Mehmet", "Mustafa", "Emre", "Murat", "Baran", "Serkan"),
        ("Yılmaz", "Demir", "Kaya", "Çelik", "Aydın", "Doğan", "Aslan"),
        ("tr", "ku"),
    ),
    "uk": (
        ("Olena", "Iryna", "Natalia", "Oksana", "Yulia", "Tetiana"),
        ("Oleksandr", "Andrii", "Dmytro", "Serhii", "Mykola", "Ivan"),
        ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Melnyk", "Kravchenko"),
        ("uk", "ru"),
    ),
}
ORIGIN_KEYS = tuple(ORIGINS)
# Origins of people born abroad (rough shares of recent arrivals), and of people born here.
ABROAD_P = np.array([0.0, 0.05, 0.3, 0.12, 0.14, 0.1, 0.07, 0.06, 0.08, 0.08])
DOMESTIC_P = np.array([0.8, 0.05, 0.05, 0.02, 0.02, 0.01, 0.01, 0.01, 0.02, 0.01])

# Place words for invented employer names.
AREA_WORDS = ("Norra", "Södra", "Östra", "Västra", "Centrala", "Hamnens", "Stationens",
              "Torgets", "Ängens", "Skogens", "Brons", "Åns", "Sjöns", "Parkens")


def pick_names(rng: np.random.Generator, origin: np.ndarray, woman: np.ndarray) -> list[str]:
    """A display name "First Surname" per person, from the lists of their origin."""
    n = len(origin)
    u1, u2 = rng.random(n), rng.random(n)
    out = []
    for i in range(n):
        women, men, surnames, _ = ORIGINS[ORIGIN_KEYS[origin[i]]]
        firsts = women if woman[i] else men
        out.append(f"{firsts[int(u1[i] * len(firsts))]} "
                   f"{surnames[int(u2[i] * len(surnames))]}")
    return out


def ascii_slug(text: str, sep: str = ".") -> str:
    """Lower-case ASCII for e-mail addresses: "Åsa Öberg" -> "asa.oberg"."""
    folded = unicodedata.normalize("NFKD", text.replace("ı", "i")).encode("ascii", "ignore")
    words = "".join(c if c.isalnum() else " " for c in folded.decode().lower()).split()
    return sep.join(words)
