//! What `#[activities]` implements, and the typed activity references it makes possible:
//! `Payments::charge` is the user's own method, passed as a value to `ctx.activity(…)`; its
//! argument and result types come from its signature, its name from the generated definitions.

use super::{ActivityContext, ActivityError, ActivityRegistry};
use crate::converter::ToPayloads;
use crate::definition::{Async_, RegistrationError, Sync_};
use serde::de::DeserializeOwned;
use std::any::TypeId;

/// A group of activities defined with `#[activities]`.
pub trait ActivityDefinitions: Send + Sync + 'static {
    #[doc(hidden)]
    fn __register(
        self: std::sync::Arc<Self>,
        registry: &mut ActivityRegistry,
    ) -> Result<(), RegistrationError>;
    #[doc(hidden)]
    fn __activity_name(method: TypeId) -> Option<&'static str>;
}

/// An `#[activities]` method (`Payments::charge`).
pub trait ActivityMethod<Marker>: 'static {
    /// The activity group.
    type Group: ActivityDefinitions;
    /// Its arguments as a tuple.
    type Args: ToPayloads;
    /// Its result.
    type Output: DeserializeOwned;
}

/// The registered name of an activity method.
pub fn activity_name<G: ActivityDefinitions, F: 'static>() -> &'static str {
    G::__activity_name(TypeId::of::<F>()).unwrap_or("<not an activity of this group>")
}

macro_rules! arities {
    ($($a:ident),*) => {
        impl<F, G, R, $($a,)*> ActivityMethod<(Async_, G, $($a,)*)> for F
        where
            F: AsyncFn(&G, ActivityContext, $($a,)*) -> Result<R, ActivityError> + 'static,
            G: ActivityDefinitions,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Group = G;
            type Args = ($($a,)*);
            type Output = R;
        }

        impl<F, G, R, $($a,)*> ActivityMethod<(Sync_, G, $($a,)*)> for F
        where
            F: Fn(&G, ActivityContext, $($a,)*) -> Result<R, ActivityError> + 'static,
            G: ActivityDefinitions,
            R: DeserializeOwned,
            ($($a,)*): ToPayloads,
        {
            type Group = G;
            type Args = ($($a,)*);
            type Output = R;
        }
    };
}

arities!();
arities!(A1);
arities!(A1, A2);
arities!(A1, A2, A3);
arities!(A1, A2, A3, A4);
arities!(A1, A2, A3, A4, A5);
arities!(A1, A2, A3, A4, A5, A6);
