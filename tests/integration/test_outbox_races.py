"""Races of the reminder loop, on both databases: two workers over one outbox never send a message
twice; ten patients accepting one waitlist offer at once end in exactly one booking."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.db import db_session, transaction
from scheduler.errors import Conflict
from scheduler.models import Clinic, Message, Patient, TreatmentSession, WaitlistOffer
from scheduler.services import delivery, sessions, waitlist
from scheduler.services.channels import Outgoing
from tests.support import builders

pytestmark = pytest.mark.real_commits  # threads, each with its own connection

NY = ZoneInfo("America/New_York")


class Recorder:
    """A channel that records what it is asked to send (the worker's own claim logic is under test,
    so the sends need no network; the SMTP path has its own tests)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        with self.lock:
            self.sent.append(message)
        return str(len(self.sent))


def _threads(app, n: int, target) -> list:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = target(i)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on
                results[i] = exc
            finally:
                db_session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.mark.slow
def test_two_workers_over_one_outbox_send_each_message_once(app):
    w = builders.small_clinic()
    patients = [builders.patient(mrn=f"W-{i}", name=f"Pat {i}", email=f"p{i}@example.test") for i in range(30)]
    db_session.commit()
    day = datetime.now(NY).date() + timedelta(days=10)
    for i, p in enumerate(patients):
        w.book(day + timedelta(days=i // 9), time(8 + i % 9), minutes=60, patient=p)
    db_session.commit()
    total = db_session.scalar(select(func.count()).select_from(Message))
    assert total == 60
    first_start = db_session.scalar(select(func.min(TreatmentSession.starts_at)))
    now = first_start - timedelta(minutes=1)  # every reminder due by then is still wanted
    due = db_session.scalar(select(func.count()).select_from(Message).where(Message.due_at <= now))
    assert 20 < due < total
    db_session.commit()  # end this thread's transaction (on SQLite it holds the write lock)
    channel = Recorder()

    def work(_i: int) -> list[int]:
        ids: list[int] = []
        while batch := delivery.run_once(now=now, limit=4, channels={"email": channel}).ids:
            ids += batch
        return ids

    results = _threads(app, 2, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    claimed = Counter(mid for r in results for mid in r)
    assert set(claimed.values()) == {1} and len(claimed) == due  # nothing twice, nothing left
    assert len(channel.sent) == due
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent")) == due


@pytest.mark.slow
def test_ten_patients_accepting_one_offer_at_once_book_it_once(app):
    w = builders.small_clinic()
    day = datetime.now(NY).date() + timedelta(days=9)
    waiting = [builders.patient(mrn=f"WL-{i}", name=f"Wait {i}") for i in range(10)]
    db_session.commit()
    clinic = db_session.get(Clinic, w.clinic.id)
    for p in waiting:
        waitlist.add(
            None,
            patient=db_session.get(Patient, p.id),
            clinic=clinic,
            kind="dose",
            protocol=None,
            earliest_on=day,
            latest_on=day,
            preferences={},
        )
    s = w.book(day, time(10))
    db_session.commit()
    sessions.cancel(None, db_session.get(TreatmentSession, s.id), version=s.version, reason="freed")
    db_session.commit()
    offers = db_session.scalars(select(WaitlistOffer).order_by(WaitlistOffer.id)).all()
    assert len(offers) == 10 and {o.status for o in offers} == {"open"}
    ids = [o.id for o in offers]
    db_session.commit()

    def accept(i: int):
        with transaction():
            booked, _ = waitlist.accept(None, db_session.get(WaitlistOffer, ids[i]))
            return booked.id

    results = _threads(app, 10, accept)
    winners = [r for r in results if isinstance(r, int)]
    gone = [r for r in results if isinstance(r, Conflict) and r.code == "slot_taken"]
    assert len(winners) == 1 and len(gone) == 9, results
    db_session.expire_all()
    live = db_session.scalars(select(TreatmentSession).where(TreatmentSession.status == "booked")).all()
    assert [t.id for t in live] == winners
    statuses = Counter(o.status for o in db_session.scalars(select(WaitlistOffer)))
    assert statuses == {"accepted": 1, "gone": 9}
