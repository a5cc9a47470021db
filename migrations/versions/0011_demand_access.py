"""分级保密 vetted → full (issue 19 item 4): an institution's request to see who posted a 脱敏
demand, with its confidentiality undertaking, and the owner's grant, refusal or revocation

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 11:30:00

"""

import sqlalchemy as sa
from alembic import op

import models.base  # noqa: F401  (custom column types)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STATES = ("requested", "granted", "refused", "revoked")


def upgrade():
    listed = ", ".join(repr(s) for s in STATES)
    op.create_table(
        "demand_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("nda_version", sa.String(length=20), nullable=False),
        sa.Column("nda_accepted_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"state IN ({listed})", name=op.f("ck_demand_access_state")),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demand.id"],
            name=op.f("fk_demand_access_demand_id_demand"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_demand_access_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["user_account.id"],
            name=op.f("fk_demand_access_requested_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["user_account.id"],
            name=op.f("fk_demand_access_decided_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_access")),
        sa.UniqueConstraint("demand_id", "organization_id", name="uq_demand_access_org"),
    )
    with op.batch_alter_table("demand_access") as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_access_demand_id"), ["demand_id"])
        batch_op.create_index(batch_op.f("ix_demand_access_organization_id"), ["organization_id"])
        batch_op.create_index(batch_op.f("ix_demand_access_state"), ["state"])


def downgrade():
    op.drop_table("demand_access")
