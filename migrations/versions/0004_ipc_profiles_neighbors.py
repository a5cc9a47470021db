"""IPC profiles of listings; nearest-neighbour lists and expanded vectors of stored vectors

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("demand") as batch_op:
        batch_op.add_column(sa.Column("ipc_profile", sa.JSON(), nullable=True))
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.add_column(sa.Column("ipc_profile", sa.JSON(), nullable=True))
    with op.batch_alter_table("listing_vector") as batch_op:
        batch_op.add_column(sa.Column("neighbors", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("expanded", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("listing_vector") as batch_op:
        batch_op.drop_column("expanded")
        batch_op.drop_column("neighbors")
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.drop_column("ipc_profile")
    with op.batch_alter_table("demand") as batch_op:
        batch_op.drop_column("ipc_profile")
