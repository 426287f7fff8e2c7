//! How lists come in pages, and how exports walk whole tables.
//!
//! Both seek ("keyset") instead of skipping rows: a list page starts after (or before) a row's
//! position in the list's order, a [`Cursor`] holding that row's sort value and id, so a page
//! costs the same at the end of a large table as at its start, and rows written or deleted
//! between two pages shift nothing. A list counts its matching rows only up to a limit
//! ([`PageRequest::count_limit`]), so the count costs no more than that either.
//!
//! Exports ([`Seek`]) walk in id order without counting.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How many matching rows a list counts unless asked otherwise; past it, the total is "at
/// least" this many ([`Total::AtLeast`]).
pub const COUNT_LIMIT: u64 = 1_000;

/// A limit between 1 and [`MAX_PAGE_SIZE`].
fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE_SIZE)
}

/// The number of rows matching a list's filters, counted up to a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// This many rows match.
    Exact(u64),
    /// At least this many rows match (the count stopped at its limit).
    AtLeast(u64),
}

impl Total {
    /// The total for `counted` rows when counting stops past `limit`: `counted` is at most
    /// `limit + 1`, and above `limit` the total is [`Total::AtLeast`]`(limit)`.
    ///
    /// ```
    /// use aiq_core::storage::Total;
    /// assert_eq!(Total::counted(7, 1_000), Total::Exact(7));
    /// assert_eq!(Total::counted(1_001, 1_000), Total::AtLeast(1_000));
    /// ```
    pub fn counted(counted: u64, limit: u64) -> Self {
        if counted > limit {
            Self::AtLeast(limit)
        } else {
            Self::Exact(counted)
        }
    }
}

impl fmt::Display for Total {
    /// `7`, or `1000+` for at least 1,000.
    ///
    /// ```
    /// use aiq_core::storage::Total;
    /// assert_eq!(Total::AtLeast(1_000).to_string(), "1000+");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(n) => write!(f, "{n}"),
            Self::AtLeast(n) => write!(f, "{n}+"),
        }
    }
}

/// A row's value in the column a list is sorted by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// Text, compared byte by byte.
    Text(String),
    /// A point in time.
    Time(OffsetDateTime),
    /// An integer.
    Int(i64),
    /// A float, in IEEE total order.
    Float(f64),
}

impl SortValue {
    /// Position of the variant, ordering values of different kinds (which one list never
    /// mixes, but a cursor edited by hand may).
    fn rank(&self) -> u8 {
        match self {
            Self::Text(_) => 0,
            Self::Time(_) => 1,
            Self::Int(_) => 2,
            Self::Float(_) => 3,
        }
    }

    /// Total order: values of one kind by value.
    fn order(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Time(a), Self::Time(b)) => a.cmp(b),
            (Self::Int(a), Self::Int(b)) => a.cmp(b),
            (Self::Float(a), Self::Float(b)) => a.total_cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The time, if this is a time.
    pub fn as_time(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Time(at) => Some(*at),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The float, if this is one.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Self::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// A row's position in a list: its sort value (`None` when the list is sorted by id alone, or
/// when the row has no value, which sorts lowest) and its id, which breaks ties.
///
/// A cursor travels in links as a short token ([`fmt::Display`] and [`FromStr`]):
///
/// ```
/// use aiq_core::storage::{Cursor, SortValue};
/// let cursor = Cursor { key: Some(SortValue::Text("ada@example.com".into())), id: 42 };
/// let token = cursor.to_string();
/// assert_eq!(token.parse::<Cursor>().unwrap(), cursor);
/// assert!("not a cursor".parse::<Cursor>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The sort value.
    pub key: Option<SortValue>,
    /// The row's id.
    pub id: i64,
}

impl Cursor {
    /// The order of two positions in a list sorted ascending (or descending): by sort value
    /// (no value first ascending, last descending), then by id.
    ///
    /// ```
    /// use std::cmp::Ordering;
    /// use aiq_core::storage::{Cursor, SortValue};
    /// let none = Cursor { key: None, id: 9 };
    /// let one = Cursor { key: Some(SortValue::Int(1)), id: 1 };
    /// assert_eq!(none.list_order(&one, false), Ordering::Less);
    /// assert_eq!(none.list_order(&one, true), Ordering::Greater);
    /// ```
    pub fn list_order(&self, other: &Self, descending: bool) -> Ordering {
        let key = match (&self.key, &other.key) {
            (Some(a), Some(b)) => a.order(b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        };
        let order = key.then(self.id.cmp(&other.id));
        if descending { order.reverse() } else { order }
    }
}

impl fmt::Display for Cursor {
    /// `42` without a value; else the id, a dot, a letter for the kind and the value (`t` text
    /// as is, `d` time as Unix nanoseconds, `i` integer, `f` float as its 64 bits in hex, so it
    /// comes back exactly).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        match &self.key {
            None => Ok(()),
            Some(SortValue::Text(text)) => write!(f, ".t{text}"),
            Some(SortValue::Time(at)) => write!(f, ".d{}", at.unix_timestamp_nanos()),
            Some(SortValue::Int(n)) => write!(f, ".i{n}"),
            Some(SortValue::Float(x)) => write!(f, ".f{:016x}", x.to_bits()),
        }
    }
}

