"""The Python side of tests/interop_python.rs (official Python SDK, temporalio 1.35.0).

`interop_peer.py worker TARGET`: a Python worker on task queue "py" with activities `py_greet`,
`py_fail` and workflows `PyParent`, `PyChild`, `PyFailingChild`; prints READY once polling and
runs until killed.

`interop_peer.py client TARGET WORKFLOW_ID`: as a Python client, queries (`rs_state`), updates
(`rs_set`) and signals (`rs_signal`) the Reprise workflow WORKFLOW_ID, prints what it got as one
JSON line.
"""

import asyncio
import json
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.worker import Worker

TIMEOUT = timedelta(seconds=10)
NO_RETRY = RetryPolicy(maximum_attempts=1)


def describe(err):
    """A failure as plain data: type, message, non-retryable, details, and its cause."""
    if err is None:
        return None
    out = {"class": type(err).__name__, "message": err.message}
    if isinstance(err, ApplicationError):
        out["type"] = err.type
        out["non_retryable"] = err.non_retryable
        out["details"] = list(err.details)
    out["cause"] = describe(err.cause)
    return out


@activity.defn(name="py_greet")
async def py_greet(name: str) -> str:
    return f"hello {name} from python"


@activity.defn(name="py_fail")
async def py_fail(code: int) -> str:
    try:
        raise ApplicationError("python root cause", type="PyRoot")
    except ApplicationError as root:
        raise ApplicationError(
            "python activity failed", code, "py-detail", type="PyFailure", non_retryable=True
        ) from root


@workflow.defn(name="PyChild")
class PyChild:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"python child of {name}"


@workflow.defn(name="PyFailingChild")
class PyFailingChild:
    @workflow.run
    async def run(self, code: int) -> str:
        raise ApplicationError("python child failed", code, type="PyChildFailure", non_retryable=True)


@workflow.defn(name="PyParent")
class PyParent:
    def __init__(self) -> None:
        self.state = "started"
        self.signals = []

    @workflow.run
    async def run(self, name: str) -> dict:
        greeting = await workflow.execute_activity(
            "rs_greet", name, task_queue="rs", start_to_close_timeout=TIMEOUT
        )
        try:
            await workflow.execute_activity(
                "rs_fail", 7, task_queue="rs", start_to_close_timeout=TIMEOUT, retry_policy=NO_RETRY
            )
            activity_failure = None
        except ActivityError as e:
            activity_failure = describe(e)
        child = await workflow.execute_child_workflow("RsChild", name, task_queue="rs")
        try:
            await workflow.execute_child_workflow("RsFailingChild", 9, task_queue="rs")
            child_failure = None
        except ChildWorkflowError as e:
            child_failure = describe(e)
        self.state = "waiting"
        await workflow.wait_condition(lambda: len(self.signals) > 0)
        return {
            "greeting": greeting,
            "activity_failure": activity_failure,
            "child": child,
            "child_failure": child_failure,
            "signals": self.signals,
            "state": self.state,
        }

    @workflow.signal(name="py_signal")
    def py_signal(self, value: str) -> None:
        self.signals.append(value)

    @workflow.query(name="py_state")
    def py_state(self) -> str:
        return self.state

    @workflow.update(name="py_set")
    def py_set(self, value: str) -> str:
        previous = self.state
        self.state = value
        return previous

    @py_set.validator
    def check_py_set(self, value: str) -> None:
        if not value:
            raise ApplicationError("empty state", type="InvalidState")


async def run_worker(target: str) -> None:
    client = await Client.connect(target)
    async with Worker(
        client,
        task_queue="py",
        activities=[py_greet, py_fail],
        workflows=[PyParent, PyChild, PyFailingChild],
    ):
        print("READY", flush=True)
        await asyncio.Event().wait()


async def run_client(target: str, workflow_id: str) -> None:
    client = await Client.connect(target)
    handle = client.get_workflow_handle(workflow_id)
    # The Reprise workflow reaches its waiting state after its Python calls.
    state = None
    for _ in range(200):
        state = await handle.query("rs_state")
        if state == "waiting":
            break
        await asyncio.sleep(0.05)
    previous = await handle.execute_update("rs_set", "set by python")
    rejected = None
    try:
        await handle.execute_update("rs_set", "")
    except Exception as e:  # WorkflowUpdateFailedError: its cause is the validator's failure
        rejected = describe(e.cause)
    await handle.signal("rs_signal", "signal from python")
    print(json.dumps({"state": state, "previous": previous, "rejected": rejected}), flush=True)


def main() -> None:
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "worker":
        asyncio.run(run_worker(target))
    elif mode == "client":
        asyncio.run(run_client(target, sys.argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
