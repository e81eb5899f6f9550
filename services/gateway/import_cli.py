"""Import customers from a file, with a progress bar:

    python -m services.gateway.import_cli customers.csv --url http://127.0.0.1:8000 \\
        --key-file .data/bootstrap-api-key [--source pos]

Uploads the file to ``POST /v1/imports`` (CSV with a header, or NDJSON: ``.ndjson`` or
``.jsonl``), follows the job until every row is read (rows accepted and rejected, rows a
second), then prints each rejected row's line and reason. The key is read from a file,
never from the command line, where other users of the machine could read it. Exit status:
0 every row imported, 3 some rows rejected, 1 the upload or the job failed. Running it
again with the same file follows the same job: nothing is imported twice."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

BAR = 30
ALL_IMPORTED, FAILED, SOME_REJECTED = 0, 1, 3
MEDIA = {".csv": "text/csv", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.import_cli", description=__doc__.splitlines()[0]
    )
    parser.add_argument("file", type=Path, help="a .csv file with a header, or .ndjson/.jsonl")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    parser.add_argument("--key-file", type=Path, required=True, help="a file holding the API key")
    parser.add_argument("--source", help="customer.source of rows that name none")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    return parser.parse_args(argv)


def bar(job: dict[str, Any], seconds: float) -> str:
    """One line of progress: the bar, rows read of all, accepted, rejected, rows a second."""
    read, rows = job["rows_read"], max(job["rows"], 1)
    filled = BAR * read // rows
    rate = read / seconds if seconds > 0 else 0.0
    return (
        f"[{'#' * filled}{'.' * (BAR - filled)}] {read:,}/{job['rows']:,} rows  "
        f"accepted {job['accepted']:,}  rejected {job['rejected']:,}  {rate:,.0f} rows/s"
    )


def report(job: dict[str, Any], out: TextIO) -> int:
    """The rejected rows, and the exit status the job's outcome deserves."""
    for rejection in job["rejections"]:
        out.write(f"line {rejection['line']}: {rejection['reason']}\n")
    unlisted = job["rejected"] - len(job["rejections"])
    if unlisted > 0:
        out.write(f"… and {unlisted:,} more rejected rows (the job lists the first ones)\n")
    if job["state"] == "failed":
        out.write(f"import failed: {job['failure']}\n")
        return FAILED
    return SOME_REJECTED if job["rejected"] else ALL_IMPORTED


def run(options: argparse.Namespace, client: httpx.Client, out: TextIO, err: TextIO) -> int:
    media = MEDIA.get(options.file.suffix.lower())
    if media is None:
        err.write(f"{options.file}: name a .csv, .ndjson or .jsonl file\n")
        return FAILED
    key = options.key_file.read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    params = {"source": options.source} if options.source else {}
    started = time.monotonic()
    answer = client.post(
        "/v1/imports",
        content=options.file.read_bytes(),
        headers={**headers, "content-type": media},
        params=params,
    )
    if answer.status_code != 202:
        err.write(f"upload refused ({answer.status_code}): {_detail(answer)}\n")
        return FAILED
    job, location = answer.json(), answer.headers["location"]
    while job["state"] not in ("done", "failed"):
        err.write("\r" + bar(job, time.monotonic() - started))
        err.flush()
        time.sleep(options.interval)
        polled = client.get(location, headers=headers)
        if polled.status_code == 200:
            job = polled.json()
        elif polled.status_code not in (429, 503):
            err.write(f"\nprogress unreadable ({polled.status_code}): {_detail(polled)}\n")
            return FAILED
    err.write("\r" + bar(job, time.monotonic() - started) + "\n")
    return report(job, out)


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))[:500]
    except ValueError:
        return answer.text[:500]


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    with httpx.Client(base_url=options.url, timeout=120) as client:
        try:
            return run(options, client, sys.stdout, sys.stderr)
        except (httpx.HTTPError, OSError) as error:
            sys.stderr.write(f"\n{type(error).__name__}: {error}\n")
            return FAILED


if __name__ == "__main__":
    sys.exit(main())
