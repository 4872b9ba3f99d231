"""The app's one error presenter: what a person reads when something fails.

``baseten_llm`` keeps the technical detail in its exceptions (status codes, URLs, the keyword
to change) for programmers; :func:`describe` turns any exception into words for the person at
the page: what happened, in plain language, and what to do next. It names the host that
answered (``inference.baseten.co``), never an internal path or URL, a Python attribute, a
keyword argument or an exception class name. Every page and service that shows an error calls
it; nothing else words errors for people.

Two kinds of message pass through unchanged, because they are already written for people:
:class:`chatapp.services.ingest.IngestError` (why an upload could not be read),
:class:`chatapp.services.embedders.EmbedderUnavailableError` and
:class:`chatapp.services.batch_inputs.InputError` (why a job's input cannot be sent).

An exception nobody expected is logged with its traceback for developers and shown as a
short apology with the next step.
"""

from __future__ import annotations

import logging
import re
from typing import Literal
from urllib.parse import urlsplit

import httpx

from baseten_llm import errors
from chatapp.services.batch_inputs import InputError
from chatapp.services.embedders import EmbedderUnavailableError
from chatapp.services.ingest import IngestError
from chatapp.services.rerank import RerankerUnavailableError

log = logging.getLogger(__name__)

#: Where the error was met; it picks the next step the message suggests.
Context = Literal[
    "chat", "compare", "connection", "wake", "documents", "indexing", "jobs", "catalog"
]

_NEXT_STEP: dict[str, str] = {
    "chat": "press Retry",
    "compare": "run the comparison again",
    "connection": "test the connection again",
    "wake": "press Wake again",
    "documents": "ask again",
    "indexing": "index the file again",
    "jobs": "submit again",
    "catalog": "reload the page",
}
_DOING: dict[str, str] = {
    "chat": "writing the answer",
    "compare": "running this side",
    "connection": "testing the connection",
    "wake": "waking the deployment",
    "documents": "answering from the documents",
    "indexing": "indexing the file",
    "jobs": "talking to Baseten about the job",
    "catalog": "loading the list of models",
}
_URL = re.compile(r"https?://[^\s'\"<>()]+")


def host_of(url: str | None) -> str | None:
    """The host (and port, if any) of ``url``: ``inference.baseten.co``; None when unknown."""
    if not url:
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    return netloc.rsplit("@", 1)[-1] or None


def describe(exc: BaseException, *, host: str | None = None, context: Context = "chat") -> str:
    """What to tell a person about ``exc``, met while doing ``context``.

    ``host`` is the server the request went to; when not given it is taken from the
    library's own message (which names the URL it called), else the text says "Baseten".
    """
    if isinstance(
        exc, (IngestError, EmbedderUnavailableError, RerankerUnavailableError, InputError)
    ):
        return str(exc)
    server = _server_name(host or _host_in(exc))
    retry = _NEXT_STEP.get(context, "try again")
    if isinstance(exc, errors.BasetenError):
        text = _describe_baseten(exc, server, retry, context)
        return text[:1].upper() + text[1:]
    log.error("Unexpected error while %s", _DOING.get(context, context), exc_info=exc)
    return (
        f"Something went wrong while {_DOING.get(context, 'doing that')}, and it was not a "
        f"problem the app knows how to explain. Please {retry}; if it keeps happening, check "
        "the connection settings in the sidebar, and the server log for details."
    )


