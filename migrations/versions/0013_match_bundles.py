"""组合方案 (issue 19 item 8): two or three outcomes of one organisation proposed together for a
demand when together they meet more of its indicators than any single proposed outcome

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:00:00

"""

import sqlalchemy as sa
from alembic import op

import models.base  # noqa: F401  (custom column types)

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STAGES = ("proposed", "accepted", "rejected")


def upgrade():
    listed = ", ".join(repr(s) for s in STAGES)
    op.create_table(
        "match_bundle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("outcome_ids", sa.JSON(), nullable=False),
        sa.Column("match_ids", sa.JSON(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("indicator_count", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("best_single", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("broker_id", sa.Integer(), nullable=True),
        sa.Column("rejection_reason", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"stage IN ({listed})", name=op.f("ck_match_bundle_stage")),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demand.id"],
            name=op.f("fk_match_bundle_demand_id_demand"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_match_bundle_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["broker_id"],
            ["user_account.id"],
            name=op.f("fk_match_bundle_broker_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_bundle")),
        sa.UniqueConstraint("demand_id", "key", name="uq_match_bundle_members"),
    )
    with op.batch_alter_table("match_bundle") as batch_op:
        batch_op.create_index(batch_op.f("ix_match_bundle_demand_id"), ["demand_id"])
        batch_op.create_index(batch_op.f("ix_match_bundle_organization_id"), ["organization_id"])
        batch_op.create_index(batch_op.f("ix_match_bundle_score"), ["score"])
        batch_op.create_index(batch_op.f("ix_match_bundle_stage"), ["stage"])


def downgrade():
    op.drop_table("match_bundle")
