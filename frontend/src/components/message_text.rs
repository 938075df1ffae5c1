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
    // Its links and code blocks are in the Tab order only on the message
    // that is the conversation's stop (see `feed_focus`).
    let tab_index = super::feed_focus::tab_index();
    let parts = spans_view(without_break_after_blocks(format(&text)), tab_index);
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

/// The nodes for `spans`, in order; `tab_index` gives its links' and code
/// blocks' `tabindex`.
fn spans_view(spans: Vec<Span<'_>>, tab_index: impl TabIndex) -> Vec<AnyView> {
    spans
        .into_iter()
        .map(|span| span_view(span, tab_index))
        .collect()
}

/// A `tabindex` that follows the conversation's Tab stop.
trait TabIndex: Fn() -> &'static str + Copy + Send + Sync + 'static {}
impl<F: Fn() -> &'static str + Copy + Send + Sync + 'static> TabIndex for F {}

fn span_view(span: Span<'_>, tab_index: impl TabIndex) -> AnyView {
    match span {
        Span::Text(text) => text.to_owned().into_any(),
        // Only http(s) addresses are links (the shared rule), and they
        // open apart from the chat.
        Span::Link(url) => view! {
            <a href=url.to_owned() target="_blank" rel="noopener noreferrer" tabindex=tab_index>
                {url.to_owned()}
            </a>
        }
        .into_any(),
        Span::Code(code) => view! { <code>{code.to_owned()}</code> }.into_any(),
        Span::CodeBlock(code) => view! {
            <pre class="code-block" tabindex=tab_index><code>{code.to_owned()}</code></pre>
        }
        .into_any(),
        Span::Bold(inner) => view! { <strong>{spans_view(inner, tab_index)}</strong> }.into_any(),
        Span::Italic(inner) => view! { <em>{spans_view(inner, tab_index)}</em> }.into_any(),
        Span::Strike(inner) => view! { <s>{spans_view(inner, tab_index)}</s> }.into_any(),
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
