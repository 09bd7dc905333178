"""A Python worker against a time-skipping server (argv[1]): a workflow that sleeps 30 days,
runs an activity, starts a child that sleeps a week, and signals it finishes in real seconds.
Prints the workflow time that passed and `OK`."""

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn(name="stamp")
async def stamp(text: str) -> str:
    return f"stamped {text}"


@workflow.defn(name="WeekSleeper")
class WeekSleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=7))
        return "child woke"


@workflow.defn(name="MonthSleeper")
class MonthSleeper:
    @workflow.run
    async def run(self) -> dict:
        start = workflow.now()
        await workflow.sleep(timedelta(days=30))
        stamped = await workflow.execute_activity(
            stamp, "late", start_to_close_timeout=timedelta(seconds=30)
        )
        child = await workflow.execute_child_workflow(
            WeekSleeper.run, id=f"{workflow.info().workflow_id}-child"
        )
        return {
            "days": (workflow.now() - start).total_seconds() / 86400,
            "stamped": stamped,
            "child": child,
        }


async def main(address: str) -> None:
    client = await Client.connect(address)
    task_queue = f"ts-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=task_queue, workflows=[MonthSleeper, WeekSleeper], activities=[stamp]
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await client.execute_workflow(
            MonthSleeper.run, id=f"month-{uuid.uuid4()}", task_queue=task_queue
        )
        wall = loop.time() - started
        assert result["stamped"] == "stamped late", result
        assert result["child"] == "child woke", result
        assert result["days"] >= 37, result
        assert wall < 30, wall
        print(f"workflow days {result['days']:.1f}, wall seconds {wall:.1f}")
    print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)  # see interop.py
