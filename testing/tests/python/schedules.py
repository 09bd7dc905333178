"""The Python SDK's schedule client (temporalio 1.35.0) against a server given as argv[1].

A Python worker runs the scheduled workflow. Creates a schedule (calendar in a time zone, an
interval, a skip calendar, memo), describes it (the server turns the calendar into ranges),
triggers it and waits for the started workflow's result, backfills, pauses and unpauses,
updates it through the SDK's update callback, lists it, and deletes it. Prints `OK` at the end;
any failure raises (non-zero exit).
"""

import asyncio
import sys
import uuid
from datetime import datetime, timedelta, timezone

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker


@workflow.defn(name="Greeting")
class Greeting:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"Hello, {name}!"


async def wait_for(what, check, tries=200):
    for _ in range(tries):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def main(target: str) -> None:
    client = await Client.connect(target)
    queue = f"py-sched-{uuid.uuid4()}"
    schedule_id = f"py-schedule-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[Greeting]):
        handle = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "Greeting", "schedules", id="greeting", task_queue=queue
                ),
                spec=ScheduleSpec(
                    calendars=[
                        ScheduleCalendarSpec(
                            hour=[ScheduleRange(9)],
                            minute=[ScheduleRange(30)],
                            day_of_week=[ScheduleRange(1, 5)],
                            comment="weekdays",
                        )
                    ],
                    intervals=[ScheduleIntervalSpec(every=timedelta(days=7), offset=timedelta(hours=1))],
                    skip=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(25)], month=[ScheduleRange(12)])],
                    time_zone_name="America/New_York",
                ),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
                state=ScheduleState(note="made in Python"),
            ),
            memo={"owner": "python"},
        )
        try:
            await client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow("Greeting", "x", id="x", task_queue=queue),
                    spec=ScheduleSpec(),
                ),
            )
            raise AssertionError("a second schedule with the same id was created")
        except ScheduleAlreadyRunningError:
            pass

        desc = await handle.describe()
        assert desc.id == schedule_id
        assert desc.schedule.state.note == "made in Python", desc.schedule.state
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
        cal = desc.schedule.spec.calendars[0]
        assert cal.hour == (ScheduleRange(9, 9, 1),), cal
        assert cal.day_of_week == (ScheduleRange(1, 5, 1),), cal
        assert cal.comment == "weekdays"
        assert desc.schedule.spec.time_zone_name == "America/New_York"
        assert desc.schedule.spec.intervals[0].every == timedelta(days=7)
        assert await desc.memo_value("owner") == "python"
        assert len(desc.info.next_action_times) == 10
        action = desc.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "Greeting"

        await handle.trigger()
        desc = await wait_for(
            "one action",
            lambda: _described_with(handle, lambda d: d.info.num_actions == 1),
        )
        started = desc.info.recent_actions[0].action
        result = await client.get_workflow_handle(started.workflow_id).result()
        assert result == "Hello, schedules!", result
        assert started.workflow_id.startswith("greeting-"), started.workflow_id

        # Two weekday mornings, 09:30 in New York.
        await handle.backfill(
            ScheduleBackfill(
                start_at=datetime(2026, 3, 2, tzinfo=timezone.utc),
                end_at=datetime(2026, 3, 4, tzinfo=timezone.utc),
                overlap=ScheduleOverlapPolicy.ALLOW_ALL,
            )
        )
        desc = await wait_for(
            "backfilled", lambda: _described_with(handle, lambda d: d.info.num_actions == 3)
        )
        ids = sorted(a.action.workflow_id for a in desc.info.recent_actions[1:])
        assert ids == ["greeting-2026-03-02T14:30:00Z", "greeting-2026-03-03T14:30:00Z"], ids

        await handle.pause(note="paused from Python")
        desc = await handle.describe()
        assert desc.schedule.state.paused and desc.schedule.state.note == "paused from Python"
        await handle.unpause()
        desc = await handle.describe()
        assert not desc.schedule.state.paused

        def limit(update: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule = update.description.schedule
            schedule.state.limited_actions = True
            schedule.state.remaining_actions = 2
            schedule.state.note = "limited"
            return ScheduleUpdate(schedule=schedule)

        await handle.update(limit)
        desc = await handle.describe()
        assert desc.schedule.state.limited_actions and desc.schedule.state.remaining_actions == 2
        assert desc.schedule.state.note == "limited"
        assert len(desc.info.next_action_times) == 2

        async def listed():
            async for entry in await client.list_schedules():
                if entry.id == schedule_id:
                    return entry
            return None

        entry = await wait_for("listed", listed)
        assert entry.schedule.state.note == "limited", entry.schedule.state
        assert entry.schedule.action.workflow == "Greeting"

        await handle.delete()
        try:
            await handle.describe()
            raise AssertionError("a deleted schedule was described")
        except RPCError as e:
            assert e.status == RPCStatusCode.NOT_FOUND, e.status
    print("OK")


async def _described_with(handle, check):
    desc = await handle.describe()
    return desc if check(desc) else None


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
