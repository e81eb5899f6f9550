"""Data-protection requests: export everything held about a customer (``privacy:export``)
and erase a customer everywhere (``privacy:erase``); admin keys hold both.

An erasure is profile's to start (it owns the person): the gateway first deletes its
own export jobs about the customer, then forwards the request with the requesting key.
An export is the gateway's job (``exports``): it alone may read every service.
Each export started and each erasure accepted is in the audit log once."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway import audit, erased, exports
from services.gateway.auth import Eraser, Exporter, UpstreamsDep, failures
from services.gateway.links import link, links
from services.gateway.runtime import RuntimeDep
from shared.contracts.privacy import ErasureJob, ErasureReason, ExportJob
from shared.contracts.query import Id
from shared.problems import Problem

router = APIRouter(tags=["privacy"])
_EXPORT = "/v1/privacy/exports/{export_id}"
_ERASURE = "/v1/privacy/erasures/{erasure_id}"


@router.delete(
    "/v1/customers/{customer_id}",
    status_code=202,
    response_model=ErasureJob,
    responses=failures(404),
    openapi_extra=links(
        202, Erasure=link(_ERASURE, "get", erasure_id="$response.body#/erasure_id")
    ),
)
async def erase_customer(
    customer_id: Id,
    reason: ErasureReason,
    runtime: RuntimeDep,
    caller: Eraser,
    upstreams: UpstreamsDep,
) -> Response:
    """Erase the customer everywhere: profile forgets the person at once, every service
    removes or anonymises what it holds (amounts and ledger totals stay, without
    identity) and confirms; the job (``Location``) says when the last one has."""
    await exports.forget(runtime.db, caller.tenant_id, customer_id=customer_id)
    params = {"reason": reason, "requested_by": f"api-key:{caller.key_id}"}
    path = f"/v1/customers/{customer_id}"
    target = f"customer:{customer_id}"
    async with audit.asking(runtime.db, caller, audit.Decision("customer.erased", target)) as ask:
        answer = await upstreams.send("profile", "DELETE", path, caller.tenant_id, params)
        if answer.status_code != 202:
            return answer
        job = ErasureJob.model_validate_json(bytes(answer.body))
        erasure_id = job.erasure_id
        await erased.record(runtime.db, caller.tenant_id, job, runtime.clock.now())
        runtime.resources.erasures.erased_here()
        answer.headers["Location"] = f"/v1/privacy/erasures/{erasure_id}"
        decision = audit.Decision(
            "customer.erased",
            target,
            before={"erased": False},
            after={"erasure_id": erasure_id, "reason": reason},
            dedupe=str(erasure_id),
        )
        return await ask.recorded(answer, decision)


@router.get("/v1/privacy/erasures/{erasure_id}", response_model=ErasureJob, responses=failures(404))
async def get_erasure(
    erasure_id: Id, request: Request, caller: Eraser, upstreams: UpstreamsDep
) -> Response:
    """An erasure's job: each service and when it confirmed; ``erased`` once all have,
    with the seconds from the request to the last confirmation."""
    path = f"/v1/privacy/erasures/{erasure_id}"
    return await upstreams.forward("profile", path, caller.tenant_id, request)


@router.post(
    "/v1/customers/{customer_id}/export",
    status_code=202,
    responses=failures(404),
    openapi_extra=links(202, Export=link(_EXPORT, "get", export_id="$response.body#/export_id")),
)
async def export_customer(
    customer_id: Id,
    response: Response,
    runtime: RuntimeDep,
    caller: Exporter,
    upstreams: UpstreamsDep,
) -> ExportJob:
    """Start gathering everything every service holds about the customer (profile,
    identities, consent and its history, attributes, lifecycle history and scores,
    orders, complaints, survey answers, ledger and lots); ``GET`` the job (``Location``)
    for its progress, then the document (kept a day)."""
    job = await exports.start(
        runtime.db, upstreams, caller.tenant_id, customer_id, f"api-key:{caller.key_id}"
    )
    response.headers["Location"] = f"/v1/privacy/exports/{job.export_id}"
    decision = audit.Decision(
        "customer.exported", f"customer:{customer_id}", after={"export_id": job.export_id}
    )
    await audit.record(runtime.db, caller, decision)
    return job


@router.get(_EXPORT, responses=failures(404))
async def get_export(export_id: Id, runtime: RuntimeDep, caller: Exporter) -> ExportJob:
    """An export's progress by service, then (``ready``) its JSON document."""
    found = await exports.find(runtime.db, caller.tenant_id, export_id)
    if found is None:
        raise Problem(
            404, "export-not-found", f"No export {export_id} in this tenant (or it expired)."
        )
    return found
