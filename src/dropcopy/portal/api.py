"""The Request Center REST API (``/api/v1``): everything the web UI can do (DESIGN.md).

Authentication is by bearer token only (``Authorization: Bearer <token>``), never by the web
cookie, so the API needs no CSRF token. Signing in takes two steps (I-031):

1. ``POST /auth/sign-in {email, password}`` answers a *pending* token and mails a security code
   (or, for authenticator users, expects the app's current code);
2. ``POST /auth/verify {code}`` with the pending token as bearer completes the sign-in; the same
   token is then a full token (24 hours, ``POST /auth/sign-out`` revokes it).

A pending token reaches nothing but verify, resend-code and sign-out (401 elsewhere).

Everything a company owns is addressed under ``/companies/{company_id}``: a user who is not a
member of that company gets 404 -- exactly as for a company that does not exist -- and another
company's sessions, sources, keys and requests are 404 as well (P-024, AP-12). The role in the
company decides what may be changed (P-001, AP-10): 403 otherwise.

Errors are ``{"detail": "<readable message>"}`` with the status of the :class:`PortalError`
(401, 403, 404, 409, 422, 429, 503); a Generate Keys that needs a choice (P-042) also carries
``existing``. Request validation errors are FastAPI's 422 ``{"detail": [...]}``.

Every endpoint is ``async`` and runs the blocking :class:`~.services.Portal` action in the thread
pool (:meth:`PortalContext.call`). Tokens and security codes are never logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.exceptions import HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dropcopy.store import Environment, Role, TwoFactorMethod

from .app import PortalContext, attachment
from .auth import Actor
from .errors import Forbidden, Unauthenticated
from .services import (
    FeeNotice,
    GeneratedKey,
    KeyView,
    OwnerKeys,
    OwnerRef,
    RequestView,
    SessionView,
    SourceView,
)

__all__ = ["router"]

NS = 1_000_000_000
#: Ids are database integers: anything larger cannot exist (and must not reach PostgreSQL).
MAX_ID = 2**31 - 1
_NO_STORE = {"Cache-Control": "no-store"}

# -- constrained values ------------------------------------------------------------------------

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
CompanyId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="A company of yours (GET /companies).")
]
SessionPk = Annotated[int, Path(ge=1, le=MAX_ID, description="The Drop Copy session's `id`.")]
RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="The request's `id`.")]
Email = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
SecurityCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{6}$"),
    Field(description="The 6-digit security code (email or authenticator app)."),
]
OwnerRefText = Annotated[
    str,
    StringConstraints(pattern=r"^(dropcopy|ilink3):[1-9][0-9]{0,8}$"),
    Field(
        description="A session whose keys are managed: `dropcopy:<id>` (a Drop Copy target "
        "session) or `ilink3:<id>` (an iLink 3 session, GET .../ilink3-sessions).",
        examples=["dropcopy:1", "ilink3:1"],
    ),
]
AccessKeyId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9]{20}$"),
    Field(description="A 20-character Access Key ID."),
]
Rationale = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=2000, pattern=rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
    ),
    Field(description="Business Rationale/Background (P-013)."),
]
Search = Annotated[str, StringConstraints(max_length=100, pattern=rf"^[^{_CONTROL}]*$")]


class SessionTypeIn(StrEnum):
    """The seed's Session Type labels (P-011), or their short forms."""

    CONVENIENCE_GATEWAY = "Convenience Gateway"
    MARKET_SEGMENT_GATEWAY = "Market Segment Gateway (iLink 3)"
    CGW = "CGW"
    MSGW = "MSGW"


class SessionSort(StrEnum):
    SESSION_ID = "session_id"
    ENVIRONMENT = "environment"
    SESSION_TYPE = "session_type"
    CREATED_AT = "created_at"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ConfigEnvironment(StrEnum):
    """Environments of the MSGW configuration file (D-090)."""

    CERT = "CERT"
    NEWRELEASE = "NEWRELEASE"
    PRODUCTION = "Production"


# -- request bodies ------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInIn(_In):
    email: Email
    password: Password


