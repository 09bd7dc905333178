"""A real Python worker and client (temporalio 1.35.0) against a server given as argv[1].

Covers a workflow with an activity that fails once and is retried, a timer, a signal, a query
and an update, then checks the result and the history's event types. Prints `OK` at the end;
any failure raises (non-zero exit).
"""

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

ATTEMPTS = {}


@activity.defn(name="charge")
async def charge(order_id: str, amount: float) -> str:
    n = ATTEMPTS.get(order_id, 0) + 1
    ATTEMPTS[order_id] = n
    if n == 1:
        raise ApplicationError("processor unavailable", type="Unavailable")
    return f"charged {order_id} {amount} on attempt {activity.info().attempt}"


@activity.defn(name="reject")
async def reject(order_id: str) -> str:
    raise ApplicationError(f"{order_id} is invalid", type="Invalid", non_retryable=True)


@workflow.defn(name="Order")
class Order:
    def __init__(self) -> None:
        self.stage = "created"
        self.approved_by = None
        self.extra = 0

    @workflow.run
    async def run(self, order_id: str) -> str:
        self.stage = "charging"
        receipt = await workflow.execute_activity(
            charge,
            args=[order_id, 42.5],
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )
        self.stage = "waiting"
        await workflow.sleep(0.2)
        await workflow.wait_condition(lambda: self.approved_by is not None)
        self.stage = "done"
        return f"{receipt}; approved by {self.approved_by}; extra {self.extra}"

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approved_by = who

    @workflow.query
    def current_stage(self) -> str:
        return self.stage

    @workflow.update
    def add_extra(self, n: int) -> int:
        self.extra += n
        return self.extra

    @add_extra.validator
    def check_extra(self, n: int) -> None:
        if n < 0:
            raise ValueError("extra must not be negative")


@workflow.defn(name="Rejecting")
class Rejecting:
    @workflow.run
    async def run(self, order_id: str) -> str:
        return await workflow.execute_activity(
            reject, order_id, start_to_close_timeout=timedelta(seconds=5)
        )


async def main(address: str) -> None:
    client = await Client.connect(address, namespace="default")
    task_queue = f"py-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Order, Rejecting],
        activities=[charge, reject],
    ):
        handle = await client.start_workflow(
            Order.run, "order-7", id=f"order-{uuid.uuid4()}", task_queue=task_queue
        )
        # Wait until the workflow waits for approval, querying its stage meanwhile.
        for _ in range(200):
            stage = await handle.query(Order.current_stage)
            if stage == "waiting":
                break
            await asyncio.sleep(0.05)
        assert stage == "waiting", stage
        assert await handle.execute_update(Order.add_extra, 5) == 5
        try:
            await handle.execute_update(Order.add_extra, -1)
            raise AssertionError("the validator should have rejected -1")
        except Exception as e:  # WorkflowUpdateFailedError
            assert "negative" in str(e.__cause__ or e), e
        await handle.signal(Order.approve, "alice")
        result = await handle.result()
        assert result == "charged order-7 42.5 on attempt 2; approved by alice; extra 5", result
        assert await handle.query(Order.current_stage) == "done"

        history = await handle.fetch_history()
        types = [e.event_type for e in history.events]
        from temporalio.api.enums.v1 import EventType

        names = [EventType.Name(t) for t in types]
        for expected in [
            "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
            "EVENT_TYPE_ACTIVITY_TASK_STARTED",
            "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
            "EVENT_TYPE_TIMER_STARTED",
            "EVENT_TYPE_TIMER_FIRED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED",
            "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        ]:
            assert expected in names, (expected, names)
        started = next(e for e in history.events if e.HasField("activity_task_started_event_attributes"))
        assert started.activity_task_started_event_attributes.attempt == 2
        assert started.activity_task_started_event_attributes.last_failure.message == "processor unavailable"

        failing = await client.start_workflow(
            Rejecting.run, "order-8", id=f"reject-{uuid.uuid4()}", task_queue=task_queue
        )
        try:
            await failing.result()
            raise AssertionError("Rejecting should fail")
        except WorkflowFailureError as e:
            assert "order-8 is invalid" in str(e.cause.cause), e.cause
        for name in names:
            print(name)
    print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    # Leave without interpreter finalization: temporalio's core threads can still call back into
    # Python while it finalizes and abort the process (seen with temporalio 1.35.0 on any server).
    sys.stdout.flush()
    os._exit(0)
