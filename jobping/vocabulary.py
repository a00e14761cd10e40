"""The values a job's fields may take, shared by the scanner, the worker and the database.

Defined here once; the migrations' CHECK constraints and column types say the same, and
`tests/jobping/test_vocabulary.py` holds the two together.

* Work mode: ``remote``, ``hybrid``, ``onsite``, or ``unknown`` when nothing says (how a mode is
  read from a board or a text is `jobping.workmode`).
* Salary period: ``year``, ``month``, ``hour`` (``None`` when there is no salary).
* Salary amounts: non-negative and at most `MAX_SALARY`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal, get_args

WorkMode = Literal["remote", "hybrid", "onsite", "unknown"]
WORK_MODES: Final[tuple[WorkMode, ...]] = get_args(WorkMode)

SalaryPeriod = Literal["year", "month", "hour"]
SALARY_PERIODS: Final[tuple[SalaryPeriod, ...]] = get_args(SalaryPeriod)

#: Largest salary amount kept anywhere: by the scanner when it stores a listing, by the worker
#: when it takes a source's amount or an analyzer's. No job pays a billion a year, let alone a
#: month or an hour, so anything larger is a misparse or noise, not a salary. It is also well
#: inside what the `numeric(12, 2)` salary columns hold (up to 9,999,999,999.99).
MAX_SALARY: Final = Decimal(1_000_000_000)
