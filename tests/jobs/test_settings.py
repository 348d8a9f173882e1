from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from checkout_adapters.jobs import DEFAULT_REDELIVERY_DELAY, DEFAULT_REPORTS_DIR, JobSettings
from checkout_adapters.settings import ConfigurationError


def test_without_variables_the_jobs_use_their_defaults() -> None:
    settings = JobSettings.from_env({})

    assert settings == JobSettings()
    assert settings.reports_dir == DEFAULT_REPORTS_DIR == Path("reports")
    assert settings.redelivery_delay == DEFAULT_REDELIVERY_DELAY == timedelta(seconds=600)


def test_the_redelivery_delay_is_read_in_seconds_and_empty_counts_as_unset() -> None:
    def delay(value: str) -> timedelta:
        return JobSettings.from_env({"CHECKOUT_REDELIVERY_DELAY": value}).redelivery_delay

    assert delay("30") == timedelta(seconds=30)
    assert delay(" 1.5 ") == timedelta(seconds=1.5)
    assert delay("604799") == timedelta(days=7) - timedelta(seconds=1)
    assert delay("  ") == DEFAULT_REDELIVERY_DELAY


@pytest.mark.parametrize("value", ["ten minutes", "0", "-1", "nan", "inf", "604800", "1e9"])
def test_a_redelivery_delay_that_is_not_a_positive_number_under_a_week_is_refused(
    value: str,
) -> None:
    with pytest.raises(ConfigurationError, match=f"CHECKOUT_REDELIVERY_DELAY is '{value}'"):
        JobSettings.from_env({"CHECKOUT_REDELIVERY_DELAY": value})


def test_the_reports_directory_expands_the_home_directory() -> None:
    settings = JobSettings.from_env({"CHECKOUT_REPORTS_DIR": "~/reports"})

    assert settings.reports_dir == Path.home() / "reports"
