//! Middleware as work done before and after the inner service, without a per-request
//! allocation or clone.
//!
//! axum's `from_fn` boxes each request's future and clones the whole stack beneath it, which
//! made the middleware cost several times what the routing and the handler cost. A [`Hooks`]
//! implementation says what happens on the way in (and may answer at once) and on the way out;
//! [`Around`] runs it with the inner service's own future, which is polled in place.

use std::convert::Infallible;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Span;

/// The work one middleware does around the inner service.
pub(super) trait Hooks: Clone + Send + Sync + 'static {
    /// What [`before`](Self::before) hands to [`after`](Self::after).
    type State: Send;

    /// Runs before the request goes in; `Break` is the answer, and the inner service is not
    /// called.
    fn before(&self, req: &mut Request) -> ControlFlow<Response, Proceed<Self::State>>;

    /// Runs on the way out, on the inner service's response (inside the span, if
    /// [`before`](Self::before) gave one) or on the early answer (without state or span).
    fn after(
        &self,
        state: Option<Self::State>,
        span: Option<&Span>,
        response: Response,
    ) -> Response;
}

/// What [`Hooks::before`] hands on when the request goes in.
pub(super) struct Proceed<S> {
    state: S,
    /// Entered each time the inner future is polled and while `after` runs, so the work below
    /// happens, and logs, inside it; closed when the answer is out.
    span: Option<Span>,
}

impl<S> Proceed<S> {
    pub(super) fn with(state: S) -> Self {
        Self { state, span: None }
    }

    pub(super) fn within(state: S, span: Span) -> Self {
        Self {
            state,
            span: Some(span),
        }
    }
}

/// Wraps a service in [`Hooks`].
#[derive(Debug, Clone)]
pub(super) struct AroundLayer<H>(pub(super) H);

impl<H: Clone, S> Layer<S> for AroundLayer<H> {
    type Service = Around<H, S>;

    fn layer(&self, inner: S) -> Around<H, S> {
        Around {
            hooks: self.0.clone(),
            inner,
        }
    }
}

/// The service made by [`AroundLayer`].
#[derive(Debug, Clone)]
pub(super) struct Around<H, S> {
    hooks: H,
    inner: S,
}

impl<H, S> Service<Request> for Around<H, S>
where
    H: Hooks,
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AroundFuture<H, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.hooks.before(&mut req) {
            // The inner service's `call` only makes its future; the work happens when it is
            // polled, which is when the span is entered.
            ControlFlow::Continue(Proceed { state, span }) => AroundFuture::Running {
                inner: self.inner.call(req),
                hooks: Some(self.hooks.clone()),
                state: Some(state),
                span,
            },
            ControlFlow::Break(response) => AroundFuture::Answered {
                response: Some(self.hooks.after(None, None, response)),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Around`]: the inner future, then [`Hooks::after`].
    #[project = Projected]
    pub(super) enum AroundFuture<H: Hooks, F> {
        Running {
            #[pin]
            inner: F,
            hooks: Option<H>,
            state: Option<H::State>,
            span: Option<Span>,
        },
        Answered {
            response: Option<Response>,
        },
    }
}

impl<H, F> Future for AroundFuture<H, F>
where
    H: Hooks,
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Running {
                inner,
                hooks,
                state,
                span,
            } => {
                let response = {
                    let _entered = span.as_ref().map(Span::enter);
                    let Poll::Ready(Ok(response)) = inner.poll(cx) else {
                        return Poll::Pending;
                    };
                    let hooks = hooks
                        .take()
                        .expect("an AroundFuture is not polled after completion");
                    hooks.after(state.take(), span.as_ref(), response)
                };
                // Closed once exited: the request is answered.
                *span = None;
                Poll::Ready(Ok(response))
            }
            Projected::Answered { response } => Poll::Ready(Ok(response
                .take()
                .expect("an AroundFuture is not polled after completion"))),
        }
    }
}
