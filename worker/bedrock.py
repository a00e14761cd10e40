"""The optional Amazon Bedrock analyzer (``ANALYZER=bedrock`` with ``BEDROCK_MODEL_ID``).

One Converse call per job asks for a JSON object, which must pass the same `Analysis` model the
rules produce. Anything that goes wrong (an AWS or network error, the time limit, text that is
not JSON, JSON that breaks the schema) is logged as a warning and the fallback analyzer's result
is returned instead, so a job is never lost to the model.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from jobping.vocabulary import WORK_MODES
from worker.model import SENIORITIES, Analysis, JobPosting
from worker.skills import load_taxonomy

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import ConverseResponseTypeDef

    from worker.analyze import Analyzer

log = logging.getLogger(__name__)

SYSTEM_PROMPT: Final = f"""\
You extract facts from one job posting. Reply with a single JSON object and nothing else \
(no prose, no code fences) with exactly these keys:
"skills": the technical skills the job asks for, as lower-case canonical names \
("kubernetes", not "k8s"); an empty list if none;
"seniority": one of {", ".join(SENIORITIES)};
"work_mode": one of {", ".join(WORK_MODES)};
"salary_min" and "salary_max": numbers as stated in the posting, or null;
"salary_currency": the ISO 4217 code, or null;
"salary_period": "year", "month" or "hour", or null.
Use "unknown" or null when the posting does not say; never guess a salary."""

#: Errors that mean "this answer is unusable", as opposed to bugs in this module.
_FALLBACK_ERRORS: Final = (BotoCoreError, ClientError, ValueError, KeyError, TypeError)


class BedrockAnalyzer:
    """Analyzes a job with a Bedrock model through the Converse API, else with `fallback`.

    Args:
        client: a ``bedrock-runtime`` client, built once with bounded timeouts and retries.
        model_id: the model or inference profile id.
        fallback: the analyzer whose result is returned when the model's is unusable.
        timeout: seconds to wait for the whole call (retries included); None waits for botocore.
        max_tokens: the answer's token budget.
        max_description_chars: longer descriptions are cut to this length.
        max_workers: calls that may run at once (each waits on one thread).
    """

    def __init__(
        self,
        client: BedrockRuntimeClient,
        model_id: str,
        fallback: Analyzer,
        *,
        timeout: float | None = 15.0,
        max_tokens: int = 1024,
        max_description_chars: int = 12_000,
        max_workers: int = 8,
    ) -> None:
        self._client = client
        self._model_id = model_id
        self._fallback = fallback
        self._timeout = timeout
        self._max_tokens = max_tokens
        self._max_chars = max_description_chars
        self.name = f"bedrock/{model_id}"
        self._closed = False
        self._pool = (
            ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="bedrock")
            if timeout is not None
            else None
        )

    def analyze(self, job: JobPosting) -> Analysis:
        """The model's analysis of `job`, or the fallback's when that is unusable."""
        if self._closed:
            return self._fallback.analyze(job)
        try:
            return self._call(job)
        except (FutureTimeout, CancelledError, *_FALLBACK_ERRORS) as error:
            log.warning(
                "bedrock analysis failed, using the fallback analyzer",
                extra={"job_id": str(job.job_id), "model_id": self._model_id,
                       "error": type(error).__name__, "detail": str(error)[:300]},
            )  # fmt: skip
            return self._fallback.analyze(job)

    def close(self, *, wait: bool = False) -> None:
        """Stop the worker threads (later calls use the fallback); await calls if `wait`."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)

    def _call(self, job: JobPosting) -> Analysis:
        if self._pool is None:
            return self._analyze(job)
        future = self._pool.submit(self._analyze, job)
        try:
            return future.result(timeout=self._timeout)
        finally:
            future.cancel()  # no-op when done; drops the call if it never started

    def _analyze(self, job: JobPosting) -> Analysis:
        response = self._client.converse(
            modelId=self._model_id,
            system=[{"text": SYSTEM_PROMPT}],
            messages=[{"role": "user", "content": [{"text": self._prompt(job)}]}],
            inferenceConfig={"maxTokens": self._max_tokens, "temperature": 0.0},
        )
        return parse_answer(response_text(response), self.name)

    def _prompt(self, job: JobPosting) -> str:
        salary = ""
        if job.salary_min is not None or job.salary_max is not None:
            salary = f"Salary (from the job board): {job.salary_min} - {job.salary_max} "
            salary += f"{job.salary_currency or ''}\n"
        return (
            f"Title: {job.title}\nCompany: {job.company}\nLocation: {job.location}\n"
            f"Remote flag: {job.remote}\n{salary}\nDescription:\n"
            f"{job.description[: self._max_chars]}"
        )


def response_text(response: ConverseResponseTypeDef) -> str:
    """The text blocks of a Converse response's message, joined."""
    content = response["output"]["message"]["content"]  # KeyError when there is no message
    text = "".join(block["text"] for block in content if "text" in block)
    if not text.strip():
        raise ValueError(f"no text in the answer (stop reason {response.get('stopReason')})")
    return text


def parse_answer(text: str, analyzer: str) -> Analysis:
    """Validate the model's JSON answer as an `Analysis` labelled `analyzer`.

    Tolerates prose or code fences around a single JSON object; maps skill aliases to the
    taxonomy's canonical names. Raises ValueError (pydantic's ValidationError is one) otherwise.
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer holds no JSON object")
    data: Any = json.loads(text[start : end + 1], parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    skills = data.get("skills")
    if isinstance(skills, list) and all(isinstance(s, str) for s in skills):
        taxonomy = load_taxonomy()
        data["skills"] = [taxonomy.canonical(s) or s for s in skills]
    return Analysis.model_validate({**data, "analyzer": analyzer})