class VerifyIn(_In):
    code: SecurityCode


class CreateSessionIn(_In):
    """Create New Session (P-006..P-015)."""

    environment: Environment = Field(description="CERT or NEWRELEASE (P-009).")
    session_type: SessionTypeIn
    number_of_sessions: Literal[1, 2] = Field(description="2 creates two target sessions (P-012).")
    business_rationale: Rationale
    source_ids: list[Id] = Field(
        min_length=1,
        max_length=5000,
        description="Source SenderComps: ids from GET .../sources?environment= (P-014).",
    )


class SourcesChangeIn(_In):
    """Manage Source SenderComps (P-033..P-035): ids of iLink 3 sessions."""

    add: list[Id] = Field(default_factory=list, max_length=5000)
    remove: list[Id] = Field(default_factory=list, max_length=5000)


class KeySessionsIn(_In):
    sessions: list[OwnerRefText] = Field(min_length=1, max_length=100)


class GenerateKeysIn(_In):
    """Generate Key(s) (P-041..P-046)."""

    sessions: list[OwnerRefText] = Field(min_length=1, max_length=100)
    delete: dict[OwnerRefText, list[AccessKeyId]] = Field(
        default_factory=dict,
        max_length=100,
        description="Per session, the key(s) to delete immediately: required for a session "
        "that already holds two key pairs (P-042, AP-01).",
    )


class DeleteKeysIn(_In):
    """Delete Key(s) (P-054..P-056)."""

    keys: dict[OwnerRefText, list[AccessKeyId]] = Field(
        min_length=1,
        max_length=100,
        description="Per session, the key(s) to delete; an empty list deletes a session's only "
        "key, a session with several keys needs a choice (P-055).",
    )
    confirm: Literal[True] = Field(
        description="Must be true: the confirmation window's second Delete Key(s) (P-056)."
    )


class DownloadKeysIn(_In):
    sessions: list[OwnerRefText] = Field(min_length=1, max_length=100)
    code: SecurityCode


# -- responses -------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422: FastAPI's validation errors (a list), or a value refused by the portal (a text)."""

    detail: str | list[ValidationIssue]


class KeyChoiceOut(BaseModel):
    detail: str
    existing: dict[str, list[str]] | None = Field(
        default=None,
        description="The sessions (`dropcopy:<id>`/`ilink3:<id>`) that need a key chosen for "
        "immediate deletion, with their Access Key IDs (P-042).",
    )


class SignInOut(BaseModel):
    token: str = Field(description="Pending until POST /auth/verify; then the bearer token.")
    method: TwoFactorMethod = Field(description="Where the security code comes from.")


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    operator: bool


class CompanyOut(BaseModel):
    id: int
    name: str
    roles: list[Role]


class MeOut(BaseModel):
    user: UserOut
    companies: list[CompanyOut]


class SourceOut(BaseModel):
    id: int
    session_id: str
    firm_id: str
    environment: Environment
    label: str


class KeyOut(BaseModel):
    access_key_id: str
    created_at: datetime
    expires_at: datetime
    superseded: bool = Field(description="A newer pair exists: expires at the end of the overlap.")


class SessionOut(BaseModel):
    id: int
    session_id: str
    environment: Environment
    session_type: Literal["CGW", "MSGW"]
    session_type_label: str
    business_rationale: str
    message_types: str
    status: str
    created_at: datetime
    sources: list[SourceOut]
    keys: list[KeyOut]
    pending_requests: list[int]


class GatewayOut(BaseModel):
    segment: str
    name: str | None = None
    primary: str
    backup: str | None


class IpsOut(BaseModel):
    session_type: Literal["CGW", "MSGW"]
    gateways: list[GatewayOut]


class FeeOut(BaseModel):
    existing_groups: int
    monthly_fee_usd: int
    text: str


class RequestOut(BaseModel):
    id: int
    kind: Literal["create_session", "manage_sources"]
    environment: Environment
    status: Literal["In-Progress", "Completed", "Failed"]
    reason: str | None = Field(description="Why a request Failed (P-021, P-039).")
    created_at: datetime
    processed_at: datetime | None
    submitted_by: str
    dc_session_id: str | None
    summary: str
    payload: dict[str, Any]
    result: dict[str, Any] | None


