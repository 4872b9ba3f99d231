"""Async inference jobs (Baseten "async requests") and webhook delivery, run as asyncio tasks
on the server's event loop.

Lifecycle: QUEUED (for `job_queue_s`, or until `POST /_emulator/jobs/release` when the job was
submitted under `hold_jobs`; past `max_time_in_queue_seconds` it becomes EXPIRED) ->
IN_PROGRESS (for `job_run_s`, and while the webhook is being delivered) -> SUCCEEDED, or FAILED
(model_input `{"fail": true}` or no prompt/messages), or WEBHOOK_FAILED (inference succeeded,
delivery failed). Only QUEUED jobs can be canceled (-> CANCELED). Expired and canceled jobs
send no webhook.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from . import replies, signing
from .config import EmulatorConfig

RETRYABLE_WEBHOOK_STATUSES = {500, 502, 503, 504}


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Job:
    request_id: str
    model_id: str
    deployment_id: str
    model_input: Any
    webhook_endpoint: str | None
    max_time_in_queue_s: float
    held: bool
    status: str = "QUEUED"
    webhook_status: str = "PENDING"
    created_at: str = field(default_factory=utc_now)
    status_at: str = field(default_factory=utc_now)
    errors: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def set_status(self, status: str) -> None:
        self.status, self.status_at = status, utc_now()

    def record(self) -> dict[str, Any]:
        """The status record of `GET /async_request/{request_id}` (never the output)."""
        return {
            "request_id": self.request_id,
            "model_id": self.model_id,
            "deployment_id": self.deployment_id,
            "status": self.status,
            "webhook_status": self.webhook_status,
            "created_at": self.created_at,
            "status_at": self.status_at,
            "errors": self.errors,
        }


class JobManager:
    """Holds jobs and webhook delivery attempts; reads the live config through `get_config`."""

    def __init__(self, get_config: Any) -> None:
        self._config = get_config
        self.jobs: dict[str, Job] = {}
        self.webhook_attempts: list[dict[str, Any]] = []

    @property
    def config(self) -> EmulatorConfig:
        return self._config()

    def submit(self, model_id: str, deployment_id: str, body: dict[str, Any]) -> Job:
        job = Job(
            request_id=uuid.uuid4().hex,
            model_id=model_id,
            deployment_id=deployment_id,
            model_input=body["model_input"],
            webhook_endpoint=body.get("webhook_endpoint"),
            max_time_in_queue_s=body.get("max_time_in_queue_seconds", 600),
            held=self.config.hold_jobs,
        )
        if not job.webhook_endpoint:
            job.webhook_status = "NO_WEBHOOK_PROVIDED"
        self.jobs[job.request_id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job))
        return job

    def cancel(self, request_id: str) -> dict[str, Any]:
        job = self.jobs[request_id]
        if job.status != "QUEUED":
            return {
                "request_id": request_id,
                "canceled": False,
                "message": f"Only QUEUED requests can be canceled; this one is {job.status}.",
            }
        if job.task:
            job.task.cancel()
        job.set_status("CANCELED")
        if job.webhook_endpoint:
            job.webhook_status = "CANCELED"
        return {"request_id": request_id, "canceled": True, "message": "Request canceled."}

    def release(self) -> int:
        held = [j for j in self.jobs.values() if j.status == "QUEUED" and j.held]
        for job in held:
            job.release.set()
        return len(held)

    def queue_counts(self, model_id: str) -> tuple[int, int]:
        mine = [j for j in self.jobs.values() if j.model_id == model_id]
        return (
            sum(j.status == "QUEUED" for j in mine),
            sum(j.status == "IN_PROGRESS" for j in mine),
        )

    def clear(self) -> None:
        for job in self.jobs.values():
            if job.task and not job.task.done():
                job.task.cancel()
        self.jobs.clear()
        self.webhook_attempts.clear()

    async def _run(self, job: Job) -> None:
        try:
            if not await self._wait_in_queue(job):
                job.set_status("EXPIRED")
                if job.webhook_endpoint:
                    job.webhook_status = "CANCELED"
                return
            job.set_status("IN_PROGRESS")
            await asyncio.sleep(self.config.job_run_s)
            output, errors = self._predict(job.model_input)
            job.errors = errors
            delivered = await self._deliver(job, output) if job.webhook_endpoint else True
            if errors:
                job.set_status("FAILED")
            else:
                job.set_status("SUCCEEDED" if delivered else "WEBHOOK_FAILED")
        except asyncio.CancelledError:
            pass

    async def _wait_in_queue(self, job: Job) -> bool:
        """True once the job may run; False when it waited past its max queue time."""
        if not job.held:
            await asyncio.sleep(min(self.config.job_queue_s, job.max_time_in_queue_s))
            return True
        try:
            await asyncio.wait_for(job.release.wait(), timeout=job.max_time_in_queue_s)
            return True
        except asyncio.TimeoutError:
            return False

    def _predict(self, model_input: Any) -> tuple[Any, list[dict[str, str]]]:
        if isinstance(model_input, dict) and model_input.get("fail"):
            return None, [
                {
                    "code": "MODEL_PREDICT_ERROR",
                    "message": "The emulated model raised an error (model_input.fail).",
                }
            ]
        result = replies.predict_pieces(model_input, self.config.reply_tokens)
        if result is None:
            return None, [
                {
                    "code": "MODEL_INVALID_INPUT",
                    "message": "model_input needs 'prompt' (string) or 'messages'.",
                }
            ]
        return {"output": "".join(result)}, []

    async def _deliver(self, job: Job, output: Any) -> bool:
        """POST the signed webhook; one retry after `webhook_retry_delay_s` on 5xx or a
        connection error/timeout. Sets `webhook_status`; True when delivered."""
        for attempt in (1, 2):
            status = await self._attempt(job, output, attempt)
            if status is not None and 200 <= status < 300:
                job.webhook_status = "SUCCEEDED"
                return True
            if attempt == 2 or (status is not None and status not in RETRYABLE_WEBHOOK_STATUSES):
                break
            await asyncio.sleep(self.config.webhook_retry_delay_s)
        job.webhook_status = "FAILED"
        return False

    async def _attempt(self, job: Job, output: Any, attempt: int) -> int | None:
        payload = {
            "request_id": job.request_id,
            "model_id": job.model_id,
            "deployment_id": job.deployment_id,
            "type": "async_request_completed",
            "time": utc_now(),
            "data": output,
            "errors": job.errors,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-BASETEN-REQUEST-ID": job.request_id}
        if self.config.webhook_secrets:
            headers["X-BASETEN-SIGNATURE"] = signing.signature_header(
                body, self.config.webhook_secrets
            )
        status, error = None, None
        try:
            async with httpx.AsyncClient(
                timeout=self.config.webhook_timeout_s, trust_env=False
            ) as client:
                status = (
                    await client.post(job.webhook_endpoint or "", content=body, headers=headers)
                ).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.webhook_attempts.append(
            {
                "url": job.webhook_endpoint,
                "request_id": job.request_id,
                "attempt": attempt,
                "status_code": status,
                "error": error,
                "time": time.time(),
                "signature": headers.get("X-BASETEN-SIGNATURE"),
                "body": body.decode(),
            }
        )
        return status
