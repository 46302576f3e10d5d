"""The Alembic migrations build exactly the schema the tables describe."""

from alembic import command

from matchning.storage.migrate import alembic_config


def test_models_and_migrations_agree(engine):
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises when autogenerate would find a difference
