//! A message's text, formatted by the shared rule
//! ([`chat_shared::format`]) and built as DOM nodes, never as HTML, so
//! whatever a message says (`<script>` included) stays text.

use chat_shared::format::{format, Span};
use leptos::prelude::*;

/// Message text with its formatting; line breaks are kept by the
/// stylesheet (`white-space: pre-wrap`), and a code block scrolls
/// sideways by itself rather than widening the conversation. Its
/// direction is its own (`dir="auto"`, see [`super::bidi`]): a
/// right-to-left override inside cannot reorder what is around it.
#[component]
pub(crate) fn MessageText(text: String) -> impl IntoView {
    let parts = spans_view(format(&text));
    view! { <div class="text" dir="auto">{parts}</div> }
}

/// The nodes for `spans`, in order.
fn spans_view(spans: Vec<Span<'_>>) -> Vec<AnyView> {
    spans.into_iter().map(span_view).collect()
}

fn span_view(span: Span<'_>) -> AnyView {
    match span {
        Span::Text(text) => text.to_owned().into_any(),
        // Only http(s) addresses are links (the shared rule), and they
        // open apart from the chat.
        Span::Link(url) => view! {
            <a href=url.to_owned() target="_blank" rel="noopener noreferrer">
                {url.to_owned()}
            </a>
        }
        .into_any(),
        Span::Code(code) => view! { <code>{code.to_owned()}</code> }.into_any(),
        Span::CodeBlock(code) => view! {
            <pre class="code-block" tabindex="0"><code>{code.to_owned()}</code></pre>
        }
        .into_any(),
        Span::Bold(inner) => view! { <strong>{spans_view(inner)}</strong> }.into_any(),
        Span::Italic(inner) => view! { <em>{spans_view(inner)}</em> }.into_any(),
        Span::Strike(inner) => view! { <s>{spans_view(inner)}</s> }.into_any(),
    }
}
