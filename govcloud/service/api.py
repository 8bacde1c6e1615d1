"""The JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``).

Authentication is ``Authorization: Bearer`` only (a personal access token, or an OIDC access
token when an issuer and audience are configured): no cookies, so no ambient authority and no
CSRF surface. Every refusal is JSON ``{"error", "message"[, "diagnostics"]}`` with a 4xx status.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from govcloud.service import auth, db
from govcloud.service.auth import Caller
from govcloud.service.core import DIGEST_PATTERN, Expected, Service
from govcloud.service.errors import ServiceError, unauthenticated
from govcloud.service.middleware import client_address

YAML_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}},
    "text/plain": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object", "required": ["yaml"],
                                    "properties": {"yaml": {"type": "string"}}}},
}}}

SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A submission's id")]


def service(request: Request) -> Service:
    return request.app.state.service


def api_caller(request: Request) -> Caller:
    """The principal behind the bearer token, rate limited per client and principal."""
    svc: Service = request.app.state.service
    ip = client_address(request, svc.config.trust_proxy_headers)
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise unauthenticated()
    credential = credential.strip()
    failures = request.app.state.signin_limiter
    failures.check((ip, "bearer"))          # a client that guessed too often is refused before trying
    pid, how = None, "token"
    if credential.startswith(auth.TOKEN_PREFIX):
        pid = auth.token_principal(svc.Session, credential)
    elif svc.oidc is not None and svc.config.oidc.audience and credential.count(".") == 2:
        try:
            claims = svc.oidc.verify(credential, audience=svc.config.oidc.audience)
        except ServiceError as exc:
            if exc.status != 401:
                raise
            claims = None
        if claims is not None:
            p = svc.directories.require().by_subject.get(str(claims["sub"]))
            pid, how = (p.id if p else None), "oidc"
    principal = svc.directories.principal(pid) if pid else None
    if principal is None:
        failures.take((ip, "bearer"))
        raise unauthenticated("the bearer token is not valid (unknown, expired, revoked, or its principal is "
                              "no longer declared)")
    request.app.state.api_limiter.take((ip, principal.id))
    request.scope.setdefault("state", {})["principal"] = principal.id
    return Caller(principal, how)


async def yaml_body(request: Request) -> str:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError(400, "not_utf8", "the request body is not UTF-8") from None
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            raise ServiceError(400, "bad_json", "the body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("yaml"), str) or set(data) - {"yaml"}:
            raise ServiceError(400, "bad_json", 'send {"yaml": "..."} or the YAML itself (Content-Type: application/yaml)')
        return data["yaml"]
    return text


def submission_json(svc: Service, sub: db.Submission, *, detail: bool = False) -> dict:
    rev = sub.latest
    result = rev.result
    out = {"id": sub.id, "vendor": sub.vendor, "principal": sub.principal, "status": sub.status,
           "request": sub.request_name, "municipalities": sub.codes,
           "createdAt": sub.created_at.isoformat(), "updatedAt": sub.updated_at.isoformat(),
           "revision": {"number": rev.number, "file": rev.display, "valid": rev.valid, "digest": rev.digest,
                        "diagnostics": result["diagnostics"], "summary": result["summary"]},
           "version": sub.version,
           "claim": {"kind": sub.claim, "by": sub.claimed_by, "since": sub.claimed_at.isoformat()} if sub.claim else None}
    if detail:
        out["yaml"] = rev.yaml_text
        out["revisions"] = [{"number": r.number, "valid": r.valid, "digest": r.digest, "principal": r.principal,
                             "createdAt": r.created_at.isoformat()} for r in sub.revisions]
        out["timeline"] = [{**e, "time": e["time"].isoformat()} for e in svc.timeline(sub)]
    return out


class _Decision(BaseModel):
    """What the decider saw. A mismatch is 409 ``{"error": "stale", "current": {...}}``."""

    model_config = ConfigDict(extra="forbid")
    digest: Optional[str] = Field(None, pattern=DIGEST_PATTERN,
                                  description="the request digest you reviewed (revision.digest of GET /submissions/{id})")
    revision: Optional[int] = Field(None, ge=1, le=2**31 - 1, description="the revision number you reviewed")

    def expected(self) -> Expected:
        return Expected(self.revision, self.digest)


class ApprovalBody(_Decision):
    municipality: Optional[str] = Field(None, pattern=r"^\d{6}$", description="when you approve for several of its municipalities")
    signature: Optional[str] = Field(None, max_length=16384, description="a detached SSH signature (ssh-keygen -Y sign -n govcloud-approval) over GET .../statement; without it the service signs for you, and digest or revision is required")
    comment: str = Field("", max_length=4000)


class RejectBody(_Decision):
    comment: str = Field(..., max_length=4000)


class ApplyBody(_Decision):
    pass


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(..., max_length=4000)


STALE = {409: {"description": "the submission moved on from what you saw (error stale, with current), "
                              "or another transition won (error conflict); nothing was signed or written"}}


router = APIRouter(prefix="/api/v1")


@router.get("/me", summary="Who the token belongs to")
def me(caller: Caller = Depends(api_caller)) -> dict:
    p = caller.principal
    return {"id": p.id, "displayName": p.display_name, "email": p.email, "role": p.role, "vendor": p.vendor,
            "municipalities": list(p.municipalities), "authentication": caller.authentication}


@router.post("/requests/validate", summary="Validate a TenantRequest (nothing is stored)", openapi_extra=YAML_BODY)
def validate(text: str = Depends(yaml_body), name: str = Query("request.yaml", max_length=200, pattern=r"^[\w./-]+$"),
             caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> JSONResponse:
    result = svc.validate(text, name)
    from dataclasses import asdict

    body = {**result.as_dict(), "diagnostics": [d.as_dict() for d in result.diagnostics],
            "summary": asdict(result.summary) if result.summary else None}
    return JSONResponse(body, status_code=200 if result.valid else 422)


@router.post("/submissions", status_code=201, summary="Submit a request (vendors)", openapi_extra=YAML_BODY)
def submit(text: str = Depends(yaml_body), caller: Caller = Depends(api_caller),
           svc: Service = Depends(service)) -> dict:
    return submission_json(svc, svc.submit(caller, text), detail=True)


Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items (default 100)")]


def _page(items: list, key, after, limit: int, request: Request, response: Response, *,
          descending: bool = False) -> list:
    """One page of ``items`` (already sorted by ``key``, newest first when ``descending``) after
    the item whose key is ``after``; a ``Link: <…>; rel="next"`` header (RFC 8288) points at the
    next page when there is one."""
    if after is not None:
        items = [i for i in items if (key(i) < after if descending else key(i) > after)]
    page = items[:limit]
    if len(items) > limit:
        url = request.url.include_query_params(after=key(page[-1]), limit=limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return page


@router.get("/submissions", summary="Submissions you may see, newest first (paged: limit, after, Link: rel=next)")
def submissions(request: Request, response: Response, limit: Limit = 100,
                after: Annotated[Optional[int], Query(ge=1, le=2**31 - 1, description="Continue below this submission id")] = None,
                caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> list[dict]:
    page = _page(svc.list(caller), lambda sub: sub.id, after, limit, request, response, descending=True)
    return [submission_json(svc, s) for s in page]


@router.get("/submissions/{sid}", summary="One submission with its revisions and timeline")
def submission(sid: SubmissionId, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return submission_json(svc, svc.get(caller, sid), detail=True)


@router.post("/submissions/{sid}/revisions", status_code=201, summary="Revise (vendors)", openapi_extra=YAML_BODY)
def revise(sid: SubmissionId, text: str = Depends(yaml_body), caller: Caller = Depends(api_caller),
           svc: Service = Depends(service)) -> dict:
    return submission_json(svc, svc.revise(caller, sid, text), detail=True)


@router.post("/submissions/{sid}/withdraw", summary="Withdraw (vendors)")
def withdraw(sid: SubmissionId, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return submission_json(svc, svc.withdraw(caller, sid), detail=True)


@router.get("/submissions/{sid}/summary", summary="What approvers see, and which approvals count")
def summary(sid: SubmissionId, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return svc.summary(caller, sid)


@router.get("/submissions/{sid}/statement", summary="The exact bytes your approval signs",
            response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def statement(sid: SubmissionId, municipality: Optional[str] = Query(None, pattern=r"^\d{6}$"),
              caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> Response:
    return Response(svc.statement(caller, sid, municipality), media_type="text/plain; charset=utf-8")


@router.post("/submissions/{sid}/preflight", summary="Plan, check and prove the request's tenants before approving (platform)")
def preflight(sid: SubmissionId, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return svc.preflight(caller, sid)


@router.post("/submissions/{sid}/approvals", status_code=201, summary="Approve (municipality approvers, platform)",
             responses=STALE)
def approve(sid: SubmissionId, body: ApprovalBody, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    entry = svc.approve(caller, sid, municipality=body.municipality, signature=body.signature, comment=body.comment,
                        expected=body.expected())
    d = entry["data"]
    return {"historySeq": entry["seq"], "hash": entry["hash"], "request": d["request"], "digest": d["digest"],
            "role": d["role"], "municipality": d.get("municipality"), "principal": d["principal"],
            "signedBy": d["signedBy"], "serviceKey": d.get("serviceKey")}


@router.post("/submissions/{sid}/reject", summary="Reject with a comment (municipality approvers, platform)",
             responses=STALE)
def reject(sid: SubmissionId, body: RejectBody, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return submission_json(svc, svc.reject(caller, sid, body.comment, body.expected()), detail=True)


@router.post("/submissions/{sid}/comments", status_code=201, summary="Comment on a submission")
def comment(sid: SubmissionId, body: CommentBody, caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    svc.comment(caller, sid, body.comment)
    return submission_json(svc, svc.get(caller, sid), detail=True)


@router.post("/submissions/{sid}/apply", summary="Apply an approved request (platform)", responses=STALE)
def apply(sid: SubmissionId, body: Optional[ApplyBody] = None, caller: Caller = Depends(api_caller),
          svc: Service = Depends(service)) -> dict:
    return {"tenants": svc.apply(caller, sid, body.expected() if body else Expected())}


@router.get("/tenants", summary="Tenants you may see, by name (paged: limit, after, Link: rel=next)")
def tenants(request: Request, response: Response, limit: Limit = 100,
            after: Annotated[Optional[str], Query(max_length=200, description="Continue after this tenant name")] = None,
            caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> list[dict]:
    return _page(svc.tenants(caller), lambda t: t["metadata"]["name"], after, limit, request, response)


@router.get("/findings", summary="Baseline findings over every planned stack, and the network proof (platform, security)")
def findings(caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return svc.findings(caller)


@router.get("/history", summary="The verified history: who approved what (platform, security)")
def history(caller: Caller = Depends(api_caller), svc: Service = Depends(service)) -> dict:
    return svc.history(caller)
