"""Expanded vectors are computed when matching, from the vector index: the stored copy goes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("listing_vector") as batch_op:
        batch_op.drop_column("expanded")


def downgrade():
    # Left empty on the way back: the code of revision 0004 refills the column as listings are
    # linked again (`flask --app market index neighbors`).
    with op.batch_alter_table("listing_vector") as batch_op:
        batch_op.add_column(sa.Column("expanded", sa.LargeBinary(), nullable=True))
