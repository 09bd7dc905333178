//! [`State`]: the cell for workflow state.

use std::cell::RefCell;
use std::fmt;

/// A field of workflow state, shared by the run and every handler (all of them take `&self`).
///
/// It hands out no reference or guard, only closures (`with`, `update`) and copies (`get`), so
/// a borrow of workflow state can never be held across an `.await`: the borrow ends when the
/// closure returns, and a closure cannot await.
///
/// ```
/// use reprise::workflow::State;
/// let items: State<Vec<String>> = State::default();
/// items.update(|v| v.push("apple".into()));
/// assert_eq!(items.with(|v| v.len()), 1);
/// let approved = State::new(false);
/// approved.set(true);
/// assert!(approved.get());
/// ```
#[derive(Default)]
pub struct State<T> {
    value: RefCell<T>,
}

impl<T> State<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        State {
            value: RefCell::new(value),
        }
    }

    /// A copy of the value.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.value.borrow().clone()
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        *self.value.borrow_mut() = value;
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&self, value: T) -> T {
        self.value.replace(value)
    }

    /// Reads the value.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value.borrow())
    }

    /// Changes the value in place.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.value.borrow_mut())
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value.try_borrow() {
            Ok(v) => f.debug_tuple("State").field(&*v).finish(),
            Err(_) => f.write_str("State(<being updated>)"),
        }
    }
}
