"""BedrockAnalyzer against a real bedrock-runtime client stubbed with botocore's Stubber."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from worker.analyze import RuleAnalyzer
from worker.bedrock import SYSTEM_PROMPT, BedrockAnalyzer, parse_answer
from worker.model import Analysis, JobPosting

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
JOB = JobPosting(
    job_id=uuid.UUID(int=1), source="greenhouse:acme", title="Senior Platform Engineer",
    company="Acme", location="Berlin", remote=True, url="https://example.com/1",
    description="K8s and Terraform on AWS. Salary €70.000 – €90.000.", salary_min=None,
    salary_max=None, salary_currency=None, content_hash="h",
)  # fmt: skip
GOOD_ANSWER = {
    "skills": ["K8s", "terraform", "aws", "Platform Engineering"],
    "seniority": "senior",
    "work_mode": "remote",
    "salary_min": 70000,
    "salary_max": 90000.5,
    "salary_currency": "EUR",
    "salary_period": "year",
}


@pytest.fixture
def client() -> BedrockRuntimeClient:
    return boto3.client(
        "bedrock-runtime", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",  # never real credentials
    )  # fmt: skip


@pytest.fixture
def stubber(client: BedrockRuntimeClient) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def converse_response(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30},
        "metrics": {"latencyMs": 5},
    }


EXPECTED_PARAMS = {
    "modelId": MODEL_ID,
    "system": [{"text": SYSTEM_PROMPT}],
    "messages": ANY,
    "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
}


def rules_result() -> Analysis:
    return RuleAnalyzer().analyze(JOB)


def test_a_good_answer_becomes_the_analysis(client: BedrockRuntimeClient, stubber: Stubber) -> None:
    stubber.add_response("converse", converse_response(json.dumps(GOOD_ANSWER)), EXPECTED_PARAMS)
    analysis = BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer()).analyze(JOB)
    assert analysis == Analysis(
        skills=["aws", "kubernetes", "platform engineering", "terraform"],
        seniority="senior", work_mode="remote", salary_min=Decimal(70000),
        salary_max=Decimal("90000.5"), salary_currency="EUR", salary_period="year",
        analyzer=f"bedrock/{MODEL_ID}",
    )  # fmt: skip


def test_the_prompt_carries_the_job(client: BedrockRuntimeClient, stubber: Stubber) -> None:
    seen: list[str] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(params["messages"][0]["content"][0]["text"])

    client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", capture)
    stubber.add_response("converse", converse_response(json.dumps(GOOD_ANSWER)), EXPECTED_PARAMS)
    BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer(), timeout=None).analyze(JOB)
    assert "Title: Senior Platform Engineer" in seen[0]
    assert JOB.description in seen[0]


def test_an_answer_wrapped_in_prose_and_code_fences_is_accepted() -> None:
    text = f"Here you go:\n```json\n{json.dumps(GOOD_ANSWER)}\n```"
    assert parse_answer(text, "bedrock/x").seniority == "senior"


def test_malformed_json_falls_back_to_the_rules(
    client: BedrockRuntimeClient, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    stubber.add_response("converse", converse_response('{"skills": ["go",'), EXPECTED_PARAMS)
    with caplog.at_level(logging.WARNING, logger="worker.bedrock"):
        analysis = BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer()).analyze(JOB)
    assert analysis == rules_result()
    assert analysis.analyzer == "rules/1"
    assert [r.error for r in caplog.records] == ["ValueError"]  # type: ignore[attr-defined]


def test_a_client_error_falls_back_to_the_rules(
    client: BedrockRuntimeClient, stubber: Stubber
) -> None:
    stubber.add_client_error(
        "converse", service_error_code="ThrottlingException", http_status_code=429,
        expected_params=EXPECTED_PARAMS,
    )  # fmt: skip
    assert BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer()).analyze(JOB) == rules_result()


@pytest.mark.parametrize(
    "answer",
    [
        {**GOOD_ANSWER, "seniority": "wizard"},
        {**GOOD_ANSWER, "salary_min": 100000, "salary_max": 1},
        {**GOOD_ANSWER, "salary_currency": "euro"},
        {**GOOD_ANSWER, "confidence": 0.9},
        ["kubernetes"],
    ],
    ids=["unknown-seniority", "min-above-max", "bad-currency", "extra-key", "not-an-object"],
)
def test_an_answer_that_breaks_the_schema_falls_back_to_the_rules(
    client: BedrockRuntimeClient, stubber: Stubber, answer: object
) -> None:
    stubber.add_response("converse", converse_response(json.dumps(answer)), EXPECTED_PARAMS)
    assert BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer()).analyze(JOB) == rules_result()


def test_an_empty_answer_falls_back_to_the_rules(
    client: BedrockRuntimeClient, stubber: Stubber
) -> None:
    stubber.add_response("converse", converse_response("   "), EXPECTED_PARAMS)
    assert BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer()).analyze(JOB) == rules_result()


def test_a_call_slower_than_the_timeout_falls_back_to_the_rules(
    client: BedrockRuntimeClient, stubber: Stubber
) -> None:
    release = threading.Event()

    def stall(**_: Any) -> None:
        release.wait(5)

    # Runs before the Stubber answers, like a slow network would.
    client.meta.events.register("before-parameter-build.bedrock-runtime.Converse", stall)
    stubber.add_response("converse", converse_response(json.dumps(GOOD_ANSWER)), EXPECTED_PARAMS)
    analyzer = BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer(), timeout=0.2)
    try:
        assert analyzer.analyze(JOB) == rules_result()
    finally:
        release.set()
        analyzer.close(wait=True)  # the stalled call finishes and takes its stubbed response


def test_a_closed_analyzer_uses_the_fallback_without_calling_bedrock(
    client: BedrockRuntimeClient, stubber: Stubber
) -> None:
    analyzer = BedrockAnalyzer(client, MODEL_ID, RuleAnalyzer())
    analyzer.close()
    assert analyzer.analyze(JOB) == rules_result()  # the Stubber has no response to give
