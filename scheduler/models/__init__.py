"""SQLAlchemy 2.0 typed models, one entity per module. Import from here."""

from scheduler.models.access_log_entry import AccessLogEntry
from scheduler.models.api_token import ApiToken
from scheduler.models.appointment_hold import AppointmentHold
from scheduler.models.assessment import Assessment
from scheduler.models.audit_event import AuditEvent
from scheduler.models.authorization import Authorization
from scheduler.models.base import Base, UTCDateTime, utcnow
from scheduler.models.clinic import Clinic
from scheduler.models.clinical_note import ClinicalNote
from scheduler.models.closure import Closure
from scheduler.models.course import Course
from scheduler.models.feed_token import FeedToken
from scheduler.models.idempotency_key import IdempotencyKey
from scheduler.models.message import Message
from scheduler.models.opening_hours import OpeningHours
from scheduler.models.patient import Patient
from scheduler.models.patient_link import PatientLink
from scheduler.models.rems_form import RemsMonitoringForm
from scheduler.models.room import Room
from scheduler.models.sign_in_throttle import SignInThrottle
from scheduler.models.staff_member import StaffMember
from scheduler.models.time_off import TimeOff
from scheduler.models.treatment_session import TreatmentSession
from scheduler.models.user import User
from scheduler.models.user_clinic import UserClinic
from scheduler.models.waitlist_entry import WaitlistEntry
from scheduler.models.waitlist_offer import WaitlistOffer
from scheduler.models.working_hours import WorkingHours

__all__ = [
    "AccessLogEntry",
    "ApiToken",
    "AppointmentHold",
    "Assessment",
    "AuditEvent",
    "Authorization",
    "Base",
    "Clinic",
    "ClinicalNote",
    "Closure",
    "Course",
    "FeedToken",
    "IdempotencyKey",
    "Message",
    "OpeningHours",
    "Patient",
    "PatientLink",
    "RemsMonitoringForm",
    "Room",
    "SignInThrottle",
    "StaffMember",
    "TimeOff",
    "TreatmentSession",
    "User",
    "UserClinic",
    "UTCDateTime",
    "WaitlistEntry",
    "WaitlistOffer",
    "WorkingHours",
    "utcnow",
]
