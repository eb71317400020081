"""Request-body models of the three endpoints, the spec's documented defaults, and template schemas.

The models are ``TypedDict``\\ s validated by pydantic (``extra="forbid"`` and ``strict`` at every
depth) rather than ``BaseModel``\\ s: a request body is validated as a dict and sent as is, and a
``TypedDict`` says exactly what the API accepts in all three states a key can be in. A key left
out is *unset*; a key typed ``X | None`` may be sent as an explicit JSON ``null``; any other key
rejects ``null``. Validators are built on first use, one per endpoint, so importing this
package costs little more than importing pydantic.

Facts come from ``shared/spec/NOTES.md`` (cited as "NOTES §n") and the trimmed OpenAPI spec.
Where the spec contradicts itself the comment on the field says which way we went and why.

``_known`` (the open sets' known values), ``_blocks`` (shared fields and unions), ``_requests``
(the three request bodies), ``_defaults`` (documented defaults), ``_schema`` (editor schemas).
"""

from rtconfig._models._blocks import UNION_ERRORS, UnionError
from rtconfig._models._defaults import SPEC_DEFAULTS, defaults_for
from rtconfig._models._known import (
    KNOWN_BETA_MODELS,
    KNOWN_MODELS,
    KNOWN_TRANSCRIPTION_MODELS,
    KNOWN_VOICES,
)
from rtconfig._models._requests import (
    BetaClientSecret,
    ClientSecretCreateRequest,
    RealtimeSessionGA,
    SessionCreateRequest,
    TranscriptionClientSecret,
    TranscriptionSessionCreateRequest,
    TranscriptionSessionGA,
    request_adapter,
    request_model,
)
from rtconfig._models._schema import template_json_schema

__all__ = [
    "KNOWN_BETA_MODELS",
    "KNOWN_MODELS",
    "KNOWN_TRANSCRIPTION_MODELS",
    "KNOWN_VOICES",
    "SPEC_DEFAULTS",
    "UNION_ERRORS",
    "BetaClientSecret",
    "ClientSecretCreateRequest",
    "RealtimeSessionGA",
    "SessionCreateRequest",
    "TranscriptionClientSecret",
    "TranscriptionSessionCreateRequest",
    "TranscriptionSessionGA",
    "UnionError",
    "defaults_for",
    "request_adapter",
    "request_model",
    "template_json_schema",
]
