"""The hidden truth: how likely a participant is to complete a placement on a slot.

The success logit mixes what a model can learn from the database (occupation fit, skills,
distance, support, language, hours, hard constraints) with what it cannot see: a quality per
employer that is never stored, and noise per pair. Two variants weigh them differently so an
evaluation can show that a model did not just learn one generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from matchning.demo.config import SAME_KOMMUN_KM
from matchning.demo.employers import Employers
from matchning.demo.people import ACCESS, NO_LIFT, REDUCED, Participants
from matchning.demo.places import Geography, pair_distance
from matchning.demo.sampling import pair_normal
from matchning.demo.slots import Slots


@dataclass(frozen=True)
class HiddenWeights:
    intercept: float
    occupation: float       # per unit of SSYK agreement (1 = same 4 digits)
    skills: float           # per unit of skill cover (centred at 0.5)
    distance: float         # per 10 km beyond the participant's max commute
    distance_share: float   # per unit of distance / max commute
    support: float          # supervisor offered when needed (+) or missing (-)
    language: float         # per SFI step below the slot's requirement
    hours: float            # per 10 h/week the slot asks beyond the participant's maximum
    constraint: float       # per broken hard constraint (heavy lifting, access, licence)
    quality: float          # hidden employer quality (standard normal)
    noise: float            # sd of the hidden pair noise
    withdraw: float         # P(consultant withdraws the proposal)
    decline_base: float     # employer declines: sigmoid(decline_base - decline_slope * logit)
    decline_slope: float
    job_base: float         # after completion, P(work or studies) logit
    job_lead: float         # slot may lead to a job
    job_quality: float
    job_fit: float


WEIGHTS = {
    "default": HiddenWeights(
        intercept=0.35, occupation=1.6, skills=1.4, distance=0.8, distance_share=0.35,
        support=0.6, language=0.7, hours=0.5, constraint=1.5, quality=0.6, noise=0.5,
        withdraw=0.05, decline_base=-1.6, decline_slope=0.6,
        job_base=-1.9, job_lead=1.0, job_quality=0.4, job_fit=0.5),
    # Distance and employer quality matter much more, skills and occupation less.
    "alt": HiddenWeights(
        intercept=0.6, occupation=0.7, skills=0.2, distance=2.2, distance_share=1.2,
        support=0.3, language=1.0, hours=0.9, constraint=1.5, quality=1.4, noise=0.5,
        withdraw=0.05, decline_base=-1.6, decline_slope=0.6,
        job_base=-1.9, job_lead=0.6, job_quality=0.9, job_fit=0.2),
}


def weights_dict(variant: str) -> dict[str, float]:
    return asdict(WEIGHTS[variant])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fit_table(code_int: np.ndarray) -> np.ndarray:
    """SSYK agreement between occupations a (rows) and b (columns): same 4 digits 1.0,
    3 digits 0.55, 2 digits 0.3, 1 digit 0.1. An extra last row of zeros serves the -1
    padding of code lists (index -1 is the last row)."""
    a, b = code_int[:, None], code_int[None, :]
    level = np.select([a == b, a // 10 == b // 10, a // 100 == b // 100,
                       a // 1000 == b // 1000], [1.0, 0.55, 0.3, 0.1], 0.0)
    return np.vstack([level, np.zeros((1, len(code_int)))])


def occupation_fit(table: np.ndarray, slot_occ: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Best agreement of each slot's occupation with any of `codes` (n, k; -1 padded)."""
    return table[codes, slot_occ[:, None]].max(axis=1)


def skill_cover(p_skills: np.ndarray, req: np.ndarray, nice: np.ndarray) -> np.ndarray:
    """Share of the slot's skills the participant has (nice-to-have count half); 0.5 when the
    slot lists none."""
    have_req = ((req[:, :, None] == p_skills[:, None, :]) & (req[:, :, None] >= 0)).any(2)
    have_nice = ((nice[:, :, None] == p_skills[:, None, :]) & (nice[:, :, None] >= 0)).any(2)
    denom = (req >= 0).sum(1) + 0.5 * (nice >= 0).sum(1)
    num = have_req.sum(1) + 0.5 * have_nice.sum(1)
    return np.where(denom > 0, num / np.maximum(denom, 1e-9), 0.5)


@dataclass
class PairFeatures:
    occupation: np.ndarray
    wished4: np.ndarray      # same 4 digits as a wished occupation (what consultants look at)
    wished3: np.ndarray
    distance: np.ndarray
    over_commute: np.ndarray
    support: np.ndarray
    language_gap: np.ndarray
    hours_gap: np.ndarray
    constraints: np.ndarray


