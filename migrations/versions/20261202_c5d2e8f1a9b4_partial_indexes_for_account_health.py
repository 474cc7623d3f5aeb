"""partial indexes for account health at scale

Account health reads each contact's latest NPS and latest CSAT answer and the
comments of the last 90 days. With millions of answers, most of them NPS only
and without a comment, the plain (contact_id, created_at) and (created_at)
indexes make those reads walk past every answer that has no such value; these
partial indexes hold only the answers that have one.

Revision ID: c5d2e8f1a9b4
Revises: 7c4e9a1d2b3f
Create Date: 2026-12-02 17:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d2e8f1a9b4'
down_revision = '7c4e9a1d2b3f'
branch_labels = None
depends_on = None

PARTIAL = (
    ("ix_responses_nps_score_contact_created", ["contact_id", "created_at"], "nps_score IS NOT NULL"),
    ("ix_responses_csat_score_contact_created", ["contact_id", "created_at"], "csat_score IS NOT NULL"),
    ("ix_responses_commented_created_at", ["created_at"], "comment IS NOT NULL"),
)


def upgrade():
    for name, columns, where in PARTIAL:
        op.create_index(name, "responses", columns, unique=False, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade():
    for name, _columns, _where in PARTIAL:
        op.drop_index(name, table_name="responses")
