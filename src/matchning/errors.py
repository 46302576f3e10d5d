"""One error hierarchy for the whole service. No HTTP here: each surface maps these itself.

Messages are Swedish because consultants read them; `code` is a stable machine-readable key.
"""

from __future__ import annotations

from typing import Any


class MatchningError(Exception):
    code = "error"
    default_message = "Något gick fel."

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None):
        self.message = message or self.default_message
        self.details = details or []
        super().__init__(self.message)


class NotFound(MatchningError):
    code = "not_found"
    default_message = "Det du söker finns inte."


class Unauthenticated(MatchningError):
    code = "unauthenticated"
    default_message = "Du behöver logga in (giltig token saknas eller har gått ut)."


class Forbidden(MatchningError):
    code = "forbidden"
    default_message = "Du har inte behörighet att göra detta."


class InvalidInput(MatchningError):
    code = "invalid_input"
    default_message = "Uppgifterna är inte giltiga."


class Conflict(MatchningError):
    code = "conflict"
    default_message = "Åtgärden krockar med hur det ser ut just nu."


class IllegalTransition(Conflict):
    code = "illegal_transition"


class NoCapacity(Conflict):
    code = "no_capacity"
    default_message = "Praktikplatsen har inga lediga platser kvar."


class RetrainRunning(Conflict):
    code = "retrain_running"
    default_message = "En omträning pågår redan; vänta tills den är klar."


class InsufficientData(Conflict):
    code = "insufficient_data"
    default_message = ("Historiken räcker inte för att träna en modell: det behövs minst 20 "
                       "avslutade placeringar, både lyckade och misslyckade.")


class TooManyAttempts(MatchningError):
    code = "too_many_attempts"
    default_message = ("För många misslyckade inloggningsförsök. Vänta några minuter och "
                       "försök igen.")


class ServiceUnavailable(MatchningError):
    code = "unavailable"
    default_message = "Tjänsten är inte tillgänglig just nu. Försök igen om en stund."


class ModelUnavailable(ServiceUnavailable):
    """No trained model is active, or its files are missing, damaged or from other library
    versions."""

    code = "model_unavailable"
    default_message = ("Det finns ingen tränad matchningsmodell ännu. Be en systemadministratör "
                       "köra `matchning train`.")


def field_error(field: str, message: str, **extra: Any) -> dict[str, Any]:
    """One entry of `details`: which field and why, in Swedish."""
    return {"field": field, "message": message, **extra}
