"""Security drill (issue 20): a session generation on users, so logout and a new password end
every copy of a session; failed sign-ins counted per e-mail address for backoff

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:30:00

"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Sessions issued before this migration carry a bare user id and sign in again once.
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "login_throttle",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_login_throttle")),
    )


def downgrade():
    op.drop_table("login_throttle")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("session_generation")
