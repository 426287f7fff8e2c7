//! `AdminStore`: what the operator's dashboard lists, counts, changes and exports.

// Users and questions: search, sorting, paging, flags.
pub(super) mod lists;

// Sessions, counts, dashboard logins and the audit log.
pub(super) mod records;

// The exports' keyset walks.
pub(super) mod exports;
