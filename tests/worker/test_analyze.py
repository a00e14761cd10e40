"""RuleAnalyzer, the skill taxonomy and the Analysis model's invariants."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jobping.vocabulary import WORK_MODES
from tests.worker.conftest import make_job
from worker.analyze import RULES_ANALYZER, RuleAnalyzer, detect_seniority, detect_work_mode
from worker.model import Analysis
from worker.skills import load_taxonomy

ANALYZER = RuleAnalyzer()


def skills_of(text: str) -> list[str]:
    return ANALYZER.analyze(make_job(title="Engineer", description=text)).skills


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We write C++ and C# on .NET Core.", ["c#", "c++", ".net"]),
        ("Node.js services, React-Native apps", ["node.js", "react native"]),
        ("Go, Python and Golang", ["go", "python"]),
        ("Our stack: K8s, Postgres, TF? no: Terraform.", ["kubernetes", "postgresql", "terraform"]),
        ("Statistics in R. C/C++ for firmware.", ["c", "c++", "firmware", "r", "statistics"]),
        ("ASP.NET MVC and JavaScript", ["asp.net", "javascript"]),
        ("Objective-C, scikit learn, PySpark", ["objective-c", "scikit-learn", "spark"]),
        ("CI/CD with GitHub Actions", ["ci/cd", "github actions"]),
    ],
)
def test_finds_skills_with_tricky_names_and_aliases(text: str, expected: list[str]) -> None:
    assert set(expected) <= set(skills_of(text))


@pytest.mark.parametrize(
    "text",
    [
        "Our go-to-market team is ready to go. Go to our site. Let's Go!",
        "A Series C company with C-level sponsors and R&D labs; Intel(R) chips.",
        "JavaScripting is not a word; neither is Pythonic.",
        "We tailor tailwinds and bootstrapped nothing; the spark of joy, swift action.",
    ],
)
def test_does_not_mistake_ordinary_words_for_skills(text: str) -> None:
    assert skills_of(text) == []


def test_java_is_not_found_inside_javascript() -> None:
    assert skills_of("JavaScript and TypeScript") == ["javascript", "typescript"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Python at the very start", {"python"}),
        ("C#.NET and F#.net: one term right after another", {"c#", "f#", ".net"}),
        ("éPython, ßreact: a letter, even non-ASCII, hides a term; Kotlin", {"kotlin"}),
        ("Kotlin\u2019s and Ruby\u2022Rust", {"kotlin", "ruby", "rust"}),
    ],
)
def test_find_sees_terms_at_the_edges_of_words(text: str, expected: set[str]) -> None:
    assert load_taxonomy().find(text) == expected


def test_every_taxonomy_term_finds_its_own_skill() -> None:
    taxonomy = load_taxonomy()
    document = json.loads(resources.files("worker").joinpath("skills.json").read_text("utf-8"))
    for entry in document["skills"]:
        terms = [*entry.get("aliases", []), *entry.get("exact", [])]
        if not entry.get("exact"):
            terms.append(entry["name"])
        for term in terms:
            assert entry["name"] in taxonomy.find(f"We use {term} daily."), term
            assert taxonomy.canonical(term) == entry["name"]


def test_taxonomy_has_a_few_hundred_lower_case_canonical_skills() -> None:
    taxonomy = load_taxonomy()
    assert len(taxonomy.names) >= 300
    assert all(name == name.lower() for name in taxonomy.names)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Sr. Software Engineer", "senior"),
        ("Senior Backend Engineer (Go)", "senior"),
        ("Senior Staff Engineer", "staff"),
        ("Principal Data Scientist", "principal"),
        ("Tech Lead, Payments", "lead"),
        ("Junior Developer", "junior"),
        ("Graduate Software Engineer", "junior"),
        ("Software Engineer II", "mid"),
        ("Mid-level Frontend Developer", "mid"),
        ("Software Engineering Intern", "intern"),
        ("Engineering Manager, Platform", "manager"),
        ("Senior Engineering Manager", "manager"),
        ("Head of Data", "director"),
        ("Director of Engineering", "director"),
        ("VP Engineering", "director"),
        ("Senior Product Manager", "senior"),
        ("Product Manager", "unknown"),
        ("Lead Generation Specialist", "unknown"),
        ("Software Engineer", "unknown"),
    ],
)
def test_seniority_comes_from_the_title(title: str, expected: str) -> None:
    assert detect_seniority(title) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"location": "Remote - US"}, "remote"),
        ({"location": "Hybrid - Berlin"}, "hybrid"),
        ({"title": "Backend Engineer (Remote)"}, "remote"),
        ({"remote": True}, "remote"),
        ({"remote": True, "description": "Hybrid: 3 days a week in the office."}, "hybrid"),
        ({"description": "We are a remote-first company."}, "remote"),
        ({"description": "Fully remote within Europe."}, "remote"),
        ({"description": "2 days per week in the office, the rest from home."}, "hybrid"),
        ({"description": "This is not a remote role. Work from anywhere is over."}, "onsite"),
        ({"description": "You'll work on-site in our Berlin office."}, "onsite"),
        ({"description": "Fully remote, with occasional on-site visits."}, "remote"),
        ({"remote": False}, "onsite"),
        ({}, "unknown"),
    ],
)
def test_work_mode_from_location_flag_and_description(
    overrides: dict[str, Any], expected: str
) -> None:
    assert detect_work_mode(make_job(**overrides)) == expected


@pytest.mark.parametrize(
    ("board", "overrides", "expected"),
    [
        ("hybrid", {"location": "Remote - US"}, "hybrid"),  # was remote: the headline won
        ("hybrid", {"remote": False}, "hybrid"),  # was on-site: hybrid reduced to a boolean
        ("onsite", {"description": "Fully remote within Europe."}, "onsite"),
        ("remote", {"title": "Backend Engineer (Hybrid)"}, "remote"),
        ("unknown", {"location": "Hybrid - Berlin"}, "hybrid"),  # nothing structured: text
    ],
)
def test_the_boards_work_mode_decides_before_the_text(
    board: str, overrides: dict[str, Any], expected: str
) -> None:
    assert detect_work_mode(make_job(work_mode=board, **overrides)) == expected


def test_structured_salary_from_the_source_wins_over_the_text() -> None:
    job = make_job(
        description="Salary: $90k-$100k",
        salary_min=Decimal(120_000), salary_max=Decimal(150_000), salary_currency="usd ",
    )  # fmt: skip
    analysis = ANALYZER.analyze(job)
    assert (analysis.salary_min, analysis.salary_max) == (120_000, 150_000)
    assert (analysis.salary_currency, analysis.salary_period) == ("USD", "year")


def test_salary_is_parsed_from_the_text_when_the_source_has_none() -> None:
    analysis = ANALYZER.analyze(make_job(description="Pay: £45,000 per annum."))
    assert (analysis.salary_min, analysis.salary_currency, analysis.salary_period) == (
        45_000, "GBP", "year",
    )  # fmt: skip


def test_a_full_posting_is_analyzed_end_to_end() -> None:
    job = make_job(
        title="Senior Platform Engineer",
        location="Remote, Europe",
        description=(
            "We run Kubernetes and Terraform on AWS. You write Python and Go services, own "
            "PostgreSQL schemas and on-call. Fully remote. Salary €70.000 – €90.000."
        ),
    )
    assert ANALYZER.analyze(job) == Analysis(
        skills=["aws", "go", "kubernetes", "postgresql", "python", "terraform"],
        seniority="senior", work_mode="remote", salary_min=Decimal(70_000),
        salary_max=Decimal(90_000), salary_currency="EUR", salary_period="year",
        analyzer=RULES_ANALYZER,
    )  # fmt: skip


def test_a_structured_minimum_alone_stays_a_minimum() -> None:
    analysis = ANALYZER.analyze(make_job(salary_min=Decimal(4_000), salary_currency="EUR"))
    assert (analysis.salary_min, analysis.salary_max) == (4_000, None)
    assert analysis.salary_period == "month"


def test_an_unusable_structured_salary_is_ignored_for_the_text() -> None:
    job = make_job(salary_min=Decimal("NaN"), salary_currency="??", description="$150k")
    analysis = ANALYZER.analyze(job)
    assert (analysis.salary_min, analysis.salary_currency) == (150_000, "USD")


def test_a_distributed_systems_title_does_not_make_a_job_remote() -> None:
    assert detect_work_mode(make_job(title="Distributed Systems Engineer")) == "unknown"


amounts = st.none() | st.decimals(allow_nan=True, allow_infinity=True)


@settings(max_examples=150)
@given(
    title=st.text(max_size=80),
    description=st.text(max_size=600),
    location=st.text(max_size=40),
    remote=st.none() | st.booleans(),
    board=st.sampled_from(WORK_MODES),
    salary=st.tuples(amounts, amounts, st.none() | st.text(max_size=4)),
)
def test_analysis_is_deterministic_and_never_fails(
    title: str,
    description: str,
    location: str,
    remote: bool | None,
    board: str,
    salary: tuple[Decimal | None, Decimal | None, str | None],
) -> None:
    job = make_job(
        title=title, description=description, location=location, remote=remote, work_mode=board,
        salary_min=salary[0], salary_max=salary[1], salary_currency=salary[2],
    )  # fmt: skip
    first = ANALYZER.analyze(job)
    assert RuleAnalyzer().analyze(job) == first
    assert first.skills == sorted(set(first.skills))


def test_analysis_rejects_a_minimum_above_the_maximum() -> None:
    with pytest.raises(ValidationError, match="salary_min must not exceed"):
        Analysis(salary_min=Decimal(2), salary_max=Decimal(1), analyzer="x")


@pytest.mark.parametrize("currency", ["EURO", "E1R", "$"])
def test_analysis_rejects_a_currency_that_is_not_three_letters(currency: str) -> None:
    with pytest.raises(ValidationError):
        Analysis(salary_min=Decimal(1), salary_currency=currency, analyzer="x")


def test_analysis_rejects_a_currency_without_an_amount() -> None:
    with pytest.raises(ValidationError, match="need a salary amount"):
        Analysis(salary_currency="EUR", analyzer="x")


def test_analysis_rejects_unknown_fields_and_values() -> None:
    with pytest.raises(ValidationError):
        Analysis.model_validate({"analyzer": "x", "seniority": "guru"})
    with pytest.raises(ValidationError):
        Analysis.model_validate({"analyzer": "x", "confidence": 0.9})


def test_analysis_normalizes_skills_and_currency() -> None:
    analysis = Analysis(
        skills=["Python", " python ", "Go"], salary_min=Decimal(1), salary_currency="eur",
        analyzer="x",
    )  # fmt: skip
    assert (analysis.skills, analysis.salary_currency) == (["go", "python"], "EUR")
