"""A unit's answer counts are one document on unit_result (question id -> counts), not a row
per question in question_result: they are only ever read whole, a measurement at a time, and
an import wrote ~260,000 rows with three foreign-key checks each

Revision ID: 5c1d7e2a9b40
Revises: f941ce1ba857
Create Date: 2026-12-03 04:00:00

"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1d7e2a9b40'
down_revision = 'f941ce1ba857'
branch_labels = None
depends_on = None


def _entry(counts, n, mean, dont_know):
    if counts:
        return {"counts": [int(c) for c in counts.split(",")], "dont_know": dont_know}
    return {"n": n, "mean": mean, "dont_know": dont_know}


def upgrade():
    with op.batch_alter_table('unit_result', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('question_counts', sa.JSON(), server_default='{}', nullable=False)
        )

    bind = op.get_bind()
    documents = defaultdict(dict)
    for measurement_id, unit_id, question_id, counts, n, mean, dont_know in bind.execute(
        sa.text(
            "SELECT measurement_id, unit_id, question_id, counts, n, mean, dont_know"
            " FROM question_result"
        )
    ):
        documents[(measurement_id, unit_id)][str(question_id)] = _entry(
            counts, n, mean, dont_know
        )
    if documents:
        unit_result = sa.table(
            'unit_result',
            sa.column('measurement_id', sa.Integer),
            sa.column('unit_id', sa.Integer),
            sa.column('question_counts', sa.JSON),
        )
        bind.execute(
            unit_result.update()
            .where(
                unit_result.c.measurement_id == sa.bindparam('m'),
                unit_result.c.unit_id == sa.bindparam('u'),
            )
            .values(question_counts=sa.bindparam('doc', type_=sa.JSON)),
            [{'m': m, 'u': u, 'doc': doc} for (m, u), doc in documents.items()],
        )
    op.drop_table('question_result')


def downgrade():
    question_result = op.create_table('question_result',
    sa.Column('measurement_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('counts', sa.String(length=120), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('dont_know', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measurement_id'], ['measurement.id'], name=op.f('fk_question_result_measurement_id_measurement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_question_result_question_id_question'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_question_result_unit_id_unit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('measurement_id', 'unit_id', 'question_id', name=op.f('pk_question_result'))
    )
    bind = op.get_bind()
    unit_result = sa.table(
        'unit_result',
        sa.column('measurement_id', sa.Integer),
        sa.column('unit_id', sa.Integer),
        sa.column('question_counts', sa.JSON),
    )
    known = {row[0] for row in bind.execute(sa.text("SELECT id FROM question"))}
    rows = []
    for measurement_id, unit_id, document in bind.execute(sa.select(unit_result)):
        for question_id, entry in (document or {}).items():
            if int(question_id) not in known:
                continue
            counts = entry.get("counts")
            if counts is not None:
                n = sum(counts)
                mean = sum(i * c for i, c in enumerate(counts, 1)) / n if n else None
                text = ",".join(map(str, counts))
            else:
                n, mean, text = entry["n"], entry["mean"], None
            rows.append({
                "measurement_id": measurement_id, "unit_id": unit_id,
                "question_id": int(question_id), "counts": text, "n": n, "mean": mean,
                "dont_know": entry["dont_know"],
            })
    if rows:
        op.bulk_insert(question_result, rows)
    with op.batch_alter_table('unit_result', schema=None) as batch_op:
        batch_op.drop_column('question_counts')