def _describe_baseten(exc: errors.BasetenError, server: str, retry: str, context: str) -> str:
    if isinstance(exc, errors.ConfigurationError):
        return _configuration(exc)
    if isinstance(exc, errors.UnknownModelError):
        return _not_found(exc, server, exc.suggestions, model_apis=True)
    if isinstance(exc, errors.APIStatusError):
        return _status(exc, server, retry, context)
    if isinstance(exc, errors.APITimeoutError):
        return (
            f"{server} did not answer in time. The model may be busy, or starting up: a "
            "dedicated deployment that has scaled to zero can take a few minutes to wake. "
            f"Wait a moment and {retry}; for a dedicated deployment, press Wake in the "
            "sidebar first."
        )
    if isinstance(exc, errors.APIConnectionError):
        return (
            f"could not reach {server}: the connection was refused or dropped. Check this "
            "machine's network connection (and the server address, if you set your own), "
            f"then {retry}."
        )
    if isinstance(exc, errors.StreamInterruptedError):
        return _interrupted(exc, server, retry)
    if isinstance(exc, errors.WebhookVerificationError):
        return "A webhook delivery could not be verified, so it was ignored."
    return f"{server} could not complete the request. Please {retry}."


def _configuration(exc: errors.ConfigurationError) -> str:
    if isinstance(exc, errors.MissingAPIKeyError):
        return (
            "No Baseten API key is set, so nothing was sent. Enter your key in the sidebar "
            "under Baseten API key (create one in Baseten under Settings → API keys), or "
            "press Try the offline demo in the sidebar to use the app without a key."
        )
    if isinstance(exc, errors.InvalidModelIdError):
        return (
            "The dedicated deployment's model id is not valid, so nothing was sent. Enter the "
            "8-character id (letters and digits, like abcd1234) shown on the model's page in "
            "Baseten, in the sidebar under Model id."
        )
    if isinstance(exc, errors.AsyncModeError):
        return (
            "This kind of request is not available for a deployment used for async jobs. "
            "Use the Jobs page for it."
        )
    return (
        "The connection settings cannot work as they are, so nothing was sent. Check the "
        "model source, model id and target in the sidebar (and the server addresses, if you "
        "set your own)."
    )


def _status(exc: errors.APIStatusError, server: str, retry: str, context: str) -> str:
    code = exc.status_code
    if isinstance(exc, errors.AuthenticationError):
        return (
            f"{server} refused the API key (401 Unauthorized): it is wrong, expired or was "
            "revoked. Use a valid key: paste it in the sidebar, or correct BASETEN_API_KEY "
            "where you set it. You can create one in Baseten under Settings → API keys."
        )
    if isinstance(exc, errors.PaymentRequiredError):
        return (
            f"{server} declined the request because of billing (402 Payment Required). Check "
            f"the billing settings of your Baseten account, then {retry}."
        )
    if isinstance(exc, errors.PermissionDeniedError):
        return (
            f"{server} says this API key may not use this model or deployment (403 Forbidden). "
            "Use a key from the workspace that owns it, or choose another model in the sidebar."
        )
    if isinstance(exc, errors.NotFoundError):
        return _not_found(exc, server, exc.suggestions, model_apis=not _is_dedicated(exc))
    if isinstance(exc, errors.PayloadTooLargeError):
        return _too_large(server, context)
    if isinstance(exc, errors.RateLimitError):
        return _rate_limited(exc, server, retry)
    if isinstance(exc, (errors.BadRequestError, errors.UnprocessableEntityError)):
        said = server_detail(exc)
        quoted = f" It said: “{said}”." if said else ""
        return (
            f"{server} refused the request ({code}).{quoted} Check the generation settings in "
            f"the sidebar (for example Max tokens or Reasoning effort), then {retry}."
        )
    if isinstance(exc, errors.ServerError) or code >= 500:
        return (
            f"{server} or the model failed to answer ({code}). This is usually brief: wait a "
            f"moment and {retry}. If it keeps failing on a dedicated deployment, check the "
            "deployment's logs in Baseten."
        )
    return f"{server} answered with an error ({code}). Please {retry}."