/// A page link's cursor that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a list position: {0:?}")]
pub struct InvalidCursor(pub String);

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(token: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor(token.chars().take(64).collect());
        let (id, value) = match token.split_once('.') {
            Some((id, value)) => (id, Some(value)),
            None => (token, None),
        };
        let id = id.parse::<i64>().map_err(|_| invalid())?;
        let key = match value {
            None => None,
            Some(value) => {
                let mut chars = value.chars();
                let kind = chars.next().ok_or_else(invalid)?;
                let rest = chars.as_str();
                Some(match kind {
                    't' => SortValue::Text(rest.to_owned()),
                    'd' => rest
                        .parse::<i128>()
                        .ok()
                        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
                        .map(SortValue::Time)
                        .ok_or_else(invalid)?,
                    'i' => SortValue::Int(rest.parse().map_err(|_| invalid())?),
                    'f' if rest.len() == 16 => u64::from_str_radix(rest, 16)
                        .map(|bits| SortValue::Float(f64::from_bits(bits)))
                        .map_err(|_| invalid())?,
                    _ => return Err(invalid()),
                })
            }
        };
        Ok(Self { key, id })
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PageStart {
    /// At the first row of the list.
    First,
    /// Right after this position (the rows that follow it).
    After(Cursor),
    /// Right before this position (the rows that precede it, ending next to it).
    Before(Cursor),
}

/// Which rows of a list, in pages.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// Where the page starts.
    pub start: PageStart,
    /// Rows to return (at most [`MAX_PAGE_SIZE`]; stores clamp larger values).
    pub limit: u32,
    /// Count matching rows up to this many ([`Total`]).
    pub count_limit: u64,
}

impl PageRequest {
    /// The first page of `limit` rows.
    ///
    /// ```
    /// use aiq_core::storage::{PageRequest, PageStart};
    /// assert_eq!(PageRequest::first(50).start, PageStart::First);
    /// ```
    pub fn first(limit: u32) -> Self {
        Self {
            start: PageStart::First,
            limit,
            count_limit: COUNT_LIMIT,
        }
    }

    /// This request, starting somewhere else.
    ///
    /// ```
    /// use aiq_core::storage::{Cursor, PageRequest, PageStart};
    /// let next = PageRequest::first(50).starting(PageStart::After(Cursor { key: None, id: 7 }));
    /// assert_eq!(next.limit, 50);
    /// ```
    pub fn starting(self, start: PageStart) -> Self {
        Self { start, ..self }
    }

    /// The page after `page`, which answered this request: `None` when it was the last.
    ///
    /// ```
    /// use aiq_core::storage::{Cursor, Page, PageRequest, Total};
    /// let last = Page::<i64> { items: vec![1], total: Total::Exact(1), previous: None, next: None };
    /// assert_eq!(PageRequest::first(1).after_page(&last), None);
    /// ```
    pub fn after_page<T>(&self, page: &Page<T>) -> Option<Self> {
        let next = page.next.clone()?;
        Some(self.clone().starting(PageStart::After(next)))
    }

