//! `AdminStore`: what the operator's dashboard lists, counts, changes and exports.

// Users and questions: search, sorting, paging, flags.
pub(super) mod lists;

// Sessions, counts, dashboard logins and the audit log.
pub(super) mod records;

// The exports' keyset walks.
pub(super) mod exports;

use std::fmt::Debug;

use aiq_core::storage::{Page, PageRequest, PageStart, StorageError, Total};

/// Every row of a list, walked forward a page of `limit` at a time from the first page, then
/// walked back from the last page to the first; asserts both walks see the same rows in the
/// same order, and that every page tells `total`.
pub(super) async fn walk_both_ways<T, F, Fut>(fetch: F, limit: u32, total: u64) -> Vec<T>
where
    T: Clone + PartialEq + Debug,
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StorageError>>,
{
    let mut forward = Vec::new();
    let mut request = PageRequest::first(limit);
    let last = loop {
        let page = fetch(request.clone()).await.unwrap();
        assert_eq!(page.total, Total::Exact(total));
        assert!(page.items.len() <= limit as usize);
        forward.extend(page.items.iter().cloned());
        match request.after_page(&page) {
            Some(next) => request = next,
            None => break page,
        }
    };
    let mut backward = vec![last.items];
    let mut previous = last.previous;
    while let Some(before) = previous {
        let page = fetch(PageRequest::first(limit).starting(PageStart::Before(before)))
            .await
            .unwrap();
        assert_eq!(page.total, Total::Exact(total));
        assert!(page.next.is_some(), "a page before another points to it");
        previous = page.previous;
        backward.push(page.items);
    }
    let backward: Vec<T> = backward.into_iter().rev().flatten().collect();
    assert_eq!(
        backward, forward,
        "walking back sees the rows walking forward saw"
    );
    forward
}
