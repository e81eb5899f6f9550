"""A customer's record over HTTP (reached through the gateway, which authenticates):
the tenant's attribute schema, editing a record, its identities and its consent."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from fastapi.responses import StreamingResponse

from services.profile import editing, export, identities, record_store, views
from services.profile.attributes import Definition, InvalidAttributes, Schema, visible
from services.profile.guardrails import Guardrails
from services.profile.resolution import Record
from shared.contracts.records import (
    AttributeDefinition,
    AttributeSchema,
    ConsentCursor,
    ConsentEntry,
    ConsentLimit,
    ConsentPage,
    CustomerPatch,
    CustomerRecord,
    ExportFormat,
    IdentityGuardrails,
    IdentityList,
    IfMatch,
    NewReference,
    RecordedConsent,
    ReferenceExternalId,
    ReferenceSource,
)
from shared.cursors import decode_keyset
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.settings import ServiceSettings

RuntimeDep = Annotated[Runtime[ServiceSettings, None], Depends(get_runtime)]
router = APIRouter(tags=["profile"])
AHEAD = timedelta(minutes=5)


@router.get("/v1/profile/attributes")
async def get_attributes(runtime: RuntimeDep, tenant: TenantDep) -> AttributeSchema:
    """The attributes the tenant declares."""
    return _schema(await editing.schema_of(runtime.db, tenant))


@router.put("/v1/profile/attributes")
async def put_attributes(
    runtime: RuntimeDep, tenant: TenantDep, schema: AttributeSchema
) -> AttributeSchema:
    """Declare exactly these attributes (a name keeps its type for good)."""
    declared = [Definition(name, **a.model_dump()) for name, a in schema.attributes.items()]
    try:
        saved = await editing.replace_schema(runtime.db, tenant, declared)
    except InvalidAttributes as error:
        raise Problem(
            409,
            "attribute-type-fixed",
            f"A name keeps its type for good: {error}. Declare a new name instead.",
            errors=[
                {"field": f"body.attributes.{name}.type", "message": m} for name, m in error.errors
            ],
        ) from error
    return _schema(saved)


@router.patch("/v1/customers/{customer_id}")
async def patch_customer(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    patch: Annotated[CustomerPatch, Body()],
    response: Response,
    if_match: IfMatch = None,
) -> CustomerRecord:
    """Apply a JSON merge patch to the record; ``If-Match`` makes it conditional."""
    given = patch.model_fields_set - {"attributes"}
    edit = editing.Edit({k: getattr(patch, k) for k in given}, dict(patch.attributes))
    try:
        record, schema = await editing.edit_record(runtime.db, tenant, customer_id, edit, if_match)
    except editing.CustomerNotFound as error:
        raise _missing(customer_id) from error
    except editing.StaleVersion as error:
        raise Problem(
            412,
            "stale-version",
            f"The customer changed since you read it (now version {error.version}): read it "
            "again, reapply your change and send it with the new ETag as If-Match.",
            current_version=error.version,
        ) from error
    except InvalidAttributes as error:
        raise _invalid(error, "body.attributes") from error
    response.headers["ETag"] = editing.etag(record.version)
    return _record(record, schema)


@router.get("/v1/customers/{customer_id}/identities")
async def get_identities(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID
) -> IdentityList:
    """What names the customer: partners' references, its e-mail and phone."""
    found = await views.identities(runtime.db.engine, tenant, customer_id)
    if found is None:
        raise _missing(customer_id)
    return found


@router.get("/v1/customers/{customer_id}/consent")
async def get_consent(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    limit: ConsentLimit = 50,
    cursor: ConsentCursor = None,
) -> ConsentPage:
    """The customer's current consent and its decisions, newest first."""
    before = decode_keyset(cursor) if cursor else None
    found = await views.consent_page(runtime.db.engine, tenant, customer_id, limit, before)
    if found is None:
        raise _missing(customer_id)
    return found


@router.post("/v1/customers/{customer_id}/consent", status_code=201)
async def post_consent(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID, decision: RecordedConsent
) -> ConsentEntry:
    """Record a consent decision the customer took (the latest by its time applies)."""
    if decision.at and decision.at > runtime.clock.now() + AHEAD:
        raise Problem(
            422,
            "validation-failed",
            "Fix at: a decision cannot lie more than five minutes ahead of now.",
            errors=[{"field": "body.at", "message": "lies in the future"}],
        )
    try:
        recorded, applied = await editing.record_consent(
            runtime.db, tenant, customer_id, decision.model_dump(), decision.recorded_by
        )
    except editing.CustomerNotFound as error:
        raise _missing(customer_id) from error
    return ConsentEntry(**recorded.row(), recorded_at=runtime.clock.now(), applied=applied)


