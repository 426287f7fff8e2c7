//! Reading and driving the page in the browser, each step failing with what it looked for.

use super::*;

/// The page's elements and reads, each failing with what was looked for and where.
pub(crate) struct Page {
    pub(crate) browser: Client,
}

impl Page {
    pub(crate) async fn path(&self) -> String {
        let url = self
            .browser
            .current_url()
            .await
            .expect("read the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.browser
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.browser.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => panic!(
                "no {css} on {} ({error}); the page says:\n{}",
                self.path().await,
                self.body_text().await
            ),
        }
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("read the text of {css}: {e}"))
    }

    pub(crate) async fn body_text(&self) -> String {
        match self.browser.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(error) => format!("(no body: {error})"),
        }
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Waits until the browser is at `path` (path and query, as [`Page::path`] gives them).
    pub(crate) async fn wait_for_path(&self, path: &str) {
        eventually(&format!("the browser to be at {path}"), || async move {
            let now = self.path().await;
            if now == path { Ok(()) } else { Err(now) }
        })
        .await;
    }

    /// Waits until `css` holds exactly `text`.
    pub(crate) async fn wait_for_text(&self, css: &str, text: &str) {
        eventually(&format!("{css} to read {text:?}"), || async move {
            let seen = match self.browser.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.map_err(|e| e.to_string())?,
                Err(error) => return Err(format!("{error} at {}", self.path().await)),
            };
            if seen == text { Ok(()) } else { Err(seen) }
        })
        .await;
    }

    /// The cells' texts of every row of the page's first table body.
    pub(crate) async fn table(&self) -> Vec<Vec<String>> {
        let value = self
            .browser
            .execute(
                "return Array.from(document.querySelectorAll('table tbody tr'))
                    .map(row => Array.from(row.cells).map(cell => cell.textContent.trim()));",
                vec![],
            )
            .await
            .expect("read the table");
        serde_json::from_value(value).expect("rows of strings")
    }

    pub(crate) async fn script_count(&self) -> u64 {
        self.browser
            .execute("return document.querySelectorAll('script').length;", vec![])
            .await
            .expect("count the script elements")
            .as_u64()
            .expect("a count")
    }

    /// Fails if a JavaScript dialog is open (an injected `alert` would open one).
    pub(crate) async fn assert_no_dialog(&self) {
        match self.browser.get_alert_text().await {
            Err(error) if error.is_no_such_alert() => {}
            Ok(text) => panic!("a dialog opened on {}: {text:?}", self.path().await),
            Err(error) => panic!("cannot ask for a dialog: {error}"),
        }
    }
}
