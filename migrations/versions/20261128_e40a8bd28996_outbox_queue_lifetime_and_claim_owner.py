"""outbox queue lifetime and claim owner

due_at: when a message first became due; the queue lifetime counts from it.
Existing messages that were never tried were due at their next attempt; for
the others, their creation is the best estimate.
claimed_by: which worker's claim holds a message that is sending;
claimed_until is indexed to find the claims of dead workers.

Revision ID: e40a8bd28996
Revises: 14af37688b2f
Create Date: 2026-11-28 04:01:25.254295

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e40a8bd28996'
down_revision = '14af37688b2f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))

    op.execute("UPDATE outbox_messages SET due_at = CASE WHEN attempts = 0 THEN next_attempt_at ELSE created_at END")

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('due_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_claimed_until'), ['claimed_until'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_claimed_until'))
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('due_at')
