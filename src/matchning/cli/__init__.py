"""The `matchning` command line (Typer). Each command is its own unit of work."""

from __future__ import annotations

import typer
from threadpoolctl import threadpool_limits

from matchning.cli import (
    allocate_command,
    data_commands,
    evaluate_command,
    fairness_command,
    lifecycle_commands,
    model_commands,
    precompute_command,
    privacy_commands,
    report_commands,
    serve_commands,
    user_commands,
)

app = typer.Typer(help="matchning: rätt plats för rätt person.", no_args_is_help=True,
                  add_completion=False)
serve_commands.register(app)
data_commands.register(app)
model_commands.register(app)
evaluate_command.register(app)
lifecycle_commands.register(app)
precompute_command.register(app)
allocate_command.register(app)
fairness_command.register(app)
privacy_commands.register(app)
report_commands.register(app)
app.add_typer(user_commands.app, name="users", help="Enheter, användare, lösenord och tokens.")


def main() -> None:
    # One BLAS/OpenMP thread: on 2 cores more threads only fight (see DEVELOPERS notes).
    with threadpool_limits(limits=1):
        app()