    /// The limit a store applies: between 1 and [`MAX_PAGE_SIZE`].
    ///
    /// ```
    /// use aiq_core::storage::{MAX_PAGE_SIZE, PageRequest};
    /// assert_eq!(PageRequest::first(10_000).clamped_limit(), MAX_PAGE_SIZE);
    /// ```
    pub fn clamped_limit(&self) -> u32 {
        clamp_limit(self.limit)
    }
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page, in the list's order.
    pub items: Vec<T>,
    /// Rows matching the filters, on every page, counted up to the request's limit.
    pub total: Total,
    /// The first row's position, when rows precede it (start a page before it for them).
    pub previous: Option<Cursor>,
    /// The last row's position, when rows follow it (start a page after it for them).
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// The same page with each row turned into another.
    ///
    /// ```
    /// use aiq_core::storage::{Page, Total};
    /// let page = Page { items: vec![1, 2], total: Total::Exact(2), previous: None, next: None };
    /// assert_eq!(page.map(|n| n * 10).items, [10, 20]);
    /// ```
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            previous: self.previous,
            next: self.next,
        }
    }

    /// The page answering `request` from `window`, the rows a store read for it in the list's
    /// order: for a page from the start or after a cursor, the rows from there on, up to one
    /// more than the limit; for a page before a cursor, the rows ending next to it, up to one
    /// more than the limit. The extra row only tells that more rows lie that way.
    ///
    /// ```
    /// use aiq_core::storage::{Cursor, Page, PageRequest, PageStart, Total};
    /// let cursor = |id: &i64| Cursor { key: None, id: *id };
    /// let first = Page::from_window(&PageRequest::first(2), vec![1, 2, 3], Total::Exact(3), cursor);
    /// assert_eq!((first.items, first.previous, first.next), (vec![1, 2], None, Some(cursor(&2))));
    /// let back = PageRequest::first(2).starting(PageStart::Before(cursor(&3)));
    /// let page = Page::from_window(&back, vec![1, 2], Total::Exact(3), cursor);
    /// assert_eq!((page.previous, page.next), (None, Some(cursor(&2))));
    /// ```
    pub fn from_window(
        request: &PageRequest,
        mut window: Vec<T>,
        total: Total,
        cursor: impl Fn(&T) -> Cursor,
    ) -> Self {
        let limit = request.clamped_limit() as usize;
        let more = window.len() > limit;
        let (previous, next) = if let PageStart::Before(_) = request.start {
            if more {
                window.drain(..window.len() - limit);
            }
            let previous = window.first().filter(|_| more).map(&cursor);
            (previous, window.last().map(&cursor))
        } else {
            window.truncate(limit);
            let previous = window
                .first()
                .filter(|_| matches!(request.start, PageStart::After(_)))
                .map(&cursor);
            (previous, window.last().filter(|_| more).map(&cursor))
        };
        Self {
            items: window,
            total,
            previous,
            next,
        }
    }
}

/// One step of a keyset ("seek") walk over a table in ascending id order: at most `limit` rows
/// whose id is above `after`. Each step starts after the last id of the one before, so (unlike
/// an offset) a row inserted or deleted mid-walk makes no other row repeat or go missing, and
/// no step counts the table. Ids grow, so rows created after the walk started may or may not
/// appear; every row present for the whole walk appears exactly once.
///
/// Walking every user, two at a time, until a step comes back short:
///
/// ```
/// use aiq_core::storage::{AdminStore, MemoryStore, NewUser, Seek, UserQuery, UserStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// for n in 0..5 {
///     store.create_user(NewUser::with_password(format!("u{n}@example.com"), "h")).await.unwrap();
/// }
/// let mut seek = Seek::first(2);
/// let mut emails = Vec::new();
/// loop {
///     let rows = store.export_users(&UserQuery::default(), seek).await.unwrap();
///     let full = rows.len() == seek.clamped_limit() as usize;
///     if let Some(last) = rows.last() {
///         seek = seek.after(last.user.id);
///     }
///     emails.extend(rows.into_iter().map(|row| row.user.email));
///     if !full {
///         break;
///     }
/// }
/// assert_eq!(emails.len(), 5);
/// assert_eq!(emails[0], "u0@example.com");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seek {
    /// Only rows with a larger id; `None` starts at the first row.
    pub after: Option<i64>,
    /// Rows to return (at most [`MAX_PAGE_SIZE`]; stores clamp larger values).
    pub limit: u32,
}

