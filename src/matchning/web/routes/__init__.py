"""The page routers, in the order they are mounted."""

from matchning.web.routes import (
    allocation,
    audit_log,
    auth,
    board,
    employer,
    fairness,
    home,
    participants,
    results,
    search,
    slots,
    suggestions,
    system_admin,
    unit_admin,
)

ROUTERS = (auth, home, search, participants, slots, employer, suggestions, board,
           unit_admin, system_admin, audit_log, fairness, results, allocation)
