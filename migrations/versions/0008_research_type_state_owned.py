"""到期即转 scope (issue 18 item 9): an outcome's research type (基础研究 / 应用技术 / 其他) and a
state-owned flag on organisations (国有企业)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RESEARCH_TYPES = ("basic", "applied", "other")


def upgrade():
    # Existing outcomes keep research_type NULL: one with patents counts as 应用技术 until its
    # owner says otherwise (models.listings.Outcome.effective_research_type).
    listed = ", ".join(repr(code) for code in RESEARCH_TYPES)
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.add_column(sa.Column("research_type", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_outcome_research_type"),
            f"research_type IS NULL OR research_type IN ({listed})",
        )
    with op.batch_alter_table("organization") as batch_op:
        batch_op.add_column(
            sa.Column("state_owned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("organization") as batch_op:
        batch_op.drop_column("state_owned")
    with op.batch_alter_table("outcome") as batch_op:
        batch_op.drop_constraint(op.f("ck_outcome_research_type"), type_="check")
        batch_op.drop_column("research_type")
