//! A QR code of a link, as inline SVG markup: the link-a-device dialog
//! shows it so a phone's camera can open the link.

use qrcode::render::svg;
use qrcode::QrCode;

/// The SVG of a QR code for `text`, dark on white (a scanner needs the
/// contrast in either theme), scaled by CSS; `None` if the text is too long
/// for a QR code.
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let markup = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: the XML prolog would only be a bogus comment.
    let start = markup.find("<svg")?;
    Some(markup[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn a_link_becomes_an_inline_svg() {
        let link = format!(
            "http://127.0.0.1:8765/#/link/{}?name=alice",
            "0f".repeat(16)
        );
        let svg = qr_svg(&link).expect("a link fits a QR code");
        assert!(svg.starts_with("<svg"), "{svg:.80}");
        assert!(svg.contains("<path"), "the modules are drawn");
        assert!(qr_svg(&"x".repeat(10_000)).is_none(), "too long");
    }
}
