"""The seed's cron jobs, by name: what each runs and how often.

======================  ==========  ===================================================
name                    every       what it does
======================  ==========  ===================================================
``carts.cleanup``       15 minutes  expire carts past their expiry, delete those past
                                    retention; count the abandoned carts
``payments.reconcile``  30 minutes  ask the gateway about payments stuck unsettled
                                    (failed ones too), open the sessions a fault kept
                                    from opening
``orders.sync``         1 hour      sync pending payments' status, then expire stale
                                    unpaid orders; count orphaned records
``orders.redeliver``    5 minutes   publish again the ``order.paid`` of paid orders not
                                    completed, or completed and not confirmed, after
                                    ``CHECKOUT_REDELIVERY_DELAY`` (the broker may have
                                    lost it), backing off
``reports.daily``       1 day       write yesterday's daily report (JSON, CSV, chart)
======================  ==========  ===================================================

Every job works in batches, each its own transaction, telling its
``on_progress`` hook after each one, and may be run again: a run cut short
leaves finished batches done and the rest to the next run. ``orders.sync``
syncs before it expires, so an order whose webhook was lost is paid, not
expired. ``orders.redeliver`` republishes the same event (same id), so the
enrollment worker's inbox keeps a paid order's fulfilment to one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Final, TypeVar

from returns.result import Failure, Result

from checkout_adapters.jobs.daily import can_draw_charts, write_daily_report
from checkout_adapters.jobs.model import Job, JobContext, JobFailed, JobReport
from checkout_core.errors import CheckoutError
from checkout_core.services.reconciliation import PaymentReconciliation

__all__ = ["BATCH_SIZE", "JOBS", "PAYMENT_STUCK_AFTER", "UnknownJob", "job_named"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_SIZE: Final = 1000
"""Rows a job handles per transaction: memory stays bounded, and no lock is held for long."""
PAYMENT_STUCK_AFTER: Final = timedelta(minutes=15)
"""How long a payment goes without news before its provider is asked about it."""
_DAY: Final = timedelta(days=1)


class UnknownJob(LookupError):
    """No job has the name asked for; the message lists those that do exist."""


def _value(job: str, step: str, result: Result[T, CheckoutError]) -> T:
    if isinstance(result, Failure):
        raise JobFailed.answered(job, step, result.failure())
    return result.unwrap()


def cleanup_carts(context: JobContext) -> JobReport:
    """``carts.cleanup``: expired carts marked and old ones deleted; abandoned carts counted."""
    carts = context.checkout.carts
    name = "carts.cleanup"
    cleanup = _value(
        name,
        "cleanup_expired",
        carts.cleanup_expired(batch_size=BATCH_SIZE, on_progress=context.on_progress),
    )
    abandoned = _value(
        name, "abandoned_statistics", carts.abandoned_statistics(context.clock.now())
    )
    return JobReport(
        items=cleanup.expired + cleanup.deleted,
        figures={
            "expired": cleanup.expired,
            "deleted": cleanup.deleted,
            "abandoned_last_day": abandoned.last_day,
            "abandoned_last_week": abandoned.last_week,
        },
    )


def _reconcile(context: JobContext, job: str) -> PaymentReconciliation:
    """Payments waiting for money asked about; a run the open breaker cut short fails."""
    checked = _value(
        job,
        "reconcile_payments",
        context.checkout.reconciliation.reconcile_payments(
            stuck_after=PAYMENT_STUCK_AFTER, batch_size=BATCH_SIZE, on_progress=context.on_progress
        ),
    )
    if checked.interrupted:
        raise JobFailed(
            job, f"the gateway's circuit breaker is open: stopped after {checked.checked} payments"
        )
    return checked


def _payment_figures(checked: PaymentReconciliation) -> dict[str, object]:
    return {
        "payments_checked": checked.checked,
        "captured": checked.captured,
        "failed": checked.failed,
        "unchanged": checked.unchanged,
        "gateway_errors": checked.errors,
    }


def reconcile_payments(context: JobContext) -> JobReport:
    """``payments.reconcile``: stuck payments asked about, failed sessions opened again."""
    name = "payments.reconcile"
    checked = _reconcile(context, name)
    opened = _value(
        name,
        "retry_payment_sessions",
        context.checkout.reconciliation.retry_payment_sessions(
            batch_size=BATCH_SIZE, on_progress=context.on_progress
        ),
    )
    return JobReport(
        items=checked.checked + opened,
        figures=_payment_figures(checked) | {"sessions_opened": opened},
    )


def sync_orders(context: JobContext) -> JobReport:
    """``orders.sync``: pending payments synced, then stale orders expired; orphans counted."""
    name = "orders.sync"
    checkout = context.checkout
    checked = _reconcile(context, name)
    expiry = _value(
        name,
        "expire_stale",
        checkout.orders.expire_stale(batch_size=BATCH_SIZE, on_progress=context.on_progress),
    )
    orphans = _value(name, "orphans", checkout.reconciliation.orphans())
    if orphans.total:
        logger.warning("orders.sync found orphaned records: %s", orphans)
    return JobReport(
        items=checked.checked + expiry.expired,
        figures=_payment_figures(checked)
        | {
            "orders_expired": expiry.expired,
            "coupons_released": expiry.coupons_released,
            "orphans": orphans.total,
        },
    )


def redeliver_paid_orders(context: JobContext) -> JobReport:
    """``orders.redeliver``: the ``order.paid`` of stalled paid orders marked to go out again."""
    name = "orders.redeliver"
    redelivery = _value(
        name,
        "redeliver_stalled",
        context.checkout.redelivery.redeliver_stalled(
            stalled_after=context.redelivery_delay,
            batch_size=BATCH_SIZE,
            on_progress=context.on_progress,
        ),
    )
    if redelivery.stalled or redelivery.unfinished:
        logger.warning(
            "orders.redeliver found %d paid orders not completed and %d events not finished "
            "after %s; %d published again",
            redelivery.stalled, redelivery.unfinished, context.redelivery_delay,
            redelivery.republished,
        )  # fmt: skip
    return JobReport(
        items=redelivery.stalled + redelivery.unfinished,
        figures={
            "stalled": redelivery.stalled,
            "unfinished": redelivery.unfinished,
            "republished": redelivery.republished,
        },
    )


def write_yesterdays_report(context: JobContext) -> JobReport:
    """``reports.daily``: yesterday's report (UTC) written under the reports directory."""
    day = (context.clock.now() - _DAY).date()
    chart = can_draw_charts()
    if not chart:
        logger.warning("reports.daily draws no chart: pip install 'checkout[reports]'")
    files = write_daily_report(context.engine, day, context.reports_dir, chart=chart)
    context.on_progress(len(files))
    return JobReport(
        items=len(files),
        figures={"day": day.isoformat(), "directory": str(context.reports_dir / day.isoformat())},
    )


