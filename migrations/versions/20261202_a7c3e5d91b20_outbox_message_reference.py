"""outbox message reference

reference: what a message is about in the words of the package that queued it
("followup_task:42"), so that package replaces or cancels it by that name and
never by matching bodies; indexed for those lookups. Messages queued before
have none. The status "cancelled" needs no schema change.

Revision ID: a7c3e5d91b20
Revises: ff31c078fb8e
Create Date: 2026-12-02 15:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e5d91b20'
down_revision = 'ff31c078fb8e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_reference'), ['reference'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_reference'))
        batch_op.drop_column('reference')
