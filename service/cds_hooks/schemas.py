"""Marshmallow schemas for the CDS Hooks JSON that is not FHIR: requests, contexts, feedback.

Request schemas ignore unknown fields (``unknown=EXCLUDE``) so that ``extension`` objects and
future fields are accepted (standards.md §1.3, checklist item 11). :func:`load` is the one
place where a marshmallow ``ValidationError`` becomes :class:`service.errors.InvalidInput`.

Marshmallow is the schema of record for the hook request's envelope (hook, hookInstance,
fhirServer, fhirAuthorization, context, prefetch as an object). The prefetch *resources* are
not its business: they are read once, by :mod:`service.cds_hooks.prefetch` (a resourceType
that is not a string is a 400 there) and the FHIR reader (each relevant entry validated in the
elements it reads), so they are never validated twice (issue 14 item 4). The schemas are built
once (a marshmallow Schema costs more to build than to run; ``load`` keeps no state).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from service.cds_hooks.cards import offered_override_reason
from service.errors import InvalidInput


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class FhirAuthorizationSchema(_Lenient):
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    scope = fields.String(required=True)
    subject = fields.String(required=True)
    patient = fields.String()


class HookRequestSchema(_Lenient):
    """The service request body (standards.md §1.3); ``context`` is checked per hook."""

    hook = fields.String(required=True, validate=validate.Length(min=1))
    hookInstance = fields.String(required=True, validate=validate.Length(min=1))
    fhirServer = fields.Url(schemes={"http", "https"}, require_tld=False)
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)
    context = fields.Dict(required=True)  # an object; checked per hook (CONTEXT_SCHEMAS)
    # An object of prefetch values (resources, Bundles, null): the envelope only, the values
    # are read by prefetch.py and the FHIR reader. (JSON object keys are always strings.)
    prefetch = fields.Dict()

    @validates_schema
    def _authorization_needs_server(self, data: Mapping[str, Any], **_: Any) -> None:
        # Invariant cds-r-1: fhirAuthorization is only meaningful with a fhirServer.
        if "fhirAuthorization" in data and "fhirServer" not in data:
            raise ValidationError("fhirServer is required with fhirAuthorization", "fhirServer")


class PatientViewContextSchema(_Lenient):
    userId = fields.String(required=True, validate=validate.Length(min=1))
    patientId = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9\-.]{1,64}$"))
    encounterId = fields.String()


class _DraftOrdersField(fields.Dict):
    """A FHIR Bundle as a plain dict (the orders themselves are read by ``order_hooks``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        out = super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        if out.get("resourceType") != "Bundle":
            raise ValidationError("draftOrders must be a Bundle")
        return out


class OrderSignContextSchema(PatientViewContextSchema):
    draftOrders = _DraftOrdersField(required=True)


class OrderSelectContextSchema(OrderSignContextSchema):
    selections = fields.List(fields.String(), required=True)


CONTEXT_SCHEMAS: Mapping[str, type[Schema]] = {
    "patient-view": PatientViewContextSchema,
    "order-select": OrderSelectContextSchema,
    "order-sign": OrderSignContextSchema,
}


def _rfc3339(value: str) -> None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValidationError("outcomeTimestamp must be an RFC 3339 date-time") from exc
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise ValidationError("outcomeTimestamp must be an RFC 3339 date-time with offset")


class _CardRefSchema(_Lenient):
    uuid = fields.String(required=True, validate=validate.Length(min=1))


class _CodingSchema(_Lenient):
    # The sandbox sends a reason with code (+system) but no display (standards.md §1.6).
    code = fields.String(required=True)
    system = fields.String()
    display = fields.String()


class _OverrideReasonSchema(_Lenient):
    reason = fields.Nested(_CodingSchema)
    userComment = fields.String()

    @post_load
    def _complete(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """A reason this service offered is stored as its full Coding (§6.3, Q4-32f), also when
        the client sends only its code, as the sandbox does (standards.md §1.6)."""
        reason = data.get("reason")
        if reason is not None:
            offered = offered_override_reason(reason.get("code"), reason.get("system"))
            if offered is not None:
                data["reason"] = offered
        return data


class _AcceptedSuggestionSchema(_Lenient):
    id = fields.String(required=True, validate=validate.Length(min=1))


class FeedbackItemSchema(_Lenient):
    """One feedback item (standards.md §1.6). ``card`` is the card's uuid."""

    card = fields.String(required=True, validate=validate.Length(min=1))
    outcome = fields.String(required=True, validate=validate.OneOf(("accepted", "overridden")))
    acceptedSuggestions = fields.List(fields.Nested(_AcceptedSuggestionSchema))
    overrideReason = fields.Nested(_OverrideReasonSchema)
    outcomeTimestamp = fields.String(required=True, validate=_rfc3339)

    @validates_schema
    def _accepted_needs_suggestions(self, data: Mapping[str, Any], **_: Any) -> None:
        if data.get("outcome") == "accepted" and not data.get("acceptedSuggestions"):
            raise ValidationError("accepted needs acceptedSuggestions", "acceptedSuggestions")

    def load_card(self, raw: Any) -> Any:
        """Accept ``card`` as the 2.0 uuid string or as a ``{"uuid": …}`` object."""
        if isinstance(raw, Mapping) and isinstance(raw.get("card"), Mapping):
            card = _CARD_REF_SCHEMA.load(raw["card"])
            raw = {**raw, "card": card["uuid"]}
        return self.load(raw)


class FeedbackSchema(_Lenient):
    feedback = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


#: Built once: the request and context schemas of the hook call path.
HOOK_REQUEST_SCHEMA = HookRequestSchema()
CONTEXT_SCHEMA_INSTANCES: Mapping[str, Schema] = {
    hook: schema() for hook, schema in CONTEXT_SCHEMAS.items()
}
_FEEDBACK_SCHEMA = FeedbackSchema()
_FEEDBACK_ITEM_SCHEMA = FeedbackItemSchema()
_CARD_REF_SCHEMA = _CardRefSchema()


def load_hook_request(body: Any, hook: str) -> dict[str, Any]:
    """A hook call's body for a service of ``hook``: envelope, then context; InvalidInput (400)
    naming the fields at fault. The prefetch values are left as they are (see the module)."""
    request = load(HOOK_REQUEST_SCHEMA, body)
    if request["hook"] != hook:
        raise InvalidInput(f"this service answers the {hook} hook", ("hook",))
    request["context"] = load(CONTEXT_SCHEMA_INSTANCES[hook], request["context"], where="context")
    return request


def load(schema: Schema, data: Any, *, where: str = "") -> dict[str, Any]:
    """Validate ``data``; raise InvalidInput (400) naming the fields at fault."""
    if not isinstance(data, Mapping):
        raise InvalidInput("the body must be a JSON object", (where or "$",))
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc.messages), _fields(exc.messages, where)) from None
    return loaded


def load_feedback(body: Any) -> list[dict[str, Any]]:
    """The items of a feedback body, each validated; the first bad item fails the whole batch."""
    envelope = load(_FEEDBACK_SCHEMA, body)
    items: list[dict[str, Any]] = []
    for i, raw in enumerate(envelope["feedback"]):
        where = f"feedback[{i}]"
        try:
            items.append(_FEEDBACK_ITEM_SCHEMA.load_card(raw))
        except ValidationError as exc:
            raise InvalidInput(_describe(exc.messages), _fields(exc.messages, where)) from None
        except (TypeError, AttributeError):
            raise InvalidInput("a feedback item must be a JSON object", (where,)) from None
    return items


def _fields(messages: Any, where: str) -> tuple[str, ...]:
    if isinstance(messages, Mapping):
        prefix = f"{where}." if where else ""
        return tuple(f"{prefix}{key}" for key in messages if key != "_schema") or (where or "$",)
    return (where or "$",)


def _describe(messages: Any) -> str:
    if isinstance(messages, Mapping):
        parts = []
        for key, value in messages.items():
            text = _describe(value)
            parts.append(text if key == "_schema" else f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(messages, list):
        return "; ".join(_describe(m) for m in messages)
    return str(messages)