JOBS: Final[Mapping[str, Job]] = {
    job.name: job
    for job in (
        Job(
            "carts.cleanup",
            timedelta(minutes=15),
            cleanup_carts,
            "Expire carts past their expiry, delete them past retention, count abandoned carts.",
        ),
        Job(
            "payments.reconcile",
            timedelta(minutes=30),
            reconcile_payments,
            "Ask the gateway about stuck or failed payments; open sessions a fault kept shut.",
        ),
        Job(
            "orders.sync",
            timedelta(hours=1),
            sync_orders,
            "Sync pending payments' status, expire stale unpaid orders, count orphans.",
        ),
        Job(
            "orders.redeliver",
            timedelta(minutes=5),
            redeliver_paid_orders,
            "Republish order.paid of paid orders not completed after CHECKOUT_REDELIVERY_DELAY.",
        ),
        Job(
            "reports.daily",
            _DAY,
            write_yesterdays_report,
            "Write yesterday's daily report (JSON, CSV, chart) under CHECKOUT_REPORTS_DIR.",
        ),
    )
}
"""Every job of the seed, by name, in the order ``checkout jobs list`` shows them."""


def job_named(name: str) -> Job:
    """The job called ``name``.

    Raises:
        UnknownJob: there is none; the message lists the known names.
    """
    try:
        return JOBS[name]
    except KeyError:
        known = ", ".join(JOBS)
        raise UnknownJob(f"there is no job {name!r}; the jobs are: {known}") from None
