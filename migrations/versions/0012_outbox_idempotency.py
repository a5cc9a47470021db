"""Recovery (issue 20): a transactional outbox for tasks, API idempotency keys, and when each
listing's proposals were last computed (so reconcile can repair lost match tasks)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import models.base  # noqa: F401  (custom column types)

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_task")),
    )
    with op.batch_alter_table("outbox_task") as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_task_created_at"), ["created_at"])
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_idempotency_key_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
    )
    with op.batch_alter_table("idempotency_key") as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_key_created_at"), ["created_at"])
    for table in ("demand", "outcome"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("proposed_at", models.base.UTCDateTime(timezone=True), nullable=True)
            )
        # Listings indexed before this column existed were matched when they were indexed;
        # without this, the first reconcile would recompute every proposal of the catalogue.
        op.execute(f"UPDATE {table} SET proposed_at = indexed_at WHERE indexed_at IS NOT NULL")


def downgrade():
    for table in ("outcome", "demand"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("proposed_at")
    op.drop_table("idempotency_key")
    op.drop_table("outbox_task")