def pair_features(geo: Geography, fit: np.ndarray, p: Participants, s: Slots,
                  pi: np.ndarray, si: np.ndarray) -> PairFeatures:
    """Everything about the pairs (pi[k], si[k]) that the database shows; `fit` is the
    occupation table of `fit_table`."""
    slot_occ = s.occ[si]
    wished = p.wished[pi]
    wish_fit = occupation_fit(fit, slot_occ, wished)
    past_fit = occupation_fit(fit, slot_occ, p.past[pi])
    past_years = p.past_years[pi].max(1)
    occupation = np.maximum(wish_fit, past_fit * np.minimum(1.0, 0.5 + 0.1 * past_years))
    dist = pair_distance(geo, p.kommun[pi], p.lat[pi], p.lon[pi], s.kommun[si], s.lat[si],
                         s.lon[si], SAME_KOMMUN_KM)
    commute = p.commute[pi]
    needs, offers = p.needs_supervisor[pi], s.supervisor[si]
    support = np.where(needs, np.where(offers, 1.0, -1.0), np.where(offers, 0.2, 0.0))
    req = s.swedish[si]
    language_gap = np.where(req >= 0, np.maximum(0, req - np.minimum(p.swedish[pi], 4)), 0)
    hours = s.hours[si]
    max_hours = p.max_hours[pi]
    hours_gap = np.nan_to_num(np.maximum(0.0, hours - max_hours), nan=0.0) / 10.0
    adapt = p.adaptations[pi]
    constraints = (((adapt & NO_LIFT) > 0) & (s.demand[si] == 2)).astype(np.int64)
    constraints += ((adapt & ACCESS) > 0) & ~s.accessible[si]
    constraints += (s.licence[si] & ~p.licence[pi]) != 0
    constraints += ((adapt & REDUCED) > 0) & (np.nan_to_num(hours, nan=0.0) > 30)
    return PairFeatures(
        occupation=occupation,
        wished4=wish_fit >= 1.0,
        wished3=wish_fit >= 0.55,
        distance=dist, over_commute=np.maximum(0.0, dist - commute) / 10.0,
        support=support, language_gap=language_gap.astype(float), hours_gap=hours_gap,
        constraints=constraints,
    )


def true_logit(w: HiddenWeights, f: PairFeatures, cover: np.ndarray, commute: np.ndarray,
               quality: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return (w.intercept + w.occupation * f.occupation + w.skills * (cover - 0.5)
            - w.distance * f.over_commute
            - w.distance_share * f.distance / np.maximum(commute, 5.0)
            + w.support * f.support - w.language * f.language_gap - w.hours * f.hours_gap
            - w.constraint * f.constraints + w.quality * quality + w.noise * noise)


@dataclass
class Truth:
    logit: np.ndarray
    p_complete: np.ndarray   # P(proposal ends completed)
    p_decline: np.ndarray    # P(employer declines | not withdrawn)
    p_finish: np.ndarray     # P(completed | started)
    occupation: np.ndarray


def truth_for_pairs(w: HiddenWeights, geo: Geography, fit: np.ndarray,
                    p: Participants, s: Slots, e: Employers, pi: np.ndarray, si: np.ndarray,
                    seed: int) -> Truth:
    """The true probabilities for the pairs; a pure function of the pair and the world."""
    f = pair_features(geo, fit, p, s, pi, si)
    cover = skill_cover(p.skills[pi], s.required[si], s.nice[si])
    quality = e.quality[s.employer[si]]
    noise = pair_normal(pi + 1, si + 1, seed)
    logit = true_logit(w, f, cover, p.commute[pi], quality, noise)
    p_decline = sigmoid(w.decline_base - w.decline_slope * logit)
    p_finish = sigmoid(logit)
    p_complete = (1.0 - w.withdraw) * (1.0 - p_decline) * p_finish
    return Truth(logit, p_complete, p_decline, p_finish, f.occupation)


def p_work_or_studies(w: HiddenWeights, s: Slots, e: Employers, si: np.ndarray,
                      occupation: np.ndarray) -> np.ndarray:
    """After a completed placement: P(the participant goes on to work or studies)."""
    x = (w.job_base + w.job_lead * s.may_lead[si] + w.job_quality * e.quality[s.employer[si]]
         + w.job_fit * occupation)
    return sigmoid(x)
