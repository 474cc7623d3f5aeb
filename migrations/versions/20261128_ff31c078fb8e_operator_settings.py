"""operator settings

One row (id 1) of what admins set for the whole portal in the staff area:
the brand's company name, email sender name and address, logo (an address,
or an uploaded image kept in the row) and colour.
Empty text means "use the PORTAL_* configuration"; the row is created on the
first save, so an upgraded portal looks as before until an admin changes it.

Revision ID: ff31c078fb8e
Revises: f0428daf5e66
Create Date: 2026-11-28 08:12:49.171572

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ff31c078fb8e'
down_revision = 'f0428daf5e66'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operator_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('company_name', sa.String(length=120), server_default='', nullable=False),
    sa.Column('sender_name', sa.String(length=120), server_default='', nullable=False),
    sa.Column('sender_email', sa.String(length=254), server_default='', nullable=False),
    sa.Column('logo_url', sa.String(length=500), server_default='', nullable=False),
    sa.Column('brand_color', sa.String(length=7), server_default='', nullable=False),
    sa.Column('logo_image', sa.LargeBinary(), nullable=True),
    sa.Column('logo_type', sa.String(length=32), server_default='', nullable=False),
    sa.Column('logo_digest', sa.String(length=16), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff_users.id'], name=op.f('fk_operator_settings_updated_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_settings'))
    )


def downgrade():
    op.drop_table('operator_settings')
