"""recovery survey: what an invitation asks about

A recovery survey (survey kind ``recovery``) goes to a customer after a
follow-up task was resolved. It names the customer's concern (the ticket's
subject, or the date of their feedback) instead of a ticket: the invitation
keeps that text, so the reminder names it too. The survey kind itself is a
value of ``surveys.kind`` (a string column): no schema change for it.

Revision ID: 7c4e9a1d2b3f
Revises: b81f4c2e6d37
Create Date: 2026-12-02 15:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c4e9a1d2b3f'
down_revision = 'b81f4c2e6d37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concern', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('concern')
