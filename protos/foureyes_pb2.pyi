from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    NOT_REQUIRED: _ClassVar[Outcome]
    REQUIRED: _ClassVar[Outcome]
    REFUSED: _ClassVar[Outcome]

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    REMOTE: _ClassVar[Mode]
    ONSITE: _ClassVar[Mode]

class CaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASE_STATE_UNSPECIFIED: _ClassVar[CaseState]
    CREATED: _ClassVar[CaseState]
    QUEUED: _ClassVar[CaseState]
    OFFERED: _ClassVar[CaseState]
    IN_REVIEW: _ClassVar[CaseState]
    APPROVED: _ClassVar[CaseState]
    REJECTED: _ClassVar[CaseState]
    RETURNED: _ClassVar[CaseState]
    CANCELLED: _ClassVar[CaseState]
    EXPIRED: _ClassVar[CaseState]
    AWAITING_EVIDENCE: _ClassVar[CaseState]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    APPROVE: _ClassVar[Verdict]
    REJECT: _ClassVar[Verdict]
    RETURN: _ClassVar[Verdict]

class Presence(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESENCE_UNSPECIFIED: _ClassVar[Presence]
    AVAILABLE: _ClassVar[Presence]
    AWAY: _ClassVar[Presence]
    BUSY: _ClassVar[Presence]
    OFFLINE: _ClassVar[Presence]

class StatsPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATS_PERIOD_UNSPECIFIED: _ClassVar[StatsPeriod]
    PERIOD_HOUR: _ClassVar[StatsPeriod]
    PERIOD_DAY: _ClassVar[StatsPeriod]
    PERIOD_MONTH: _ClassVar[StatsPeriod]
OUTCOME_UNSPECIFIED: Outcome
NOT_REQUIRED: Outcome
REQUIRED: Outcome
REFUSED: Outcome
MODE_UNSPECIFIED: Mode
REMOTE: Mode
ONSITE: Mode
CASE_STATE_UNSPECIFIED: CaseState
CREATED: CaseState
QUEUED: CaseState
OFFERED: CaseState
IN_REVIEW: CaseState
APPROVED: CaseState
REJECTED: CaseState
RETURNED: CaseState
CANCELLED: CaseState
EXPIRED: CaseState
AWAITING_EVIDENCE: CaseState
VERDICT_UNSPECIFIED: Verdict
APPROVE: Verdict
REJECT: Verdict
RETURN: Verdict
PRESENCE_UNSPECIFIED: Presence
AVAILABLE: Presence
AWAY: Presence
BUSY: Presence
OFFLINE: Presence
STATS_PERIOD_UNSPECIFIED: StatsPeriod
PERIOD_HOUR: StatsPeriod
PERIOD_DAY: StatsPeriod
PERIOD_MONTH: StatsPeriod

class Customer(_message.Message):
    __slots__ = ("age", "risk_level", "segment")
    AGE_FIELD_NUMBER: _ClassVar[int]
    RISK_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    age: int
    risk_level: int
    segment: str
    def __init__(self, age: _Optional[int] = ..., risk_level: _Optional[int] = ..., segment: _Optional[str] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("code", "amount", "currency", "account", "account_status", "customer_id", "customer", "trigger_codes", "idempotency_key", "product_risk_level", "extra")
    class ExtraEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_STATUS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_CODES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_RISK_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    code: str
    amount: str
    currency: str
    account: str
    account_status: str
    customer_id: str
    customer: Customer
    trigger_codes: _containers.RepeatedScalarFieldContainer[str]
    idempotency_key: str
    product_risk_level: int
    extra: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., account: _Optional[str] = ..., account_status: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer: _Optional[_Union[Customer, _Mapping]] = ..., trigger_codes: _Optional[_Iterable[str]] = ..., idempotency_key: _Optional[str] = ..., product_risk_level: _Optional[int] = ..., extra: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ImageRequirement(_message.Message):
    __slots__ = ("combination", "at_least", "of", "kind", "type")
    class Combination(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        COMBINATION_UNSPECIFIED: _ClassVar[ImageRequirement.Combination]
        ALL_OF: _ClassVar[ImageRequirement.Combination]
        ANY_OF: _ClassVar[ImageRequirement.Combination]
        AT_LEAST: _ClassVar[ImageRequirement.Combination]
    COMBINATION_UNSPECIFIED: ImageRequirement.Combination
    ALL_OF: ImageRequirement.Combination
    ANY_OF: ImageRequirement.Combination
    AT_LEAST: ImageRequirement.Combination
    COMBINATION_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_FIELD_NUMBER: _ClassVar[int]
    OF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    combination: ImageRequirement.Combination
    at_least: int
    of: _containers.RepeatedCompositeFieldContainer[ImageRequirement]
    kind: str
    type: str
    def __init__(self, combination: _Optional[_Union[ImageRequirement.Combination, str]] = ..., at_least: _Optional[int] = ..., of: _Optional[_Iterable[_Union[ImageRequirement, _Mapping]]] = ..., kind: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class Scene(_message.Message):
    __slots__ = ("id", "name", "category", "business_type", "review_points")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_TYPE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_POINTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    category: str
    business_type: str
    review_points: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., business_type: _Optional[str] = ..., review_points: _Optional[_Iterable[str]] = ...) -> None: ...

class FiredRule(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("outcome", "case_id", "mode", "authority_level", "approvers", "scene", "images", "fired", "rules_version", "sla_seconds")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    SLA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    outcome: Outcome
    case_id: str
    mode: Mode
    authority_level: int
    approvers: int
    scene: Scene
    images: ImageRequirement
    fired: _containers.RepeatedCompositeFieldContainer[FiredRule]
    rules_version: str
    sla_seconds: int
    def __init__(self, outcome: _Optional[_Union[Outcome, str]] = ..., case_id: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., authority_level: _Optional[int] = ..., approvers: _Optional[int] = ..., scene: _Optional[_Union[Scene, _Mapping]] = ..., images: _Optional[_Union[ImageRequirement, _Mapping]] = ..., fired: _Optional[_Iterable[_Union[FiredRule, _Mapping]]] = ..., rules_version: _Optional[str] = ..., sla_seconds: _Optional[int] = ...) -> None: ...

class CaseUpdate(_message.Message):
    __slots__ = ("case_id", "state", "version", "seat_id", "reason_code", "reason_text", "missing", "approvals", "approvers", "final")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_TEXT_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    state: CaseState
    version: int
    seat_id: str
    reason_code: str
    reason_text: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    approvals: int
    approvers: int
    final: bool
    def __init__(self, case_id: _Optional[str] = ..., state: _Optional[_Union[CaseState, str]] = ..., version: _Optional[int] = ..., seat_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason_text: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ..., approvals: _Optional[int] = ..., approvers: _Optional[int] = ..., final: _Optional[bool] = ...) -> None: ...

class WatchCaseRequest(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class CancelCaseRequest(_message.Message):
    __slots__ = ("case_id", "reason")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    reason: str
    def __init__(self, case_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SupplementCaseRequest(_message.Message):
    __slots__ = ("case_id", "supplied", "note")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    supplied: _containers.RepeatedScalarFieldContainer[str]
    note: str
    def __init__(self, case_id: _Optional[str] = ..., supplied: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ...) -> None: ...

class TellerRequest(_message.Message):
    __slots__ = ("operator_id", "outlet_id", "terminal_id", "transaction")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    outlet_id: str
    terminal_id: str
    transaction: Transaction
    def __init__(self, operator_id: _Optional[str] = ..., outlet_id: _Optional[str] = ..., terminal_id: _Optional[str] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class SelfServiceRequest(_message.Message):
    __slots__ = ("device_id", "location", "outlet_id", "transaction")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    location: str
    outlet_id: str
    transaction: Transaction
    def __init__(self, device_id: _Optional[str] = ..., location: _Optional[str] = ..., outlet_id: _Optional[str] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class MobileRequest(_message.Message):
    __slots__ = ("app_id", "session_id", "device_id", "transaction")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    session_id: str
    device_id: str
    transaction: Transaction
    def __init__(self, app_id: _Optional[str] = ..., session_id: _Optional[str] = ..., device_id: _Optional[str] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class Login(_message.Message):
    __slots__ = ("seat_id", "operator_id", "authority_level", "skills", "capacity", "outlet_id", "scope", "supervisor")
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SUPERVISOR_FIELD_NUMBER: _ClassVar[int]
    seat_id: str
    operator_id: str
    authority_level: int
    skills: _containers.RepeatedScalarFieldContainer[str]
    capacity: int
    outlet_id: str
    scope: _containers.RepeatedScalarFieldContainer[str]
    supervisor: bool
    def __init__(self, seat_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., authority_level: _Optional[int] = ..., skills: _Optional[_Iterable[str]] = ..., capacity: _Optional[int] = ..., outlet_id: _Optional[str] = ..., scope: _Optional[_Iterable[str]] = ..., supervisor: _Optional[bool] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Reassign(_message.Message):
    __slots__ = ("case_id", "seat_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    seat_id: str
    def __init__(self, case_id: _Optional[str] = ..., seat_id: _Optional[str] = ...) -> None: ...

class TakeBack(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class ViewBoard(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Accept(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class Decline(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class Decide(_message.Message):
    __slots__ = ("case_id", "version", "verdict", "reason_code", "reason_text", "missing")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_TEXT_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    version: int
    verdict: Verdict
    reason_code: str
    reason_text: str
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, case_id: _Optional[str] = ..., version: _Optional[int] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reason_code: _Optional[str] = ..., reason_text: _Optional[str] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class SetPresence(_message.Message):
    __slots__ = ("presence",)
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    presence: Presence
    def __init__(self, presence: _Optional[_Union[Presence, str]] = ...) -> None: ...

class SeatMessage(_message.Message):
    __slots__ = ("login", "accept", "decline", "decide", "presence", "heartbeat", "reassign", "take_back", "view_board")
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    DECLINE_FIELD_NUMBER: _ClassVar[int]
    DECIDE_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REASSIGN_FIELD_NUMBER: _ClassVar[int]
    TAKE_BACK_FIELD_NUMBER: _ClassVar[int]
    VIEW_BOARD_FIELD_NUMBER: _ClassVar[int]
    login: Login
    accept: Accept
    decline: Decline
    decide: Decide
    presence: SetPresence
    heartbeat: Heartbeat
    reassign: Reassign
    take_back: TakeBack
    view_board: ViewBoard
    def __init__(self, login: _Optional[_Union[Login, _Mapping]] = ..., accept: _Optional[_Union[Accept, _Mapping]] = ..., decline: _Optional[_Union[Decline, _Mapping]] = ..., decide: _Optional[_Union[Decide, _Mapping]] = ..., presence: _Optional[_Union[SetPresence, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., reassign: _Optional[_Union[Reassign, _Mapping]] = ..., take_back: _Optional[_Union[TakeBack, _Mapping]] = ..., view_board: _Optional[_Union[ViewBoard, _Mapping]] = ...) -> None: ...

class CaseDetails(_message.Message):
    __slots__ = ("case_id", "version", "channel", "initiator", "scene", "images", "fired", "authority_level", "approvers", "approvals", "mode", "transaction_code", "amount", "currency", "account_masked", "customer_id", "rules_version", "approved_by", "supplemented", "evidence", "evidence_checks")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    FIRED_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_MASKED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTED_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_CHECKS_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    version: int
    channel: str
    initiator: str
    scene: Scene
    images: ImageRequirement
    fired: _containers.RepeatedCompositeFieldContainer[FiredRule]
    authority_level: int
    approvers: int
    approvals: int
    mode: Mode
    transaction_code: str
    amount: str
    currency: str
    account_masked: str
    customer_id: str
    rules_version: str
    approved_by: _containers.RepeatedScalarFieldContainer[str]
    supplemented: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.RepeatedCompositeFieldContainer[CaseImage]
    evidence_checks: _containers.RepeatedCompositeFieldContainer[ImageCheck]
    def __init__(self, case_id: _Optional[str] = ..., version: _Optional[int] = ..., channel: _Optional[str] = ..., initiator: _Optional[str] = ..., scene: _Optional[_Union[Scene, _Mapping]] = ..., images: _Optional[_Union[ImageRequirement, _Mapping]] = ..., fired: _Optional[_Iterable[_Union[FiredRule, _Mapping]]] = ..., authority_level: _Optional[int] = ..., approvers: _Optional[int] = ..., approvals: _Optional[int] = ..., mode: _Optional[_Union[Mode, str]] = ..., transaction_code: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., account_masked: _Optional[str] = ..., customer_id: _Optional[str] = ..., rules_version: _Optional[str] = ..., approved_by: _Optional[_Iterable[str]] = ..., supplemented: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Iterable[_Union[CaseImage, _Mapping]]] = ..., evidence_checks: _Optional[_Iterable[_Union[ImageCheck, _Mapping]]] = ...) -> None: ...

class Offer(_message.Message):
    __slots__ = ("case", "expires_in_ms")
    CASE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MS_FIELD_NUMBER: _ClassVar[int]
    case: CaseDetails
    expires_in_ms: int
    def __init__(self, case: _Optional[_Union[CaseDetails, _Mapping]] = ..., expires_in_ms: _Optional[int] = ...) -> None: ...

class Assigned(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: CaseDetails
    def __init__(self, case: _Optional[_Union[CaseDetails, _Mapping]] = ...) -> None: ...

class Revoked(_message.Message):
    __slots__ = ("case_id", "reason")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    reason: str
    def __init__(self, case_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class LoggedIn(_message.Message):
    __slots__ = ("seat_id", "heartbeat_interval_ms")
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    seat_id: str
    heartbeat_interval_ms: int
    def __init__(self, seat_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class Escalation(_message.Message):
    __slots__ = ("case_id", "reason", "case", "seat_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CASE_FIELD_NUMBER: _ClassVar[int]
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    reason: str
    case: CaseDetails
    seat_id: str
    def __init__(self, case_id: _Optional[str] = ..., reason: _Optional[str] = ..., case: _Optional[_Union[CaseDetails, _Mapping]] = ..., seat_id: _Optional[str] = ...) -> None: ...

class Moved(_message.Message):
    __slots__ = ("case_id", "from_seat", "to_seat")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEAT_FIELD_NUMBER: _ClassVar[int]
    TO_SEAT_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    from_seat: str
    to_seat: str
    def __init__(self, case_id: _Optional[str] = ..., from_seat: _Optional[str] = ..., to_seat: _Optional[str] = ...) -> None: ...

class SeatTask(_message.Message):
    __slots__ = ("case_id", "state", "category", "since")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    state: CaseState
    category: str
    since: float
    def __init__(self, case_id: _Optional[str] = ..., state: _Optional[_Union[CaseState, str]] = ..., category: _Optional[str] = ..., since: _Optional[float] = ...) -> None: ...

class SeatRow(_message.Message):
    __slots__ = ("seat_id", "operator_id", "presence", "supervisor", "authority_level", "capacity", "tasks")
    SEAT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    SUPERVISOR_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    seat_id: str
    operator_id: str
    presence: Presence
    supervisor: bool
    authority_level: int
    capacity: int
    tasks: _containers.RepeatedCompositeFieldContainer[SeatTask]
    def __init__(self, seat_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., presence: _Optional[_Union[Presence, str]] = ..., supervisor: _Optional[bool] = ..., authority_level: _Optional[int] = ..., capacity: _Optional[int] = ..., tasks: _Optional[_Iterable[_Union[SeatTask, _Mapping]]] = ...) -> None: ...

class QueueRow(_message.Message):
    __slots__ = ("category", "depth", "oldest_wait_seconds", "escalated")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    OLDEST_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    category: str
    depth: int
    oldest_wait_seconds: float
    escalated: int
    def __init__(self, category: _Optional[str] = ..., depth: _Optional[int] = ..., oldest_wait_seconds: _Optional[float] = ..., escalated: _Optional[int] = ...) -> None: ...

class Board(_message.Message):
    __slots__ = ("seats", "queues")
    SEATS_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    seats: _containers.RepeatedCompositeFieldContainer[SeatRow]
    queues: _containers.RepeatedCompositeFieldContainer[QueueRow]
    def __init__(self, seats: _Optional[_Iterable[_Union[SeatRow, _Mapping]]] = ..., queues: _Optional[_Iterable[_Union[QueueRow, _Mapping]]] = ...) -> None: ...

class SeatError(_message.Message):
    __slots__ = ("case_id", "code", "message")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    code: str
    message: str
    def __init__(self, case_id: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SeatEvent(_message.Message):
    __slots__ = ("logged_in", "offer", "assigned", "revoked", "decided", "error", "presence", "escalation", "moved", "board")
    LOGGED_IN_FIELD_NUMBER: _ClassVar[int]
    OFFER_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    DECIDED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    BOARD_FIELD_NUMBER: _ClassVar[int]
    logged_in: LoggedIn
    offer: Offer
    assigned: Assigned
    revoked: Revoked
    decided: CaseUpdate
    error: SeatError
    presence: SetPresence
    escalation: Escalation
    moved: Moved
    board: Board
    def __init__(self, logged_in: _Optional[_Union[LoggedIn, _Mapping]] = ..., offer: _Optional[_Union[Offer, _Mapping]] = ..., assigned: _Optional[_Union[Assigned, _Mapping]] = ..., revoked: _Optional[_Union[Revoked, _Mapping]] = ..., decided: _Optional[_Union[CaseUpdate, _Mapping]] = ..., error: _Optional[_Union[SeatError, _Mapping]] = ..., presence: _Optional[_Union[SetPresence, _Mapping]] = ..., escalation: _Optional[_Union[Escalation, _Mapping]] = ..., moved: _Optional[_Union[Moved, _Mapping]] = ..., board: _Optional[_Union[Board, _Mapping]] = ...) -> None: ...

class RuleFile(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: str
    def __init__(self, name: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class RuleSetVersion(_message.Message):
    __slots__ = ("version", "activated_at", "comment", "trigger_rules", "active", "proposed_by", "approved_by", "pending", "proposed_at")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_RULES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    version: str
    activated_at: float
    comment: str
    trigger_rules: int
    active: bool
    proposed_by: str
    approved_by: str
    pending: bool
    proposed_at: float
    def __init__(self, version: _Optional[str] = ..., activated_at: _Optional[float] = ..., comment: _Optional[str] = ..., trigger_rules: _Optional[int] = ..., active: _Optional[bool] = ..., proposed_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., pending: _Optional[bool] = ..., proposed_at: _Optional[float] = ...) -> None: ...

class PublishRulesRequest(_message.Message):
    __slots__ = ("files", "comment")
    FILES_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[RuleFile]
    comment: str
    def __init__(self, files: _Optional[_Iterable[_Union[RuleFile, _Mapping]]] = ..., comment: _Optional[str] = ...) -> None: ...

class RollbackRulesRequest(_message.Message):
    __slots__ = ("version", "comment")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    version: str
    comment: str
    def __init__(self, version: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveRulesRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class ListRuleVersionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRuleVersionsResponse(_message.Message):
    __slots__ = ("activations", "pending")
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    activations: _containers.RepeatedCompositeFieldContainer[RuleSetVersion]
    pending: _containers.RepeatedCompositeFieldContainer[RuleSetVersion]
    def __init__(self, activations: _Optional[_Iterable[_Union[RuleSetVersion, _Mapping]]] = ..., pending: _Optional[_Iterable[_Union[RuleSetVersion, _Mapping]]] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ("operator_id", "password", "id_token")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ID_TOKEN_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    password: str
    id_token: str
    def __init__(self, operator_id: _Optional[str] = ..., password: _Optional[str] = ..., id_token: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ("session_token", "expires_at", "operator_id", "authority_level", "skills", "scope", "outlet_id", "roles")
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    session_token: str
    expires_at: float
    operator_id: str
    authority_level: int
    skills: _containers.RepeatedScalarFieldContainer[str]
    scope: _containers.RepeatedScalarFieldContainer[str]
    outlet_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_token: _Optional[str] = ..., expires_at: _Optional[float] = ..., operator_id: _Optional[str] = ..., authority_level: _Optional[int] = ..., skills: _Optional[_Iterable[str]] = ..., scope: _Optional[_Iterable[str]] = ..., outlet_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ("since", "until", "by", "group", "top")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    since: float
    until: float
    by: StatsPeriod
    group: str
    top: int
    def __init__(self, since: _Optional[float] = ..., until: _Optional[float] = ..., by: _Optional[_Union[StatsPeriod, str]] = ..., group: _Optional[str] = ..., top: _Optional[int] = ...) -> None: ...

class DurationSummary(_message.Message):
    __slots__ = ("count", "mean_seconds", "p50_seconds", "p90_seconds", "max_seconds")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P50_SECONDS_FIELD_NUMBER: _ClassVar[int]
    P90_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    count: int
    mean_seconds: float
    p50_seconds: float
    p90_seconds: float
    max_seconds: float
    def __init__(self, count: _Optional[int] = ..., mean_seconds: _Optional[float] = ..., p50_seconds: _Optional[float] = ..., p90_seconds: _Optional[float] = ..., max_seconds: _Optional[float] = ...) -> None: ...

class StatsRow(_message.Message):
    __slots__ = ("period", "group", "requests", "required", "refused", "authorization_rate", "created", "approved", "rejected", "returned", "cancelled", "expired", "escalated", "approved_partly", "supplemented", "requeued", "offered", "declined", "timed_out", "withdrawn", "reviews", "pass_rate", "return_rate", "sla_met_share", "sla_met", "handled", "request_offer", "offer_accept", "accept_decision", "request_decision")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_RATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    APPROVED_PARTLY_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTED_FIELD_NUMBER: _ClassVar[int]
    REQUEUED_FIELD_NUMBER: _ClassVar[int]
    OFFERED_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    PASS_RATE_FIELD_NUMBER: _ClassVar[int]
    RETURN_RATE_FIELD_NUMBER: _ClassVar[int]
    SLA_MET_SHARE_FIELD_NUMBER: _ClassVar[int]
    SLA_MET_FIELD_NUMBER: _ClassVar[int]
    HANDLED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_OFFER_FIELD_NUMBER: _ClassVar[int]
    OFFER_ACCEPT_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_DECISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DECISION_FIELD_NUMBER: _ClassVar[int]
    period: str
    group: str
    requests: int
    required: int
    refused: int
    authorization_rate: float
    created: int
    approved: int
    rejected: int
    returned: int
    cancelled: int
    expired: int
    escalated: int
    approved_partly: int
    supplemented: int
    requeued: int
    offered: int
    declined: int
    timed_out: int
    withdrawn: int
    reviews: int
    pass_rate: float
    return_rate: float
    sla_met_share: float
    sla_met: int
    handled: int
    request_offer: DurationSummary
    offer_accept: DurationSummary
    accept_decision: DurationSummary
    request_decision: DurationSummary
    def __init__(self, period: _Optional[str] = ..., group: _Optional[str] = ..., requests: _Optional[int] = ..., required: _Optional[int] = ..., refused: _Optional[int] = ..., authorization_rate: _Optional[float] = ..., created: _Optional[int] = ..., approved: _Optional[int] = ..., rejected: _Optional[int] = ..., returned: _Optional[int] = ..., cancelled: _Optional[int] = ..., expired: _Optional[int] = ..., escalated: _Optional[int] = ..., approved_partly: _Optional[int] = ..., supplemented: _Optional[int] = ..., requeued: _Optional[int] = ..., offered: _Optional[int] = ..., declined: _Optional[int] = ..., timed_out: _Optional[int] = ..., withdrawn: _Optional[int] = ..., reviews: _Optional[int] = ..., pass_rate: _Optional[float] = ..., return_rate: _Optional[float] = ..., sla_met_share: _Optional[float] = ..., sla_met: _Optional[int] = ..., handled: _Optional[int] = ..., request_offer: _Optional[_Union[DurationSummary, _Mapping]] = ..., offer_accept: _Optional[_Union[DurationSummary, _Mapping]] = ..., accept_decision: _Optional[_Union[DurationSummary, _Mapping]] = ..., request_decision: _Optional[_Union[DurationSummary, _Mapping]] = ...) -> None: ...

class ReasonCount(_message.Message):
    __slots__ = ("verdict", "code", "count")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    verdict: str
    code: str
    count: int
    def __init__(self, verdict: _Optional[str] = ..., code: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class BusinessRow(_message.Message):
    __slots__ = ("name", "cases", "requests", "decision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    cases: int
    requests: int
    decision: DurationSummary
    def __init__(self, name: _Optional[str] = ..., cases: _Optional[int] = ..., requests: _Optional[int] = ..., decision: _Optional[_Union[DurationSummary, _Mapping]] = ...) -> None: ...

class ApiRow(_message.Message):
    __slots__ = ("period", "calls", "by_status", "success_rate", "latency")
    class ByStatusEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    period: str
    calls: int
    by_status: _containers.ScalarMap[str, int]
    success_rate: float
    latency: DurationSummary
    def __init__(self, period: _Optional[str] = ..., calls: _Optional[int] = ..., by_status: _Optional[_Mapping[str, int]] = ..., success_rate: _Optional[float] = ..., latency: _Optional[_Union[DurationSummary, _Mapping]] = ...) -> None: ...

class StatsReport(_message.Message):
    __slots__ = ("since", "until", "by", "group", "rows", "totals", "reasons", "hot_scenes", "hot_codes", "slow_scenes", "slow_codes", "api")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    HOT_SCENES_FIELD_NUMBER: _ClassVar[int]
    HOT_CODES_FIELD_NUMBER: _ClassVar[int]
    SLOW_SCENES_FIELD_NUMBER: _ClassVar[int]
    SLOW_CODES_FIELD_NUMBER: _ClassVar[int]
    API_FIELD_NUMBER: _ClassVar[int]
    since: float
    until: float
    by: StatsPeriod
    group: str
    rows: _containers.RepeatedCompositeFieldContainer[StatsRow]
    totals: _containers.RepeatedCompositeFieldContainer[StatsRow]
    reasons: _containers.RepeatedCompositeFieldContainer[ReasonCount]
    hot_scenes: _containers.RepeatedCompositeFieldContainer[BusinessRow]
    hot_codes: _containers.RepeatedCompositeFieldContainer[BusinessRow]
    slow_scenes: _containers.RepeatedCompositeFieldContainer[BusinessRow]
    slow_codes: _containers.RepeatedCompositeFieldContainer[BusinessRow]
    api: _containers.RepeatedCompositeFieldContainer[ApiRow]
    def __init__(self, since: _Optional[float] = ..., until: _Optional[float] = ..., by: _Optional[_Union[StatsPeriod, str]] = ..., group: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[StatsRow, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[StatsRow, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[ReasonCount, _Mapping]]] = ..., hot_scenes: _Optional[_Iterable[_Union[BusinessRow, _Mapping]]] = ..., hot_codes: _Optional[_Iterable[_Union[BusinessRow, _Mapping]]] = ..., slow_scenes: _Optional[_Iterable[_Union[BusinessRow, _Mapping]]] = ..., slow_codes: _Optional[_Iterable[_Union[BusinessRow, _Mapping]]] = ..., api: _Optional[_Iterable[_Union[ApiRow, _Mapping]]] = ...) -> None: ...

class FeedEvent(_message.Message):
    __slots__ = ("shard", "seq", "kind", "state", "version", "at", "data_json", "case_id", "channel", "outlet", "transaction_code", "amount", "currency", "account_masked", "customer_id", "scene", "rules_version")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_MASKED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    shard: int
    seq: int
    kind: str
    state: CaseState
    version: int
    at: float
    data_json: str
    case_id: str
    channel: str
    outlet: str
    transaction_code: str
    amount: str
    currency: str
    account_masked: str
    customer_id: str
    scene: str
    rules_version: str
    def __init__(self, shard: _Optional[int] = ..., seq: _Optional[int] = ..., kind: _Optional[str] = ..., state: _Optional[_Union[CaseState, str]] = ..., version: _Optional[int] = ..., at: _Optional[float] = ..., data_json: _Optional[str] = ..., case_id: _Optional[str] = ..., channel: _Optional[str] = ..., outlet: _Optional[str] = ..., transaction_code: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., account_masked: _Optional[str] = ..., customer_id: _Optional[str] = ..., scene: _Optional[str] = ..., rules_version: _Optional[str] = ...) -> None: ...

class EventsRequest(_message.Message):
    __slots__ = ("after", "kinds", "follow")
    class AfterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    AFTER_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    after: _containers.ScalarMap[int, int]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    follow: bool
    def __init__(self, after: _Optional[_Mapping[int, int]] = ..., kinds: _Optional[_Iterable[str]] = ..., follow: _Optional[bool] = ...) -> None: ...

class ImageHeader(_message.Message):
    __slots__ = ("case_id", "kind", "type", "content_type", "size", "sha256", "captured_by")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_BY_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    kind: str
    type: str
    content_type: str
    size: int
    sha256: str
    captured_by: str
    def __init__(self, case_id: _Optional[str] = ..., kind: _Optional[str] = ..., type: _Optional[str] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., captured_by: _Optional[str] = ...) -> None: ...

class ImageChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: ImageHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[ImageHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ImageCheck(_message.Message):
    __slots__ = ("check", "message")
    CHECK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    check: str
    message: str
    def __init__(self, check: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class UploadImageResponse(_message.Message):
    __slots__ = ("image_id", "sha256", "stored_before", "case", "lacking", "checks")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    STORED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    CASE_FIELD_NUMBER: _ClassVar[int]
    LACKING_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    sha256: str
    stored_before: bool
    case: CaseUpdate
    lacking: _containers.RepeatedScalarFieldContainer[str]
    checks: _containers.RepeatedCompositeFieldContainer[ImageCheck]
    def __init__(self, image_id: _Optional[str] = ..., sha256: _Optional[str] = ..., stored_before: _Optional[bool] = ..., case: _Optional[_Union[CaseUpdate, _Mapping]] = ..., lacking: _Optional[_Iterable[str]] = ..., checks: _Optional[_Iterable[_Union[ImageCheck, _Mapping]]] = ...) -> None: ...

class CaseImage(_message.Message):
    __slots__ = ("image_id", "kind", "type", "size", "content_type", "sha256", "thumbnail", "uploaded_at", "uploaded_by", "captured_by", "captured_at", "round", "checks")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_AT_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_BY_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_BY_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    kind: str
    type: str
    size: int
    content_type: str
    sha256: str
    thumbnail: bytes
    uploaded_at: float
    uploaded_by: str
    captured_by: str
    captured_at: float
    round: int
    checks: _containers.RepeatedCompositeFieldContainer[ImageCheck]
    def __init__(self, image_id: _Optional[str] = ..., kind: _Optional[str] = ..., type: _Optional[str] = ..., size: _Optional[int] = ..., content_type: _Optional[str] = ..., sha256: _Optional[str] = ..., thumbnail: _Optional[bytes] = ..., uploaded_at: _Optional[float] = ..., uploaded_by: _Optional[str] = ..., captured_by: _Optional[str] = ..., captured_at: _Optional[float] = ..., round: _Optional[int] = ..., checks: _Optional[_Iterable[_Union[ImageCheck, _Mapping]]] = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class ImageData(_message.Message):
    __slots__ = ("info", "data")
    INFO_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    info: CaseImage
    data: bytes
    def __init__(self, info: _Optional[_Union[CaseImage, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...
