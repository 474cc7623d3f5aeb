"""follow-up region owners and waiting until

followup_region_owners: the colleague who gets a region's tasks when the
account has no active manager (edited by admins on the rules page).
followup_tasks.waiting_until: the day a waiting task is due again.

Revision ID: b81f4c2e6d37
Revises: a7c3e5d91b20
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b81f4c2e6d37'
down_revision = 'a7c3e5d91b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'followup_region_owners',
        sa.Column('region', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_followup_region_owners_user_id_staff_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('region', name=op.f('pk_followup_region_owners')),
    )
    with op.batch_alter_table('followup_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_until', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('followup_tasks', schema=None) as batch_op:
        batch_op.drop_column('waiting_until')
    op.drop_table('followup_region_owners')
