//! The startup check of the item resources, before any of them opens: every parameter has
//! exactly one provider that opens earlier. All problems are reported at once, each naming the
//! resources and types involved, so that one failed start is enough to fix them.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write;

use super::{Dependency, ItemResource, Provides};
use crate::Shutdown;

/// Where a parameter's value comes from.
#[derive(Clone, Copy)]
enum Provider {
    Item(&'static ItemResource),
    /// A value a test run supplies in place of a resource function (`graceful::test`).
    Supplied,
}

/// Checks the items (sorted by `(order, path)`) and `main`'s parameters, with the types in
/// `supplied` already provided (by a test run).
pub(crate) fn check(
    items: &[&'static ItemResource],
    main_needs: &[Dependency],
    supplied: &[Provides],
) -> Result<(), String> {
    let mut problems = Vec::new();

    let mut providers: HashMap<TypeId, Provider> = HashMap::new();
    for provides in supplied {
        providers.insert((provides.type_id)(), Provider::Supplied);
        providers.insert((provides.shared_type_id)(), Provider::Supplied);
    }
    for &item in items {
        let provides = &item.provides;
        match providers.get(&(provides.type_id)()) {
            Some(Provider::Item(first)) => problems.push(format!(
                "resources `{}` ({}) and `{}` ({}) both provide `{}`; a type has one provider, \
                 so that parameters can name it: wrap one in a newtype, such as `struct Replica({})`",
                first.name,
                first.path,
                item.name,
                item.path,
                provides.type_name(),
                provides.type_name(),
            )),
            Some(Provider::Supplied) => problems.push(format!(
                "the test supplies `{}` and also opens resource `{}` ({}), which provides it: \
                 do one or the other",
                provides.type_name(),
                item.name,
                item.path,
            )),
            None => {
                providers.insert((provides.type_id)(), Provider::Item(item));
                providers.insert((provides.shared_type_id)(), Provider::Item(item));
            }
        }
    }

    let shutdown = TypeId::of::<Shutdown>();
    let mut missing = false;
    for &item in items {
        for need in item
            .needs
            .iter()
            .filter(|need| (need.type_id)() != shutdown)
        {
            match providers.get(&(need.type_id)()) {
                None => {
                    missing = true;
                    problems.push(format!(
                        "resource `{}` ({}) takes `{}: {}`, but no resource provides `{}`",
                        item.name, item.path, need.parameter, need.written, need.written,
                    ));
                }
                Some(Provider::Item(provider)) if provider.order >= item.order => problems.push(format!(
                    "resource `{}` (order {}) takes `{}: {}`, provided by resource `{}` (order {}), \
                     which does not open before it; a resource can only take resources of a lower \
                     `order`: lower `{}`'s order or raise `{}`'s",
                    item.name,
                    item.order,
                    need.parameter,
                    need.written,
                    provider.name,
                    provider.order,
                    provider.name,
                    item.name,
                )),
                Some(_) => {}
            }
        }
    }

    for need in main_needs
        .iter()
        .filter(|need| (need.type_id)() != shutdown)
    {
        if !providers.contains_key(&(need.type_id)()) {
            missing = true;
            problems.push(format!(
                "`main` takes `{}: {}`, but no resource provides `{}`; parameters of `main` \
                 come from `#[graceful::resource]` functions (a `#[resource] let` in `main` is \
                 a variable of its body instead)",
                need.parameter, need.written, need.written,
            ));
        }
    }

    let mut message = match problems.as_slice() {
        [] => return Ok(()),
        [one] => one.clone(),
        many => {
            let mut message = format!("{} problems with the resources:", many.len());
            for problem in many {
                let _ = write!(message, "\n  - {problem}");
            }
            message
        }
    };
    if missing {
        message.push_str(&available(items));
    }
    Err(message)
}

/// The resources there are, for "no resource provides" messages, with the usual cause of a
/// missing one: its crate is not linked.
pub(super) fn available(items: &[&'static ItemResource]) -> String {
    let mut text = String::from("\n  the resources linked into this program: ");
    if items.is_empty() {
        text.push_str("none");
    }
    for (index, item) in items.iter().enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let _ = write!(
            text,
            "{separator}`{}`: `{}` (order {})",
            item.name,
            item.provides.type_name(),
            item.order
        );
    }
    text.push_str(
        "\n  a resource declared in another crate is found only if that crate is linked: name \
         something from it in the binary, such as `use that_crate as _;`",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::Provides;
    use crate::items::test_items::item;
    use crate::{Resource, Shutdown};

    struct Pool;
    struct Cache;

    #[test]
    fn a_sound_graph_passes() {
        const CACHE_NEEDS: &[Dependency] = &[
            Dependency::of::<Pool>("Pool", "pool"),
            Dependency::of::<Shutdown>("Shutdown", "shutdown"),
        ];
        const MAIN_NEEDS: &[Dependency] = &[
            Dependency::of::<Resource<Cache>>("Resource<Cache>", "cache"),
            Dependency::of::<Pool>("Pool", "pool"),
        ];
        let items = [
            item("pool", 1, Provides::of::<Pool>(), &[]),
            item("cache", 2, Provides::of::<Cache>(), CACHE_NEEDS),
        ];
        assert_eq!(check(&items, MAIN_NEEDS, &[]), Ok(()));
    }

    #[test]
    fn every_problem_is_reported_with_names() {
        const CACHE_NEEDS: &[Dependency] = &[Dependency::of::<Pool>("Pool", "pool")];
        const MAIN_NEEDS: &[Dependency] = &[Dependency::of::<u8>("u8", "byte")];
        let items = [
            item("pool", 1, Provides::of::<Pool>(), &[]),
            item("cache", 1, Provides::of::<Cache>(), CACHE_NEEDS),
            item("replica", 3, Provides::of::<Pool>(), &[]),
        ];
        let message = check(&items, MAIN_NEEDS, &[]).unwrap_err();
        assert!(message.starts_with("3 problems"), "{message}");
        assert!(
            message.contains("resources `pool` (pool) and `replica` (replica) both provide"),
            "{message}"
        );
        assert!(message.contains("resource `cache` (order 1) takes `pool: Pool`, provided by resource `pool` (order 1)"), "{message}");
        assert!(
            message.contains("`main` takes `byte: u8`, but no resource provides `u8`;"),
            "{message}"
        );
        assert!(
            message.contains("the resources linked into this program: `pool`: `"),
            "{message}"
        );
    }
}