impl Seek {
    /// The first step: the `limit` rows of lowest id.
    ///
    /// ```
    /// use aiq_core::storage::Seek;
    /// assert_eq!(Seek::first(50).after, None);
    /// ```
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The step after a row with id `last_id` (the last row of this step), of the same limit.
    ///
    /// ```
    /// use aiq_core::storage::Seek;
    /// assert_eq!(Seek::first(50).after(7), Seek { after: Some(7), limit: 50 });
    /// ```
    pub fn after(self, last_id: i64) -> Self {
        Self {
            after: Some(last_id),
            ..self
        }
    }

    /// The limit a store applies: between 1 and [`MAX_PAGE_SIZE`]. A step that returns fewer
    /// rows is the last.
    ///
    /// ```
    /// use aiq_core::storage::{MAX_PAGE_SIZE, Seek};
    /// assert_eq!(Seek::first(10_000).clamped_limit(), MAX_PAGE_SIZE);
    /// assert_eq!(Seek::first(0).clamped_limit(), 1);
    /// ```
    pub fn clamped_limit(self) -> u32 {
        clamp_limit(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(id: &i64) -> Cursor {
        Cursor { key: None, id: *id }
    }

    #[test]
    fn every_kind_of_cursor_comes_back_from_its_token() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        for key in [
            None,
            Some(SortValue::Text("a.b~c d".into())),
            Some(SortValue::Text(String::new())),
            Some(SortValue::Time(at)),
            Some(SortValue::Int(-3)),
            Some(SortValue::Float(-0.125)),
            Some(SortValue::Float(f64::NEG_INFINITY)),
        ] {
            let cursor = Cursor { key, id: -7 };
            assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        }
        for bad in [
            "",
            "x",
            "1.",
            "1.x2",
            "1.i",
            "1.f12",
            "1.dnope",
            "9999999999999999999",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_page_after_a_cursor_points_both_ways() {
        let request = PageRequest::first(2).starting(PageStart::After(cursor(&1)));
        let page = Page::from_window(&request, vec![2, 3, 4], Total::Exact(4), cursor);
        assert_eq!(page.items, [2, 3]);
        assert_eq!(
            (page.previous, page.next),
            (Some(cursor(&2)), Some(cursor(&3)))
        );
        let last = Page::from_window(&request, vec![2], Total::Exact(2), cursor);
        assert_eq!((last.previous, last.next), (Some(cursor(&2)), None));
        let past_the_end = Page::from_window(&request, Vec::new(), Total::Exact(1), cursor);
        assert_eq!((past_the_end.previous, past_the_end.next), (None, None));
    }

    #[test]
    fn a_page_before_a_cursor_keeps_the_rows_next_to_it() {
        let request = PageRequest::first(2).starting(PageStart::Before(cursor(&9)));
        let page = Page::from_window(&request, vec![6, 7, 8], Total::Exact(9), cursor);
        assert_eq!(page.items, [7, 8]);
        assert_eq!(
            (page.previous, page.next),
            (Some(cursor(&7)), Some(cursor(&8)))
        );
    }

    #[test]
    fn no_value_sorts_lowest_then_ids_break_ties() {
        let at = |key: Option<i64>, id| Cursor {
            key: key.map(SortValue::Int),
            id,
        };
        assert_eq!(
            at(None, 5).list_order(&at(Some(-9), 1), false),
            Ordering::Less
        );
        assert_eq!(
            at(Some(2), 1).list_order(&at(Some(2), 3), false),
            Ordering::Less
        );
        assert_eq!(
            at(Some(2), 1).list_order(&at(Some(2), 3), true),
            Ordering::Greater
        );
        assert_eq!(
            at(Some(2), 3).list_order(&at(Some(2), 3), true),
            Ordering::Equal
        );
    }
}
