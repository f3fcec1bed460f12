"""Clinical notes on the clinician's timeline: listed, added (said so), errors by the field, and
never shown to the front desk."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.db import db_session
from scheduler.models import AuditEvent, ClinicalNote
from tests.support.pages import new_patient

SECRET = "Reports intrusive thoughts easing after dose 3"


def test_a_clinician_adds_a_note_and_sees_it_listed_with_its_author(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    assert "No clinical note yet." in clinician.get(f"/patients/{patient_id}/timeline").text
    r = clinician.post(f"/patients/{patient_id}/notes", {"note": f"  {SECRET}\nPlan: continue.  "})
    assert r.status_code == 302, r.text
    page = clinician.get(r.headers["Location"]).text
    assert "Added a clinical note to Jordan Rivera" in page
    assert SECRET in page and "clinician@" in page
    db_session.remove()
    notes = list(db_session.scalars(select(ClinicalNote).where(ClinicalNote.patient_id == patient_id)))
    assert [n.body for n in notes] == [f"{SECRET}\nPlan: continue."]
    assert (
        db_session.scalar(
            select(AuditEvent).where(AuditEvent.action == "clinical_note.create", AuditEvent.entity_id == notes[0].id)
        )
        is not None
    )


def test_an_empty_note_is_refused_next_to_the_field_and_writes_nothing(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    r = clinician.post(f"/patients/{patient_id}/notes", {"note": "   "})
    assert r.status_code == 400
    assert 'id="note-error"' in r.text and "Write the note first." in r.text
    assert 'aria-invalid="true" aria-describedby="note-error"' in r.text
    db_session.remove()
    assert db_session.scalars(select(ClinicalNote)).all() == []


def test_the_front_desk_never_sees_nor_writes_notes(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    assert clinician.post(f"/patients/{patient_id}/notes", {"note": SECRET}).status_code == 302
    for url in (f"/patients/{patient_id}", f"/patients/{patient_id}/timeline", "/board"):
        assert SECRET not in desk.get(url).text
    assert desk.post(f"/patients/{patient_id}/notes", {"note": "desk note"}).status_code == 403
    db_session.remove()
    assert [n.body for n in db_session.scalars(select(ClinicalNote))] == [SECRET]


def test_the_note_form_is_labelled(desk, clinician):  # noqa: F811
    patient_id = new_patient(desk)
    page = clinician.get(f"/patients/{patient_id}/timeline").text
    assert '<label for="note">' in page and 'id="note" name="note"' in page
