"""Reference for `cargo bench -p reprise-testing --bench env`: the same workflow (reserve, a
30-day timer, charge, ship) on Temporal's Java test server through the official Python SDK's
time-skipping test environment.

usage: python env_reference.py TEST_SERVER_PATH N
Prints one JSON object: per-test seconds with a fresh environment per test ("fresh": start the
test server, run a worker, run the workflow, shut down) and per-workflow seconds in one shared
environment ("shared").
"""

import asyncio
import json
import sys
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

TIMEOUT = timedelta(seconds=60)


@activity.defn
async def reserve(order: str) -> str:
    return f"reserved-{order}"


@activity.defn
async def charge(order: str, cents: int) -> str:
    return f"charged-{order}-{cents}"


@activity.defn
async def ship(order: str) -> str:
    return f"shipped-{order}"


@workflow.defn(sandboxed=False)
class Subscription:
    @workflow.run
    async def run(self, order: str) -> list:
        reserved = await workflow.execute_activity(reserve, order, start_to_close_timeout=TIMEOUT)
        await asyncio.sleep(30 * 86400)
        charged = await workflow.execute_activity(
            charge, args=[order, 4200], start_to_close_timeout=TIMEOUT
        )
        shipped = await workflow.execute_activity(ship, order, start_to_close_timeout=TIMEOUT)
        return [reserved, charged, shipped]


async def run_workflow(env, i):
    result = await env.client.execute_workflow(
        Subscription.run, f"o-{i}", id=f"sub-{i}", task_queue="orders"
    )
    assert result == [f"reserved-o-{i}", f"charged-o-{i}-4200", f"shipped-o-{i}"], result


def worker(env):
    return Worker(
        env.client,
        task_queue="orders",
        workflows=[Subscription],
        activities=[reserve, charge, ship],
    )


async def fresh(path, i):
    started = time.perf_counter()
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path) as env:
        async with worker(env):
            await run_workflow(env, i)
    return time.perf_counter() - started


async def main():
    path, n = sys.argv[1], int(sys.argv[2])
    await fresh(path, -1)  # warm-up
    fresh_times = [await fresh(path, i) for i in range(n)]
    shared_times = []
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path) as env:
        async with worker(env):
            await run_workflow(env, -1)  # warm-up
            for i in range(n):
                started = time.perf_counter()
                await run_workflow(env, i)
                shared_times.append(time.perf_counter() - started)
    print(json.dumps({"fresh": fresh_times, "shared": shared_times}))


asyncio.run(main())
