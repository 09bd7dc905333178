//! What to do with the starts waiting in a schedule's buffer, given its overlap policies: the
//! official server's rules, as a pure function.

use reprise::api::temporal::api::enums::v1::ScheduleOverlapPolicy as Policy;

/// The outcome of one pass over the buffer.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Action<T> {
    /// Allow-all starts: all start now, overlapping whatever runs.
    pub(crate) overlapping: Vec<T>,
    /// The one start that may begin now because nothing runs.
    pub(crate) non_overlapping: Option<T>,
    /// What stays buffered.
    pub(crate) buffer: Vec<T>,
    /// Cancel the running workflows (the buffered start waits for them to close).
    pub(crate) cancel: bool,
    /// Terminate the running workflows.
    pub(crate) terminate: bool,
    /// Starts dropped by the skip and buffer-one policies.
    pub(crate) skipped: i64,
}

/// Goes through `buffer` in order; `running` says whether a started workflow still runs;
/// `policy` resolves each start's policy (unspecified → the schedule's).
pub(crate) fn process<T>(
    buffer: Vec<T>,
    running: bool,
    policy: impl Fn(&T) -> Policy,
) -> Action<T> {
    let mut action = Action {
        overlapping: Vec::new(),
        non_overlapping: None,
        buffer: Vec::new(),
        cancel: false,
        terminate: false,
        skipped: 0,
    };
    for start in buffer {
        let p = policy(&start);
        if p == Policy::AllowAll {
            action.overlapping.push(start);
            continue;
        }
        if !running && action.non_overlapping.is_none() {
            action.non_overlapping = Some(start);
            continue;
        }
        match p {
            Policy::BufferOne => {
                if action.buffer.is_empty() {
                    action.buffer.push(start);
                } else {
                    action.skipped += 1;
                }
            }
            Policy::BufferAll => action.buffer.push(start),
            Policy::CancelOther | Policy::TerminateOther if !running => {
                // Only the start about to begin "runs": this one replaces it.
                action.non_overlapping = Some(start);
            }
            Policy::CancelOther => {
                action.cancel = true;
                action.buffer.push(start);
            }
            Policy::TerminateOther => {
                action.terminate = true;
                action.buffer.push(start);
            }
            _ => action.skipped += 1,
        }
    }
    if action.cancel || action.terminate {
        action.overlapping.clear();
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(policy: Policy, running: bool, n: usize) -> Action<usize> {
        process((0..n).collect(), running, |_| policy)
    }

    #[test]
    fn policies() {
        let idle = run(Policy::Skip, false, 3);
        assert_eq!((idle.non_overlapping, idle.skipped), (Some(0), 2));
        let busy = run(Policy::Skip, true, 2);
        assert_eq!((busy.non_overlapping, busy.skipped), (None, 2));
        let one = run(Policy::BufferOne, true, 3);
        assert_eq!((one.buffer, one.skipped), (vec![0], 2));
        let all = run(Policy::BufferAll, false, 3);
        assert_eq!((all.non_overlapping, all.buffer), (Some(0), vec![1, 2]));
        let cancel = run(Policy::CancelOther, true, 1);
        assert!(cancel.cancel && cancel.buffer == vec![0]);
        let replace = run(Policy::TerminateOther, false, 3);
        assert_eq!(replace.non_overlapping, Some(2));
        assert!(!replace.terminate);
        let terminate = run(Policy::TerminateOther, true, 1);
        assert!(terminate.terminate);
        let allow = run(Policy::AllowAll, true, 3);
        assert_eq!(allow.overlapping, vec![0, 1, 2]);
    }
}
