//! Generated inputs for the bundled server (proptest; budgets sized for CI — the `fuzz`
//! binary of `reprise-examples` runs large budgets on demand): the visibility query parser,
//! the cron parser, durations and retry policies, `grpc-timeout` headers, and arbitrary programs
//! of WorkflowService/OperatorService calls, each ending with the store's invariants. Nothing may
//! panic. Failures found once are replayed first from
//! `tests/generated_inputs.proptest-regressions`; the hand-kept seeds below are inputs that
//! once crashed the server.

use proptest::prelude::*;
use reprise_testing::fuzzing;

/// Inputs that panicked before their fix (kept as regression cases).
const CRASHERS: &[&str] = &[
    "@every 18446744073709551615d",
    "@every 999999999999999999h",
    "@every 213503982334601d1s",
];

#[test]
fn the_crashers_stay_fixed() {
    for text in CRASHERS {
        fuzzing::cron(text, 0).expect(text);
        fuzzing::cron(text, i64::MAX).expect(text);
        fuzzing::visibility_query(text).expect(text);
    }
}

fn query_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "WorkflowId",
        "CustomInt",
        "StartTime",
        "ExecutionStatus",
        "CustomKw",
        "=",
        "!=",
        ">=",
        "<",
        "AND",
        "OR",
        "NOT",
        "(",
        ")",
        "IN",
        "BETWEEN",
        "IS",
        "NULL",
        "ORDER BY",
        "GROUP BY",
        "DESC",
        ",",
        "'a'",
        "\"Running\"",
        "1",
        "-9223372036854775808",
        "1e309",
        "'2024-01-01T00:00:00Z'",
        "`x`",
        "'",
        "\\",
        "STARTS_WITH",
        "LIKE",
    ]);
    prop_oneof![
        prop::collection::vec(token, 0..12).prop_map(|t| t.join(" ")),
        ".{0,40}",
    ]
}

/// Budget `cases`, failures saved to (and replayed first from) the committed regression file.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/generated_inputs.proptest-regressions",
            ),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn visibility_queries_never_panic(text in query_text()) {
        prop_assert!(fuzzing::visibility_query(&text).is_ok());
    }

    #[test]
    fn cron_schedules_never_panic(
        text in prop_oneof![
            "(@every )?[0-9smhd]{0,30}",
            "[0-9*/,-]{1,6} [0-9*/,-]{1,6} [0-9*/,-]{1,6} [0-9*/,-]{1,6} [0-9*/,A-Za-z-]{1,6}",
            ".{0,30}",
        ],
        after in any::<i64>(),
    ) {
        let r = fuzzing::cron(&text, after);
        prop_assert!(r.is_ok(), "{:?}", r);
    }

    #[test]
    fn durations_and_retry_policies_never_panic(
        seconds in any::<i64>(),
        nanos in any::<i32>(),
        coefficient in any::<f64>(),
        attempts in any::<i32>(),
        header in "[0-9]{0,22}[HMSmun]?",
    ) {
        prop_assert!(fuzzing::durations(seconds, nanos, coefficient, attempts).is_ok());
        prop_assert!(fuzzing::grpc_timeout(&header).is_ok());
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn handler_programs_answer_a_status_and_keep_the_store_consistent(
        program in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        let harness = harness();
        let r = harness.run(&program);
        prop_assert!(r.is_ok(), "{:?}", r);
    }
}

fn harness() -> &'static fuzzing::HandlerHarness {
    static H: std::sync::OnceLock<fuzzing::HandlerHarness> = std::sync::OnceLock::new();
    H.get_or_init(|| fuzzing::HandlerHarness::new().expect("runtime"))
}
