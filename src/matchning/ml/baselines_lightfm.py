"""Learned peer baseline: a LightFM hybrid model over participant and slot feature tokens.

Users and slots are represented by the sum of their token embeddings (plus an identity
embedding, as LightFM does by default), so participants and slots never seen in training
are scored from their features alone (cold start). lightfm is imported lazily: it is an
optional dependency that needs a patched build (scripts/install-lightfm.sh).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["LightFMHybrid", "profile_tokens", "slot_tokens"]

INSTALL_HINT = ("lightfm is not installed. Install it with `scripts/install-lightfm.sh "
                "[path/to/python]` (its sdist needs a patched setup.py to build).")


def _dedupe(tokens: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tokens))


def _code_tokens(prefix: str, code: Any) -> list[str]:
    """SSYK code and its 3- and 2-digit groups, so related occupations share signal."""
    if code is None or str(code).strip() == "":
        return []
    code = str(code).strip()
    tokens = [f"{prefix}:{code}"]
    tokens += [f"{prefix}{n}:{code[:n]}" for n in (3, 2) if len(code) > n]
    return tokens


def _skill_tokens(skills: Iterable[Any] | None) -> list[str]:
    cleaned = (str(s).strip().lower() for s in skills or [])
    return [f"skill:{s}" for s in cleaned if s]


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def profile_tokens(profile: Mapping) -> list[str]:
    """Feature tokens of a participant profile (wishes, past work, skills, place, language)."""
    tokens: list[str] = []
    for code in profile.get("wished_occupations") or []:
        tokens += _code_tokens("wish", code)
    for job in profile.get("past_work") or []:
        if _present(job.get("code")):
            tokens.append(f"past:{str(job['code']).strip()}")
    tokens += _skill_tokens(profile.get("skills"))
    if _present(profile.get("kommunkod")):
        tokens.append(f"kommun:{profile['kommunkod']}")
    if _present(profile.get("swedish_level")):
        tokens.append(f"sv:{profile['swedish_level']}")
    if profile.get("needs_supervisor"):
        tokens.append("needs_sup")
    return _dedupe(tokens)


def slot_tokens(slot: Mapping) -> list[str]:
    """Feature tokens of a work-practice slot (occupation, skills, place, employer, demands)."""
    tokens = _code_tokens("occ", slot.get("occupation_code"))
    tokens += _skill_tokens(slot.get("required_skills"))
    tokens += _skill_tokens(slot.get("nice_skills"))
    if _present(slot.get("kommunkod")):
        tokens.append(f"kommun:{slot['kommunkod']}")
    if _present(slot.get("employer_id")):
        tokens.append(f"employer:{slot['employer_id']}")
    if slot.get("supervisor"):
        tokens.append("sup")
    if _present(slot.get("physical_demand")):
        tokens.append(f"demand:{slot['physical_demand']}")
    return _dedupe(tokens)


class LightFMHybrid:
    """LightFM with user and item features; fit on training-window positives only."""

    def __init__(self, no_components: int = 32, loss: str = "warp", epochs: int = 30,
                 learning_rate: float = 0.05, item_alpha: float = 1e-6,
                 user_alpha: float = 1e-6, random_state: int = 0) -> None:
        self.no_components = no_components
        self.loss = loss
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.random_state = random_state
        self.model_: Any = None

    def fit(self, interactions: Sequence[tuple[Hashable, int, float]],
            user_tokens: Mapping[Hashable, list[str]],
            item_tokens: Mapping[int, list[str]]) -> LightFMHybrid:
        try:
            from lightfm import LightFM
            from lightfm.data import Dataset
        except ImportError as exc:
            raise ImportError(INSTALL_HINT) from exc

        # Repeated (user, slot) pairs are summed: one entry per pair keeps the COO
        # interactions and weights matrices aligned without duplicate coordinates.
        summed: dict[tuple[Hashable, int], float] = defaultdict(float)
        for user, slot, weight in interactions:
            if not weight > 0:
                raise ValueError(f"interaction weights must be > 0, got {weight!r} for "
                                 f"({user!r}, {slot!r})")
            summed[(user, slot)] += float(weight)
        if not summed:
            raise ValueError("no interactions to fit on")

        # Users/slots seen only in interactions still get an identity feature.
        users = list(dict.fromkeys([*user_tokens, *(u for u, _ in summed)]))
        items = list(dict.fromkeys([*item_tokens, *(s for _, s in summed)]))
        dataset = Dataset()  # identity features on, as LightFM's default
        dataset.fit(users, items,
                    user_features={t for toks in user_tokens.values() for t in toks},
                    item_features={t for toks in item_tokens.values() for t in toks})
        matrix, weights = dataset.build_interactions(
            (u, s, w) for (u, s), w in summed.items())
        self.user_features_ = dataset.build_user_features(
            ((u, list(user_tokens.get(u, []))) for u in users), normalize=True).tocsr()
        self.item_features_ = dataset.build_item_features(
            ((s, list(item_tokens.get(s, []))) for s in items), normalize=True).tocsr()
        self.user_index_, _, self.item_index_, _ = dataset.mapping()

        model = LightFM(no_components=self.no_components, loss=self.loss,
                        learning_rate=self.learning_rate, item_alpha=self.item_alpha,
                        user_alpha=self.user_alpha, random_state=self.random_state)
        model.fit(matrix, sample_weight=weights, user_features=self.user_features_,
                  item_features=self.item_features_, epochs=self.epochs, num_threads=1)
        self.model_ = model
        return self

    def score(self, user_key: Hashable, slot_ids: Sequence[int]) -> np.ndarray:
        """Scores of the given slots for one user (higher is better), in slot_ids order."""
        if self.model_ is None:
            raise RuntimeError("LightFMHybrid.score called before fit")
        if user_key not in self.user_index_:
            raise KeyError(f"unknown user {user_key!r}: pass its tokens to fit (user_tokens)")
        missing = [s for s in slot_ids if s not in self.item_index_]
        if missing:
            raise KeyError(f"unknown slot ids {missing[:10]!r}"
                           f"{' …' if len(missing) > 10 else ''}: pass their tokens to fit "
                           "(item_tokens)")
        if len(slot_ids) == 0:
            return np.zeros(0, dtype=float)
        items = np.array([self.item_index_[s] for s in slot_ids], dtype=np.int32)
        users = np.full(items.size, self.user_index_[user_key], dtype=np.int32)
        scores = self.model_.predict(users, items, item_features=self.item_features_,
                                     user_features=self.user_features_, num_threads=1)
        return np.asarray(scores, dtype=float)
