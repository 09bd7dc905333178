//! Cancellation scopes: a tree of flags. Canceling a scope cancels every operation started in it
//! and in its child scopes; the workflow's own cancellation (requested by a client) cancels the
//! root scope. A detached scope is not under the root, so cleanup work survives cancellation.

use std::cell::Cell;
use std::rc::Rc;

#[derive(Debug)]
struct ScopeInner {
    canceled: Cell<bool>,
    parent: Option<ScopeRef>,
}

/// A handle on a scope (cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct ScopeRef(Rc<ScopeInner>);

impl ScopeRef {
    pub(crate) fn root() -> Self {
        ScopeRef(Rc::new(ScopeInner {
            canceled: Cell::new(false),
            parent: None,
        }))
    }

    pub(crate) fn child(&self) -> Self {
        ScopeRef(Rc::new(ScopeInner {
            canceled: Cell::new(false),
            parent: Some(self.clone()),
        }))
    }

    pub(crate) fn cancel(&self) {
        self.0.canceled.set(true);
    }

    /// Canceled itself or through an ancestor.
    pub(crate) fn is_canceled(&self) -> bool {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if s.0.canceled.get() {
                return true;
            }
            scope = s.0.parent.as_ref();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_reaches_descendants_only() {
        let root = ScopeRef::root();
        let child = root.child();
        let grandchild = child.child();
        let detached = ScopeRef::root();
        child.cancel();
        assert!(!root.is_canceled());
        assert!(child.is_canceled() && grandchild.is_canceled());
        root.cancel();
        assert!(!detached.is_canceled());
    }
}
