"""One exception tree for noots, and its mapping to the EDM error codes on the wire.

Every failure the core library can detect is one of these classes. The core never raises HTTP
errors; the services map a :class:`NootsError` to a signed ``DE.EvidenceErrorResponse.0103``
(or a JSON problem) at their edge, using :attr:`NootsError.code`.

::

    NootsError                                 (EDM:ERR:0008 query error, the fallback)
    ├── InvalidInput                           (EDM:ERR:0003 invalid request)
    │   ├── InvalidIdnr                        .reason says which rule failed
    │   ├── XmlError                           hostile or broken XML, refused before any work
    │   │   ├── XmlSyntaxError
    │   │   ├── XmlForbiddenConstruct          DTD, entity, processing instruction
    │   │   ├── XmlTooLarge
    │   │   └── XmlTooDeep
    │   ├── MalformedMessage                   not a valid XNachweis / envelope / token
    │   ├── ReplayDetected                     message id seen before
    │   ├── StaleMessage                       timestamp outside the accepted window
    │   └── CertificateRequestRejected         a CSR the simulator CA will not sign
    ├── AuthenticationError                    (EDM:ERR:0001 authentication)
    │   ├── CertificateError
    │   │   ├── CertificateUntrusted           not issued by the trust anchor
    │   │   ├── CertificateExpired
    │   │   ├── CertificateNotYetValid
    │   │   ├── CertificateRevoked
    │   │   └── WrongKeyUsage
    │   ├── SignatureError
    │   │   ├── SignatureMissing
    │   │   ├── SignatureInvalid               digest or signature value does not verify
    │   │   └── SignatureWrapping              the signed part is not the part that would be read
    │   ├── SenderMismatch                     envelope sender is not the certificate's participant
    │   ├── ResponseBindingError               response not bound to the request it claims to answer
    │   ├── IdentityError                      the citizen's eID identity token is unusable
    │   │   ├── IdentityExpired                expired or not yet valid
    │   │   └── IdentityLevelTooLow            level of assurance below what is required
    │   └── AccessTokenError                   an IAM access token (noots.access) is unusable
    │       ├── AccessTokenMissing             no ``Authorization: Bearer`` token presented
    │       ├── AccessTokenInvalid             malformed, forged, wrong issuer/type, not yet valid
    │       ├── AccessTokenExpired
    │       ├── AccessTokenRevoked             the client's or the IAM's certificate is revoked
    │       ├── ClientAssertionInvalid         the IAM refuses a client assertion (RFC 7523)
    │       └── AccessTokenRefused             the IAM refused to issue a token (client side)
    ├── AuthorisationError                     (EDM:ERR:0002 authorisation)
    │   ├── AuthorisationRefused               the Vermittlungsstelle says no
    │   ├── AccessDenied                       valid access token, but not for this role/audience
    │   └── TokenError
    │       ├── TokenSealInvalid
    │       ├── TokenExpired
    │       └── TokenMismatch                  partners, purpose, IDNr use or request hash differ
    ├── NotFound                               (EDM:ERR:0004 object not found)
    │   └── PersonNotFound                     also for an information block and ambiguity
    ├── UpstreamTimeout                        (EDM:ERR:0005 timeout)
    │   └── EvidencePending                    announced for later, beyond what the caller waits
    ├── UnresolvedReference                    (EDM:ERR:0006 unresolved reference)
    │   └── RouteNotFound                      no data provider / service for the request
    ├── UnsupportedCapability                  (EDM:ERR:0007 unsupported capability)
    │   └── UnsupportedEvidenceType
    ├── QueryError                             (EDM:ERR:0008 query error)
    │   ├── UpstreamError                      a component behind answered garbage or failed
    │   └── ProtocolLogError
    │       └── ChainBroken                    an entry was changed, removed or reordered
    └── ConfigurationError                     (EDM:ERR:0008) settings or topology unusable at start
        ├── TopologyError                      .problems: file, path in the document, line
        └── ScenarioError                      a scenario file: .problems as TopologyError
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

__all__ = [
    "AccessDenied",
    "AccessTokenError",
    "AccessTokenExpired",
    "AccessTokenInvalid",
    "AccessTokenMissing",
    "AccessTokenRefused",
    "AccessTokenRevoked",
    "AuthenticationError",
    "AuthorisationError",
    "AuthorisationRefused",
    "CertificateError",
    "CertificateExpired",
    "CertificateNotYetValid",
    "CertificateRequestRejected",
    "CertificateRevoked",
    "CertificateUntrusted",
    "ChainBroken",
    "ClientAssertionInvalid",
    "ConfigurationError",
    "EdmCode",
    "EvidencePending",
    "IdentityError",
    "IdentityExpired",
    "IdentityLevelTooLow",
    "InvalidIdnr",
    "InvalidInput",
    "MalformedMessage",
    "NootsError",
    "NotAProtocolLog",
    "NotFound",
    "PersonNotFound",
    "ProtocolLogError",
    "QueryError",
    "ReplayDetected",
    "ResponseBindingError",
    "RouteNotFound",
    "ScenarioError",
    "SenderMismatch",
    "SignatureError",
    "SignatureInvalid",
    "SignatureMissing",
    "SignatureWrapping",
    "StaleMessage",
    "TokenError",
    "TokenExpired",
    "TokenMismatch",
    "TokenSealInvalid",
    "TopologyError",
    "UnresolvedReference",
    "UnsupportedCapability",
    "UnsupportedEvidenceType",
    "UpstreamError",
    "UpstreamTimeout",
    "WrongKeyUsage",
    "XmlError",
    "XmlForbiddenConstruct",
    "XmlSyntaxError",
    "XmlTooDeep",
    "XmlTooLarge",
    "error_for_code",
]


class EdmCode(StrEnum):
    """The EU OOTS EDM error codes used until the national list is published."""

    AUTHENTICATION = "EDM:ERR:0001"
    AUTHORISATION = "EDM:ERR:0002"
    INVALID_REQUEST = "EDM:ERR:0003"
    NOT_FOUND = "EDM:ERR:0004"
    TIMEOUT = "EDM:ERR:0005"
    UNRESOLVED_REFERENCE = "EDM:ERR:0006"
    UNSUPPORTED_CAPABILITY = "EDM:ERR:0007"
    QUERY_ERROR = "EDM:ERR:0008"

    @property
    def title(self) -> str:  # type: ignore[override]
        return _TITLES[self]

    @property
    def http_status(self) -> int:
        """The HTTP status of an answer carrying this code (docs/PROTOCOL.md); a gateway
        answering for a component behind it makes 0008 a 502 itself."""
        return _HTTP_STATUS[self]


_TITLES = {
    EdmCode.AUTHENTICATION: "authentication failed",
    EdmCode.AUTHORISATION: "not authorised",
    EdmCode.INVALID_REQUEST: "invalid request",
    EdmCode.NOT_FOUND: "object not found",
    EdmCode.TIMEOUT: "timeout",
    EdmCode.UNRESOLVED_REFERENCE: "unresolved reference",
    EdmCode.UNSUPPORTED_CAPABILITY: "unsupported capability",
    EdmCode.QUERY_ERROR: "query error",
}

_HTTP_STATUS = {
    EdmCode.AUTHENTICATION: 401,
    EdmCode.AUTHORISATION: 403,
    EdmCode.INVALID_REQUEST: 400,
    EdmCode.NOT_FOUND: 404,
    EdmCode.TIMEOUT: 504,
    EdmCode.UNRESOLVED_REFERENCE: 404,
    EdmCode.UNSUPPORTED_CAPABILITY: 422,
    EdmCode.QUERY_ERROR: 500,
}


class NootsError(Exception):
    """Base of every error noots raises on purpose.

    ``message`` is safe to show to the other party: it never contains personal data or key
    material. ``component`` names where the failure was detected (for example a SAK's or a
    register's participant id) when that is known.
    """

    code: EdmCode = EdmCode.QUERY_ERROR

    def __init__(self, message: str, *, component: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.component = component

    def __str__(self) -> str:
        return self.message


class InvalidInput(NootsError):
    code = EdmCode.INVALID_REQUEST


class InvalidIdnr(InvalidInput):
    """An identification number that breaks a rule; ``reason`` names the rule and never
    quotes the number (it becomes the detail of a refusal). ``diagnosis`` may quote its digits
    ("check digit is 8, expected 9"): for the person holding the number (``noots idnr check``),
    never for an answer on the wire."""

    def __init__(self, reason: str, *, diagnosis: str | None = None) -> None:
        super().__init__(f"invalid IDNr: {reason}")
        self.reason = reason
        self.diagnosis = diagnosis or reason


class XmlError(InvalidInput):
    pass


class XmlSyntaxError(XmlError):
    pass


class XmlForbiddenConstruct(XmlError):
    pass


class XmlTooLarge(XmlError):
    pass


class XmlTooDeep(XmlError):
    pass


class MalformedMessage(InvalidInput):
    pass


class ReplayDetected(InvalidInput):
    pass


class StaleMessage(InvalidInput):
    pass


class CertificateRequestRejected(InvalidInput):
    """A certificate signing request the simulator CA refuses to sign: not a CSR, its own
    signature does not verify, or its subject, key or requested extensions are not acceptable."""


class AuthenticationError(NootsError):
    code = EdmCode.AUTHENTICATION


class CertificateError(AuthenticationError):
    pass


class CertificateUntrusted(CertificateError):
    pass


class CertificateExpired(CertificateError):
    pass


class CertificateNotYetValid(CertificateError):
    pass


class CertificateRevoked(CertificateError):
    pass


class WrongKeyUsage(CertificateError):
    pass


class SignatureError(AuthenticationError):
    pass


class SignatureMissing(SignatureError):
    pass


class SignatureInvalid(SignatureError):
    pass


class SignatureWrapping(SignatureError):
    pass


class SenderMismatch(AuthenticationError):
    pass


class ResponseBindingError(AuthenticationError):
    pass


class IdentityError(AuthenticationError):
    pass


class IdentityExpired(IdentityError):
    pass


class IdentityLevelTooLow(IdentityError):
    pass


class AccessTokenError(AuthenticationError):
    """An IAM access token (or, at the IAM, a client assertion) cannot be accepted.

    Resources answer HTTP 401 for it; the message says what failed and never quotes the token.
    """


class AccessTokenMissing(AccessTokenError):
    pass


class AccessTokenInvalid(AccessTokenError):
    pass


class AccessTokenExpired(AccessTokenError):
    pass


class AccessTokenRevoked(AccessTokenError):
    pass


class ClientAssertionInvalid(AccessTokenError):
    pass


class AccessTokenRefused(AccessTokenError):
    """The IAM refused to issue a token; ``oauth_error`` is its RFC 6749 error code."""

    def __init__(
        self, message: str, *, oauth_error: str = "invalid_client", component: str | None = None
    ) -> None:
        super().__init__(message, component=component)
        self.oauth_error = oauth_error


class AuthorisationError(NootsError):
    code = EdmCode.AUTHORISATION


class AuthorisationRefused(AuthorisationError):
    pass


class AccessDenied(AuthorisationError):
    """A valid access token that this resource does not accept (its audience or role), or a
    client the IAM has not registered to call that audience (HTTP 403)."""


class TokenError(AuthorisationError):
    pass


class TokenSealInvalid(TokenError):
    pass


class TokenExpired(TokenError):
    pass


class TokenMismatch(TokenError):
    pass


class NotFound(NootsError):
    code = EdmCode.NOT_FOUND


class PersonNotFound(NotFound):
    pass


class UpstreamTimeout(NootsError):
    code = EdmCode.TIMEOUT


class EvidencePending(UpstreamTimeout):
    """The provider announced the evidence for later (``ResponseAvailableDateTime``) and the
    caller does not wait that long: nothing failed, the evidence is not there yet.

    ``available_at`` is when it will be, ``request_id`` the 0101 to collect it with.
    """

    def __init__(
        self,
        message: str,
        *,
        available_at: datetime,
        request_id: uuid.UUID,
        component: str | None = None,
    ) -> None:
        super().__init__(message, component=component)
        self.available_at = available_at
        self.request_id = request_id


class UnresolvedReference(NootsError):
    code = EdmCode.UNRESOLVED_REFERENCE


class RouteNotFound(UnresolvedReference):
    pass


class UnsupportedCapability(NootsError):
    code = EdmCode.UNSUPPORTED_CAPABILITY


class UnsupportedEvidenceType(UnsupportedCapability):
    pass


class QueryError(NootsError):
    code = EdmCode.QUERY_ERROR


class UpstreamError(QueryError):
    pass


class ProtocolLogError(QueryError):
    pass


class NotAProtocolLog(ProtocolLogError):
    """A store opened for inspection is missing or is not a noots protocol log (no log tables,
    not SQLite, a directory); nothing was created or changed."""


class ChainBroken(ProtocolLogError):
    """The protocol log's hash chain does not verify; ``sequence`` is the first bad entry."""

    def __init__(self, message: str, *, sequence: int | None = None) -> None:
        super().__init__(message)
        self.sequence = sequence


class ConfigurationError(NootsError):
    """Settings or the landscape topology cannot be used; raised at start, never on the wire."""

    code = EdmCode.QUERY_ERROR


class TopologyError(ConfigurationError):
    """The topology file is not valid YAML or breaks the model.

    ``problems`` lists each finding as ``(location, message, line)``: ``location`` is the path
    inside the document (``registers[2].region``), ``line`` the 1-based line in ``file`` when known.
    """

    def __init__(
        self,
        file: str,
        problems: list[tuple[str, str, int | None]],
    ) -> None:
        self.file = file
        self.problems = problems
        lines = [
            f"{file}:{line}: {location}: {text}" if line else f"{file}: {location}: {text}"
            for location, text, line in problems
        ]
        super().__init__(f"invalid topology {file}:\n  " + "\n  ".join(lines))


class ScenarioError(ConfigurationError):
    """A scenario file is not valid YAML, breaks the scenario schema or names something the
    landscape does not have; ``problems`` as in :class:`TopologyError`."""

    def __init__(
        self,
        file: str,
        problems: list[tuple[str, str, int | None]],
        *,
        located: list[tuple[str, str, str, int | None]] | None = None,
    ) -> None:
        self.file = file
        self.problems = problems
        #: Each problem with the file it is in: ``(file, location, text, line)``.
        self.located = located or [(file, loc, text, line) for loc, text, line in problems]
        super().__init__(f"invalid scenario {file}:\n  " + "\n  ".join(self.lines()))

    def lines(self) -> list[str]:
        """``file:line: location: text`` for each problem, as an editor jumps to it."""
        return [
            f"{file}:{line}: {location}: {text}" if line else f"{file}: {location}: {text}"
            for file, location, text, line in self.located
        ]

    @classmethod
    def merged(cls, errors: list[ScenarioError]) -> ScenarioError:
        """The problems of several files in one error; each keeps its own file."""
        return cls(
            f"{len(errors)} scenario files",
            [p for e in errors for p in e.problems],
            located=[p for e in errors for p in e.located],
        )


_BY_CODE: dict[EdmCode, type[NootsError]] = {
    EdmCode.AUTHENTICATION: AuthenticationError,
    EdmCode.AUTHORISATION: AuthorisationError,
    EdmCode.INVALID_REQUEST: InvalidInput,
    EdmCode.NOT_FOUND: NotFound,
    EdmCode.TIMEOUT: UpstreamTimeout,
    EdmCode.UNRESOLVED_REFERENCE: UnresolvedReference,
    EdmCode.UNSUPPORTED_CAPABILITY: UnsupportedCapability,
    EdmCode.QUERY_ERROR: QueryError,
}


def error_for_code(code: str, message: str, *, component: str | None = None) -> NootsError:
    """The exception a receiver raises for an ``EDM:ERR`` code found in an error response.

    An unknown code becomes a :class:`QueryError` that names it, never a silent success.
    """
    try:
        edm = EdmCode(code)
    except ValueError:
        return QueryError(f"unknown error code {code!r}: {message}", component=component)
    return _BY_CODE[edm](message, component=component)