class OwnerKeysOut(BaseModel):
    session: str
    session_id: str
    environment: Environment
    keys: list[KeyOut]
    must_choose: bool = Field(
        description="Generate Keys needs a key chosen for immediate deletion (P-042)."
    )


class GeneratedKeyOut(BaseModel):
    session: str
    session_id: str
    access_key_id: str
    expires_at: datetime
    deleted: list[str] = Field(description="Deleted immediately (P-045).")
    expiring: list[str] = Field(description="Now expire in 4 weeks (P-044).")


class GeneratedKeysOut(BaseModel):
    keys: list[GeneratedKeyOut]


class DeletedKeysOut(BaseModel):
    deleted: list[str]


class AuditEventOut(BaseModel):
    at: datetime
    action: str
    subject: str
    user_id: int | None
    detail: dict[str, Any]


class BatchReportOut(BaseModel):
    cutoff: datetime
    completed: list[int]
    failed: dict[str, str] = Field(description="Request id -> reason.")


class BatchStateOut(BaseModel):
    last_cutoff: datetime | None


# -- conversions -----------------------------------------------------------------------------------


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // NS, UTC).replace(microsecond=ns % NS // 1000)


def _source(s: SourceView) -> SourceOut:
    return SourceOut(
        id=s.id,
        session_id=s.session_id,
        firm_id=s.firm_id,
        environment=Environment(s.environment),
        label=s.label,
    )


def _key(k: KeyView) -> KeyOut:
    return KeyOut(
        access_key_id=k.access_key_id,
        created_at=_time(k.created_at),
        expires_at=_time(k.expires_at),
        superseded=k.superseded,
    )


def _session(v: SessionView) -> SessionOut:
    return SessionOut(
        id=v.id,
        session_id=v.session_id,
        environment=Environment(v.environment),
        session_type="CGW" if v.session_type == "CGW" else "MSGW",
        session_type_label=v.session_type_label,
        business_rationale=v.business_rationale,
        message_types=v.message_types,
        status=v.status,
        created_at=_time(v.created_at),
        sources=[_source(s) for s in v.sources],
        keys=[_key(k) for k in v.keys],
        pending_requests=list(v.pending_requests),
    )


def _request(v: RequestView) -> RequestOut:
    return RequestOut.model_validate(
        {
            "id": v.id,
            "kind": v.kind,
            "environment": v.environment,
            "status": v.status,
            "reason": v.reason,
            "created_at": _time(v.created_at),
            "processed_at": _time(v.processed_at) if v.processed_at is not None else None,
            "submitted_by": v.submitted_by,
            "dc_session_id": v.dc_session_id,
            "summary": v.summary,
            "payload": v.payload,
            "result": v.result,
        }
    )


def _owner_keys(o: OwnerKeys) -> OwnerKeysOut:
    return OwnerKeysOut(
        session=str(o.ref),
        session_id=o.session_id,
        environment=Environment(o.environment),
        keys=[_key(k) for k in o.keys],
        must_choose=o.must_choose,
    )


def _generated(g: GeneratedKey) -> GeneratedKeyOut:
    return GeneratedKeyOut(
        session=str(g.ref),
        session_id=g.session_id,
        access_key_id=g.access_key_id,
        expires_at=_time(g.expires_at),
        deleted=list(g.deleted),
        expiring=list(g.expiring),
    )


def _fee(f: FeeNotice) -> FeeOut:
    return FeeOut(existing_groups=f.existing_groups, monthly_fee_usd=f.monthly_fee_usd, text=f.text)


def _refs(texts: list[str]) -> list[OwnerRef]:
    return [OwnerRef.parse(t) for t in texts]


def _ref_map(choice: dict[str, list[str]]) -> dict[OwnerRef, list[str]]:
    return {OwnerRef.parse(k): v for k, v in choice.items()}


# -- documented errors -------------------------------------------------------------------------

