"""One zero-tolerance alert per unit and measurement (issue 18): the questions with hits move
to zero_tolerance_alert_question, the alert gets a follow-up date and why it was closed
(closed_reason: "" open, "reacted", "unit_gone"). Existing per-question alerts of a unit and
measurement are merged into one: the earliest opened and due dates, every reaction text kept;
it is closed only if every merged alert was.

Revision ID: 2b4adce6e712
Revises: e7b0410d7f47
Create Date: 2026-12-02 15:22:09.983459

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2b4adce6e712'
down_revision = 'e7b0410d7f47'
branch_labels = None
depends_on = None


alert = sa.table(
    'zero_tolerance_alert',
    sa.column('id', sa.Integer), sa.column('measurement_id', sa.Integer),
    sa.column('unit_id', sa.Integer), sa.column('question_id', sa.Integer),
    sa.column('opened_on', sa.Date), sa.column('due_on', sa.Date),
    sa.column('reaction', sa.Text), sa.column('reaction_on', sa.Date),
    sa.column('involved', sa.Text), sa.column('reacted_by_id', sa.Integer),
    sa.column('closed_at', sa.DateTime(timezone=True)),
    sa.column('closed_reason', sa.String(20)),
)
alert_question = sa.table(
    'zero_tolerance_alert_question',
    sa.column('alert_id', sa.Integer), sa.column('question_id', sa.Integer),
)


def _joined(texts):
    """Distinct non-empty texts in their order, one paragraph each."""
    seen = []
    for text in texts:
        text = (text or '').strip()
        if text and text not in seen:
            seen.append(text)
    return '\n\n'.join(seen)


def upgrade():
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_on', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column('closed_reason', sa.String(length=20), nullable=False, server_default='')
        )
    op.create_table('zero_tolerance_alert_question',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['zero_tolerance_alert.id'], name=op.f('fk_zero_tolerance_alert_question_alert_id_zero_tolerance_alert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_zero_tolerance_alert_question_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alert_id', 'question_id', name=op.f('pk_zero_tolerance_alert_question'))
    )
    with op.batch_alter_table('zero_tolerance_alert_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zero_tolerance_alert_question_question_id'), ['question_id'], unique=False)

    # Merge the per-question alerts of a unit and measurement into the one with the lowest id.
    connection = op.get_bind()
    rows = connection.execute(sa.select(alert).order_by(alert.c.id)).mappings().all()
    groups = {}
    for row in rows:
        groups.setdefault((row['measurement_id'], row['unit_id']), []).append(row)
    links = []
    for group in groups.values():
        keeper = group[0]
        closed = [r for r in group if r['closed_at'] is not None]
        all_closed = len(closed) == len(group)
        latest = max(closed, key=lambda r: r['closed_at']) if closed else None
        connection.execute(
            alert.update().where(alert.c.id == keeper['id']).values(
                opened_on=min(r['opened_on'] for r in group),
                due_on=min(r['due_on'] for r in group),
                reaction=_joined(r['reaction'] for r in group),
                involved=_joined(r['involved'] for r in group),
                reaction_on=max(r['reaction_on'] for r in closed if r['reaction_on'])
                if all_closed and any(r['reaction_on'] for r in closed) else None,
                reacted_by_id=latest['reacted_by_id'] if all_closed and latest else None,
                closed_at=latest['closed_at'] if all_closed and latest else None,
                closed_reason='reacted' if all_closed else '',
            )
        )
        others = [r['id'] for r in group[1:]]
        if others:
            connection.execute(alert.delete().where(alert.c.id.in_(others)))
        links.extend(
            {'alert_id': keeper['id'], 'question_id': q}
            for q in sorted({r['question_id'] for r in group})
        )

    # Rebuilding the table (SQLite) while zero_tolerance_alert_question is still empty: with
    # foreign keys on, dropping the old table would cascade into the links.
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.alter_column('closed_reason', server_default=None)
        batch_op.drop_constraint(batch_op.f('uq_zero_tolerance_alert_measurement_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_zero_tolerance_alert_measurement_id'), ['measurement_id', 'unit_id'])
        batch_op.drop_constraint(batch_op.f('fk_zero_tolerance_alert_question_id_question'), type_='foreignkey')
        batch_op.drop_column('question_id')
    if links:
        op.bulk_insert(alert_question, links)


def downgrade():
    # One alert per question again: the first question stays with the alert, every further
    # question gets a copy of it. The links are read first: rebuilding the alert table
    # (SQLite) with foreign keys on would cascade into them.
    connection = op.get_bind()
    questions = {}
    for alert_id, question_id in connection.execute(
        sa.select(alert_question.c.alert_id, alert_question.c.question_id).order_by(
            alert_question.c.alert_id, alert_question.c.question_id
        )
    ):
        questions.setdefault(alert_id, []).append(question_id)
    op.execute(alert_question.delete())
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question_id', sa.INTEGER(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_zero_tolerance_alert_measurement_id'), type_='unique')
    copied = [c for c in alert.c if c.name not in ('id', 'question_id', 'closed_reason')]
    for row in connection.execute(sa.select(alert)).mappings().all():
        linked = questions.get(row['id'], [])
        if not linked:
            connection.execute(alert.delete().where(alert.c.id == row['id']))
            continue
        connection.execute(
            alert.update().where(alert.c.id == row['id']).values(question_id=linked[0])
        )
        for question_id in linked[1:]:
            connection.execute(
                alert.insert().values(
                    question_id=question_id, closed_reason='',
                    **{c.name: row[c.name] for c in copied},
                )
            )
    with op.batch_alter_table('zero_tolerance_alert', schema=None) as batch_op:
        batch_op.alter_column('question_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_zero_tolerance_alert_question_id_question'), 'question', ['question_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(batch_op.f('uq_zero_tolerance_alert_measurement_id'), ['measurement_id', 'unit_id', 'question_id'])
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('follow_up_on')

    with op.batch_alter_table('zero_tolerance_alert_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zero_tolerance_alert_question_question_id'))

    op.drop_table('zero_tolerance_alert_question')
