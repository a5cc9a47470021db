"""A demand remembers how its last matching went (bands, best probability, rewording advice)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("demand") as batch_op:
        batch_op.add_column(sa.Column("match_summary", sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table("demand") as batch_op:
        batch_op.drop_column("match_summary")