_DESCRIPTIONS = {
    401: "No bearer token, or not a valid, fully signed-in one.",
    403: "Your role in the company does not allow it (or a wrong security code).",
    404: "No such object in this company (another company's objects are never found).",
    409: "Conflicts with the current state.",
    422: "A value is not acceptable.",
    429: "Too many attempts or security codes: try again later.",
    503: "The security code could not be sent.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        model: type[BaseModel] = ValidationErrorOut if code == 422 else ErrorOut
        out[code] = {"model": model, "description": _DESCRIPTIONS[code]}
    return out


_SIGNED_IN = (401, 422)
_COMPANY_READ = (401, 403, 404, 422)
_COMPANY_WRITE = (401, 403, 404, 409, 422)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


# -- the router --------------------------------------------------------------------------------


def router(context: PortalContext) -> APIRouter:
    """The API's routes (mounted under ``/api/v1`` by :func:`~.app.create_app`)."""
    portal = context.portal
    # operationId = the endpoint's name (e.g. ``generate_keys``), for generated clients
    api = APIRouter(generate_unique_id_function=lambda route: route.name)
    bearer = HTTPBearer(
        auto_error=False,
        scheme_name="token",
        description="The token of POST /auth/sign-in, after POST /auth/verify.",
    )

    with_credentials = Depends(bearer)

    async def token(
        credentials: HTTPAuthorizationCredentials | None = with_credentials,
    ) -> str:
        if credentials is None or not credentials.credentials:
            raise _unauthorized("Send Authorization: Bearer <token> (POST /auth/sign-in).")
        return credentials.credentials

    with_token = Depends(token)

    async def signed_in(tok: str = with_token) -> Actor:
        try:
            return await context.call(portal.actor, tok, kind="api")
        except Unauthenticated as e:
            raise _unauthorized(e.message) from None

    as_signed_in = Depends(signed_in)

    async def member(company_id: CompanyId, tok: str = with_token) -> Actor:
        """The actor in ``company_id``: 404 unless a member (or an operator)."""
        try:
            return await context.call(portal.actor, tok, company_id, kind="api")
        except Unauthenticated as e:
            raise _unauthorized(e.message) from None

    as_member = Depends(member)

    async def me(tok: str, actor: Actor) -> MeOut:
        companies = []
        for cid, name in await context.call(portal.companies, actor):
            roles = (await context.call(portal.actor, tok, cid, kind="api")).roles
            companies.append(CompanyOut(id=cid, name=name, roles=sorted(roles)))
        user = UserOut(
            id=actor.user_id,
            email=actor.email,
            display_name=actor.display_name,
            operator=actor.operator,
        )
        return MeOut(user=user, companies=companies)

    # -- signing in ------------------------------------------------------------------------

    @api.post(
        "/auth/sign-in",
        tags=["auth"],
        summary="Sign in, step 1: the password",
        responses=_errors(401, 422, 429, 503),
    )
    async def sign_in(body: SignInIn, response: Response) -> SignInOut:
        """Answers a pending token and sends the security code (email users). Five failed
        passwords for an email within 15 minutes lock its sign-in (429)."""
        result = await context.call(portal.sign_in, body.email, body.password, "api")
        await context.deliver(result.code)
        response.headers.update(_NO_STORE)
        return SignInOut(token=result.token, method=TwoFactorMethod(result.method))

    @api.post(
        "/auth/verify",
        tags=["auth"],
        summary="Sign in, step 2: the security code",
        responses=_errors(401, 422),
    )
    async def verify(body: VerifyIn, tok: str = with_token) -> MeOut:
        """With the pending token as bearer: checks the code; the token is then signed in."""
        try:
            actor = await context.call(portal.verify_sign_in, tok, body.code)
        except Unauthenticated as e:
            raise _unauthorized(e.message) from None
        return await me(tok, actor)

    @api.post(
        "/auth/resend-code",
        tags=["auth"],
        summary="Resend the sign-in security code",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=_errors(401, 429, 503),
    )
    async def resend_code(tok: str = with_token) -> Response:
        """A new code for a pending sign-in; the previous code stops working."""
        try:
            code = await context.call(portal.resend_sign_in_code, tok)
        except Unauthenticated as e:
            raise _unauthorized(e.message) from None
        await context.deliver(code)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.post(
        "/auth/sign-out",
        tags=["auth"],
        summary="Sign out (revoke the token)",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=_errors(401),
    )
    async def sign_out(tok: str = with_token) -> Response:
        await context.call(portal.sign_out, tok)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.get("/me", tags=["auth"], summary="Who am I", responses=_errors(401))
    async def get_me(tok: str = with_token, actor: Actor = as_signed_in) -> MeOut:
        """The user, and each company with the user's roles there (P-008, AP-10)."""
        return await me(tok, actor)

    @api.get("/companies", tags=["companies"], summary="Your companies", responses=_errors(401))
    async def companies(tok: str = with_token, actor: Actor = as_signed_in) -> list[CompanyOut]:
        """The Company drop-down (P-008, P-025)."""
        return (await me(tok, actor)).companies

    # -- Drop Copy sessions -----------------------------------------------------------------

    @api.get(
        "/companies/{company_id}/sessions",
        tags=["sessions"],
        summary="Drop Copy sessions (sort / filter)",
        responses=_errors(*_COMPANY_READ),
    )
    async def list_sessions(
        environment: Environment | None = None,
        session_type: SessionTypeIn | None = None,
        search: Annotated[Search | None, Query(description="Session ID, source or text")] = None,
        sort: SessionSort = SessionSort.SESSION_ID,
        order: SortOrder = SortOrder.ASC,
        actor: Actor = as_member,
    ) -> list[SessionOut]:
        """The Drop Copy Sessions page (P-022, P-024, P-028)."""
        views = await context.call(
            lambda: portal.list_sessions(
                actor,
                environment=environment.value if environment else None,
                session_type=session_type.value if session_type else None,
                search=search,
                sort=sort.value,
                descending=order is SortOrder.DESC,
            )
        )
        return [_session(v) for v in views]

    @api.get(
        "/companies/{company_id}/sessions/{session_pk}",
        tags=["sessions"],
        summary="A session's details",
        responses=_errors(*_COMPANY_READ),
    )
    async def get_session(session_pk: SessionPk, actor: Actor = as_member) -> SessionOut:
        """Session ID, Environment, Session Type, Business Rationale, sources, keys
        (P-027..P-033)."""
        return _session(await context.call(portal.session, actor, session_pk))

    @api.get(
        "/companies/{company_id}/sessions/{session_pk}/ips",
        tags=["sessions"],
        summary="View IPs",
        responses=_errors(*_COMPANY_READ),
    )
    async def view_ips(session_pk: SessionPk, actor: Actor = as_member) -> IpsOut:
        """The primary and backup gateway of every market segment (MSGW) or the CGW pair
        (P-026)."""
        return IpsOut.model_validate(await context.call(portal.view_ips, actor, session_pk))

    @api.post(
        "/companies/{company_id}/sessions/{session_pk}/sources",
        tags=["requests"],
        summary="Manage Source SenderComps -> Submit",
        status_code=status.HTTP_201_CREATED,
        responses=_errors(*_COMPANY_WRITE),
    )
    async def change_sources(
        session_pk: SessionPk, body: SourcesChangeIn, actor: Actor = as_member
    ) -> RequestOut:
        """A request to add / remove source SenderComps, In-Progress until the daily processing
        at 4pm CT (P-033..P-039)."""
        view = await context.call(
            lambda: portal.submit_sources(actor, session_pk, add=body.add, remove=body.remove)
        )
        return _request(view)

    @api.get(
        "/companies/{company_id}/sources",
        tags=["sessions"],
        summary="Add Source SenderComps: the choices",
        responses=_errors(*_COMPANY_READ),
    )
    async def source_choices(environment: Environment, actor: Actor = as_member) -> list[SourceOut]:
        """The company's iLink 3 sessions in ``environment`` (P-014)."""
        views = await context.call(portal.source_choices, actor, environment.value)
        return [_source(s) for s in views]

    @api.get(
        "/companies/{company_id}/ilink3-sessions",
        tags=["sessions"],
        summary="The company's iLink 3 sessions",
        responses=_errors(*_COMPANY_READ),
    )
    async def ilink3_sessions(actor: Actor = as_member) -> list[SourceOut]:
        """Every environment; their keys are managed as ``ilink3:<id>`` (AX-02)."""
        return [_source(s) for s in await context.call(portal.ilink3_sessions, actor)]

    @api.get(
        "/companies/{company_id}/fee",
        tags=["requests"],
        summary="What a new Drop Copy group costs",
        responses=_errors(*_COMPANY_READ),
    )
    async def fee(actor: Actor = as_member) -> FeeOut:
        """The first group is free, each further one $500/month (D-110, D-111)."""
        return _fee(await context.call(portal.fee_notice, actor))

    # -- requests ---------------------------------------------------------------------------

    @api.post(
        "/companies/{company_id}/requests/create-session",
        tags=["requests"],
        summary="Create New Session -> Submit",
        status_code=status.HTTP_201_CREATED,
        responses=_errors(*_COMPANY_WRITE),
    )
    async def create_session(body: CreateSessionIn, actor: Actor = as_member) -> RequestOut:
        """A request, In-Progress until the daily processing at 4pm CT; then Completed (the
        session appears) or Failed with a reason (P-006..P-022). Refused at once (422) when the
        company has no Globex Firm ID in the environment (P-007)."""
        view = await context.call(
            lambda: portal.submit_create(
                actor,
                environment=body.environment.value,
                session_type=body.session_type.value,
                number_of_sessions=body.number_of_sessions,
                business_rationale=body.business_rationale,
                source_ids=body.source_ids,
            )
        )
        return _request(view)

    @api.get(
        "/companies/{company_id}/requests",
        tags=["requests"],
        summary="My Requests",
        responses=_errors(*_COMPANY_READ),
    )
    async def list_requests(actor: Actor = as_member) -> list[RequestOut]:
        """The company's requests, newest first, with the reason of each Failed one
        (P-018, P-021)."""
        return [_request(v) for v in await context.call(portal.requests, actor)]

    @api.get(
        "/companies/{company_id}/requests/{request_id}",
        tags=["requests"],
        summary="A request's details",
        responses=_errors(*_COMPANY_READ),
    )
    async def get_request(request_id: RequestId, actor: Actor = as_member) -> RequestOut:
        return _request(await context.call(portal.request, actor, request_id))

    # -- keys -------------------------------------------------------------------------------

    @api.post(
        "/companies/{company_id}/keys/overview",
        tags=["keys"],
        summary="Manage Keys for Selected Session(s)",
        responses=_errors(*_COMPANY_READ),
    )
    async def key_overview(body: KeySessionsIn, actor: Actor = as_member) -> list[OwnerKeysOut]:
        """Each selected session's usable key pairs (P-043)."""
        views = await context.call(portal.key_overview, actor, _refs(body.sessions))
        return [_owner_keys(o) for o in views]

    @api.post(
        "/companies/{company_id}/keys/generate",
        tags=["keys"],
        summary="Generate Key(s)",
        status_code=status.HTTP_201_CREATED,
        responses={
            **_errors(*_COMPANY_WRITE),
            409: {
                "model": KeyChoiceOut,
                "description": "A session holds two key pairs: name one in `delete` (P-042).",
            },
        },
    )
    async def generate_keys(body: GenerateKeysIn, actor: Actor = as_member) -> GeneratedKeysOut:
        """One new pair per selected session, all or none (P-041..P-048). Existing pairs that
        stay expire 4 weeks later (P-044); those named in ``delete`` go at once (P-045). The
        secrets are not in this answer: download them with a security code."""
        refs = _refs(body.sessions)
        delete = _ref_map(body.delete)
        made = await context.call(lambda: portal.generate_keys(actor, refs, delete=delete))
        return GeneratedKeysOut(keys=[_generated(g) for g in made])

    @api.post(
        "/companies/{company_id}/keys/delete",
        tags=["keys"],
        summary="Delete Key(s), confirmed",
        responses=_errors(*_COMPANY_WRITE),
    )
    async def delete_keys(body: DeleteKeysIn, actor: Actor = as_member) -> DeletedKeysOut:
        """The named pairs stop working at once (P-054..P-059)."""
        gone = await context.call(portal.delete_keys, actor, _ref_map(body.keys))
        return DeletedKeysOut(deleted=gone)

    @api.post(
        "/companies/{company_id}/keys/download-code",
        tags=["keys"],
        summary="Send (or resend) the download security code",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=_errors(401, 403, 404, 422, 429, 503),
    )
    async def download_code(actor: Actor = as_member) -> Response:
        """Emails a 6-digit code (valid 10 minutes, single use); a new one revokes the previous
        (Resend Code, P-050, P-062). At most 10 codes a day, sign-in included (429).
        Authenticator users use their app's code instead: nothing is sent."""
        code = await context.call(portal.download_code, actor)
        await context.deliver(code)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.post(
        "/companies/{company_id}/keys/download",
        tags=["keys"],
        summary="Download All Key(s)",
        # a plain Response class: the 200 is text (below), the errors stay documented as JSON
        response_class=Response,
        responses={
            200: {
                "description": "CME's key file (AP-07), as an attachment.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **_errors(*_COMPANY_WRITE),
        },
    )
    async def download_keys(body: DownloadKeysIn, actor: Actor = as_member) -> Response:
        """The usable key pairs of the selected sessions, with their secrets, as a text file
        (P-049..P-052, P-060..P-063). A wrong or used code is refused (403)."""
        name, text = await context.call(
            portal.download_keys, actor, _refs(body.sessions), body.code
        )
        return attachment(text, name, headers=_NO_STORE)

    # -- configuration, audit, operations -------------------------------------------------------

    @api.get(
        "/msgw-config/{environment}",
        tags=["configuration"],
        summary="The Drop Copy 4.0 MSGW configuration file",
        response_class=Response,
        responses={
            200: {
                "description": "CSV: every market segment with its primary and backup gateway.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **_errors(*_SIGNED_IN),
        },
    )
    async def msgw_config(environment: ConfigEnvironment, actor: Actor = as_signed_in) -> Response:
        """The file published on SFTP (D-090)."""
        name, text = await context.call(portal.msgw_config, environment.value)
        return attachment(text, name, "text/csv")

    @api.get(
        "/companies/{company_id}/audit",
        tags=["companies"],
        summary="The company's audit trail (administrators)",
        responses=_errors(*_COMPANY_READ),
    )
    async def audit(
        limit: Annotated[int, Query(ge=1, le=1000)] = 200, actor: Actor = as_member
    ) -> list[AuditEventOut]:
        rows = await context.call(portal.audit, actor, limit)
        return [
            AuditEventOut(
                at=_time(r["at"]),
                action=r["action"],
                subject=r["subject"],
                user_id=r["user_id"],
                detail=r["detail"] or {},
            )
            for r in rows
        ]

    def operator(actor: Actor) -> None:
        if not actor.operator:
            raise Forbidden("Only CME operators may run the processing.")

    @api.post(
        "/admin/batch/run",
        tags=["operations"],
        summary="Run the daily processing now (operators)",
        responses=_errors(401, 403),
    )
    async def run_batch(actor: Actor = as_signed_in) -> BatchReportOut:
        """Processes every In-Progress request submitted before now (AP-03)."""
        operator(actor)
        report = await context.call(portal.run_batch)
        return BatchReportOut(
            cutoff=_time(report["cutoff"]),
            completed=report["completed"],
            failed=report["failed"],
        )

    @api.get(
        "/admin/batch",
        tags=["operations"],
        summary="When the processing last ran (operators)",
        responses=_errors(401, 403),
    )
    async def batch_state(actor: Actor = as_signed_in) -> BatchStateOut:
        operator(actor)
        last = await context.call(portal.last_batch_cutoff)
        return BatchStateOut(last_cutoff=_time(last) if last is not None else None)

    return api
