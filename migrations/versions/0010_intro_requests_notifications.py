"""Hand-offs (issue 19 item 3): a party's request that a broker introduce a proposal's two sides
(请经纪人牵线对接) with the broker's answer, and per-user notifications

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 11:00:00

"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INTRO_STATES = ("requested", "accepted", "declined")
NOTIFICATION_KINDS = ("intro_requested", "intro_accepted", "intro_declined")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "intro_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("requested_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("state", INTRO_STATES), name=op.f("ck_intro_request_state")),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["user_account.id"],
            name=op.f("fk_intro_request_answered_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["match.id"],
            name=op.f("fk_intro_request_match_id_match"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_intro_request_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["user_account.id"],
            name=op.f("fk_intro_request_requested_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intro_request")),
        sa.UniqueConstraint("match_id", name=op.f("uq_intro_request_match_id")),
    )
    with op.batch_alter_table("intro_request") as batch_op:
        batch_op.create_index(batch_op.f("ix_intro_request_state"), ["state"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("kind", NOTIFICATION_KINDS), name=op.f("ck_notification_kind")),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["match.id"],
            name=op.f("fk_notification_match_id_match"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index("ix_notification_user_unread", ["user_id", "read_at"], unique=False)


def downgrade():
    with op.batch_alter_table("notification") as batch_op:
        batch_op.drop_index("ix_notification_user_unread")
        batch_op.drop_index(batch_op.f("ix_notification_created_at"))
    op.drop_table("notification")
    with op.batch_alter_table("intro_request") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intro_request_state"))
    op.drop_table("intro_request")
