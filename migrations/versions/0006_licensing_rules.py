"""Lawful term sheets (issue 18): a 公示 publishes its make-up, window reckoning and objection
office; an outcome records a 赋权 long-term use right; a broker reviews a 到期即转 refusal

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:00:00

"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # Notices published before this revision keep details NULL: their pages show what they had.
    with op.batch_alter_table("notice") as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.add_column(sa.Column("use_right_years", sa.Integer(), nullable=True))
    with op.batch_alter_table("use_first_review") as batch_op:
        batch_op.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("reviewed_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("use_first_review") as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review_note")
        batch_op.drop_column("review_state")
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.drop_column("use_right_years")
    with op.batch_alter_table("notice") as batch_op:
        batch_op.drop_column("details")
