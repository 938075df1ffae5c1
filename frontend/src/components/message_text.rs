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
    let parts = spans_view(without_break_after_blocks(format(&text)));
    view! { <div class="text" dir="auto">{parts}</div> }
}

/// `spans` without the line break that follows a code block: the block
/// already ends its line, so that break (kept by `pre-wrap`) would show as
/// a blank line under it.
fn without_break_after_blocks(spans: Vec<Span<'_>>) -> Vec<Span<'_>> {
    let mut after_block = false;
    let mut out = Vec::with_capacity(spans.len());
    for span in spans {
        let span = match span {
            Span::Text(text) if after_block => {
                let rest = text
                    .strip_prefix("\r\n")
                    .or_else(|| text.strip_prefix('\n'))
                    .unwrap_or(text);
                (!rest.is_empty()).then_some(Span::Text(rest))
            }
            other => Some(other),
        };
        let Some(span) = span else {
            continue;
        };
        after_block = matches!(span, Span::CodeBlock(_));
        out.push(span);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_break_after_a_code_block_goes_and_no_other() {
        let spans = format("Look:\n```\nfn main() {}\n```\nthen\n\nmore");
        assert_eq!(
            without_break_after_blocks(spans),
            [
                Span::Text("Look:\n"),
                Span::CodeBlock("fn main() {}"),
                Span::Text("then\n\nmore"),
            ]
        );
        let spans = format("```\na\n```\r\n```\nb\n```\n**c**");
        assert_eq!(
            without_break_after_blocks(spans),
            [
                Span::CodeBlock("a"),
                Span::CodeBlock("b"),
                Span::Bold(vec![Span::Text("c")]),
            ]
        );
    }
}
