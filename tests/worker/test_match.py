"""SearchIndex: the matching rules, the score, and equality with a brute-force reference."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobping.vocabulary import WORK_MODES
from tests.worker.conftest import make_job
from worker.analyze import RuleAnalyzer
from worker.match import SearchIndex
from worker.model import SENIORITIES, Analysis, JobPosting, Match, SavedSearch
from worker.skills import load_taxonomy

USER = uuid.UUID(int=7)


def make_analysis(**overrides: Any) -> Analysis:
    return Analysis.model_validate({"analyzer": "test", **overrides})


def search(number: int = 1, **overrides: Any) -> SavedSearch:
    return SavedSearch(id=uuid.UUID(int=number), user_id=USER, **overrides)


def match_one(saved: SavedSearch, job: JobPosting, analysis: Analysis) -> Match | None:
    found = SearchIndex.build([saved]).match(job, analysis)
    return found[0] if found else None


def test_a_keyword_in_the_title_scores_higher_than_in_the_description() -> None:
    saved = [search(1, keywords=("platform",)), search(2, keywords=("fintech",))]
    job = make_job(title="Platform Engineer", description="A fintech company.")
    matches = SearchIndex.build(saved).match(job, make_analysis())
    assert [(m.saved_search_id.int, m.reasons) for m in matches] == [
        (1, ("keyword: platform (title)",)),
        (2, ("keyword: fintech (description)",)),
    ]
    assert matches[0].score == 1.0
    assert matches[0].score > matches[1].score


def test_a_skill_alias_keyword_matches_the_analyzed_skill() -> None:
    job = make_job(description="We run K8s clusters.")
    found = match_one(search(keywords=("Kubernetes",)), job, RuleAnalyzer().analyze(job))
    assert found is not None
    assert found.reasons == ("keyword: kubernetes (skill)",)


def test_a_skill_keyword_never_matches_as_a_plain_word() -> None:
    job = make_job(title="Go-to-market Lead", description="Ready to go? Let's go.")
    assert match_one(search(keywords=("go",)), job, RuleAnalyzer().analyze(job)) is None


def test_phrase_keywords_need_their_words_in_order() -> None:
    index = SearchIndex.build([search(keywords=("payments team",))])
    assert index.match(make_job(description="Join the Payments-Team!"), make_analysis())
    assert not index.match(make_job(description="A team for payments."), make_analysis())


def test_keywords_hit_only_whole_words_even_next_to_non_ascii_letters() -> None:
    index = SearchIndex.build([search(1, keywords=("data",)), search(2, keywords=("data team",))])
    job = make_job(title="Engineer", description="Ödata and éData team")
    assert index.match(job, make_analysis()) == []
    job = make_job(title="Engineer", description="Café: Data\u2014Team!")
    assert {m.reasons for m in index.match(job, make_analysis())} == {
        ("keyword: data (description)",),
        ("keyword: data team (description)",),
    }


def test_a_keyword_in_both_title_and_description_counts_as_a_title_hit() -> None:
    job = make_job(title="Senior Data Engineer", description="Data-engineer wanted! Fintech.")
    found = match_one(search(keywords=("data engineer", "fintech")), job, make_analysis())
    assert found is not None
    assert found.reasons == ("keyword: data engineer (title)", "keyword: fintech (description)")
    assert found.score == 1.0


def test_searches_without_keywords_match_on_their_other_criteria() -> None:
    saved = [search(1, locations=("berlin",)), search(2, locations=("london",))]
    matches = SearchIndex.build(saved).match(make_job(), make_analysis())
    assert [(m.saved_search_id.int, m.reasons, m.score) for m in matches] == [
        (1, ("location: berlin",), 1.0)
    ]


def test_a_remote_location_accepts_any_remote_job() -> None:
    saved = search(locations=("London", "Remote"))
    job = make_job(location="Lisbon")
    assert match_one(saved, job, make_analysis(work_mode="remote")) is not None
    assert match_one(saved, job, make_analysis(work_mode="hybrid")) is None


def test_remote_only_excludes_every_other_work_mode() -> None:
    saved = search(remote_only=True)
    results = {
        mode: match_one(saved, make_job(), make_analysis(work_mode=mode)) for mode in WORK_MODES
    }
    assert [mode for mode, found in results.items() if found] == ["remote"]


def test_minimum_salary_excludes_lower_pay_and_keeps_unstated_pay_with_a_lower_score() -> None:
    saved = search(min_salary=Decimal(100_000), salary_currency="USD")
    paid = {"salary_currency": "USD", "salary_period": "year"}
    high = match_one(saved, make_job(), make_analysis(salary_max=Decimal(120_000), **paid))
    low = match_one(saved, make_job(), make_analysis(salary_max=Decimal(90_000), **paid))
    unstated = match_one(saved, make_job(), make_analysis())
    assert low is None
    assert high is not None
    assert unstated is not None
    assert high.reasons == ("salary ≥ 100000 USD",)
    assert unstated.reasons == ("salary not stated",)
    assert unstated.score < high.score


def test_salary_in_another_currency_is_not_compared() -> None:
    saved = search(min_salary=Decimal(100_000), salary_currency="USD")
    analysis = make_analysis(salary_max=Decimal(50_000), salary_currency="EUR")
    found = match_one(saved, make_job(), analysis)
    assert found is not None
    assert found.reasons == ("salary in EUR",)


def test_hourly_and_monthly_pay_is_annualized() -> None:
    saved = search(min_salary=Decimal(100_000))
    hourly = make_analysis(salary_min=Decimal(60), salary_currency="USD", salary_period="hour")
    monthly = make_analysis(salary_min=Decimal(8_000), salary_currency="EUR", salary_period="month")
    assert match_one(saved, make_job(), hourly) is not None  # 124,800 a year
    assert match_one(saved, make_job(), monthly) is None  # 96,000 a year


def test_seniority_must_be_listed_unless_the_job_does_not_say() -> None:
    saved = search(seniority=("Senior", "staff"))
    assert match_one(saved, make_job(), make_analysis(seniority="senior")) is not None
    assert match_one(saved, make_job(), make_analysis(seniority="junior")) is None
    unknown = match_one(saved, make_job(), make_analysis(seniority="unknown"))
    assert unknown is not None
    assert unknown.score == 0.5


def test_a_search_without_criteria_matches_everything_with_a_neutral_score() -> None:
    assert match_one(search(), make_job(), make_analysis()) == Match(
        uuid.UUID(int=1), USER, 0.5, ("no criteria",)
    )


def test_results_are_sorted_by_score_then_search_id() -> None:
    saved = [search(3, keywords=("acme",)), search(2, keywords=("acme",)),
             search(1, keywords=("platform",))]  # fmt: skip
    job = make_job(description="Acme builds things.")
    matches = SearchIndex.build(saved).match(job, make_analysis())
    assert [m.saved_search_id.int for m in matches] == [1, 2, 3]


def test_an_empty_index_matches_nothing() -> None:
    assert SearchIndex.build([]).match(make_job(), make_analysis()) == []


# --- brute force reference: the documented rules applied to one search at a time -----------

WEIGHTS = {"keywords": 0.5, "locations": 0.15, "remote": 0.1, "salary": 0.15, "seniority": 0.1}
STRENGTH = {"title": 1.0, "skill": 0.8, "description": 0.5}
ANNUAL = {"year": 1, "month": 12, "hour": 2080}


def _has_run(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _keyword_place(keyword: str, job: JobPosting, analysis: Analysis) -> str | None:
    taxonomy = load_taxonomy()
    skill = taxonomy.canonical(keyword)
    if skill is not None:
        if skill in taxonomy.find(job.title):
            return "title"
        return "skill" if skill in analysis.skills else None
    run = re.findall(r"\w+", keyword)
    if run and _has_run(re.findall(r"\w+", job.title.lower()), run):
        return "title"
    if run and _has_run(re.findall(r"\w+", job.description.lower()), run):
        return "description"
    return None


def _salary_part(saved: SavedSearch, analysis: Analysis) -> tuple[float, str] | None:
    assert saved.min_salary is not None
    amount = analysis.salary_max if analysis.salary_max is not None else analysis.salary_min
    wanted = saved.salary_currency.upper() if saved.salary_currency else None
    if amount is None:
        return 0.25, "salary not stated"
    if wanted and wanted != analysis.salary_currency:
        return 0.25, f"salary in {analysis.salary_currency or 'unknown currency'}"
    if amount * ANNUAL[analysis.salary_period or "year"] < saved.min_salary:
        return None
    return 1.0, f"salary ≥ {saved.min_salary} {wanted or analysis.salary_currency or ''}".strip()


def reference(saved: SavedSearch, job: JobPosting, analysis: Analysis) -> Match | None:
    parts: list[tuple[str, float]] = []
    reasons: list[str] = []
    keywords = list(dict.fromkeys(" ".join(k.lower().split()) for k in saved.keywords if k.strip()))
    places = {k: p for k in keywords if (p := _keyword_place(k, job, analysis))}
    if keywords:
        if not places:
            return None
        best = max(STRENGTH[p] for p in places.values())
        parts.append(("keywords", 0.6 * best + 0.4 * len(places) / len(keywords)))
        reasons += [f"keyword: {k} ({places[k]})" for k in keywords if k in places]
    locations = [loc.lower().strip() for loc in saved.locations if loc.strip()]
    if locations:
        remote = analysis.work_mode == "remote"
        ok = [loc for loc in locations if loc in job.location.lower()
              or (remote and loc in {"remote", "anywhere", "worldwide"})]  # fmt: skip
        if not ok:
            return None
        parts.append(("locations", 1.0))
        reasons.append(f"location: {ok[0]}")
    if saved.remote_only:
        if analysis.work_mode != "remote":
            return None
        parts.append(("remote", 1.0))
        reasons.append("remote")
    if saved.min_salary is not None:
        salary = _salary_part(saved, analysis)
        if salary is None:
            return None
        parts.append(("salary", salary[0]))
        reasons.append(salary[1])
    levels = {s.lower() for s in saved.seniority}
    if levels:
        if analysis.seniority != "unknown" and analysis.seniority not in levels:
            return None
        parts.append(("seniority", 0.5 if analysis.seniority == "unknown" else 1.0))
        reasons.append(f"seniority: {analysis.seniority}")
    if not parts:
        return Match(saved.id, saved.user_id, 0.5, ("no criteria",))
    score = sum(WEIGHTS[n] * v for n, v in parts) / sum(WEIGHTS[n] for n, _ in parts)
    return Match(saved.id, saved.user_id, round(score, 4), tuple(reasons))


KEYWORDS = [
    "python", "K8s", "kubernetes", "go", "Golang", "react", "react native", "ML", "data engineer",
    "platform", "fintech", "payments team", "berlin", "++", "  Data  Engineer ",
]  # fmt: skip
TITLES = [
    "Senior Data Engineer", "Go Developer", "Platform Engineer (Kubernetes)", "Engineering Manager",
    "Go-to-market Lead", "Junior React Native Developer", "",
]  # fmt: skip
SALARY_FLOORS = [Decimal(v) for v in (30, 50_000, 100_000, 150_000)]
SENTENCES = ["We use Python and Go.", "Our payments team ships daily.", "K8s everywhere.",
             "A fintech in Berlin.", "Fully remote.", "Hybrid, 2 days a week in the office.",
             "Salary $120k-150k.", "€4.000 per month.", "$70/hour.", "Data-engineer wanted!",
             "Machine learning platform."]  # fmt: skip
LOCATIONS = ["Berlin, Germany", "Remote - US", "London", "New York", ""]
CURRENCIES = [None, "USD", "EUR", "eur"]

searches_strategy = st.lists(
    st.builds(
        SavedSearch,
        id=st.uuids(),
        user_id=st.sampled_from([uuid.UUID(int=n) for n in range(1, 4)]),
        keywords=st.lists(st.sampled_from(KEYWORDS), max_size=3).map(tuple),
        locations=st.lists(st.sampled_from(["berlin", "Remote", "london", "germany", "anywhere"]),
                           max_size=2).map(tuple),
        remote_only=st.booleans(),
        min_salary=st.none() | st.sampled_from(SALARY_FLOORS),
        salary_currency=st.sampled_from(CURRENCIES),
        seniority=st.lists(st.sampled_from(SENIORITIES[:-1]), max_size=2).map(tuple),
    ),
    max_size=40,
)  # fmt: skip
jobs_strategy = st.builds(
    make_job,
    title=st.sampled_from(TITLES),
    description=st.lists(st.sampled_from(SENTENCES), max_size=5).map(" ".join),
    location=st.sampled_from(LOCATIONS),
    remote=st.none() | st.booleans(),
)


@st.composite
def analyses(draw: st.DrawFn, job: JobPosting) -> Analysis:
    if draw(st.booleans()):
        return RuleAnalyzer().analyze(job)
    amount = draw(st.none() | st.sampled_from([Decimal(v) for v in (60, 5_000, 90_000, 200_000)]))
    return make_analysis(
        skills=draw(st.lists(st.sampled_from(["kubernetes", "go", "python", "react", "ml"]))),
        seniority=draw(st.sampled_from(SENIORITIES)),
        work_mode=draw(st.sampled_from(WORK_MODES)),
        salary_max=amount,
        salary_currency=None if amount is None else draw(st.sampled_from(["USD", "EUR"])),
        salary_period=None if amount is None else draw(st.sampled_from(["year", "month", "hour"])),
    )


@settings(max_examples=300, deadline=None)
@given(searches=searches_strategy, job=jobs_strategy, data=st.data())
def test_index_matches_exactly_what_brute_force_matches(
    searches: list[SavedSearch], job: JobPosting, data: st.DataObject
) -> None:
    analysis = data.draw(analyses(job))
    expected = [m for s in searches if (m := reference(s, job, analysis)) is not None]
    expected.sort(key=lambda m: (-m.score, m.saved_search_id.int))
    actual = SearchIndex.build(searches).match(job, analysis)
    assert [(m.saved_search_id, m.user_id, m.reasons) for m in actual] == [
        (m.saved_search_id, m.user_id, m.reasons) for m in expected
    ]
    assert [m.score for m in actual] == pytest.approx([m.score for m in expected])
    assert all(0.0 <= m.score <= 1.0 for m in actual)
