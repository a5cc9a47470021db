"""Lawful term sheets (issue 18): a 公示 publishes its make-up, window reckoning and objection
office; an outcome records a 赋权 long-term use right

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:00:00

"""

import sqlalchemy as sa
from alembic import op

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


def downgrade():
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.drop_column("use_right_years")
    with op.batch_alter_table("notice") as batch_op:
        batch_op.drop_column("details")
