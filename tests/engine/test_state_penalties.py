"""Failed-integration policy: the seed's section 3 as properties with an injected clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pazar.commerce.synthetic import T0, make_channel
from pazar.errors import ConfigError
from pazar.models.state import FailedIntegration
from pazar.pipeline import Item
from pazar.state.outcomes import Failure, penalize
from pazar.state.penalties import (
    DEFAULT_POLICY,
    PenaltyState,
    Policy,
    is_due,
    is_exhausted,
    may_retry,
    next_failure,
    policy_for,
    sent_to_remote_hours,
    sql_is_due,
    sql_is_exhausted,
)

policies = st.builds(
    Policy,
    retry_interval=st.integers(0, 200_000),
    expiration_seconds=st.one_of(st.none(), st.integers(0, 400_000)),
    max_retry_count=st.integers(0, 6),
)
gaps = st.lists(st.integers(0, 300_000), min_size=1, max_size=8)


def test_policy_is_read_per_content_type_with_default_fallback():
    config = {
        "failed_integration": {
            "DEFAULT": {"RETRY_INTERVAL": 100, "EXPIRATION_DATE": 1000, "MAX_RETRY_COUNT": 2},
            "productstock": {"RETRY_INTERVAL": 5, "MAX_RETRY_COUNT": 9},
        }
    }
    assert policy_for(config, "productstock") == Policy(5, 1000, 9)
    assert policy_for(config, "order") == Policy(100, 1000, 2)
    assert policy_for({}, "order") == DEFAULT_POLICY == Policy(28800, 57601, 3)
    seed_spelling = {
        "FAILED_INTEGRATION": {
            "product": {"RETRY_INTERVAL": 1, "EXPIRATION_DATE": None, "MAX_RETRY_COUNT": 1}
        }
    }
    assert policy_for(seed_spelling, "product") == Policy(1, None, 1)


def test_bad_policy_values_name_the_key():
    with pytest.raises(ConfigError, match=r"failed_integration\.product\.MAX_RETRY_COUNT"):
        policy_for({"failed_integration": {"product": {"MAX_RETRY_COUNT": "three"}}}, "product")
    with pytest.raises(ConfigError, match="EXPIRATION_HOUR"):
        sent_to_remote_hours({"failed_integration": {"sent_to_remote": {"EXPIRATION_HOUR": 0}}})
    assert sent_to_remote_hours({}) == 1.0
    assert (
        sent_to_remote_hours({"failed_integration": {"sent_to_remote": {"EXPIRATION_HOUR": 2.5}}})
        == 2.5
    )


@given(policy=policies, gaps=gaps, probe=st.integers(0, 800_000))
def test_retry_condition_follows_the_seed(policy, gaps, probe):
    """After k failures: retried only while k < MAX_RETRY_COUNT and before first failure +
    EXPIRATION_DATE, and never before the retry interval has passed."""
    now = T0
    state = None
    due_at = None
    for gap in gaps:
        now = now + timedelta(seconds=gap)
        state, due_at = next_failure(state, policy, now)
    assert state is not None
    assert state.retry_count == len(gaps)
    assert state.first_failed_at == T0 + timedelta(seconds=gaps[0])
    expiry = (
        None
        if policy.expiration_seconds is None
        else state.first_failed_at + timedelta(seconds=policy.expiration_seconds)
    )
    assert state.expires_at == expiry
    at = state.last_failed_at + timedelta(seconds=probe)
    expected = len(gaps) < policy.max_retry_count and (expiry is None or at < expiry)
    assert may_retry(state, at) is expected
    assert is_exhausted(state, at) is (not expected)
    assert is_due(state, at) is (expected and probe >= policy.retry_interval)
    if due_at is None:
        assert not is_due(state, at)
    else:
        assert is_due(state, due_at) and not is_due(state, due_at - timedelta(microseconds=1))


@given(first=policies, second=policies, gap=st.integers(0, 100_000))
def test_policy_snapshot_applies_from_the_next_failure(first, second, gap):
    """A config change does not touch an existing penalty; the next failure takes the new values."""
    state, _ = next_failure(None, first, T0)
    assert (state.retry_interval, state.max_retry_count) == (
        first.retry_interval,
        first.max_retry_count,
    )
    later = T0 + timedelta(seconds=gap)
    # the record is judged by the snapshot, whatever the config says now
    assert is_due(state, later) is (
        first.max_retry_count > 1
        and (first.expiration_seconds is None or gap < first.expiration_seconds)
        and gap >= first.retry_interval
    )
    again, _ = next_failure(state, second, later)
    assert (again.retry_interval, again.max_retry_count, again.retry_count) == (
        second.retry_interval,
        second.max_retry_count,
        2,
    )
    assert again.expires_at == (
        None
        if second.expiration_seconds is None
        else T0 + timedelta(seconds=second.expiration_seconds)
    )


def test_seed_example_three_hour_interval_kept_after_config_change(db, clock):
    """The seed: penalised with a 3-hour interval, config changed to 2 hours: still 3 hours;
    failing again uses 2 hours."""
    three = {
        "failed_integration": {
            "productstock": {
                "RETRY_INTERVAL": 3 * 3600,
                "EXPIRATION_DATE": None,
                "MAX_RETRY_COUNT": 5,
            }
        }
    }
    two = {
        "failed_integration": {
            "productstock": {
                "RETRY_INTERVAL": 2 * 3600,
                "EXPIRATION_DATE": None,
                "MAX_RETRY_COUNT": 5,
            }
        }
    }
    with db.session() as session:
        channel = make_channel(session, "shop", three)
        fail = Failure("productstock", 1, "SKU-1", 1, "no stock", "local", run_id=3)
        penalize(session, channel_id=channel.id, config=three, now=clock.now(), failures=[fail])

    def due_ids(now):
        with db.session() as session:
            f = FailedIntegration.__table__
            return list(session.execute(select(f.c.object_key).where(sql_is_due(f, now))).scalars())

    # config now says 2 hours; the stored penalty still says 3
    assert due_ids(clock.now() + timedelta(hours=2, minutes=30)) == []
    assert due_ids(clock.now() + timedelta(hours=3)) == ["SKU-1"]
    clock.advance(hours=3)
    with db.session() as session:
        penalize(session, channel_id=channel.id, config=two, now=clock.now(), failures=[fail])
        row = session.scalars(select(FailedIntegration)).one()
    assert (row.retry_count, row.retry_interval, row.run_id) == (2, 7200, 3)
    assert due_ids(clock.now() + timedelta(hours=2)) == ["SKU-1"]


def test_sql_predicates_agree_with_the_python_rules(db):
    """300 random penalties: the SQL 'due' and 'exhausted' sets equal the Python ones at several instants."""
    rng = random.Random(20260101)
    rows = []
    with db.session() as session:
        channel = make_channel(session)
        for object_id in range(1, 301):
            policy = Policy(
                rng.randint(0, 5000), rng.choice([None, rng.randint(0, 20000)]), rng.randint(0, 4)
            )
            state = None
            now = T0
            due = None
            for _ in range(rng.randint(1, 4)):
                now = now + timedelta(seconds=rng.randint(0, 6000))
                state, due = next_failure(state, policy, now)
            rows.append((object_id, state))
            session.add(
                FailedIntegration(
                    channel_id=channel.id,
                    content_type="product",
                    object_id=object_id,
                    object_key=f"S{object_id}",
                    reason_type="remote",
                    message="x",
                    retry_count=state.retry_count,
                    max_retry_count=state.max_retry_count,
                    retry_interval=state.retry_interval,
                    expiration_seconds=policy.expiration_seconds,
                    first_failed_at=state.first_failed_at,
                    last_failed_at=state.last_failed_at,
                    expires_at=state.expires_at,
                    next_retry_at=due,
                )
            )
    f = FailedIntegration.__table__
    for offset in (0, 3000, 9000, 20000, 40000):
        at = T0 + timedelta(seconds=offset)
        with db.session() as session:
            sql_due = set(session.execute(select(f.c.object_id).where(sql_is_due(f, at))).scalars())
            sql_exhausted = set(
                session.execute(select(f.c.object_id).where(sql_is_exhausted(f, at))).scalars()
            )
        # a penalty recorded after `at` cannot be judged at `at`; compare from its last failure on
        judged = [(oid, s) for oid, s in rows if s.last_failed_at <= at]
        assert {oid for oid, s in judged if is_due(s, at)} == {
            oid for oid in sql_due if oid in dict(judged)
        }
        assert {oid for oid, s in judged if is_exhausted(s, at)} == {
            oid for oid in sql_exhausted if oid in dict(judged)
        }


def test_released_penalty_starts_over_under_the_current_policy(db, clock):
    from pazar.state.penalties import release_penalties

    config = {
        "failed_integration": {
            "DEFAULT": {"RETRY_INTERVAL": 60, "EXPIRATION_DATE": 100, "MAX_RETRY_COUNT": 1}
        }
    }
    fail = Failure("product", 1, "SKU-1", 1, "boom", "remote")
    with db.session() as session:
        channel = make_channel(session, "shop", config)
        penalize(session, channel_id=channel.id, config=config, now=clock.now(), failures=[fail])
    clock.advance(days=3)
    with db.session() as session:
        released, missing = release_penalties(
            session,
            channel_id=channel.id,
            content_type="product",
            keys=["SKU-1", "SKU-9"],
            now=clock.now(),
        )
    assert (released, missing) == (["SKU-1"], ["SKU-9"])
    f = FailedIntegration.__table__
    with db.session() as session:
        assert list(
            session.execute(select(f.c.object_key).where(sql_is_due(f, clock.now()))).scalars()
        ) == ["SKU-1"]
        penalize(session, channel_id=channel.id, config=config, now=clock.now(), failures=[fail])
        row = session.scalars(select(FailedIntegration)).one()
    assert (row.retry_count, row.first_failed_at, row.released_at) == (1, clock.now(), None)
    assert is_exhausted(
        PenaltyState(
            row.retry_count,
            row.max_retry_count,
            row.retry_interval,
            row.first_failed_at,
            row.last_failed_at,
            row.expires_at,
        ),
        clock.now(),
    )
    _ = (Item, UTC, datetime)


@settings(max_examples=25)
@given(st.integers(0, 10))
def test_default_policy_allows_three_attempts(extra):
    state = None
    for _ in range(3 + extra):
        state, due = next_failure(state, DEFAULT_POLICY, T0)
    assert due is None and is_exhausted(state, T0)
