"""The gateway to the language model: the only module that imports `openai` (STYLE rule 12).

Any OpenAI-compatible server works: key, base URL, model and timeout come from settings. The
client's own retries are off, because the Celery task owns the retry policy; errors come out
as two kinds, transient (worth retrying later) and permanent (retrying will not help).

OPENAI_TIMEOUT_S bounds the whole call, not each read: the HTTP client's timeout restarts
with every byte, so a server trickling one byte every few seconds would hold a call for
ever. The call runs on a thread of its own that the caller stops waiting for at the deadline.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.conf import settings

try:  # optional service: the site runs without the package, writing facts-only reports
    import openai
except ImportError:  # pragma: no cover - the package is pinned in requirements.txt
    openai = None  # type: ignore[assignment]

# USD per million tokens (input, output), from OpenAI's price list; unknown models: no estimate.
PRICES_PER_MTOK: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}


class LlmError(Exception):
    """A call that produced no usable reply; the message is fit to show a driver."""


class LlmTransientError(LlmError):
    """Timeouts, rate limits, server errors: the same call may work later."""


class LlmPermanentError(LlmError):
    """A refused key, an unknown model, a bad request: retrying will not help."""


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    tokens_in: int
    tokens_out: int


def llm_configured() -> bool:
    return bool(settings.OPENAI_API_KEY) and openai is not None


def llm_model() -> str:
    return str(settings.OPENAI_MODEL)


def chat_json(*, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> Completion:
    """One chat completion constrained to a JSON schema (structured output), within the timeout."""
    if not llm_configured():
        raise LlmPermanentError("no OpenAI key is configured")
    client = _client()
    request: dict[str, Any] = {
        "model": llm_model(),
        "messages": messages,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "strict": True, "schema": schema},
        },
        "temperature": 0.2,
    }
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["response"] = client.chat.completions.create(**request)  # type: ignore[call-overload]
        except BaseException as exc:  # handed to the waiting caller, which classifies it
            outcome["error"] = exc

    worker = threading.Thread(target=call, name="simcoach-llm-call", daemon=True)
    worker.start()
    worker.join(timeout=float(settings.OPENAI_TIMEOUT_S))
    if worker.is_alive():
        # Closing the client drops its connection, so the abandoned thread ends at the
        # server's next byte instead of reading a trickle to its end.
        threading.Thread(target=client.close, name="simcoach-llm-close", daemon=True).start()
        raise LlmTransientError(_timed_out())
    client.close()
    error = outcome.get("error")
    if error is None:
        return _completion(outcome["response"])
    if not isinstance(error, openai.APIError | ValueError):
        raise error  # a bug, not the model's answer: the report's generic handler logs it
    raise _classify(error) from error


def _timed_out() -> str:
    return f"the model did not answer within {settings.OPENAI_TIMEOUT_S:g} s"


def _client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        timeout=settings.OPENAI_TIMEOUT_S,
        max_retries=0,
    )


def _completion(response: Any) -> Completion:
    if isinstance(response, str) or not isinstance(getattr(response, "choices", None), list):
        # A proxy's error page or a cut-off body sent with status 200: likely gone on a retry.
        raise LlmTransientError("the model's server sent a reply that is not a chat completion")
    if not response.choices:
        raise LlmTransientError("the model returned no answer")
    choice = response.choices[0]
    if getattr(choice.message, "refusal", None):
        raise LlmPermanentError(f"the model refused: {choice.message.refusal}")
    usage = response.usage
    return Completion(
        content=choice.message.content or "",
        model=response.model or llm_model(),
        tokens_in=usage.prompt_tokens if usage else 0,
        tokens_out=usage.completion_tokens if usage else 0,
    )


def _classify(exc: openai.APIError | ValueError) -> LlmError:
    if isinstance(exc, openai.APITimeoutError):
        return LlmTransientError(_timed_out())
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        # A 200 whose body is not JSON (ValueError: the JSON decoder's) or not a completion.
        return LlmTransientError("the model's server sent a reply that is not a chat completion")
    if isinstance(exc, openai.APIConnectionError):
        return LlmTransientError("could not reach the model's server")
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc)
    return LlmPermanentError(f"the model's reply could not be read ({type(exc).__name__})")


def _classify_status(exc: openai.APIStatusError) -> LlmError:
    status = exc.status_code
    code = exc.body.get("code") if isinstance(exc.body, dict) else None
    if status == 429 and code == "insufficient_quota":  # out of credit: waiting will not help
        return LlmPermanentError("the OpenAI account has no quota left")
    if status in (408, 409, 429) or status >= 500:
        reason = "rate limited" if status == 429 else f"server error {status}"
        return LlmTransientError(f"the model's server answered {reason}")
    if status in (401, 403):
        return LlmPermanentError("the OpenAI key was refused")
    if status == 404:
        return LlmPermanentError(f"the model {llm_model()!r} was not found")
    return LlmPermanentError(f"the model's server refused the request ({status})")


def cost_estimate_usd(*, model: str, tokens_in: int, tokens_out: int) -> Decimal | None:
    """Estimated price of the tokens, or None for a model without a known price (a local one)."""
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
    family = max((name for name in PRICES_PER_MTOK if model.startswith(name)), key=len, default=None)
    if family is None:
        return None
    price_in, price_out = PRICES_PER_MTOK[family]
    return (price_in * tokens_in + price_out * tokens_out) / Decimal(1_000_000)
