"""Suggestions (förslag): open slots for a participant, the slots the rules removed, and
waiting participants for a slot. 503 while no trained model is active."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, errors
from matchning.api.schemas import CandidatesPublic, ExcludedPublic, RecommendationsPublic
from matchning.domain.records import Id
from matchning.services import recommendations
from matchning.services.recommendations import Filters

router = APIRouter(tags=["förslag"])

K = Annotated[int, Query(ge=1, le=100, description="Antal förslag")]


@router.get("/participants/{participant_id}/recommendations",
            response_model=RecommendationsPublic,
            responses=errors(404, 409))
def recommend(participant_id: Id, ctx: CtxDep, k: K = 10,
              kommun: str | None = Query(None, pattern=r"^\d{4}$",
                                         description="Bara platser i kommunen (kommunkod)"),
              occupation: str | None = Query(None, pattern=r"^\d{1,4}$",
                                             description="SSYK-kod eller början av en"),
              max_km: float | None = Query(None, gt=0, le=500,
                                           description="Högst så långt från hemmet (km)"),
              spread: bool = Query(False, description="Ordna efter poäng minus platsens "
                                   "trängselpris från enhetens transportplan (kräver "
                                   "förberäknade listor; 409 utan)"),
              ) -> RecommendationsPublic:
    """The best open slots with free places for the participant, best first, with reasons
    and how contested each slot is."""
    return RecommendationsPublic.of(recommendations.recommend(
        ctx, participant_id, k, Filters(kommun=kommun, occupation=occupation, max_km=max_km),
        spread=spread))


@router.get("/participants/{participant_id}/recommendations/excluded",
            response_model=ExcludedPublic, responses=BY_ID)
def excluded(participant_id: Id, ctx: CtxDep, paging: PagingDep) -> ExcludedPublic:
    """Open slots the hard rules removed for the participant, each with every rule broken."""
    found, total = recommendations.excluded(ctx, participant_id, paging.limit, paging.offset)
    return ExcludedPublic.of(found, total)


@router.get("/slots/{slot_id}/candidates", response_model=CandidatesPublic, responses=BY_ID)
def candidates(slot_id: Id, ctx: CtxDep, k: K = 10) -> CandidatesPublic:
    """The waiting participants of your unit who fit the slot best."""
    return CandidatesPublic.of(recommendations.candidates(ctx, slot_id, k))