def _schema(definitions: list[Definition]) -> AttributeSchema:
    return AttributeSchema(
        attributes={
            d.name: AttributeDefinition(
                type=d.type, description=d.description, personal_data=d.personal_data
            )
            for d in sorted(definitions, key=lambda d: d.name)
        }
    )


def _record(record: Record, schema: Schema) -> CustomerRecord:
    return CustomerRecord(
        customer_id=record.key[1],
        version=record.version,
        **{**record_store.record_row(record), "attributes": visible(schema, record.attributes)},
    )


def _invalid(error: InvalidAttributes, prefix: str) -> Problem:
    return Problem(
        422,
        "invalid-attributes",
        f"Fix these attributes: {error}.",
        errors=[{"field": f"{prefix}.{name}", "message": m} for name, m in error.errors],
    )


def _missing(customer_id: uuid.UUID) -> Problem:
    return Problem(404, "customer-not-found", f"No customer {customer_id} exists.")


@router.get("/v1/profile/identity-guardrails")
async def get_guardrails(runtime: RuntimeDep, tenant: TenantDep) -> IdentityGuardrails:
    """The tenant's rules for automatic linking (the defaults until it sets its own)."""
    rails = await identities.get_guardrails(runtime.db, tenant)
    return IdentityGuardrails.model_validate(asdict(rails))


@router.put("/v1/profile/identity-guardrails")
async def put_guardrails(
    runtime: RuntimeDep, tenant: TenantDep, rails: IdentityGuardrails
) -> IdentityGuardrails:
    """Set the tenant's rules for automatic linking (they apply to events from now on)."""
    dumped = rails.model_dump()
    await identities.set_guardrails(
        runtime.db,
        tenant,
        Guardrails(
            tuple(dumped["blocked_emails"]),
            tuple(dumped["blocked_phones"]),
            rails.max_identities,
            rails.on_match,
        ),
    )
    return rails


@router.post("/v1/customers/{customer_id}/identities", status_code=201)
async def add_identity(
    runtime: RuntimeDep, tenant: TenantDep, customer_id: uuid.UUID, reference: NewReference
) -> IdentityList:
    """Give the customer one more partner reference (an operator's link)."""
    try:
        live = await identities.add_reference(
            runtime.db, tenant, customer_id, reference.source, reference.external_id
        )
    except editing.CustomerNotFound as error:
        raise _missing(customer_id) from error
    except identities.ReferenceTaken as error:
        raise Problem(
            409,
            "identity-taken",
            f"Another customer holds this {reference.source} reference: merge the two "
            "customers instead (/v1/profile/merge-candidates).",
        ) from error
    except identities.TooManyIdentities as error:
        raise Problem(
            409,
            "identity-limit",
            f"The customer has {error.limit} partner references, the tenant's most "
            "(/v1/profile/identity-guardrails); remove one first.",
        ) from error
    return await _identities(runtime, tenant, live)


@router.delete("/v1/customers/{customer_id}/identities", status_code=204)
async def remove_identity(
    runtime: RuntimeDep,
    tenant: TenantDep,
    customer_id: uuid.UUID,
    source: ReferenceSource,
    external_id: ReferenceExternalId,
) -> Response:
    """Take a partner reference from the customer (its next event makes a new one)."""
    try:
        await identities.remove_reference(runtime.db, tenant, customer_id, source, external_id)
    except editing.CustomerNotFound as error:
        raise _missing(customer_id) from error
    except identities.ReferenceNotHeld as error:
        raise Problem(
            404,
            "identity-not-found",
            f"Customer {customer_id} holds no such {source} reference; "
            f"see /v1/customers/{customer_id}/identities.",
        ) from error
    return Response(status_code=204)


async def _identities(runtime: RuntimeDep, tenant: str, customer_id: uuid.UUID) -> IdentityList:
    found = await views.identities(runtime.db.engine, tenant, customer_id)
    if found is None:  # it was there a moment ago
        raise _missing(customer_id)
    return found


@router.get("/v1/profile/export", response_class=StreamingResponse)
async def export_customers(
    runtime: RuntimeDep, tenant: TenantDep, format: ExportFormat = "ndjson"
) -> StreamingResponse:
    """Every customer of the tenant, streamed as NDJSON or CSV."""
    declared = {d.name: d for d in await editing.schema_of(runtime.db, tenant)}
    return StreamingResponse(
        export.lines(runtime.db.engine, tenant, declared, format),
        media_type=export.MEDIA_TYPES[format],
    )