def _not_found(exc: BaseException, server: str, suggestions: list[str], *, model_apis: bool) -> str:
    if model_apis or suggestions:
        chosen = _quoted_model(exc)
        named = f"the model “{chosen}”" if chosen else "the model you chose"
        others = [name for name in suggestions if name != chosen]
        if chosen and chosen in suggestions:  # listed, yet not served
            return (
                f"{server} lists the model “{chosen}” but does not serve it (404 Not Found): it "
                "may be retired or not enabled for your account. Pick another model in the "
                "sidebar, or check the Model APIs page in Baseten."
            )
        closest = f" The closest it serves: {_join(others)}." if others else ""
        return (
            f"{server} does not serve {named} (404 Not Found).{closest} Pick a model in the "
            "sidebar under Model."
        )
    said = server_detail(exc) if isinstance(exc, errors.APIStatusError) else ""
    quoted = f" It said: “{said}”." if said else ""
    return (
        f"{server} has no deployment for this model id and target (404 Not Found).{quoted} "
        "Check the model id and the target (production, development, a named environment or "
        "a deployment) in the sidebar against the model's page in Baseten."
    )


def _too_large(server: str, context: str) -> str:
    if context == "jobs":
        return (
            f"The job's input is too large for {server} (413 Payload Too Large): async jobs "
            "accept at most 256 KiB. Send less input per job."
        )
    return (
        f"The request is too large for {server} (413 Payload Too Large). Start a new "
        "conversation or shorten the question, then try again."
    )


def _rate_limited(exc: errors.RateLimitError, server: str, retry: str) -> str:
    wait = exc.retry_after
    when = (
        f"Wait about {_seconds(wait)}, then {retry}." if wait else f"Wait a moment, then {retry}."
    )
    return f"{server} is limiting how many requests it accepts (429 Too Many Requests). {when}"


def _interrupted(exc: errors.StreamInterruptedError, server: str, retry: str) -> str:
    kept = " The text that arrived is kept above." if getattr(exc, "partial_text", "") else ""
    return (
        f"The answer was cut off: the stream from {server} ended before the model finished."
        f"{kept} It was not sent again automatically (you would pay twice); {retry} to ask "
        "again."
    )


# --- helpers ---------------------------------------------------------------------------------


def _host_in(exc: BaseException) -> str | None:
    """The host named in the library's message, else in the HTTP error it was raised from
    (a stream that broke after it opened keeps the request only there)."""
    match = _URL.search(str(exc))
    if match:
        return host_of(match.group(0))
    cause, seen = exc.__cause__ or exc.__context__, 0
    while cause is not None and seen < 5:
        if isinstance(cause, httpx.HTTPError):
            try:
                return host_of(str(cause.request.url))
            except RuntimeError:  # an httpx error raised without a request
                return None
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _server_name(host: str | None) -> str:
    if not host:
        return "Baseten"
    if host == "baseten.co" or host.endswith(".baseten.co"):
        return f"Baseten ({host})"
    return f"the server at {host}"


def _quoted_model(exc: BaseException) -> str | None:
    """The model name the library quoted in its message (``slug 'x'``), if any."""
    match = re.search(r"(?:slug|Model) '([^']+)'", str(exc))
    return match.group(1) if match else None


def _is_dedicated(exc: BaseException) -> bool:
    """True when the library's message names a dedicated deployment's route."""
    return bool(re.search(r"/(?:environments|development|deployment)\b|/predict\b", str(exc)))


def server_detail(exc: errors.APIStatusError) -> str:
    """The server's own explanation, without the URL and the library's advice for coders."""
    text = str(exc)
    match = re.search(r"\bfrom \S+: (.*)$", text, re.DOTALL)
    detail = (match.group(1) if match else "").strip()
    detail = re.split(r"\s+(?:Check|Slow down|Baseten or|The request body|Your key)\b", detail)[0]
    detail = _URL.sub("", detail).strip()
    if not detail or detail == "(no details)" or re.search(r"\w=|\.\w+_\w+", detail):
        return ""
    return detail[:200].rstrip(".")


def _join(names: list[str]) -> str:
    shown = [f"“{name}”" for name in names[:3]]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _seconds(value: float) -> str:
    whole = max(1, round(value))
    return "1 second" if whole == 1 else f"{whole} seconds"
