"""The official Python SDK's time-skipping test environment, `WorkflowEnvironment.start_time_skipping`,
started with this project's `reprise-server` binary (argv[1]) in place of Temporal's Java test
server: the SDK launches it as `BINARY PORT --enable-time-skipping` and drives its clock through
TestService (lock/unlock around result waits, `env.sleep`, `env.get_current_time`).
Prints what it measured and `OK`."""

import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker


@activity.defn(name="remind")
async def remind(who: str) -> str:
    return f"reminded {who}"


@workflow.defn(name="Reminder")
class Reminder:
    @workflow.run
    async def run(self, who: str) -> str:
        await workflow.sleep(timedelta(days=10))
        return await workflow.execute_activity(
            remind, who, start_to_close_timeout=timedelta(seconds=30)
        )


async def main(binary: str) -> None:
    started = time.monotonic()
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary
    ) as env:
        print(f"environment started in {time.monotonic() - started:.3f} s")
        task_queue = f"env-{uuid.uuid4()}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=[Reminder], activities=[remind]
        ):
            before = await env.get_current_time()
            wall = time.monotonic()
            result = await env.client.execute_workflow(
                Reminder.run, "ada", id=f"reminder-{uuid.uuid4()}", task_queue=task_queue
            )
            assert result == "reminded ada", result
            after = await env.get_current_time()
            skipped = after - before
            assert skipped >= timedelta(days=10), skipped
            assert time.monotonic() - wall < 20
            print(f"workflow slept {skipped.days} days")

            # env.sleep moves the clock by the duration, with no timer to jump to.
            before = await env.get_current_time()
            await env.sleep(timedelta(hours=5))
            moved = await env.get_current_time() - before
            assert timedelta(hours=5) <= moved < timedelta(hours=5, minutes=1), moved
            print(f"env.sleep moved the clock {moved}")

            # Outside a result wait skipping is locked: a started workflow's timer does not fire
            # by itself, only once the client waits for the result.
            handle = await env.client.start_workflow(
                Reminder.run, "bob", id=f"reminder-{uuid.uuid4()}", task_queue=task_queue
            )
            await asyncio.sleep(0.5)
            locked = await env.get_current_time() - after
            assert locked < timedelta(hours=6), locked
            assert await handle.result() == "reminded bob"
    print("OK")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)
