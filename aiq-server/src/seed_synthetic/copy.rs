//! Rows in PostgreSQL's text `COPY` format, sent in chunks of about a megabyte.

use std::fmt::Display;

use bytes::Bytes;
use futures_util::SinkExt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::{CopyInSink, Transaction};

/// A chunk is sent once it holds this many bytes.
const CHUNK: usize = 1 << 20;

/// One `COPY table (columns) FROM STDIN` in progress.
pub(super) struct CopyIn {
    sink: std::pin::Pin<Box<CopyInSink<Bytes>>>,
    buffer: String,
    first_in_row: bool,
}

impl CopyIn {
    /// Starts copying into `table`'s `columns`.
    pub(super) async fn start(
        tx: &Transaction<'_>,
        table: &str,
        columns: &[&str],
    ) -> Result<Self, tokio_postgres::Error> {
        let sink = tx
            .copy_in(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
            .await?;
        Ok(Self {
            sink: Box::pin(sink),
            buffer: String::with_capacity(CHUNK + CHUNK / 4),
            first_in_row: true,
        })
    }

    fn separate(&mut self) {
        if !self.first_in_row {
            self.buffer.push('\t');
        }
        self.first_in_row = false;
    }

    /// A number or another value whose text needs no escaping.
    pub(super) fn plain(&mut self, value: impl Display) -> &mut Self {
        self.separate();
        use std::fmt::Write;
        let _ = write!(self.buffer, "{value}");
        self
    }

    /// A text value, escaped for the format.
    pub(super) fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        push_escaped(&mut self.buffer, value);
        self
    }

    /// A timestamp.
    pub(super) fn time(&mut self, value: OffsetDateTime) -> &mut Self {
        let text = value.format(&Rfc3339).unwrap_or_default();
        self.plain(text)
    }

    /// NULL.
    pub(super) fn null(&mut self) -> &mut Self {
        self.plain("\\N")
    }

    /// A text value or NULL.
    pub(super) fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => self.null(),
        }
    }

    /// Ends the row; sends the buffer when it is full.
    pub(super) async fn end_row(&mut self) -> Result<(), tokio_postgres::Error> {
        self.buffer.push('\n');
        self.first_in_row = true;
        if self.buffer.len() >= CHUNK {
            let chunk =
                std::mem::replace(&mut self.buffer, String::with_capacity(CHUNK + CHUNK / 4));
            self.sink.send(Bytes::from(chunk)).await?;
        }
        Ok(())
    }

    /// Sends what is left and ends the copy; returns the rows written.
    pub(super) async fn finish(mut self) -> Result<u64, tokio_postgres::Error> {
        if !self.buffer.is_empty() {
            let chunk = std::mem::take(&mut self.buffer);
            self.sink.send(Bytes::from(chunk)).await?;
        }
        self.sink.as_mut().finish().await
    }
}

/// Appends `value` with the characters the text format reserves escaped.
fn push_escaped(buffer: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => buffer.push_str("\\\\"),
            '\t' => buffer.push_str("\\t"),
            '\n' => buffer.push_str("\\n"),
            '\r' => buffer.push_str("\\r"),
            c => buffer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_escapes_what_the_format_reserves() {
        let mut buffer = String::new();
        super::push_escaped(&mut buffer, "a\tb\\c\nd\re");
        assert_eq!(buffer, "a\\tb\\\\c\\nd\\re");
    }
}
