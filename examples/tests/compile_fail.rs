//! Shapes the macros reject, each with a message that says what to do instead.

#[test]
fn rejected_shapes() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
