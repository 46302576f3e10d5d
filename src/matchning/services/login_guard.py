"""Slows down password guessing: failed logins are counted per e-mail address and per client
address in a moving window (the `limits` library); past the limit, logins are refused for a
while even with the right password. No HTTP here: surfaces pass the keys as strings."""

from __future__ import annotations

from limits import parse, storage, strategies

from matchning.config import Settings
from matchning.errors import TooManyAttempts


class LoginGuard:
    def __init__(self, settings: Settings) -> None:
        self.limit = parse(settings.login_rate_limit)
        # memory:// counts per process; with several workers use a shared store (redis://).
        self.limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage_uri))

    @staticmethod
    def _keys(email: str, client: str | None) -> list[str]:
        return [f"email:{email.strip().lower()}", f"client:{client or '-'}"]

    def check(self, email: str, client: str | None) -> None:
        """TooManyAttempts when this e-mail or this client has failed too often lately."""
        if not all(self.limiter.test(self.limit, key) for key in self._keys(email, client)):
            raise TooManyAttempts()

    def failed(self, email: str, client: str | None) -> None:
        for key in self._keys(email, client):
            self.limiter.hit(self.limit, key)

    def succeeded(self, email: str) -> None:
        self.limiter.clear(self.limit, self._keys(email, None)[0])
