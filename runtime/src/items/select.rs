//! The item resources a test run opens: only those it asks for by type, with what they take,
//! and none of the others linked into the test binary.

use std::any::TypeId;
use std::collections::HashSet;

use super::{ItemResource, Provides, plan};
use crate::Shutdown;

/// The items (sorted) that provide `wanted`, and those their parameters need in turn, but
/// for the types in `supplied`, which the test provides itself. In the order of `all`.
pub(crate) fn select(
    all: &[&'static ItemResource],
    wanted: &[Provides],
    supplied: &[Provides],
) -> Result<Vec<&'static ItemResource>, String> {
    let supplied: HashSet<TypeId> = supplied
        .iter()
        .flat_map(|provides| [(provides.type_id)(), (provides.shared_type_id)()])
        .collect();
    let provider = |type_id: TypeId| {
        all.iter().position(|item| {
            (item.provides.type_id)() == type_id || (item.provides.shared_type_id)() == type_id
        })
    };
    let mut chosen = vec![false; all.len()];
    let mut missing = Vec::new();
    let mut queue: Vec<TypeId> = Vec::new();
    for provides in wanted {
        match provider((provides.type_id)()) {
            Some(_) => queue.push((provides.type_id)()),
            None => missing.push(format!(
                "the test asks for resource `{}`, but no `#[graceful::resource]` function \
                 provides it",
                provides.type_name()
            )),
        }
    }
    if !missing.is_empty() {
        let mut message = missing.join("\n");
        message.push_str(&plan::available(all));
        return Err(message);
    }
    while let Some(type_id) = queue.pop() {
        if type_id == TypeId::of::<Shutdown>() || supplied.contains(&type_id) {
            continue;
        }
        // A parameter that nothing provides is the check's to report.
        let Some(index) = provider(type_id) else {
            continue;
        };
        if std::mem::replace(&mut chosen[index], true) {
            continue;
        }
        queue.extend(all[index].needs.iter().map(|need| (need.type_id)()));
    }
    Ok(all
        .iter()
        .zip(chosen)
        .filter_map(|(item, chosen)| chosen.then_some(*item))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;
    use crate::items::Dependency;
    use crate::items::test_items::item;

    struct Settings;
    struct Pool;
    struct Audit;
    struct Telemetry;

    fn program() -> Vec<&'static ItemResource> {
        const POOL_NEEDS: &[Dependency] = &[Dependency::of::<Settings>("Settings", "settings")];
        const AUDIT_NEEDS: &[Dependency] = &[
            Dependency::of::<Pool>("Pool", "db"),
            Dependency::of::<Shutdown>("Shutdown", "shutdown"),
        ];
        vec![
            item("telemetry", 0, Provides::of::<Telemetry>(), &[]),
            item("settings", 1, Provides::of::<Settings>(), &[]),
            item("pool", 10, Provides::of::<Pool>(), POOL_NEEDS),
            item("audit", 20, Provides::of::<Audit>(), AUDIT_NEEDS),
        ]
    }

    fn names(items: &[&'static ItemResource]) -> Vec<&'static str> {
        items.iter().map(|item| item.name).collect()
    }

    #[test]
    fn what_is_asked_for_opens_with_what_it_takes_and_nothing_else() {
        let all = program();
        let chosen = select(&all, &[Provides::of::<Audit>()], &[]).unwrap();
        assert_eq!(names(&chosen), ["settings", "pool", "audit"]);
        let chosen = select(&all, &[Provides::of::<Resource<Pool>>()], &[]).unwrap();
        assert_eq!(names(&chosen), ["settings", "pool"]);
        assert!(select(&all, &[], &[]).unwrap().is_empty());
    }

    #[test]
    fn a_supplied_type_replaces_its_function() {
        let all = program();
        let chosen = select(
            &all,
            &[Provides::of::<Audit>()],
            &[Provides::of::<Settings>()],
        );
        assert_eq!(names(&chosen.unwrap()), ["pool", "audit"]);
    }

    #[test]
    fn asking_for_a_type_nothing_provides_names_it_and_what_exists() {
        let error = select(&program(), &[Provides::of::<u8>()], &[]).unwrap_err();
        assert!(
            error.starts_with("the test asks for resource `u8`, but no"),
            "{error}"
        );
        assert!(error.contains("`audit`: `"), "{error}");
    }
}
