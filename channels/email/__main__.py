"""`python -m channels.email classify|ingest|poll`: what `memberdesk email ...` runs.

classify FILE.eml...  the triage decision as JSON, without acting on it
ingest FILE.eml...    triage and record each email (case opened or joined, reply queued)
poll [--once]         poll the support mailbox over IMAP (MEMBERDESK_IMAP_* settings)

Exit codes: 0 done, 1 the records API, the mailbox or the model was not available (nothing
was lost: the email can be ingested again), 2 a usage mistake.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from bot.email_records import EmailRecords
from bot.records import RecordsApiError, RecordsApiRefused
from bot.settings import UnsafeSettings, read_settings
from channels.email.classifier import ModelMissing, NluClassifier
from channels.email.imap import MailboxUnavailable
from channels.email.intake import ingest_raw, mailbox_poller
from channels.email.settings import MailboxNotConfigured, mailbox_settings
from channels.email.triage import Classifier, triage

log = logging.getLogger("memberdesk.email")


def _print(results: list[dict[str, Any]]) -> None:
    document: Any = results[0] if len(results) == 1 else results
    print(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def _classify(files: list[Path], classifier: Classifier, records: EmailRecords) -> int:
    results, status = [], 0
    for path in files:
        triaged = triage(path.read_bytes(), classifier=classifier)
        report = {"file": str(path), **triaged.report()}
        try:
            preview = records.preview(triaged.api_payload())
            report["matched_member"] = preview.pop("matched_member", None)
            report["route"] = preview
        except RecordsApiError as exc:
            report["matched_member"] = None
            report["route"] = None
            report["route_error"] = f"the records API could not be asked: {exc}"
            status = 1
        results.append(report)
    _print(results)
    return status


def _ingest(files: list[Path], classifier: Classifier, records: EmailRecords) -> int:
    results, status = [], 0
    for path in files:
        try:
            outcome = ingest_raw(path.read_bytes(), classifier=classifier, records=records)
            results.append({"file": str(path), **outcome})
        except RecordsApiRefused as exc:
            results.append({"file": str(path), "error": f"the records API refused it ({exc})"})
            status = 1
        except RecordsApiError as exc:
            results.append({"file": str(path), "error": f"not recorded, try again: {exc}"})
            status = 1
    _print(results)
    return status


def _poll(once: bool, classifier: Classifier, records: EmailRecords) -> int:
    try:
        settings = mailbox_settings()
    except MailboxNotConfigured as exc:
        print(f"email poll: {exc}", file=sys.stderr)
        return 1
    poller = mailbox_poller(settings, classifier=classifier, records=records)
    if once:
        try:
            report = poller.poll_once()
        except MailboxUnavailable as exc:
            print(f"email poll: the mailbox is not available: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(report.__dict__))
        return 1 if report.failed else 0
    stopping = False

    def _stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("polling %s on %s every %.0f s", settings.folder, settings.host,
             settings.poll_seconds)
    poller.run(should_stop=lambda: stopping)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memberdesk email", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("classify", "ingest"):
        command = commands.add_parser(name)
        command.add_argument("files", nargs="+", type=Path, metavar="FILE.eml")
    poll = commands.add_parser("poll")
    poll.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for path in getattr(args, "files", []):
        if not path.is_file():
            parser.error(f"{path} is not a file")
    if args.command == "poll":
        try:
            mailbox_settings()  # before the model takes its 20 s to load
        except MailboxNotConfigured as exc:
            print(f"email poll: {exc}", file=sys.stderr)
            return 1
    try:
        records = EmailRecords(read_settings())
    except UnsafeSettings as exc:
        print(f"email: {exc}", file=sys.stderr)
        return 1
    try:
        classifier = NluClassifier()
    except ModelMissing as exc:
        print(f"email: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "classify":
            return _classify(args.files, classifier, records)
        if args.command == "ingest":
            return _ingest(args.files, classifier, records)
        return _poll(args.once, classifier, records)
    finally:
        records.close()
        classifier.close()


if __name__ == "__main__":
    sys.exit(main())
